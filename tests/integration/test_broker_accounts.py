"""Broker accounts on a real Mosquitto started from the shipped configuration: what a
gardener's account, a bridge account and the app's account may do, as the broker enforces it
(MQTT v5 PUBACK and SUBACK reason codes), the dynamic-security client's deadline and errors,
and QoS 0 readings kept for the app's consumer while it is away (queue_qos0_messages)."""

import subprocess
import time

import pytest

from app.broker import accounts
from app.broker.dynsec import AdminSettings, BrokerError, run
from app.domain import broker as names

from ..fixtures.services import free_port
from ..fixtures.shipped_broker import ADMIN_PASSWORD, APP_PASSWORD, connect, shipped_broker

PREFIX = "plantops"


@pytest.fixture(scope="module")
def broker():
    with shipped_broker() as running:
        yield running


def admin(broker, **changes):
    settings = {"host": "127.0.0.1", "port": broker.port, "username": "admin", "password": ADMIN_PASSWORD}
    return AdminSettings(**{**settings, **changes})


def make(broker, username, role="user", new=True):
    return accounts.provision(admin(broker), username, role, PREFIX, new=new)


def app_client(broker):
    client = connect(broker.port, names.APP_USERNAME, APP_PASSWORD)
    for topic in names.app_subscribe_filters(PREFIX):
        assert not client.subscribe(topic).is_failure, topic
    return client


def wait_for_topic(client, topic, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and topic not in [t for t, _, _ in client.received]:
        time.sleep(0.02)
    return [t for t, _, _ in client.received]


def test_a_gardeners_account_publishes_under_its_own_prefix_only(broker):
    ana, ben = f"ana-{time.monotonic_ns()}", f"ben-{time.monotonic_ns()}"
    app = app_client(broker)
    ana_client = connect(broker.port, ana, make(broker, ana))
    make(broker, ben)

    allowed = ana_client.publish(f"plantops/u/{ana}/zigbee2mqtt/Fern soil", b'{"soil_moisture": 38}')
    refused = {
        topic: ana_client.publish(topic, b'{"soil_moisture": 1}')
        for topic in (
            f"plantops/u/{ben}/zigbee2mqtt/Fern soil",  # another gardener's prefix
            "zigbee2mqtt/Fern soil",  # the shared topics
            "tele/flora/SENSOR",
            "plantops/fern-1/telemetry",  # the shared native topic
        )
    }
    ana_client.publish(f"plantops/u/{ana}/fern-1/telemetry", b"{}")

    assert not allowed.is_failure
    assert {topic: code.getName() for topic, code in refused.items()} == dict.fromkeys(refused, "Not authorized")
    received = [topic for topic, _, _ in app.wait_for(2)]
    assert received == [f"plantops/u/{ana}/zigbee2mqtt/Fern soil", f"plantops/u/{ana}/fern-1/telemetry"]
    for client in (app, ana_client):
        client.close()


@pytest.mark.parametrize(
    "topic",
    [
        "#",
        "plantops/u/#",
        "$share/plantops/plantops/u/#",
        "$share/plantops/zigbee2mqtt/#",
        "plantops/u/{me}/#",
        "$SYS/#",
    ],
)
def test_a_gardeners_account_subscribes_to_nothing(broker, topic):
    me = f"cy-{time.monotonic_ns()}"
    client = connect(broker.port, me, make(broker, me))
    assert client.subscribe(topic.format(me=me)).is_failure
    client.close()


def test_a_bridge_publishes_many_devices_on_the_shared_topics_and_the_app_receives_them_all(broker):
    bridge = names.bridge_username(f"z2m-{time.monotonic_ns()}")
    app = app_client(broker)
    client = connect(broker.port, bridge, make(broker, bridge, "bridge"))
    sent = [
        "zigbee2mqtt/Fern soil",
        "zigbee2mqtt/Basil soil",
        "miflora/Ficus",
        "homeassistant/sensor/Ficus/state",
        "homie/Ficus/sensor/moisture",
        "fern-node/sensor/soil/state",
        "tele/flora1/SENSOR",
        "home/OpenMQTTGateway/BTtoMQTT/C47C8D6A3B1F",
        "home/OpenMQTTGateway/BTtoMQTT/C47C8D6A3B20",
        "shellyplusht-08b61fcb7f3c/events/rpc",
        "plantops/esp32-fern/telemetry",
    ]
    codes = [client.publish(topic, b"{}") for topic in sent]
    refused = client.publish("plantops/u/ana-1/zigbee2mqtt/Fern soil", b"{}")
    client.publish("zigbee2mqtt/done", b"{}")

    assert not any(code.is_failure for code in codes)
    assert refused.getName() == "Not authorized"
    received = wait_for_topic(app, "zigbee2mqtt/done")
    # homeassistant/sensor/Ficus/state also matches ESPHome's +/sensor/+/state: a copy for each.
    assert sorted(set(received)) == sorted([*sent, "zigbee2mqtt/done"])
    # Its own command topics, never the app's shared subscription (it would take the app's readings).
    assert not client.subscribe("zigbee2mqtt/#").is_failure
    assert client.subscribe("$share/plantops/zigbee2mqtt/#").is_failure
    assert client.subscribe("$share/plantops/plantops/u/#").is_failure
    for each in (app, client):
        each.close()


def test_qos0_readings_sent_while_the_consumer_is_away_are_delivered_when_it_returns(broker):
    """Like app/ingest/consumer.py: a persistent session (clean_start False, a session expiry)
    on the shared subscription; the sensor publishes at QoS 0, as zigbee2mqtt and miflora do."""
    client_id = f"plantops-ingest-test-{time.monotonic_ns()}"
    consumer = connect(broker.port, names.APP_USERNAME, APP_PASSWORD, client_id, clean_start=False, session_expiry=3600)
    assert not consumer.subscribe("$share/plantops/miflora/+").is_failure
    consumer.close()
    bridge = names.bridge_username(f"mi-{time.monotonic_ns()}")
    sensor = connect(broker.port, bridge, make(broker, bridge, "bridge"))
    sent = [b'{"moisture": %d}' % n for n in range(20)]
    for payload in sent:
        sensor.publish("miflora/Ficus", payload, qos=0)
    sensor.close()
    time.sleep(0.3)

    back = connect(broker.port, names.APP_USERNAME, APP_PASSWORD, client_id, clean_start=False, session_expiry=3600)

    assert [payload for _, payload, _ in back.wait_for(len(sent))] == sent
    back.mqtt.unsubscribe("$share/plantops/miflora/+")  # leaves the group to the other tests
    back.close()


def test_the_accounts_script_makes_a_bridge_like_the_settings_page_does(broker):
    broker.accounts("bridge", "attic", "attic-secret-1")
    bridge = connect(broker.port, "bridge-attic", "attic-secret-1")
    assert not bridge.publish("home/OpenMQTTGateway/BTtoMQTT/C47C8D6A3B1F", b"{}").is_failure
    assert bridge.publish("plantops/u/ana-1/home/x/BTtoMQTT/C47C8D6A3B1F", b"{}").getName() == "Not authorized"
    assert bridge.subscribe("$share/plantops/home/+/BTtoMQTT/+").is_failure
    bridge.close()
    # The same role from PlantOps afterwards: what the script made is kept, nothing doubled.
    connect(broker.port, "bridge-attic2", make(broker, "bridge-attic2", "bridge")).close()


@pytest.mark.parametrize("name", ["Attic", "-x", "a/b", "x" * 33])
def test_the_accounts_script_refuses_a_bad_bridge_name(broker, name):
    with pytest.raises(subprocess.CalledProcessError):
        broker.accounts("bridge", name, "pw")


def test_the_accounts_script_uses_the_topic_prefix_it_is_given(broker):
    broker.accounts("sensor", "esp32-garden", "garden-secret-1", MQTT_TOPIC_PREFIX="garden")
    sensor = connect(broker.port, "esp32-garden", "garden-secret-1")
    assert not sensor.publish("garden/esp32-garden/telemetry", b"{}").is_failure
    assert sensor.publish("plantops/esp32-garden/telemetry", b"{}").getName() == "Not authorized"
    sensor.close()


def test_resetting_a_password_locks_out_the_old_one(broker):
    name = f"dee-{time.monotonic_ns()}"
    old = make(broker, name)
    new = make(broker, name, new=False)
    assert new != old
    assert connect(broker.port, name, old).is_failure
    connect(broker.port, name, new).close()


def test_a_name_the_broker_already_has_is_never_reset_for_a_new_account(broker):
    broker.accounts("sensor", "esp32-basil", "basil-secret-1")
    with pytest.raises(BrokerError, match="PlantOps did not make"):
        make(broker, "esp32-basil")
    connect(broker.port, "esp32-basil", "basil-secret-1").close()


def test_deleting_an_account_disconnects_it_and_it_cannot_sign_in_again(broker):
    name = f"eve-{time.monotonic_ns()}"
    password = make(broker, name)
    client = connect(broker.port, name, password)
    accounts.deprovision(admin(broker), name, "user")
    assert client.disconnected.wait(5)
    assert connect(broker.port, name, password).is_failure
    accounts.deprovision(admin(broker), name, "user")  # already gone: fine


def test_a_wrong_admin_password_is_a_clear_error(broker):
    with pytest.raises(BrokerError, match="refused PlantOps's admin account.*MQTT_ADMIN_PASSWORD"):
        run(admin(broker, password="wrong"), [{"command": "listClients"}])


def test_a_broker_that_never_answers_fails_within_the_deadline(silent_server):
    started = time.monotonic()
    with pytest.raises(BrokerError, match="did not answer within 1 s"):
        run(AdminSettings("127.0.0.1", silent_server.port, "admin", "x", deadline=1.0), [{"command": "listClients"}])
    assert time.monotonic() - started < 1.5


def test_a_broker_without_the_plugin_fails_within_the_deadline(mosquitto):
    started = time.monotonic()
    with pytest.raises(BrokerError, match="dynamic-security plugin loaded"):
        run(AdminSettings("127.0.0.1", mosquitto.port, "admin", "x", deadline=1.0), [{"command": "listClients"}])
    assert time.monotonic() - started < 1.5


def test_nothing_listening_is_a_clear_error():
    with pytest.raises(BrokerError, match="Cannot reach the MQTT broker"):
        run(AdminSettings("127.0.0.1", free_port(), "admin", "x", deadline=1.0), [{"command": "listClients"}])

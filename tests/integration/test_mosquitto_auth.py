"""deploy/mosquitto-auth.conf and deploy/mosquitto/accounts on a real Mosquitto: no anonymous
clients, sensors publish only to their own topic and subscribe to nothing, the app's account
reads every sensor through a shared subscription, and no packet exceeds the payload cap."""

import contextlib
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from app.domain.payload import MAX_PAYLOAD_BYTES
from app.ingest.consumer import MAX_PACKET_BYTES

from ..fixtures.shipped_broker import APP_PASSWORD, shipped_broker

ACCOUNTS = {"plantops": APP_PASSWORD, "esp32-basil": "basil-secret-1", "esp32-other": "other-secret-1"}
SENSORS = (("esp32-basil", ACCOUNTS["esp32-basil"]), ("esp32-other", ACCOUNTS["esp32-other"]))


@pytest.fixture
def auth_broker():
    """A fresh broker with the app's account and the two sensors'; yields its port."""
    with shipped_broker(SENSORS) as broker:
        yield broker.port


def connect(port, username=None, password=None):
    """A connected client, or the connect reason code on refusal."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if username:
        client.username_pw_set(username, password)
    result = {}
    done = threading.Event()

    def on_connect(_client, _userdata, _flags, reason_code, _properties):
        result["rc"] = reason_code
        done.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert done.wait(5)
    if result["rc"].is_failure:
        client.loop_stop()
        return result["rc"]
    return client


def test_anonymous_and_wrong_passwords_are_refused(auth_broker):
    assert connect(auth_broker).is_failure
    assert connect(auth_broker, "esp32-basil", "wrong").is_failure


def test_sensor_publishes_to_its_own_topic_only_and_the_app_reads_it_shared(auth_broker):
    app = connect(auth_broker, "plantops", ACCOUNTS["plantops"])
    received = []
    subscribed = threading.Event()
    app.on_message = lambda _c, _u, message: received.append(message.topic)
    app.on_subscribe = lambda *args: subscribed.set()
    app.subscribe("$share/plantops/plantops/+/telemetry", qos=1)
    assert subscribed.wait(5)

    sensor = connect(auth_broker, "esp32-basil", ACCOUNTS["esp32-basil"])
    sensor.publish("plantops/esp32-basil/telemetry", b'{"soil_moisture": 2}', qos=1).wait_for_publish(5)
    forbidden = sensor.publish("plantops/esp32-other/telemetry", b'{"soil_moisture": 1}', qos=1)
    with contextlib.suppress(RuntimeError):  # refused with a PUBACK, or the broker drops the client
        forbidden.wait_for_publish(5)
    app.publish("plantops/done/telemetry", b"{}", qos=1).wait_for_publish(5)
    deadline = threading.Event()
    for _ in range(50):
        if "plantops/done/telemetry" in received:
            break
        deadline.wait(0.1)

    assert received == ["plantops/esp32-basil/telemetry", "plantops/done/telemetry"]
    for client in (app, sensor):
        client.disconnect()
        client.loop_stop()


def subscribe(client, topic):
    """The SUBACK reason code of one subscription."""
    granted = {}
    done = threading.Event()

    def on_subscribe(_client, _userdata, _mid, reason_codes, _properties):
        granted["rc"] = reason_codes[0]
        done.set()

    client.on_subscribe = on_subscribe
    client.subscribe(topic, qos=1)
    assert done.wait(5)
    return granted["rc"]


@pytest.mark.parametrize(
    "topic",
    [
        "$share/plantops/plantops/+/telemetry",
        "$share/other/plantops/+/telemetry",
        "#",
        "plantops/#",
        "plantops/esp32-other/telemetry",
        "plantops/esp32-basil/telemetry",
        "$SYS/#",
    ],
)
def test_a_sensor_account_may_subscribe_to_nothing_and_takes_no_readings_from_the_app(auth_broker, topic):
    app = connect(auth_broker, "plantops", ACCOUNTS["plantops"])
    app_received = []
    app.on_message = lambda _c, _u, message: app_received.append(message.payload)
    assert not subscribe(app, "$share/plantops/plantops/+/telemetry").is_failure

    thief = connect(auth_broker, "esp32-basil", ACCOUNTS["esp32-basil"])
    thief_received = []
    thief.on_message = lambda _c, _u, message: thief_received.append(message.payload)
    assert subscribe(thief, topic).is_failure

    other = connect(auth_broker, "esp32-other", ACCOUNTS["esp32-other"])
    sent = [b'{"soil_moisture": %d}' % n for n in range(40)]
    for payload in sent:
        other.publish("plantops/esp32-other/telemetry", payload, qos=1).wait_for_publish(5)
    for _ in range(50):
        if len(app_received) >= len(sent):
            break
        time.sleep(0.1)

    assert sorted(app_received) == sorted(sent)
    assert thief_received == []
    for client in (app, thief, other):
        client.disconnect()
        client.loop_stop()


def test_the_shipped_broker_passes_a_payload_at_the_cap_and_refuses_a_larger_packet(auth_broker):
    app = connect(auth_broker, "plantops", ACCOUNTS["plantops"])
    received = []
    app.on_message = lambda _c, _u, message: received.append(len(message.payload))
    assert not subscribe(app, "$share/plantops/plantops/+/telemetry").is_failure
    # MQTT 3.1.1: the client is told no limit, so the broker itself must refuse.
    sensor = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    sensor.username_pw_set("esp32-basil", ACCOUNTS["esp32-basil"])
    disconnected = threading.Event()
    sensor.on_disconnect = lambda *args: disconnected.set()
    sensor.connect("127.0.0.1", auth_broker)
    sensor.loop_start()

    sensor.publish("plantops/esp32-basil/telemetry", b"x" * MAX_PAYLOAD_BYTES, qos=1).wait_for_publish(5)
    sensor.publish("plantops/esp32-basil/telemetry", b"x" * MAX_PACKET_BYTES, qos=1)
    assert disconnected.wait(5)
    time.sleep(0.3)

    assert received == [MAX_PAYLOAD_BYTES]
    for client in (app, sensor):
        client.disconnect()
        client.loop_stop()

"""Broker accounts through PlantOps's settings page, against a real Mosquitto started from the
shipped configuration: two gardeners each make an account and can publish only as themselves,
an administrator makes a bridge, and every failure is a sentence on the page."""

import re
import time

import pytest
from sqlalchemy import select

from app.domain import broker as names
from app.extensions import db
from app.models import BrokerAccount

from ..conftest import AuthActions, make_user
from ..fixtures.shipped_broker import ADMIN_PASSWORD, APP_PASSWORD, connect, shipped_broker

USERNAME = re.compile(r'id="broker-username">([^<]+)<')
PASSWORD = re.compile(r'id="broker-password" class="token-value">([^<]+)<')
BRIDGE_PASSWORD = re.compile(r'id="bridge-password" class="token-value">([^<]+)<')


@pytest.fixture
def broker():
    """One broker per test: the tables are emptied after each test and user ids start again,
    and the broker would rightly refuse to hand `ana-1` to a second, unrelated row."""
    with shipped_broker() as running:
        yield running


@pytest.fixture
def broker_app(make_app, broker):
    return make_app(
        MQTT_HOST="127.0.0.1",
        MQTT_PORT=broker.port,
        MQTT_ADMIN_PASSWORD=ADMIN_PASSWORD,
        MQTT_PUBLIC_HOST="mqtt.example.com",
    )


def signed_in(app, email, **fields):
    uid = make_user(app, email=email, **fields)
    client = app.test_client()
    assert AuthActions(app, client).login(email=email).status_code == 303
    return uid, client


def rows(app):
    with app.app_context():
        return [
            (a.username, a.user_id, a.role)
            for a in db.session.scalars(select(BrokerAccount).order_by(BrokerAccount.id))
        ]


def make_account(client):
    response = client.post("/settings/broker")
    page = response.get_data(as_text=True)
    assert response.status_code in (200, 201), page
    assert response.headers["Cache-Control"] == "no-store"
    [username] = USERNAME.findall(page)
    [password] = PASSWORD.findall(page)
    return username, password, page


def test_without_an_admin_password_the_page_says_how_to_turn_accounts_on(app, client, user_id):
    page = client.get("/settings").get_data(as_text=True)
    assert "Broker accounts are off on this instance" in page
    assert "MQTT_ADMIN_PASSWORD" in page
    assert "Create my broker account" not in page

    response = client.post("/settings/broker", headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert "MQTT_ADMIN_PASSWORD" in response.get_data(as_text=True)
    assert rows(app) == []


def test_two_gardeners_get_accounts_from_the_settings_page_and_each_publishes_only_as_themselves(broker_app, broker):
    make_user(broker_app, email="admin@example.com")  # the first account: the administrator
    ana_id, ana = signed_in(broker_app, "ana@example.com")
    ben_id, ben = signed_in(broker_app, "ben@example.com")
    assert "Create my broker account" in ana.get("/settings").get_data(as_text=True)

    ana_name, ana_password, page = make_account(ana)
    ben_name, ben_password, _ = make_account(ben)

    assert (ana_name, ben_name) == (f"ana-{ana_id}", f"ben-{ben_id}")
    assert rows(broker_app) == [(ana_name, ana_id, "user"), (ben_name, ben_id, "user")]
    assert "mqtt.example.com" in page
    assert f"base_topic: plantops/u/{ana_name}/zigbee2mqtt" in page
    assert f"FullTopic plantops/u/{ana_name}/%prefix%/%topic%/" in page
    assert f"topic_prefix: plantops/u/{ana_name}/" in page
    assert f"MQTT base topic: plantops/u/{ana_name}/home/" in page
    assert ana_password not in ana.get("/settings").get_data(as_text=True)  # shown once

    app_client = connect(broker.port, names.APP_USERNAME, APP_PASSWORD)
    for topic in names.app_subscribe_filters("plantops"):
        assert not app_client.subscribe(topic).is_failure
    ana_mqtt = connect(broker.port, ana_name, ana_password)
    ben_mqtt = connect(broker.port, ben_name, ben_password)
    assert not ana_mqtt.publish(f"plantops/u/{ana_name}/zigbee2mqtt/Fern soil", b'{"soil_moisture": 38}').is_failure
    for topic in (f"plantops/u/{ben_name}/zigbee2mqtt/Fern soil", "zigbee2mqtt/Fern soil", "tele/flora/SENSOR"):
        assert ana_mqtt.publish(topic, b'{"soil_moisture": 1}').getName() == "Not authorized", topic
    assert ben_mqtt.publish(f"plantops/u/{ana_name}/fern-1/telemetry", b"{}").getName() == "Not authorized"
    assert not ben_mqtt.publish(f"plantops/u/{ben_name}/fern-1/telemetry", b"{}").is_failure
    assert ana_mqtt.subscribe("#").is_failure

    received = [topic for topic, _, _ in app_client.wait_for(2)]
    time.sleep(0.3)
    assert sorted(received) == sorted(
        [f"plantops/u/{ana_name}/zigbee2mqtt/Fern soil", f"plantops/u/{ben_name}/fern-1/telemetry"]
    )
    for each in (app_client, ana_mqtt, ben_mqtt):
        each.close()


def test_reset_gives_a_new_password_once_and_the_old_one_stops_working(broker_app, broker):
    _, ana = signed_in(broker_app, "ana@example.com")
    name, first, _ = make_account(ana)
    again, second, _ = make_account(ana)

    assert again == name
    assert second != first
    assert connect(broker.port, name, first).is_failure
    connect(broker.port, name, second).close()
    assert len(rows(broker_app)) == 1


def test_deleting_my_account_removes_it_from_the_broker_and_the_page(broker_app, broker):
    uid, ana = signed_in(broker_app, "ana@example.com")
    name, password, _ = make_account(ana)
    with broker_app.app_context():
        account_id = db.session.scalar(select(BrokerAccount.id).where(BrokerAccount.user_id == uid))

    response = ana.post(f"/settings/broker/{account_id}/delete", headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "Create my broker account" in response.get_data(as_text=True)
    assert rows(broker_app) == []
    assert connect(broker.port, name, password).is_failure


def test_someone_elses_broker_account_is_404(broker_app, broker):
    make_user(broker_app, email="admin@example.com")
    ana_id, ana = signed_in(broker_app, "ana@example.com")
    _, ben = signed_in(broker_app, "ben@example.com")
    name, password, _ = make_account(ana)
    with broker_app.app_context():
        account_id = db.session.scalar(select(BrokerAccount.id).where(BrokerAccount.user_id == ana_id))

    for other in (account_id, account_id + 1000, 2**31, 2**63):
        url = f"/settings/broker/{other}/delete"
        assert ben.post(url).status_code == 404
    assert ben.post("/settings/broker/bridges", data={"name": "kitchen"}).status_code == 404  # not an administrator

    assert rows(broker_app) == [(name, ana_id, "user")]
    connect(broker.port, name, password).close()


def test_an_administrator_makes_a_bridge_that_publishes_for_many_devices_on_the_shared_topics(broker_app, broker):
    _, admin = signed_in(broker_app, "admin@example.com", is_admin=True)
    _, gardener = signed_in(broker_app, "ana@example.com")
    assert "Bridge accounts" in admin.get("/settings").get_data(as_text=True)
    assert "Bridge accounts" not in gardener.get("/settings").get_data(as_text=True)

    response = admin.post("/settings/broker/bridges", data={"name": "kitchen"})
    page = response.get_data(as_text=True)
    assert response.status_code == 201, page
    [password] = BRIDGE_PASSWORD.findall(page)
    assert rows(broker_app) == [("bridge-kitchen", None, "bridge")]

    app_client = connect(broker.port, names.APP_USERNAME, APP_PASSWORD)
    assert not app_client.subscribe("$share/plantops/zigbee2mqtt/#").is_failure
    bridge = connect(broker.port, "bridge-kitchen", password)
    devices = [f"zigbee2mqtt/Soil {n}" for n in range(10)]
    assert not any(bridge.publish(topic, b'{"soil_moisture": 40}').is_failure for topic in devices)
    assert sorted(topic for topic, _, _ in app_client.wait_for(len(devices))) == sorted(devices)

    with broker_app.app_context():
        bridge_id = db.session.scalar(select(BrokerAccount.id))
    assert gardener.post(f"/settings/broker/{bridge_id}/delete").status_code == 404
    assert admin.post(f"/settings/broker/{bridge_id}/delete").status_code == 200
    assert bridge.disconnected.wait(5)
    assert connect(broker.port, "bridge-kitchen", password).is_failure
    for each in (app_client, bridge):
        each.close()


@pytest.mark.parametrize("name", ["", "Kitchen Z2M", "-x", "x" * 33, "a/b", "#"])
def test_a_bad_bridge_name_is_422_with_the_rule(broker_app, name):
    _, admin = signed_in(broker_app, "admin@example.com", is_admin=True)
    response = admin.post("/settings/broker/bridges", data={"name": name}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "lower-case letters, digits" in response.get_data(as_text=True)
    assert rows(broker_app) == []


def test_a_broker_account_plantops_did_not_make_is_left_alone(broker_app, broker):
    uid, esp = signed_in(broker_app, "esp@example.com")
    broker.accounts("sensor", f"esp-{uid}", "sensor-secret-1")  # an operator's sensor of that name

    response = esp.post("/settings/broker")

    assert response.status_code == 409
    assert "PlantOps did not make" in response.get_data(as_text=True)
    assert rows(broker_app) == []
    connect(broker.port, f"esp-{uid}", "sensor-secret-1").close()


def test_a_broker_that_never_answers_is_a_message_on_the_page_not_a_hung_request(make_app, silent_server):
    app = make_app(MQTT_HOST="127.0.0.1", MQTT_PORT=silent_server.port, MQTT_ADMIN_PASSWORD="x")
    _, ana = signed_in(app, "ana@example.com")
    started = time.monotonic()

    response = ana.post("/settings/broker", headers={"HX-Request": "true"})

    assert time.monotonic() - started < 7
    assert response.status_code == 503
    assert "did not answer within 5 s" in response.get_data(as_text=True)
    assert rows(app) == []


def test_disabling_a_gardener_switches_their_broker_account_off_and_enabling_back_on(broker_app, broker):
    _, admin = signed_in(broker_app, "admin@example.com", is_admin=True)
    uid, ana = signed_in(broker_app, "ana@example.com")
    name, password, _ = make_account(ana)
    sensor = connect(broker.port, name, password)

    response = admin.post(f"/admin/users/{uid}/disable", follow_redirects=True)
    assert f"Their broker account {name} is off." in response.get_data(as_text=True)
    assert sensor.disconnected.wait(5)
    assert connect(broker.port, name, password).is_failure

    response = admin.post(f"/admin/users/{uid}/enable", follow_redirects=True)
    assert f"Their broker account {name} is on again." in response.get_data(as_text=True)
    connect(broker.port, name, password).close()
    sensor.mqtt.loop_stop()


def test_a_key_typed_before_the_account_moves_to_the_accounts_namespace(broker_app, broker):
    """A gardener names their sensor on a plant first, makes the broker account later: the
    device must be the one the account's messages arrive at, not a second one."""
    from app.domain.devices import device_for_key
    from app.models import Device, User

    signed_in(broker_app, "admin@example.com")  # the first account is the administrator
    uid, client = signed_in(broker_app, "ana@example.com")
    with broker_app.app_context():
        device_for_key(db.session, db.session.get(User, uid), "fern-1")
        db.session.commit()
    username, _, _ = make_account(client)
    with broker_app.app_context():
        device = db.session.scalar(select(Device).where(Device.key == "fern-1"))
        assert (device.namespace, device.owner_id) == (username, uid)

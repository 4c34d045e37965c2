"""Every source, end to end on a real broker: each project's documented messages (topic, QoS,
retain flag, payload; tests/fixtures/sources) published as that software does, read by the
consumer, stored by the writer, and found in the device's readings and a bound plant's state.

Each test runs its own Mosquitto (tests/fixtures/services.Broker: a free port on 127.0.0.1)
and a unique MQTT_TOPIC_PREFIX, so the shared topics of the sources (`+/sensor/+/state`,
`+/events/rpc`, ...) are this test's alone and no other process's shared subscription takes
its messages.
"""

import json
import time
import uuid
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import select

from app.clock import utcnow
from app.domain import metrics
from app.domain.payload import MAX_FUTURE
from app.extensions import db
from app.models import BrokerAccount, Device, IngestSource, Plant, Reading
from app.ownership import personal_garden_id
from app.plants.queries import bucketed_readings
from app.workers import background_services
from tests.conftest import make_user
from tests.fixtures.readings import attach_device
from tests.fixtures.source_messages import fixtures
from tests.integration.api.conftest import make_token

from .ingest_helpers import rejections, wait_until

FIXTURES = fixtures()
SOURCE_KINDS = {"miflora-homeassistant": "miflora", "miflora-homie": "miflora"}


class Sender:
    """An MQTT v5 client publishing exactly what a fixture says (QoS, retain flag, bytes)."""

    def __init__(self, port):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"src-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv5)  # fmt: skip
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(self, topic, payload, qos=0, retain=False):
        info = self.client.publish(topic, payload.encode() if isinstance(payload, str) else payload, qos, retain)
        info.wait_for_publish(10)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def sources_app(make_app, mosquitto):
    started = []

    def start(fixture=None, prefix=None, rows=()):
        prefix = prefix or f"pt{uuid.uuid4().hex[:10]}"
        app = make_app(MQTT_ENABLED="true", MQTT_PORT=mosquitto.port, MQTT_TOPIC_PREFIX=prefix)
        with app.app_context():
            if fixture is not None and (fixture.get("base_topic") or fixture["options"]):
                db.session.add(source_row(fixture))
            for row in rows:
                db.session.add(row)
            db.session.commit()
        background_services(app).start()
        started.append(app)
        state = background_services(app).consumer_state
        wait_until(lambda: state.connected, message="consumer connected")
        time.sleep(0.3)  # the SUBACKs of every source's subscriptions
        app.prefix = prefix
        return app

    yield start
    for app in started:
        background_services(app).stop()


@pytest.fixture
def sender(mosquitto):
    client = Sender(mosquitto.port)
    yield client
    client.close()


def source_row(fixture):
    from app.domain.sources.registry import BY_NAME

    spec = BY_NAME[fixture["source"]]
    base = fixture.get("base_topic", spec.adapter.default_base)
    return IngestSource(
        name=fixture["source"], kind=spec.kind, enabled=True, base_topic=base, options=fixture["options"]
    )


def topic_for(fixture, topic, prefix, user):
    if fixture["source"] == "native":  # the contract's examples use the default prefix
        topic = topic.split("/", 1)[1]
        return f"{prefix}/u/{user}/{topic}" if user else f"{prefix}/{topic}"
    return f"{prefix}/u/{user}/{topic}" if user else topic


def device_state(app, namespace, key):
    """(device, latest value per metric over its readings, reading count), or None."""
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.namespace == namespace, Device.key == key))
        if device is None:
            return None
        rows = db.session.scalars(select(Reading).where(Reading.device_id == device.id).order_by(Reading.ts)).all()
        latest = {}
        for row in rows:
            latest.update({m: getattr(row, m) for m in metrics.KEYS if getattr(row, m) is not None})
        db.session.expunge(device)
        return device, latest, len(rows)


def matches(latest, expected):
    return set(latest) >= set(expected) and all(abs(latest[m] - v) < 0.01 for m, v in expected.items())


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.id)
@pytest.mark.parametrize("user", [None, "ana"], ids=["shared", "per-user"])
def test_documented_messages_reach_the_device_and_a_bound_plant(sources_app, sender, fixture, user):
    app = sources_app(fixture)
    gardener = make_user(app, email="ana@example.com")
    if user:
        with app.app_context():
            db.session.add(BrokerAccount(username=user, user_id=gardener, role="user"))
            db.session.commit()
    namespace = user or ""

    for message in fixture["messages"]:
        topic = topic_for(fixture, message["topic"], app.prefix, user)
        sender.publish(topic, message["payload"], message["qos"], message["retain"])

    for key, expected in fixture["expect"].items():
        wait_until(
            lambda key=key, expected=expected: (s := device_state(app, namespace, key)) and matches(s[1], expected),
            message=f"{key}: {expected}",
            status=lambda key=key: (device_state(app, namespace, key) or (None, None))[1],
        )
    with app.app_context():
        keys = set(db.session.scalars(select(Device.key).where(Device.namespace == namespace)))
        owners = set(db.session.scalars(select(Device.owner_id).where(Device.namespace == namespace)))
    # Ignored topics (a light, the bridge, a phone's advert) make no device.
    assert keys == set(fixture["expect"])
    assert owners == ({gardener} if user else {None})

    # Binding a device shows its history at once: the plant's latest state is the device's, and
    # the plant's readings in the API (plant_readings, what the chart and the CSV read) hold them.
    api = app.test_client()
    token = make_token(app, gardener)
    for key, expected in fixture["expect"].items():
        with app.app_context():
            plant = Plant(garden_id=personal_garden_id(gardener), name=f"Plant of {key}")
            attach_device(db.session, plant, key, namespace)
            db.session.commit()
            shown = {m: getattr(plant, f"latest_{m}") for m in expected}
            plant_id = plant.id
        assert shown == pytest.approx(expected, abs=0.01), key
        response = api.get(
            f"/api/v1/plants/{plant_id}/readings?since=2000-01-01T00:00:00Z",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.get_json()
        latest = {}
        for item in response.get_json()["items"]:
            latest.update({m: item[m] for m in expected if item.get(m) is not None})
        assert latest == pytest.approx(expected, abs=0.01), key
        # ... and the plant's chart: one bucket over all time holds each value within its min..max.
        with app.app_context():
            [(_, buckets)] = bucketed_readings(plant_id, datetime(2000, 1, 1, tzinfo=UTC), utcnow() + MAX_FUTURE, 1)
        for metric, value in expected.items():
            low, _, high = buckets[metric]
            assert low - 0.01 <= value <= high + 0.01, (key, metric)
        device, _, count = device_state(app, namespace, key)
        assert device.source == SOURCE_KINDS.get(fixture["source"], fixture["source"])
        assert device.last_seen_at is not None
    for key, times in fixture.get("times", {}).items():
        with app.app_context():
            device_id = db.session.scalar(select(Device.id).where(Device.namespace == namespace, Device.key == key))
            stored = [r.ts.isoformat() for r in db.session.scalars(
                select(Reading).where(Reading.device_id == device_id).order_by(Reading.ts))]  # fmt: skip
        assert stored == sorted(times)


def test_overlapping_filters_deliver_a_message_to_one_adapter_once(sources_app, sender):
    """`homeassistant/sensor/fern/state` matches miflora's and ESPHome's filters: one reading."""
    app = sources_app()
    payload = '{"light": 5424, "temperature": 21.4, "moisture": 30, "conductivity": 1020, "battery": 100}'

    sender.publish("homeassistant/sensor/fern/state", payload)
    sender.publish("fern-node/sensor/fern_temperature/state", "20.5")

    wait_until(lambda: device_state(app, "", "esphome:fern-node"), message="the ESPHome node")
    wait_until(lambda: device_state(app, "", "miflora:fern"), message="the Mi Flora")
    time.sleep(0.5)  # a second copy, had it been stored, would be in by now
    _, latest, count = device_state(app, "", "miflora:fern")
    assert count == 1
    assert latest["soil_moisture"] == 30.0
    assert device_state(app, "", "esphome:homeassistant") is None


def test_a_retained_copy_is_skipped_where_it_has_no_time_and_stored_where_it_has(sources_app, sender, mosquitto):
    """ESPHome retains its states: the copy the broker replays at subscription is of unknown age.
    Tasmota's carries its `Time`: the same reading, stored once."""
    sender.publish("fern-node/sensor/fern_soil_moisture/state", "41.2", 0, True)
    tasmota = {"Time": "2026-12-01T21:05:00", "SHT3X": {"Temperature": 21.4, "Humidity": 48.0}, "TempUnit": "C"}
    sender.publish("tele/windowsill/SENSOR", json.dumps(tasmota), 0, True)

    app = sources_app()

    wait_until(lambda: device_state(app, "", "tasmota:windowsill"), message="the retained Tasmota reading")
    wait_until(lambda: rejections(app).get("retained", 0) >= 1, message="the ESPHome copy counted as retained")
    assert device_state(app, "", "tasmota:windowsill")[1] == {"temperature": 21.4, "humidity": 48.0}
    state = device_state(app, "", "esphome:fern-node")
    assert state is None or state[2] == 0


def test_sources_switched_off_by_an_administrator_are_not_read(sources_app, sender):
    row = IngestSource(name="zigbee2mqtt", kind="zigbee2mqtt", enabled=False, base_topic="zigbee2mqtt", options={})
    moved = IngestSource(name="tasmota", kind="tasmota", enabled=True, base_topic="garden/tele", options={})
    app = sources_app(rows=[row, moved])

    sender.publish("zigbee2mqtt/Fern soil", '{"soil_moisture": 38}')
    sender.publish("garden/tele/windowsill/SENSOR", '{"Time": "2026-12-01T21:05:00", "SHT3X": {"Humidity": 48.0}}')

    wait_until(lambda: device_state(app, "", "tasmota:windowsill"), message="the re-based Tasmota")
    assert device_state(app, "", "zigbee2mqtt:Fern soil") is None


def test_a_user_cannot_publish_into_another_users_namespace_by_topic(sources_app, sender):
    """`<prefix>/u/ana/...` is ana's; the same device key under bo's prefix is another device."""
    app = sources_app()
    ana, bo = make_user(app, email="ana@example.com"), make_user(app, email="bo@example.com")
    with app.app_context():
        db.session.add_all([BrokerAccount(username="ana", user_id=ana), BrokerAccount(username="bo", user_id=bo)])
        db.session.commit()

    sender.publish(f"{app.prefix}/u/ana/zigbee2mqtt/Fern soil", '{"soil_moisture": 38}')
    sender.publish(f"{app.prefix}/u/bo/zigbee2mqtt/Fern soil", '{"soil_moisture": 12}')

    wait_until(lambda: device_state(app, "bo", "zigbee2mqtt:Fern soil"), message="bo's device")
    wait_until(lambda: device_state(app, "ana", "zigbee2mqtt:Fern soil"), message="ana's device")
    ana_device, ana_latest, _ = device_state(app, "ana", "zigbee2mqtt:Fern soil")
    bo_device, bo_latest, _ = device_state(app, "bo", "zigbee2mqtt:Fern soil")
    assert (ana_device.owner_id, ana_latest) == (ana, {"soil_moisture": 38.0})
    assert (bo_device.owner_id, bo_latest) == (bo, {"soil_moisture": 12.0})
    assert device_state(app, "", "zigbee2mqtt:Fern soil") is None


def test_a_bad_field_is_dropped_and_shown_on_the_device_and_the_good_ones_stored(sources_app, sender):
    app = sources_app()
    payload = '{"battery":100,"linkquality":120,"soil_moisture":145,"temperature":22.4,"temperature_unit":"celsius"}'

    sender.publish("zigbee2mqtt/Fern soil", payload)

    wait_until(lambda: (s := device_state(app, "", "zigbee2mqtt:Fern soil")) and s[1], message="the good fields")
    device, latest, _ = device_state(app, "", "zigbee2mqtt:Fern soil")
    assert latest == {"temperature": 22.4, "battery": 100.0}
    assert (device.last_rejection, device.last_rejection_detail) == ("out_of_range", "soil moisture out of range (145)")
    assert device.last_payload == payload
    assert device.last_topic == "zigbee2mqtt/Fern soil"
    assert device.linkquality == 120


def test_a_raw_analog_probe_is_kept_for_calibration_and_the_other_values_stored(sources_app, sender):
    """Tasmota's ANALOG A0 is a raw count: without a calibration it is counted, never shown as %."""
    app = sources_app()
    payload = '{"Time":"2026-12-01T21:05:00","ANALOG":{"A0":2450},"AM2301":{"Temperature":21.4,"Humidity":45.0}}'

    sender.publish("tele/windowsill/SENSOR", payload)

    wait_until(lambda: (s := device_state(app, "", "tasmota:windowsill")) and s[1], message="the reading")
    device, latest, _ = device_state(app, "", "tasmota:windowsill")
    assert latest == {"temperature": 21.4, "humidity": 45.0}
    assert device.last_raw == {"soil_moisture": 2450.0}
    assert device.last_rejection == "uncalibrated"

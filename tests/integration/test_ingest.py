import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.domain.devices import bind_device, device_for_key, primary_device_key
from app.domain.payload import MAX_PAYLOAD_BYTES
from app.extensions import db
from app.models import Device, DeviceRejection, Plant, Reading, User
from app.ownership import personal_garden_id
from app.workers import background_services
from tests.conftest import make_user

from .ingest_helpers import Publisher, claim, reading_count, rejections, start_ingest, wait_until


@pytest.fixture
def ingest_app(make_app, mosquitto):
    apps = []

    def start(**env):
        app = make_app(MQTT_ENABLED="true", MQTT_PORT=mosquitto.port, **env)
        apps.append(start_ingest(app))
        return app

    yield start
    for app in apps:
        background_services(app).stop()


@pytest.fixture
def publisher(mosquitto):
    pub = Publisher(mosquitto.port)
    yield pub
    pub.close()


def test_readings_arrive_and_show_in_the_plants_latest_state(ingest_app, publisher):
    app = ingest_app()
    plants = claim(app, ["sensor-1"])
    now = time.time()

    publisher.send("sensor-1", {"ts": now - 60, "soil_moisture": 40.0, "temperature": 20.0, "battery": 90})
    publisher.send("sensor-1", [{"ts": now - 30, "soil_moisture": 38.5}, {"ts": now - 90, "temperature": 5.0}])

    wait_until(lambda: reading_count(app) == 3, message="3 readings")
    with app.app_context():
        plant = db.session.get(Plant, plants["sensor-1"])
        assert plant.last_reading_at == datetime.fromtimestamp(now - 30, UTC)
        assert plant.latest_soil_moisture == 38.5
        assert plant.latest_temperature == 20.0
        assert plant.latest_battery == 90.0
        assert plant.latest_humidity is None
    state = background_services(app).consumer_state
    wait_until(lambda: state.stored == 3, message="the counters")
    assert app.test_client().get("/api/health").get_json()["checks"]["mqtt"]["status"] == "connected"


BAD_MESSAGES = [
    ("plantops/sensor-1/telemetry", b"{not json", "malformed_json"),
    ("plantops/sensor-1/telemetry", b'{"temperature": "\xff"}', "not_utf8"),
    ("plantops/sensor-1/telemetry", b"x" * (MAX_PAYLOAD_BYTES + 1), "too_large"),
    ("plantops/sensor-1/telemetry", b"[" + b'{"battery": 50},' * 1000 + b'{"battery": 50}]', "too_many_items"),
    ("plantops/sensor-1/telemetry", b'{"temperature": "warm"}', "wrong_type"),
    ("plantops/sensor-1/telemetry", b'{"temperature": NaN}', "not_finite"),
    ("plantops/sensor-1/telemetry", b'{"humidity": Infinity}', "not_finite"),
    ("plantops/sensor-1/telemetry", b'{"soil_moisture": 140}', "out_of_range"),
    ("plantops/sensor-1/telemetry", b'{"temperature": 20, "ts": 99999999999}', "future_ts"),
    ("plantops/sensor-1/telemetry", b'{"temperature": 20, "ts": "2026-01-01T10:00:00"}', "bad_ts"),
    ("plantops/sensor-1/telemetry", b'{"firmware": "1.0"}', "no_metric"),
    ("plantops/sensor-1/telemetry", b"[1, 2]", "wrong_shape"),
    ("plantops/bad device!/telemetry", b'{"temperature": 20}', "bad_topic"),
]


@pytest.mark.parametrize(("topic", "payload", "reason"), BAD_MESSAGES, ids=[m[2] for m in BAD_MESSAGES])
def test_bad_input_is_counted_and_the_next_good_message_is_stored(ingest_app, publisher, topic, payload, reason):
    app = ingest_app()
    claim(app, ["sensor-1"])

    publisher.send(None, payload, topic=topic)
    publisher.send("sensor-1", {"ts": time.time(), "temperature": 21.0})

    wait_until(lambda: reading_count(app, "sensor-1") == 1, message="the good reading")
    counts = wait_until(lambda: rejections(app), message="the rejection")
    assert counts[reason] >= 1
    assert sum(counts.values()) == (2 if reason == "wrong_shape" else 1)
    wait_until(lambda: background_services(app).consumer_state.rejected[reason] >= 1)
    if reason != "bad_topic":  # the device's own diagnostics: "1 rejected today: ..."
        with app.app_context():
            device = db.session.scalar(select(Device).where(Device.key == "sensor-1"))
            day_counts = {r.reason: r.count for r in db.session.scalars(select(DeviceRejection))}
            assert day_counts == {reason: counts[reason]}
            assert device.last_rejection == reason
            assert device.last_payload is not None


def test_a_device_no_plant_uses_keeps_its_readings_and_binding_it_shows_them_at_once(ingest_app, publisher):
    app = ingest_app()
    claim(app, ["sensor-1"])

    for _ in range(3):
        publisher.send("stray-7", {"ts": time.time() - 120, "temperature": 20})
    publisher.send("stray-7", [{"ts": time.time() - 60, "temperature": 20}, {"temperature": 21}])
    publisher.send("sensor-1", {"temperature": 20})

    wait_until(lambda: reading_count(app, "stray-7") == 5, status=lambda: reading_count(app, "stray-7"))
    wait_until(lambda: reading_count(app, "sensor-1") == 1)
    assert "unclaimed_device" not in rejections(app)
    admin = make_user(app, email="admin@example.com", is_admin=True)
    with app.app_context():
        stray = db.session.scalar(select(Device).where(Device.key == "stray-7"))
        assert (stray.namespace, stray.owner_id, stray.source) == ("", None, "native")  # discovered
        assert stray.message_count == 4
        assert stray.last_topic == "plantops/stray-7/telemetry"
        assert stray.metrics == ["temperature"]
        assert stray.first_seen_at <= stray.last_seen_at
        plant = Plant(garden_id=personal_garden_id(admin), name="Ivy")
        db.session.add(plant)
        bind_device(db.session, plant, device_for_key(db.session, db.session.get(User, admin), "stray-7"))
        db.session.commit()
        assert stray.owner_id == admin  # an administrator binding a discovered device owns it
        assert plant.latest_temperature == 21.0
        assert plant.last_reading_at is not None


def test_a_redelivered_reading_is_stored_once_and_old_readings_do_not_move_the_latest_state(ingest_app, publisher):
    app = ingest_app()
    plants = claim(app, ["sensor-1"])
    now = time.time()

    publisher.send("sensor-1", {"ts": now - 10, "temperature": 25.0})
    wait_until(lambda: reading_count(app) == 1)
    publisher.send("sensor-1", {"ts": now - 10, "temperature": 25.0})
    publisher.send("sensor-1", {"ts": now - 3600, "temperature": 10.0})

    wait_until(lambda: reading_count(app) == 2)
    wait_until(lambda: background_services(app).consumer_state.duplicates == 1)
    with app.app_context():
        plant = db.session.get(Plant, plants["sensor-1"])
        assert plant.latest_temperature == 25.0
        assert plant.last_reading_at == datetime.fromtimestamp(now - 10, UTC)


def test_a_retained_reading_is_stored_once_live_and_not_again_at_each_consumer_start(ingest_app, publisher):
    """Mosquitto replays a retained message at every subscription; without `ts` each replay
    would be a new reading (the receive time). The native source ignores retained copies."""
    app = ingest_app()
    claim(app, ["sensor-1"])
    services = background_services(app)
    state = services.consumer_state

    publisher.client.publish("plantops/sensor-1/telemetry", b'{"soil_moisture": 40}', qos=1, retain=True)
    wait_until(lambda: reading_count(app, "sensor-1") == 1, message="the live reading")
    for restart in range(1, 3):
        services.stop()
        services.start()
        wait_until(lambda: state.connected, message="consumer reconnected")
        wait_until(lambda n=restart: state.rejected["retained"] == n, message="the retained copy", status=lambda: state)
    publisher.send("sensor-1", {"ts": time.time() - 5, "temperature": 20.0})
    wait_until(lambda: reading_count(app, "sensor-1") == 2, message="the next live reading")

    assert rejections(app)["retained"] == 2
    assert reading_count(app, "sensor-1") == 2


def test_simulate_demo_creates_the_demo_garden_and_its_readings_arrive(ingest_app):
    app = ingest_app()
    # The demo's seeded week of history ends ten minutes ago (app.care.demo); live readings are now.
    live = datetime.now(UTC) - timedelta(minutes=5)

    result = app.test_cli_runner().invoke(
        args=["simulate", "--devices", "3", "--interval", "0.01", "--count", "4", "--demo", "--seed", "1"]
    )

    assert result.exit_code == 0, result.output
    assert "demo login: demo@plantops.local / " in result.output
    assert "published 12 message(s)" in result.output
    assert reading_count(app) > 12  # the history
    wait_until(lambda: reading_count(app, since=live) == 12, message="12 simulated readings")
    with app.app_context():
        plants = db.session.scalars(select(Plant).order_by(Plant.id)).all()
        assert [primary_device_key(p) for p in plants] == ["sim-001", "sim-002", "sim-003"]
        assert all(p.last_reading_at is not None for p in plants)
    again = app.test_cli_runner().invoke(args=["simulate", "--devices", "3", "--count", "1", "--demo"])
    assert again.exit_code == 0, again.output
    with app.app_context():
        assert len(db.session.scalars(select(Plant)).all()) == 3
    password = again.output.split("demo login: demo@plantops.local / ")[1].split()[0]
    login = app.test_client().post("/auth/login", data={"email": "demo@plantops.local", "password": password})
    assert login.status_code == 303


def test_simulate_demo_is_refused_in_production(make_app):
    app = make_app(PLANTOPS_ENV="production")
    result = app.test_cli_runner().invoke(args=["simulate", "--demo", "--count", "1"])
    assert result.exit_code != 0
    assert "not in production" in result.output


def test_simulate_says_so_when_the_broker_is_unreachable(make_app):
    from tests.fixtures.services import free_port

    app = make_app(MQTT_PORT=free_port())
    result = app.test_cli_runner().invoke(args=["simulate", "--count", "1"])
    assert result.exit_code != 0
    assert "cannot reach the broker" in result.output


def test_a_mi_flora_conductivity_reading_is_stored_with_the_plants_latest_state(ingest_app, publisher):
    app = ingest_app()
    plants = claim(app, ["flora-1"])

    publisher.send("flora-1", {"soil_moisture": 31.0, "conductivity": 1250})

    wait_until(lambda: reading_count(app) == 1, message="the reading")
    with app.app_context():
        assert db.session.scalar(select(Reading.conductivity)) == 1250.0
        assert db.session.get(Plant, plants["flora-1"]).latest_conductivity == 1250.0

"""Devices as records end to end: a plant fed by two devices, one device for two plants,
history before binding, partial messages merged, calibration, and a silent sensor making
its plant stale. Readings go through the ingest writer (tests/fixtures/readings.py)."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.domain.devices import bind_sensors
from app.domain.sources.base import DeviceReading, SourceResult
from app.extensions import db
from app.ingest.writer import Delivery, store_batch
from app.models import Device, DeviceRejection, Plant, Reading
from app.ownership import personal_garden_id
from app.plants.queries import bucketed_readings
from tests.fixtures.readings import ingest

NOW = datetime.now(UTC).replace(microsecond=0)


def device_address(app, key):
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.key == key))
        return device.namespace, device.key


def two_device_plant(app, api):
    """Fern: soil moisture (and the rest) from a Mi Flora, temperature and humidity from a room sensor."""
    plant = api.post("/api/v1/plants", json={"name": "Fern", "device_id": "miflora:Fern"}).get_json()
    api.post("/api/v1/plants", json={"name": "Room", "device_id": "zigbee2mqtt:Room"})
    with app.app_context():
        room = db.session.scalar(select(Device).where(Device.key == "zigbee2mqtt:Room"))
        bind_sensors(db.session, db.session.get(Plant, plant["id"]), {"temperature": room, "humidity": room})
        db.session.commit()
    return plant["id"]


def test_a_plant_fed_by_two_devices_shows_each_metric_from_its_device(app, api):
    plant_id = two_device_plant(app, api)
    flora, room = device_address(app, "miflora:Fern"), device_address(app, "zigbee2mqtt:Room")
    ingest(
        app,
        {
            flora: [{"ts": NOW - timedelta(minutes=10), "soil_moisture": 31.0, "temperature": 35.0}],
            room: [{"ts": NOW - timedelta(minutes=5), "temperature": 21.5, "humidity": 48.0, "soil_moisture": 99.0}],
        },
    )

    body = api.get(f"/api/v1/plants/{plant_id}").get_json()
    assert body["device_id"] == "miflora:Fern"  # bound for four metrics, the room sensor for two
    latest = body["latest"]
    assert (latest["soil_moisture"], latest["temperature"], latest["humidity"]) == (31.0, 21.5, 48.0)
    assert latest["ts"] == (NOW - timedelta(minutes=10)).isoformat().replace("+00:00", "Z")  # the older device

    items = api.get(f"/api/v1/plants/{plant_id}/readings").get_json()["items"]
    values = {(i["soil_moisture"], i["temperature"], i["humidity"]) for i in items}
    assert values == {(31.0, None, None), (None, 21.5, 48.0)}  # 35 °C and 99 % belong to other metrics' devices

    with app.app_context():
        series = bucketed_readings(plant_id, NOW - timedelta(hours=1), NOW, 12)
    by_metric = {m: [v[m][1] for _, v in series if v[m][1] is not None] for m in ("soil_moisture", "temperature")}
    assert by_metric == {"soil_moisture": [31.0], "temperature": [21.5]}
    page = api.client.get(f"/plants/{plant_id}")  # no session: the page itself is covered elsewhere
    assert page.status_code in (302, 401)


def test_a_silent_second_device_makes_the_plant_stale(app, api):
    plant_id = two_device_plant(app, api)
    flora, room = device_address(app, "miflora:Fern"), device_address(app, "zigbee2mqtt:Room")
    ingest(app, {room: [{"ts": NOW - timedelta(hours=3), "temperature": 20.0}]})
    ingest(app, {flora: [{"ts": NOW - timedelta(minutes=1), "soil_moisture": 40.0}]})

    body = api.get(f"/api/v1/plants/{plant_id}").get_json()
    assert body["status"] == "stale"  # the room sensor has been silent for 3 hours (stale after 60 min)
    ingest(app, {room: [{"ts": NOW - timedelta(minutes=1), "temperature": 20.5}]})
    assert api.get(f"/api/v1/plants/{plant_id}").get_json()["status"] == "ok"


def test_readings_from_before_any_plant_show_as_soon_as_a_plant_binds_the_device(app, api):
    with app.app_context():
        db.session.add(
            Device(
                namespace="",
                key="early-1",
                source="native",
                owner_id=api.user_id,
                garden_id=personal_garden_id(api.user_id),
            )
        )
        db.session.commit()
    ingest(app, {"early-1": [{"ts": NOW - timedelta(hours=h), "light": 100.0 * h} for h in (1, 2, 3)]})

    plant = api.post("/api/v1/plants", json={"name": "Ivy", "device_id": "early-1"}).get_json()
    assert plant["latest"]["light"] == 100.0
    since = (NOW - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    items = api.get(f"/api/v1/plants/{plant['id']}/readings?since={since}").get_json()["items"]
    assert [i["light"] for i in items] == [300.0, 200.0, 100.0]


def deliver(app, *readings, rejections=None, details=None, namespace=""):
    result = SourceResult(readings[0].key, list(readings), Counter(rejections or {}), details or {})
    delivery = Delivery("esphome/x", 0, 1, 0, result, 0.0, namespace=namespace, source="esphome", payload=b"41.2")
    with app.app_context():
        outcome = store_batch(db.session, [delivery], datetime.now(UTC))
        db.session.commit()
    return outcome


def test_partial_readings_of_one_time_merge_into_one_row_and_bad_fields_are_counted(app):
    ts = NOW - timedelta(minutes=2)
    deliver(app, DeviceReading("esphome:node", ts, {"temperature": 21.0}, partial=True))
    deliver(
        app,
        DeviceReading("esphome:node", ts, {"humidity": 45.0}, partial=True),
        rejections={"out_of_range": 1},
        details={"out_of_range": "soil moisture out of range (145)"},
    )
    with app.app_context():
        rows = db.session.execute(select(Reading.temperature, Reading.humidity)).all()
        device = db.session.scalar(select(Device))
        counts = {r.reason: r.count for r in db.session.scalars(select(DeviceRejection))}
        assert [tuple(r) for r in rows] == [(21.0, 45.0)]
        assert (device.message_count, device.metrics) == (2, ["temperature", "humidity"])
        assert (device.last_rejection, device.last_rejection_detail) == (
            "out_of_range",
            "soil moisture out of range (145)",
        )
        assert device.last_payload == "41.2"
        assert counts == {"out_of_range": 1}


def test_raw_soil_values_need_a_calibration_and_the_temperature_offset_applies(app):
    ts = NOW - timedelta(minutes=3)
    deliver(app, DeviceReading("esphome:pot", ts, {"temperature": 20.0}, raw={"soil_moisture": 2050.0}))
    with app.app_context():
        device = db.session.scalar(select(Device))
        assert db.session.scalar(select(Reading.soil_moisture)) is None
        assert device.last_rejection == "uncalibrated"
        assert device.last_raw == {"soil_moisture": 2050.0}
        device.calibration = {"soil_dry_raw": 2900, "soil_wet_raw": 1200, "temperature_offset": -0.5}
        db.session.commit()
    deliver(
        app,
        DeviceReading("esphome:pot", ts + timedelta(minutes=1), {"temperature": 20.0}, raw={"soil_moisture": 2050.0}),
    )
    with app.app_context():
        newest = db.session.scalars(select(Reading).order_by(Reading.ts.desc())).first()
        assert (newest.soil_moisture, newest.temperature) == (50.0, 19.5)


def test_a_field_map_is_suggested_on_first_sight_and_applied(app):
    deliver(app, DeviceReading("esphome:pot", NOW, {}, fields={"Fern soil moisture": 33.0, "uptime": 5.0}))
    with app.app_context():
        device = db.session.scalar(select(Device))
        assert device.field_map == {"Fern soil moisture": "soil_moisture", "uptime": ""}
        assert db.session.scalar(select(Reading.soil_moisture)) == 33.0

"""GET/PATCH /api/v1/devices and plants' `sensors`, with two gardeners and an administrator."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.api.v1.schemas import Device as DeviceModel
from app.api.v1.schemas import Plant as PlantModel
from app.extensions import db
from app.models import Device, DeviceRejection, PlantSensor, Reading
from app.ownership import personal_garden_id

from ...conftest import make_user
from .conftest import ApiClient, make_token


def now():
    return datetime.now(UTC)


def add_device(app, owner_id, key, namespace=None, **fields):
    with app.app_context():
        device = Device(
            namespace=namespace if namespace is not None else ("" if owner_id is None else f"user-{owner_id}"),
            key=key,
            source=key.partition(":")[0] if ":" in key else "native",
            owner_id=owner_id,
            garden_id=personal_garden_id(owner_id) if owner_id else None,
            metrics=fields.pop("metrics", []),
            last_seen_at=fields.pop("last_seen_at", now() - timedelta(minutes=2)),
            **fields,
        )
        db.session.add(device)
        db.session.commit()
        return device.id


def add_reading(app, device_id, ts, **values):
    with app.app_context():
        db.session.add(Reading(device_id=device_id, ts=ts, **values))
        device = db.session.get(Device, device_id)
        device.last_reading_at = max(ts, device.last_reading_at or ts)
        db.session.commit()


@pytest.fixture
def admin(app):
    uid = make_user(app, email="admin@example.com", is_admin=True)
    return ApiClient(app.test_client(), make_token(app, uid), uid)


@pytest.fixture
def ana(app, admin):
    uid = make_user(app, email="ana@example.com", is_admin=False)
    return ApiClient(app.test_client(), make_token(app, uid), uid)


def test_devices_list_is_each_users_own_and_the_admins_discovered(app, admin, ana):
    mine = add_device(
        app, admin.user_id, "zigbee2mqtt:Admin soil", namespace="", battery=80.0, metrics=["soil_moisture"]
    )
    hers = add_device(app, ana.user_id, "tasmota:flora1", namespace="ana")
    stray = add_device(app, None, "miflora:Stray")
    with app.app_context():
        device = db.session.get(Device, mine)
        device.last_rejection, device.last_rejection_detail = "out_of_range", "soil moisture out of range (145)"
        device.last_rejection_at = now()
        db.session.add(DeviceRejection(device_id=mine, day=now().date(), reason="out_of_range", count=3))
        db.session.commit()

    items = admin.get("/api/v1/devices").get_json()["items"]
    assert [(d["id"], d["discovered"]) for d in items] == [(mine, False), (stray, True)]
    first = items[0]
    DeviceModel.model_validate(first)
    assert first["key"] == "zigbee2mqtt:Admin soil"
    assert first["source"] == "zigbee2mqtt"
    assert first["battery"] == 80.0
    assert first["metrics"] == ["soil_moisture"]
    assert first["diagnostics"]["rejections"] == {"out_of_range": 3}
    assert first["diagnostics"]["last_rejection"]["detail"] == "soil moisture out of range (145)"
    assert first["diagnostics"]["state"] == "receiving"

    assert [d["id"] for d in ana.get("/api/v1/devices").get_json()["items"]] == [hers]
    for other in (mine, stray):
        assert ana.get(f"/api/v1/devices/{other}").status_code == 404
        assert ana.patch(f"/api/v1/devices/{other}", json={"name": "mine"}).status_code == 404
    assert admin.get(f"/api/v1/devices/{hers}").status_code == 404
    assert admin.get(f"/api/v1/devices/{2**31}").status_code == 404


def test_patch_device_is_a_merge_patch_of_name_calibration_and_field_map(app, admin):
    device_id = add_device(app, admin.user_id, "esphome:balcony", field_map={"temp_1": "temperature", "rssi": ""})
    url = f"/api/v1/devices/{device_id}"

    body = admin.patch(url, json={"name": "Balcony", "calibration": {"soil_dry_raw": 2900, "soil_wet_raw": 1200}})
    assert body.status_code == 200, body.get_json()
    assert body.get_json()["calibration"] == {"soil_dry_raw": 2900, "soil_wet_raw": 1200, "temperature_offset": None}

    body = admin.patch(
        url,
        json={"calibration": {"temperature_offset": -0.5}, "field_map": {"rssi": "", "soil_raw": "soil_moisture"}},
        headers={"Content-Type": "application/merge-patch+json"},
    ).get_json()
    assert body["name"] == "Balcony"
    assert body["calibration"] == {"soil_dry_raw": 2900, "soil_wet_raw": 1200, "temperature_offset": -0.5}
    assert body["field_map"] == {"temp_1": "temperature", "rssi": "", "soil_raw": "soil_moisture"}

    body = admin.patch(
        url, json={"calibration": {"soil_dry_raw": None, "soil_wet_raw": None}, "field_map": {"rssi": None}}
    )
    assert body.status_code == 200, body.get_json()
    assert body.get_json()["calibration"] == {"soil_dry_raw": None, "soil_wet_raw": None, "temperature_offset": -0.5}
    assert body.get_json()["field_map"] == {"temp_1": "temperature", "soil_raw": "soil_moisture"}
    with app.app_context():
        assert db.session.get(Device, device_id).calibration == {"temperature_offset": -0.5}


@pytest.mark.parametrize(
    ("patch", "field", "message"),
    [
        ({"name": 5}, "name", "Must be text."),
        ({"name": "x" * 101}, "name", "Must be at most 100 characters."),
        ({"key": "other"}, "key", "Unknown field."),
        ({"calibration": {"temperature_offset": 25}}, "calibration.temperature_offset", "Must be at most 20."),
        ({"calibration": {"soil_dry_raw": "2900"}}, "calibration.soil_dry_raw", "Must be a number or null."),
        (
            {"calibration": {"soil_dry_raw": 1000, "soil_wet_raw": 1000}},
            "calibration.soil_wet_raw",
            "The dry and the wet value must differ.",
        ),
        ({"calibration": {"offset": 1}}, "calibration.offset", "Unknown field."),
        ({"field_map": {"temp_1": "warmth"}}, "field_map.temp_1", "Must be one of:"),
        ({"field_map": {"a": "temperature", "b": "temperature"}}, "field_map.b", "a already feeds temperature."),
        ({"field_map": {f"f{n}": "" for n in range(51)}}, "field_map", "At most 50 items."),
    ],
)
def test_bad_device_patch_is_422_on_the_field_and_changes_nothing(app, admin, patch, field, message):
    device_id = add_device(
        app, admin.user_id, "esphome:balcony", name="Balcony", calibration={"temperature_offset": 1.0}
    )
    response = admin.patch(f"/api/v1/devices/{device_id}", json=patch)
    assert response.status_code == 422, response.get_json()
    (problem,) = response.get_json()["detail"]
    assert problem["field"] == field
    assert problem["message"].startswith(message)
    with app.app_context():
        device = db.session.get(Device, device_id)
        assert (device.name, device.calibration, device.field_map) == ("Balcony", {"temperature_offset": 1.0}, {})


def test_a_plant_fed_by_two_devices_over_the_api(app, admin):
    room = add_device(app, admin.user_id, "shelly:shellyplusht-1", namespace="")
    soil = add_device(app, admin.user_id, "miflora:Fern", namespace="")
    ts = now() - timedelta(minutes=5)
    add_reading(app, room, ts, temperature=19.8, humidity=42.2)
    add_reading(app, soil, ts + timedelta(seconds=1), soil_moisture=31.0, temperature=25.0, light=5400.0)

    body = {
        "name": "Fern",
        "device_id": "miflora:Fern",
        "sensors": [{"device": "shelly:shellyplusht-1", "metrics": ["temperature", "humidity"]}],
    }
    response = admin.post("/api/v1/plants", json=body)
    assert response.status_code == 201, response.get_json()
    plant = response.get_json()
    PlantModel.model_validate(plant)
    assert plant["device_id"] == "miflora:Fern"
    assert plant["sensors"] == [
        {"device": "miflora:Fern", "metrics": ["soil_moisture", "light", "conductivity", "battery"]},
        {"device": "shelly:shellyplusht-1", "metrics": ["temperature", "humidity"]},
    ]
    assert plant["latest"]["temperature"] == 19.8
    assert plant["latest"]["soil_moisture"] == 31.0

    readings = admin.get(f"/api/v1/plants/{plant['id']}/readings").get_json()["items"]
    assert [(r["temperature"], r["humidity"], r["soil_moisture"]) for r in readings] == [
        (19.8, 42.2, None),
        (None, None, 31.0),
    ]
    assert set(readings[0]) == {"ts", "soil_moisture", "temperature", "humidity", "light", "conductivity", "battery"}

    (listed,) = admin.get("/api/v1/plants").get_json()["items"]
    assert listed["sensors"] == plant["sensors"]
    assert listed["device_id"] == "miflora:Fern"

    # Only device_id: every metric to it; only sensors: exactly those.
    patched = admin.patch(f"/api/v1/plants/{plant['id']}", json={"device_id": "shelly:shellyplusht-1"}).get_json()
    assert patched["sensors"] == [
        {
            "device": "shelly:shellyplusht-1",
            "metrics": list(
                PlantModel.model_fields
                and ["soil_moisture", "temperature", "humidity", "light", "conductivity", "battery"]
            ),
        }
    ]
    patched = admin.patch(
        f"/api/v1/plants/{plant['id']}", json={"sensors": [{"device": "miflora:Fern", "metrics": ["soil_moisture"]}]}
    ).get_json()
    assert patched["sensors"] == [{"device": "miflora:Fern", "metrics": ["soil_moisture"]}]
    assert patched["device_id"] == "miflora:Fern"
    assert admin.patch(f"/api/v1/plants/{plant['id']}", json={"device_id": None}).get_json()["sensors"] == []


@pytest.mark.parametrize(
    ("sensors", "field", "message"),
    [
        ([{"device": "a", "metrics": ["warmth"]}], "sensors.0.metrics.0", "Must be one of: soil_moisture"),
        ([{"device": "has/slash", "metrics": ["temperature"]}], "sensors.0.device", "Use the sensor's id"),
        ([{"device": "zigbee2mqtt: padded ", "metrics": ["temperature"]}], "sensors.0.device", "Use the sensor's id"),
        ([{"device": "a", "metrics": []}], "sensors.0.metrics", "At least 1 item."),
        ([{"device": "a", "metrics": ["temperature"] * 7}], "sensors.0.metrics", "At most 6 items."),
        ([{"device": "a", "metrics": ["humidity"]}] * 7, "sensors", "At most 6 items."),
        (
            [{"device": "a", "metrics": ["temperature"]}, {"device": "b", "metrics": ["humidity", "temperature"]}],
            "sensors",
            "temperature: one device per metric.",
        ),
        ([{"device": "a", "metrics": ["light", "light"]}], "sensors", "light: one device per metric."),
        ([{"device": "a"}], "sensors.0.metrics", "This field is required."),
        ([{"device": "a", "metrics": ["light"], "extra": 1}], "sensors.0.extra", "Unknown field."),
        ("a", "sensors", "Input should be a valid list"),
    ],
)
def test_bad_sensors_are_422_on_the_field(app, admin, sensors, field, message):
    response = admin.post("/api/v1/plants", json={"name": "Fern", "sensors": sensors})
    assert response.status_code == 422, response.get_json()
    problems = {p["field"]: p["message"] for p in response.get_json()["detail"]}
    assert field in problems, problems
    if not message.startswith("Input should"):
        assert problems[field].startswith(message), problems
    with app.app_context():
        assert db.session.scalar(select(Device.id).where(Device.key.in_(["a", "b"]))) is None


def test_the_cached_plant_list_shows_a_binding_changed_without_new_values(app, admin):
    add_device(app, admin.user_id, "room-1", namespace="")
    add_device(app, admin.user_id, "room-2", namespace="")
    plant = admin.post("/api/v1/plants", json={"name": "Fern", "device_id": "room-1"}).get_json()
    assert admin.get("/api/v1/plants").get_json()["items"][0]["device_id"] == "room-1"
    admin.patch(f"/api/v1/plants/{plant['id']}", json={"sensors": [{"device": "room-2", "metrics": ["light"]}]})
    (listed,) = admin.get("/api/v1/plants").get_json()["items"]
    assert listed["sensors"] == [{"device": "room-2", "metrics": ["light"]}]


def test_nobody_binds_another_users_device_through_the_api(app, admin, ana):
    admins = add_device(app, admin.user_id, "zigbee2mqtt:Admin soil", namespace="")
    add_reading(app, admins, now() - timedelta(minutes=1), soil_moisture=55.0)
    stray = add_device(app, None, "miflora:Stray", namespace="")
    add_reading(app, stray, now() - timedelta(minutes=1), light=900.0)

    response = ana.post(
        "/api/v1/plants",
        json={
            "name": "Copycat",
            "sensors": [
                {"device": "zigbee2mqtt:Admin soil", "metrics": ["soil_moisture"]},
                {"device": "miflora:Stray", "metrics": ["light"]},
            ],
        },
    )
    assert response.status_code == 201
    plant = response.get_json()
    assert plant["latest"] is None
    assert ana.get(f"/api/v1/plants/{plant['id']}/readings").get_json()["items"] == []
    with app.app_context():
        bound = set(db.session.scalars(select(PlantSensor.device_id).where(PlantSensor.plant_id == plant["id"])))
        assert admins not in bound
        assert stray not in bound
        assert {db.session.get(Device, d).owner_id for d in bound} == {ana.user_id}
        assert db.session.get(Device, stray).owner_id is None
    # The devices she made are hers; the administrator's are still not visible to her.
    assert {d["key"] for d in ana.get("/api/v1/devices").get_json()["items"]} == {
        "zigbee2mqtt:Admin soil",
        "miflora:Stray",
    }
    assert admins not in {d["id"] for d in ana.get("/api/v1/devices").get_json()["items"]}


def test_the_openapi_document_lists_the_device_operations(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert set(document["paths"]["/api/v1/devices"]) == {"get"}
    assert set(document["paths"]["/api/v1/devices/{device_id}"]) == {"get", "patch"}
    plant_input = document["components"]["schemas"]["PlantInput"]["properties"]
    assert "sensors" in plant_input
    assert "sensors" in document["components"]["schemas"]["Plant"]["required"]

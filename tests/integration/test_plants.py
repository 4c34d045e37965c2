from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.domain import devices
from app.extensions import db
from app.models import Alert, Device, Plant, PlantSensor, Reading, Task, User
from app.ownership import personal_garden_id

from ..fixtures.readings import seed_readings

VALID = {
    "name": "Monstera",
    "species": "Monstera deliciosa",
    "location": "Living room",
    "notes": "",
    "device_id": "esp32-monstera",
    "preset": "",
    "soil_moisture_min": "30",
    "soil_moisture_max": "70",
    "temperature_min": "",
    "temperature_max": "",
    "humidity_min": "",
    "humidity_max": "",
    "light_min": "",
    "light_max": "",
    "stale_after_minutes": "60",
}


def create_plant(app, user_id, device_id=None, **fields):
    """A plant, with the device of key `device_id` (made for its owner) bound for every metric."""
    with app.app_context():
        plant = Plant(garden_id=personal_garden_id(user_id), **{"name": "Fern", **fields})
        db.session.add(plant)
        db.session.flush()
        if device_id is not None:
            user = db.session.get(User, user_id)
            devices.bind_device(db.session, plant, devices.device_for_key(db.session, user, device_id))
        db.session.commit()
        return plant.id


def device_key(app, plant_id):
    """The plant's `device_id` as the API and the form show it: the key of its main device."""
    with app.app_context():
        return devices.primary_device_key(db.session.get(Plant, plant_id))


def get_plant(app, plant_id):
    with app.app_context():
        plant = db.session.get(Plant, plant_id)
        if plant is not None:
            db.session.expunge(plant)
        return plant


def now():
    return datetime.now(UTC)


# ---- create, edit, delete ------------------------------------------------------------


def test_create_plant_stores_it_and_redirects_to_its_page(app, client, user_id):
    response = client.post("/plants/new", data=VALID)

    assert response.status_code == 303
    with app.app_context():
        plant = db.session.scalar(select(Plant))
        assert (plant.garden_id, plant.name) == (personal_garden_id(user_id), "Monstera")
        assert devices.primary_device_key(plant) == "esp32-monstera"
        assert (plant.soil_moisture_min, plant.soil_moisture_max, plant.temperature_min) == (30.0, 70.0, None)
        assert response.location.endswith(f"/plants/{plant.id}")
    page = client.get(response.location)
    assert b"Monstera" in page.data
    assert b"Added Monstera." in page.data


def test_htmx_create_answers_hx_redirect(htmx, user_id):
    response = htmx.post("/plants/new", data=VALID)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/plants/")


def test_new_plant_form_renders_with_defaults(client, user_id):
    response = client.get("/plants/new")
    assert response.status_code == 200
    assert b'name="stale_after_minutes"' in response.data
    assert b'value="60"' in response.data
    assert b"Succulent" in response.data


def test_edit_plant_changes_fields(app, client, user_id):
    plant_id = create_plant(app, user_id, device_id="old-id")
    form = client.get(f"/plants/{plant_id}/edit")
    assert b'<option selected value="1">old-id (native)</option>' in form.data

    response = client.post(f"/plants/{plant_id}/edit", data={**VALID, "name": "Big fern", "device_id": "old-id"})

    assert response.status_code == 303
    plant = get_plant(app, plant_id)
    assert (plant.name, plant.soil_moisture_max) == ("Big fern", 70.0)
    assert device_key(app, plant_id) == "old-id"


def test_edit_can_remove_device_and_thresholds(app, client, user_id):
    plant_id = create_plant(app, user_id, device_id="dev-1", light_min=100.0)
    blank = {**VALID, "device_id": "", "soil_moisture_min": "", "soil_moisture_max": ""}
    assert client.post(f"/plants/{plant_id}/edit", data=blank).status_code == 303
    plant = get_plant(app, plant_id)
    assert (plant.light_min, plant.soil_moisture_min) == (None, None)
    assert device_key(app, plant_id) is None


def test_delete_asks_first_and_says_alerts_go_and_sensors_keep_their_readings(app, client, user_id):
    plant_id = create_plant(app, user_id, device_id="dev-1")
    page = client.get(f"/plants/{plant_id}/delete")
    assert page.status_code == 200
    assert b"together with <strong>its alerts</strong>" in page.data
    assert b"Its sensors and their readings stay" in page.data
    assert get_plant(app, plant_id) is not None


def test_delete_removes_plant_and_alerts_but_keeps_tasks_and_the_devices_readings(app, client, user_id):
    plant_id = create_plant(app, user_id, device_id="dev-del")
    seed_readings(app, plant_id, [{"ts": now() - timedelta(minutes=i), "soil_moisture": 40.0} for i in range(5)])
    with app.app_context():
        db.session.add(Alert(garden_id=personal_garden_id(user_id), plant_id=plant_id, problem="soil_moisture_low"))
        db.session.add(Task(garden_id=personal_garden_id(user_id), plant_id=plant_id, title="Water"))
        db.session.commit()

    response = client.post(f"/plants/{plant_id}/delete")

    assert response.status_code == 303
    assert response.location.endswith("/plants")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Plant)) == 0
        assert db.session.scalar(select(func.count()).select_from(Reading)) == 5
        assert db.session.scalar(select(func.count()).select_from(Alert)) == 0
        assert db.session.scalar(select(Task.plant_id)) is None
    assert b"Deleted Fern and its alerts; its sensors keep their readings." in client.get("/plants").data


# ---- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", b"This field is required."),
        ("name", "x" * 101, b"Field cannot be longer than 100 characters."),
        ("device_id", "has space", b"Use the sensor&#39;s id (1 to 64 letters"),
        ("device_id", "a/b", b"Use the sensor&#39;s id (1 to 64 letters"),
        ("device_id", "d" * 65, b"Use the sensor&#39;s id (1 to 64 letters"),
        ("device_id", "zigbee2mqtt:" + "x" * 190, b"Use the sensor&#39;s id (1 to 64 letters"),
        ("device", "999", b"Choose one of the devices listed."),
        ("sensor_temperature", "abc", b"Choose one of the devices listed."),
        ("soil_moisture_min", "wet", b"Not a valid float value."),
        ("soil_moisture_min", "nan", b"Enter a number."),
        ("soil_moisture_min", "-1", b"Use a value from 0 to 100 %."),
        ("temperature_max", "90", b"Use a value from -40 to 85"),
        ("light_max", "250", "Use a value from 0 to 80 mol/m²/day.".encode()),
        ("soil_moisture_max", "20", b"The maximum must be at least the minimum (30)."),
        ("stale_after_minutes", "", b"Enter a number of minutes."),
        ("stale_after_minutes", "0", b"Use 1 to 10080 minutes"),
        ("stale_after_minutes", "99999", b"Use 1 to 10080 minutes"),
        ("stale_after_minutes", "ten", b"Not a valid integer value."),
        ("preset", "cactus-ish", b"Not a valid choice."),
    ],
)
def test_invalid_plant_is_422_with_inline_error_keeping_input(app, htmx, user_id, field, value, message):
    response = htmx.post("/plants/new", data={**VALID, field: value})

    assert response.status_code == 422
    assert message in response.data
    assert b"<html" not in response.data  # the form fragment only
    assert b'value="Monstera deliciosa"' in response.data  # what was typed stays
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Plant)) == 0


def test_someone_elses_device_id_makes_a_device_of_ones_own(app, client, other_client, user_id):
    theirs = create_plant(app, user_id, name="Someone's secret plant", device_id="shared-dev")
    response = other_client.post("/plants/new", data={**VALID, "device_id": "shared-dev"})

    assert response.status_code == 303
    mine = int(response.location.rsplit("/", 1)[1])
    with app.app_context():
        owners = {
            plant_id: {sensor.device.owner_id for sensor in db.session.get(Plant, plant_id).sensors}
            for plant_id in (theirs, mine)
        }
    assert owners[theirs] == {user_id}
    assert user_id not in owners[mine]
    assert b"secret" not in other_client.get(response.location).data


def test_editing_keeps_own_device_id_without_taken_error(app, client, user_id):
    plant_id = create_plant(app, user_id, device_id="mine")
    response = client.post(f"/plants/{plant_id}/edit", data={**VALID, "device_id": "mine"})
    assert response.status_code == 303


def test_failed_edit_changes_nothing(app, client, user_id):
    plant_id = create_plant(app, user_id, name="Fern")
    response = client.post(f"/plants/{plant_id}/edit", data={**VALID, "name": "New", "stale_after_minutes": "0"})
    assert response.status_code == 422
    assert get_plant(app, plant_id).name == "Fern"


def test_one_device_serves_two_plants(app, client, user_id):
    first = client.post("/plants/new", data={**VALID, "device_id": "room-1"})
    second = client.post("/plants/new", data={**VALID, "name": "Ivy", "device_id": "room-1"})
    assert (first.status_code, second.status_code) == (303, 303)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Device)) == 1
        plant_ids = db.session.scalars(select(Plant.id).order_by(Plant.id)).all()
    seed_readings(app, plant_ids[0], [{"ts": now() - timedelta(minutes=1), "humidity": 47.0}])
    for plant_id in plant_ids:
        assert get_plant(app, plant_id).latest_humidity == 47.0
        assert "47.0" in client.get(f"/plants/{plant_id}").get_data(as_text=True)


# ---- presets ------------------------------------------------------------------------------


def test_preset_fills_blank_thresholds_on_save_without_javascript(app, client, user_id):
    blank = {k: "" for k in VALID if k.endswith(("_min", "_max"))}
    response = client.post("/plants/new", data={**VALID, **blank, "preset": "succulent"})

    assert response.status_code == 303, response.data
    with app.app_context():
        plant = db.session.scalar(select(Plant))
        assert (plant.soil_moisture_min, plant.soil_moisture_max, plant.light_min) == (10.0, 40.0, 10.0)


def test_preset_does_not_override_typed_thresholds(app, client, user_id):
    assert client.post("/plants/new", data={**VALID, "preset": "succulent"}).status_code == 303
    with app.app_context():
        plant = db.session.scalar(select(Plant))
        assert (plant.soil_moisture_min, plant.temperature_min) == (30.0, None)


def test_fill_in_button_shows_preset_values_without_saving(app, client, user_id):
    response = client.post("/plants/new", data={**VALID, "preset": "tropical", "apply_preset": "1"})
    assert response.status_code == 200
    assert b'name="soil_moisture_min" step="any" type="number" value="40"' in response.data
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Plant)) == 0


def test_preset_endpoint_returns_filled_threshold_fields(htmx, user_id):
    response = htmx.get("/plants/thresholds?preset=herbs")
    assert response.status_code == 200
    assert b'name="soil_moisture_min"' in response.data
    assert b'value="30"' in response.data
    assert b"<html" not in response.data


@pytest.mark.parametrize("preset", ["", "nope"])
def test_no_preset_keeps_typed_thresholds(htmx, user_id, preset):
    assert htmx.get(f"/plants/thresholds?preset={preset}").status_code == 204


# ---- devices waiting for a plant ---------------------------------------------------------------


def test_new_plant_form_lists_unused_devices_and_use_fills_the_picker(app, client, user_id):
    with app.app_context():
        new = Device(
            namespace="",
            key="esp-new",
            source="native",
            owner_id=user_id,
            garden_id=personal_garden_id(user_id),
            metrics=["soil_moisture"],
        )
        used = Device(
            namespace="",
            key="esp-used",
            source="native",
            owner_id=user_id,
            garden_id=personal_garden_id(user_id),
            metrics=[],
        )
        db.session.add_all([new, used])
        db.session.commit()
        new_id = new.id
    assert client.post("/plants/new", data={**VALID, "name": "Old", "device_id": "esp-used"}).status_code == 303

    form = client.get("/plants/new").get_data(as_text=True)
    assert "esp-new" in form
    assert "sends soil moisture" in form
    assert f'name="use_device" value="{new_id}"' in form
    assert "esp-used (native)</strong>" not in form  # a plant uses it already (still in the picker)

    picked = client.post("/plants/new", data={**VALID, "use_device": str(new_id)}).get_data(as_text=True)
    assert f'<option selected value="{new_id}">' in picked
    assert f'value="{VALID["name"]}"' in picked
    assert client.post("/plants/new", data={**VALID, "device_id": "", "device": str(new_id)}).status_code == 303
    with app.app_context():
        bound = select(func.count()).select_from(PlantSensor).where(PlantSensor.device_id == new_id)
        assert db.session.scalar(bound) == 6


# ---- isolation -----------------------------------------------------------------------------------


def test_dashboard_shows_only_own_plants(app, client, other_client, user_id):
    create_plant(app, user_id, name="Mine only")
    assert b"Mine only" in client.get("/plants").data
    assert b"Mine only" not in other_client.get("/plants").data


def test_plant_pages_need_login(app, client):
    assert client.get("/plants/new").status_code == 302
    assert client.get("/plants/1").status_code == 302

"""/devices, /devices/<id> and the plant form's device pickers, with two gardeners and an
administrator: nobody sees or binds another's device; administrators see discovered ones."""

import html as html_lib
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Device, DeviceRejection, Plant, PlantSensor, Reading
from app.ownership import personal_garden_id

from ..conftest import AuthActions, make_user


def now():
    return datetime.now(UTC)


def add_device(app, owner_id, key, namespace=None, **fields):
    """A device as the writer leaves it after some messages."""
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


def add_readings(app, device_id, **values):
    """One reading of `device_id` a minute ago, and the device's latest-reading time."""
    with app.app_context():
        ts = now() - timedelta(minutes=1)
        db.session.add(Reading(device_id=device_id, ts=ts, **values))
        device = db.session.get(Device, device_id)
        device.last_reading_at = ts
        device.metrics = sorted(set(device.metrics or []) | set(values))
        db.session.commit()


def text_of(response):
    """The visible text, whitespace collapsed."""
    body = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html_lib.unescape(body))


@pytest.fixture
def admin_id(app, auth):
    """The first account, an administrator, signed in on `client`."""
    uid = make_user(app, email="admin@example.com", is_admin=True)
    assert auth.login(email="admin@example.com").status_code == 303
    return uid


@pytest.fixture
def gardener(app):
    """A second account, not an administrator, signed in on a client of its own."""
    uid = make_user(app, email="ana@example.com", is_admin=False)
    client = app.test_client()
    assert AuthActions(app, client).login(email="ana@example.com").status_code == 303
    return uid, client


def test_each_gardener_sees_only_their_devices_and_the_admin_sees_discovered(app, client, admin_id, gardener):
    ana_id, ana = gardener
    mine = add_device(app, admin_id, "zigbee2mqtt:Admin soil", namespace="", name="Admin soil", battery=87.0)
    hers = add_device(app, ana_id, "zigbee2mqtt:Fern soil", namespace="ana", name="Fern soil")
    stray = add_device(app, None, "miflora:Stray flora")

    admin_page = text_of(client.get("/devices"))
    assert "Admin soil" in admin_page
    assert "87 %" in admin_page
    assert "Discovered" in admin_page
    assert "miflora:Stray flora" in admin_page
    assert "Fern soil" not in admin_page
    assert f'href="/plants/new?device={stray}"' in client.get("/devices").get_data(as_text=True)

    ana_page = text_of(ana.get("/devices"))
    assert "Fern soil" in ana_page
    assert "Admin soil" not in ana_page
    assert "Stray flora" not in ana_page
    assert "Discovered" not in ana_page

    for other in (mine, stray):
        assert ana.get(f"/devices/{other}").status_code == 404
        assert ana.post(f"/devices/{other}/name", data={"name": "mine now"}).status_code == 404
        assert ana.post(f"/devices/{other}/calibration", data={"temperature_offset": "1"}).status_code == 404
    assert client.get(f"/devices/{hers}").status_code == 404
    assert client.get("/devices/0").status_code == 404
    assert client.get(f"/devices/{2**40}").status_code == 404
    with app.app_context():
        assert db.session.get(Device, mine).name == "Admin soil"


def test_device_page_shows_diagnostics_and_the_last_payload_escaped(app, client, admin_id):
    payload = '{"soil_moisture": 145, "note": "<script>alert(1)</script>"}' + " " * 2500
    device_id = add_device(
        app,
        admin_id,
        "zigbee2mqtt:Fern soil",
        last_payload=payload[:2000],
        last_topic="zigbee2mqtt/Fern soil",
        last_rejection="out_of_range",
        last_rejection_detail="soil moisture out of range (145)",
        last_rejection_at=now(),
        message_count=42,
    )
    add_readings(app, device_id, temperature=21.5, battery=90.0)
    with app.app_context():
        db.session.add(DeviceRejection(device_id=device_id, day=now().date(), reason="out_of_range", count=3))
        db.session.add(
            DeviceRejection(device_id=device_id, day=now().date() - timedelta(days=1), reason="bad_ts", count=9)
        )
        db.session.commit()

    response = client.get(f"/devices/{device_id}")
    page = text_of(response)
    raw = response.get_data(as_text=True)

    assert "receiving; last message 2 min ago; 3 rejected today: soil moisture out of range (145)" in page
    assert "3 × value out of range" in page
    assert "bad_ts" not in page  # yesterday's
    assert "Temperature 21.5 °C" in page
    assert "Battery 90 %" in page
    assert "<script>alert(1)</script>" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    shown = re.search(r'<pre class="payload">([^<]*)</pre>', raw).group(1)
    assert html_lib.unescape(shown).startswith('{"soil_moisture": 145')
    assert len(html_lib.unescape(shown)) <= 2001


def test_a_silent_device_and_one_never_heard_from_say_so(app, client, admin_id):
    silent = add_device(app, admin_id, "silent-1", last_seen_at=now() - timedelta(hours=3))
    waiting = add_device(app, admin_id, "waiting-1", last_seen_at=None)
    assert "silent; last message 3 h ago" in text_of(client.get(f"/devices/{silent}"))
    assert "waiting for a first message" in text_of(client.get(f"/devices/{waiting}"))


def test_calibration_buttons_take_the_current_raw_value_and_keep_what_was_typed(app, client, admin_id):
    device_id = add_device(app, admin_id, "esphome:balcony", last_raw={"soil_moisture": 2450.0})

    response = client.post(
        f"/devices/{device_id}/calibration", data={"take": "dry", "soil_wet_raw": "", "temperature_offset": "-0.5"}
    )
    assert response.status_code == 303, re.findall(r"field-error[^>]*>([^<]*)", response.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(Device, device_id).calibration == {"soil_dry_raw": 2450.0, "temperature_offset": -0.5}
        db.session.get(Device, device_id).last_raw = {"soil_moisture": 1200.0}
        db.session.commit()
    assert "It sends 1200 now." in text_of(client.get(f"/devices/{device_id}"))

    response = client.post(
        f"/devices/{device_id}/calibration",
        data={"take": "wet", "soil_dry_raw": "2450", "temperature_offset": "-0.5"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Saved." in response.get_data(as_text=True)
    assert 'value="1200"' in response.get_data(as_text=True)
    with app.app_context():
        calibration = db.session.get(Device, device_id).calibration
    assert calibration == {"soil_dry_raw": 2450.0, "soil_wet_raw": 1200.0, "temperature_offset": -0.5}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"temperature_offset": "warm"}, "Not a valid float value."),
        ({"temperature_offset": "25"}, "Use a value from -20 to 20 °C."),
        ({"soil_dry_raw": "1e300"}, "Use a value from -1e+07 to 1e+07."),
        ({"soil_dry_raw": "nan"}, "Enter a number."),
        ({"soil_dry_raw": "1000", "soil_wet_raw": "1000"}, "The dry and the wet value must differ."),
    ],
)
def test_bad_calibration_is_an_inline_error_and_nothing_is_saved(app, htmx, admin_id, data, message):
    device_id = add_device(app, admin_id, "esphome:balcony", calibration={"temperature_offset": 1.0})
    response = htmx.post(f"/devices/{device_id}/calibration", data=data)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert html_lib.escape(message) in body
    assert body.lstrip().startswith('<form id="calibration-form"')  # only the fragment
    for typed in data.values():
        assert f'value="{typed}"' in body
    with app.app_context():
        assert db.session.get(Device, device_id).calibration == {"temperature_offset": 1.0}


def test_this_is_dry_now_without_a_raw_value_says_so(app, client, admin_id):
    device_id = add_device(app, admin_id, "esphome:balcony", last_raw={})
    response = client.post(f"/devices/{device_id}/calibration", data={"take": "dry", "temperature_offset": "0.3"})
    assert response.status_code == 422
    assert "has not sent a raw soil value yet" in text_of(response)
    assert 'value="0.3"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Device, device_id).calibration == {}


def test_rename_and_its_errors(app, htmx, admin_id):
    device_id = add_device(app, admin_id, "zigbee2mqtt:0x00158d0001", name="")
    response = htmx.post(f"/devices/{device_id}/name", data={"name": "  Balcony soil "})
    assert response.status_code == 200
    assert "Saved." in response.get_data(as_text=True)
    response = htmx.post(f"/devices/{device_id}/name", data={"name": "x" * 101})
    assert response.status_code == 422
    assert "Field cannot be longer than 100 characters." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Device, device_id).name == "Balcony soil"
    assert "Balcony soil" in text_of(htmx.get("/devices"))


def test_field_map_maps_each_source_field_and_refuses_two_for_one_metric(app, client, admin_id):
    device_id = add_device(
        app, admin_id, "esphome:balcony", field_map={"soil_raw": "soil_moisture", "temp_1": "temperature", "rssi": ""}
    )
    page = client.get(f"/devices/{device_id}").get_data(as_text=True)
    assert re.search(r'name="map.temp_1">.*?<option value="temperature" selected>', page, re.DOTALL)

    response = client.post(
        f"/devices/{device_id}/field-map",
        data={"map.temp_1": "temperature", "map.rssi": "", "map.soil_raw": "humidity"},
    )
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Device, device_id).field_map == {
            "soil_raw": "humidity",
            "temp_1": "temperature",
            "rssi": "",
        }

    response = client.post(
        f"/devices/{device_id}/field-map",
        data={"map.temp_1": "temperature", "map.rssi": "temperature", "map.soil_raw": "not-a-metric"},
    )
    assert response.status_code == 422
    assert "Choose a metric" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Device, device_id).field_map["rssi"] == ""


def sensor_rows(app, plant_id):
    with app.app_context():
        rows = db.session.execute(
            select(PlantSensor.metric, PlantSensor.device_id).where(PlantSensor.plant_id == plant_id)
        )
        return dict(rows.all())


def test_a_plant_fed_by_a_room_sensor_and_a_soil_sensor(app, client, admin_id):
    room = add_device(app, admin_id, "shelly:shellyplusht-1", name="Windowsill H&T")
    soil = add_device(app, admin_id, "miflora:Fern", name="Fern flora")
    add_readings(app, room, temperature=19.8, humidity=42.2)
    add_readings(app, soil, soil_moisture=31.0, temperature=25.0, light=5400.0, conductivity=1020.0, battery=100.0)

    response = client.post(
        "/plants/new",
        data={
            "name": "Fern",
            "stale_after_minutes": "60",
            "device": str(soil),
            "sensor_temperature": str(room),
            "sensor_humidity": str(room),
        },
    )
    assert response.status_code == 303, text_of(response)
    plant_id = int(response.location.rsplit("/", 1)[1])
    bound = sensor_rows(app, plant_id)
    assert bound["temperature"] == bound["humidity"] == room
    assert bound["soil_moisture"] == bound["light"] == bound["conductivity"] == soil

    page = text_of(client.get(f"/plants/{plant_id}"))
    assert "Soil moisture, Light, Conductivity, Battery from Fern flora" in page
    assert "Temperature, Humidity from Windowsill H&T" in page
    assert page.count("receiving; last message 2 min ago") == 2
    assert "19.8 °C" in page
    assert "31.0 %" in page
    assert "25.0 °C" not in page

    edit = client.get(f"/plants/{plant_id}/edit").get_data(as_text=True)
    assert re.search(rf'<option selected value="{soil}">', edit) or f'<option value="{soil}" selected' in edit
    assert re.search(rf'id="sensor_temperature".*?<option selected value="{room}">', edit, re.DOTALL)
    assert '<details class="per-metric" open>' in edit


def test_use_fills_the_picker_without_losing_what_was_typed(app, client, admin_id):
    flora = add_device(app, admin_id, "miflora:Basil", metrics=["soil_moisture"])
    response = client.post(
        "/plants/new",
        data={
            "name": "Basil",
            "location": "Kitchen",
            "notes": "Pinch weekly",
            "light_min": "5000",
            "use_device": str(flora),
        },
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'value="Basil"' in body
    assert 'value="Kitchen"' in body
    assert "Pinch weekly" in body
    assert 'value="5000"' in body
    assert re.search(rf'<option selected value="{flora}">', body)
    with app.app_context():
        assert db.session.scalar(select(Plant.id)) is None  # nothing saved yet


def test_discovered_device_used_by_the_admin_becomes_theirs(app, client, admin_id):
    stray = add_device(app, None, "openmqttgateway:C47C8D6A1B2C")
    form = client.get(f"/plants/new?device={stray}").get_data(as_text=True)
    assert re.search(rf'<option selected value="{stray}">', form)
    response = client.post("/plants/new", data={"name": "Monstera", "stale_after_minutes": "60", "device": str(stray)})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Device, stray).owner_id == admin_id


def test_a_gardener_cannot_bind_another_gardeners_device_or_a_discovered_one(app, admin_id, gardener):
    ana_id, ana = gardener
    admins = add_device(app, admin_id, "zigbee2mqtt:Admin soil", namespace="")
    stray = add_device(app, None, "miflora:Stray")
    hers = add_device(app, ana_id, "tasmota:flora1", namespace="ana")

    form = ana.get("/plants/new").get_data(as_text=True)
    assert f'<option value="{hers}">' in form
    assert f'<option value="{admins}">' not in form
    assert f'<option value="{stray}">' not in form

    for other in (admins, stray):
        response = ana.post("/plants/new", data={"name": "Sneaky", "stale_after_minutes": "60", "device": str(other)})
        assert response.status_code == 422
        assert "Choose one of the devices listed." in response.get_data(as_text=True)
        response = ana.post(
            "/plants/new", data={"name": "Sneaky", "stale_after_minutes": "60", "sensor_temperature": str(other)}
        )
        assert response.status_code == 422
        response = ana.post("/plants/new", data={"name": "Sneaky", "use_device": str(other)})
        assert f'<option selected value="{other}">' not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Plant.id)) is None
        assert db.session.get(Device, stray).owner_id is None


def test_typing_another_gardeners_key_makes_a_device_of_ones_own(app, admin_id, gardener):
    ana_id, ana = gardener
    admins = add_device(app, admin_id, "zigbee2mqtt:Admin soil", namespace="")
    add_readings(app, admins, soil_moisture=55.0)
    response = ana.post(
        "/plants/new", data={"name": "Copycat", "stale_after_minutes": "60", "device_id": "zigbee2mqtt:Admin soil"}
    )
    assert response.status_code == 303
    plant_id = int(response.location.rsplit("/", 1)[1])
    with app.app_context():
        devices = {
            row.device_id for row in db.session.scalars(select(PlantSensor).where(PlantSensor.plant_id == plant_id))
        }
        assert admins not in devices
        (own,) = devices
        assert db.session.get(Device, own).owner_id == ana_id
        assert db.session.get(Plant, plant_id).latest_soil_moisture is None
    assert "55.0 %" not in text_of(ana.get(f"/plants/{plant_id}"))


def test_the_diagnostics_poll_answers_only_its_fragment(app, htmx, admin_id):
    device_id = add_device(app, admin_id, "zigbee2mqtt:Fern soil", message_count=5)
    page = htmx.client.get(f"/devices/{device_id}").get_data(as_text=True)
    assert 'hx-trigger="every 30s"' in page
    fragment = htmx.get(f"/devices/{device_id}")
    body = fragment.get_data(as_text=True)
    assert "<html" not in body
    assert "receiving; last message 2 min ago" in text_of(fragment)
    assert "Calibration" not in body
    assert "HX-Request" in fragment.headers["Vary"]
    assert "receiving" in text_of(htmx.get("/devices"))
    assert "<html" not in htmx.get("/devices").get_data(as_text=True)

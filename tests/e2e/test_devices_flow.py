"""A gardener on a phone binds a room sensor for temperature and humidity and a soil sensor
for the rest, and sees both feeding the plant page with their diagnostics."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Device, DeviceRejection, Plant, PlantSensor
from tests.fixtures.browser import sign_in

from ..conftest import make_user
from ..fixtures.browser import screenshot
from ..fixtures.readings import ingest

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
SCREENSHOT = "/tmp/devui-plant-two-devices.png"


ROOM = "windowsill-ht"
SOIL = "fern-flora"


def device_id_of(app, key):
    with app.app_context():
        return db.session.scalar(select(Device.id).where(Device.key == key))


def rename(page, base, device_id, name):
    page.goto(f"{base}/devices/{device_id}")
    page.get_by_role("textbox", name="Name").fill(name)
    page.get_by_role("button", name="Rename").click()
    page.get_by_role("status").filter(has_text="Saved.").wait_for()


def test_a_plant_fed_by_a_room_sensor_and_a_soil_sensor_on_a_phone(app, live_server, browser, tmp_path):
    """Home instance: the first account is the administrator; the two sensors published on the
    shared topics before anyone set anything up, so they are discovered, with their history."""
    user_id = make_user(app)
    ts = datetime.now(UTC) - timedelta(minutes=2)
    ingest(
        app,
        {
            ROOM: [
                {"ts": ts - timedelta(hours=1), "temperature": 20.5, "humidity": 40.0},
                {"ts": ts, "temperature": 19.8, "humidity": 42.2},
            ],
            SOIL: [
                {
                    "ts": ts,
                    "soil_moisture": 31.0,
                    "temperature": 24.6,
                    "light": 5424.0,
                    "conductivity": 1020.0,
                    "battery": 100.0,
                }
            ],
        },
        now=ts,
    )
    room, soil = device_id_of(app, ROOM), device_id_of(app, SOIL)
    with app.app_context():
        flora = db.session.get(Device, soil)
        assert flora.owner_id is None  # discovered
        flora.last_rejection, flora.last_rejection_at = "out_of_range", datetime.now(UTC)
        flora.last_rejection_detail = "soil moisture out of range (145)"
        db.session.add(DeviceRejection(device_id=soil, day=datetime.now(UTC).date(), reason="out_of_range", count=3))
        db.session.commit()

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        sign_in(page, live_server)

        page.goto(live_server + "/devices")
        assert "Discovered (2)" in page.inner_text("main")
        rename(page, live_server, soil, "Fern flora")
        rename(page, live_server, room, "Windowsill H&T")

        page.goto(live_server + "/devices")
        page.locator(f"#device-{soil}").get_by_role("link", name="Use for a plant").click()
        page.wait_for_url(f"{live_server}/plants/new?device={soil}")
        assert page.locator("#device").input_value() == str(soil)
        page.get_by_label("Name").fill("Boston fern")
        page.get_by_label("Location").fill("Kitchen window")

        page.get_by_text("A different sensor for some metrics").click()
        page.locator("#sensor_temperature").select_option(str(room))
        page.locator("#sensor_humidity").select_option(str(room))
        page.get_by_role("button", name="Add plant").click()
        page.wait_for_url(re.compile(r"/plants/\d+$"))

        sensors = page.locator("section[aria-labelledby=sensors-title]")
        text = re.sub(r"\s+", " ", sensors.inner_text())
        assert "Soil moisture, Light, Conductivity, Battery from Fern flora" in text
        assert "Temperature, Humidity from Windowsill H&T" in text
        assert "receiving; last message 2 min ago; 3 rejected today: soil moisture out of range (145)" in text
        latest = re.sub(r"\s+", " ", page.locator("section[aria-labelledby=latest-title]").inner_text())
        assert "19.8 °C" in latest  # from the room sensor, not the flora's 24.6
        assert "31.0 %" in latest
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        sensors.scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOT, full_page=False, caret="initial")
        screenshot(page, tmp_path / "plant-two-devices-full.png")

        with app.app_context():
            plant_id = db.session.scalar(select(Plant.id))
            bound = dict(
                db.session.execute(
                    select(PlantSensor.metric, PlantSensor.device_id).where(PlantSensor.plant_id == plant_id)
                ).all()
            )
        assert bound == {
            "soil_moisture": soil,
            "temperature": room,
            "humidity": room,
            "light": soil,
            "conductivity": soil,
            "battery": soil,
        }

        page.get_by_role("link", name="Windowsill H&T").click()
        page.wait_for_url(f"{live_server}/devices/{room}")
        assert "Boston fern" in page.inner_text("main")
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(page, tmp_path / "device-page-phone.png")
        page.goto(f"{live_server}/devices")
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(page, tmp_path / "devices-phone.png")
        with app.app_context():
            assert {db.session.get(Device, d).owner_id for d in (room, soil)} == {user_id}
        assert errors == []
    finally:
        context.close()

import math
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Device, Plant
from app.ownership import personal_garden_id
from tests.fixtures.browser import sign_in

from ..conftest import make_user
from ..fixtures.readings import seed_readings

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def history(plant_id, now):
    """Three days of readings every 20 minutes, with a dry spell."""
    rows = []
    for i in range(1, 3 * 72):
        ts = now - timedelta(minutes=20 * i)
        rows.append(
            {
                "ts": ts,
                "soil_moisture": 45 + 15 * math.sin(i / 18) - (25 if 40 < i < 60 else 0),
                "temperature": 21 + 4 * math.sin(i / 12),
                "humidity": 60 + 10 * math.cos(i / 15),
                "light": max(0.0, 12000 * math.sin(i / 11)),
                "battery": 95 - i / 20,
            }
        )
    return rows


def test_create_plant_see_card_update_live_and_open_chart(app, live_server, page):
    user_id = make_user(app)
    sign_in(page, live_server, then="/plants")

    with app.app_context():
        device = Device(
            namespace="",
            key="esp32-monstera",
            source="native",
            owner_id=user_id,
            garden_id=personal_garden_id(user_id),
            metrics=[],
        )
        db.session.add(device)
        db.session.commit()
        device_id = device.id
    page.get_by_role("link", name="Add a plant").click()
    page.wait_for_url(f"{live_server}/plants/new")
    page.get_by_label("Name").fill("Monstera")
    page.get_by_label("Location").fill("Living room")
    # "Use" fills the sensor picker and keeps what was typed (it used to reload the form empty).
    page.locator(".device-choices li", has_text="esp32-monstera").get_by_role("button", name="Use").click()
    page.wait_for_function(f"() => document.querySelector('#device').value === '{device_id}'")
    # The swapped-in form's preset select listens once htmx has processed it (after its settle
    # delay); a change before that, on a loaded machine, would be a change nobody hears.
    page.wait_for_function("() => document.querySelector('#preset')['htmx-internal-data'] !== undefined")
    assert page.get_by_label("Name").input_value() == "Monstera"
    page.get_by_label("Preset").select_option("tropical")
    page.wait_for_function("() => document.querySelector('#soil_moisture_min').value === '40'")
    page.get_by_label("Soil moisture max (%)").fill("20")
    page.get_by_role("button", name="Add plant").click()
    page.get_by_text("The maximum must be at least the minimum (40).").wait_for()
    assert page.get_by_label("Location").input_value() == "Living room"
    page.shot("plant-form-error-desktop")
    page.get_by_label("Soil moisture max (%)").fill("80")
    page.get_by_role("button", name="Add plant").click()
    page.wait_for_url(re.compile(r"/plants/\d+$"))
    with app.app_context():
        plant = db.session.scalar(select(Plant))
        plant_id = plant.id
        assert (plant.soil_moisture_min, plant.humidity_max) == (40.0, 90.0)

    page.goto(live_server + "/plants")
    card = page.locator(f"#plant-{plant_id}")
    assert "Waiting for data" in card.inner_text()
    page.evaluate("() => { window.notReloaded = true; }")
    page.locator("#filter-status").focus()

    seed_readings(
        app, plant_id, [{"ts": datetime.now(UTC), "soil_moisture": 22.5, "temperature": 23.0, "battery": 76.0}]
    )

    page.wait_for_function(
        f"() => document.querySelector('#plant-{plant_id}').innerText.includes('22.5 %')", timeout=12_000
    )
    assert "Needs care" in card.inner_text()
    assert "Soil moisture low" in card.inner_text()
    assert page.evaluate("() => window.notReloaded") is True
    assert page.evaluate("() => document.activeElement.id") == "filter-status"

    seed_readings(app, plant_id, history(plant_id, datetime.now(UTC)))
    page.shot("dashboard-desktop")

    card.get_by_role("link", name="Monstera").click()
    page.wait_for_url(f"{live_server}/plants/{plant_id}")
    page.get_by_role("link", name="7 days").click()
    page.wait_for_function("() => document.querySelector('.range-tabs [aria-current]').innerText === '7 days'")
    assert page.url.endswith("range=7d")
    assert page.locator("svg.chart").count() == 5
    assert page.locator("svg.chart .chart-band").count() >= 3
    page.shot("plant-desktop")

    page.set_viewport_size(PHONE)
    page.get_by_role("link", name="12 months").click()
    page.wait_for_function("() => document.querySelector('.range-tabs [aria-current]').innerText === '12 months'")
    page.shot("plant-phone")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.goto(live_server + "/plants")
    page.shot("dashboard-phone")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    page.goto(live_server + "/plants/new")
    page.shot("plant-form-phone")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    # Chromium logs every 4xx response; the 422 of the invalid form was expected.
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_an_unchanged_dashboard_poll_is_a_304_and_leaves_the_cards_in_place(app, live_server, page):
    user_id = make_user(app)
    with app.app_context():
        plant = Plant(garden_id=personal_garden_id(user_id), name="Calathea")
        db.session.add(plant)
        db.session.commit()
    statuses = []
    page.on("response", lambda r: r.request.headers.get("hx-request") and statuses.append(r.status))
    sign_in(page, live_server, then="/plants")
    # Three polls at most: the 30 s clock bucket may turn between the page and the first one.
    for _ in range(3):
        page.wait_for_timeout(5_500)
        if 304 in statuses:
            break
    assert 304 in statuses
    assert page.locator(".plant-card h2").inner_text() == "Calathea"

"""Care in a browser: Today on a phone (with and without JavaScript), logging care on the plant
page, and a watering detected from the soil closing its task while the page refreshes itself."""

import random
import re
from datetime import UTC, timedelta

import pytest
from playwright.sync_api import expect

from app.care.demo import history
from app.clock import utcnow
from app.extensions import db
from app.models import CareEvent, Plant, Task
from app.ownership import personal_garden_id
from tests.fixtures.browser import sign_in

from ..conftest import make_user
from ..fixtures.browser import screenshot
from ..fixtures.readings import attach_device, seed_readings

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def add_plant(app, user_id, name, key, **fields):
    with app.app_context():
        plant = Plant(garden_id=personal_garden_id(user_id), name=name, **fields)
        db.session.add(plant)
        db.session.flush()
        attach_device(db.session, plant, key)
        db.session.commit()
        return plant.id


def with_history(app, user_id, plant_id, days=2):
    """The demo generator's readings and care for the last `days`."""
    now = utcnow()
    made = history(random.Random(7), now - timedelta(days=days), now - timedelta(minutes=5), UTC)
    seed_readings(app, plant_id, made.readings)
    with app.app_context():
        for event in made.events:
            db.session.add(
                CareEvent(garden_id=personal_garden_id(user_id), plant_id=plant_id, by_user_id=user_id, **event)
            )
        db.session.commit()


def test_today_on_a_phone_done_and_snooze(app, live_server, page):
    page.set_viewport_size(PHONE)
    user_id = make_user(app)
    basil = add_plant(app, user_id, "Basil", "dev-basil", soil_moisture_min=30.0, soil_moisture_max=70.0)
    today = utcnow().date()
    with app.app_context():
        plant = db.session.get(Plant, basil)
        plant.latest_soil_moisture, plant.last_reading_at = 14.0, utcnow()
        db.session.add_all(
            [
                Task(
                    garden_id=personal_garden_id(user_id),
                    plant_id=basil,
                    title="Feed Basil",
                    due_date=today - timedelta(days=2),
                ),
                Task(garden_id=personal_garden_id(user_id), title="Turn the orchid", due_date=today),
                Task(garden_id=personal_garden_id(user_id), title="Clean the saucers", due_date=today),
            ]
        )
        db.session.commit()
    sign_in(page, live_server)
    expect(page.get_by_role("heading", name="Plants that need care")).to_be_visible()
    expect(page.get_by_text("Soil moisture low")).to_be_visible()
    expect(page.get_by_text("Overdue")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
    screenshot(page, "/tmp/care-today.png")

    page.get_by_role("button", name="Done: Turn the orchid").click()
    expect(page.get_by_text("Done: Turn the orchid.")).to_be_visible()
    expect(page.locator(".today-item", has_text="Turn the orchid")).to_have_count(0)
    page.get_by_role("button", name="Snooze until tomorrow: Clean the saucers").click()
    expect(page.locator(".today-item", has_text="Clean the saucers")).to_have_count(0)
    page.get_by_role("button", name="Watered: Basil").click()
    expect(page.get_by_text("Watered: logged for Basil.")).to_be_visible()
    assert page.console_errors == []


def test_today_works_without_javascript(app, live_server, browser):
    user_id = make_user(app)
    with app.app_context():
        db.session.add(Task(garden_id=personal_garden_id(user_id), title="Mist the fern", due_date=utcnow().date()))
        db.session.commit()
    context = browser.new_context(viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server)
        page.get_by_role("button", name="Done: Mist the fern").click()
        page.wait_for_url(live_server + "/today")
        expect(page.get_by_text("Nothing to do today.")).to_be_visible()
    finally:
        context.close()


def test_logging_care_on_the_plant_page_marks_the_chart(app, live_server, page):
    page.set_viewport_size(PHONE)
    user_id = make_user(app)
    fern = add_plant(app, user_id, "Fern", "dev-fern", soil_moisture_min=30.0, soil_moisture_max=75.0)
    with_history(app, user_id, fern)
    sign_in(page, live_server)
    page.goto(f"{live_server}/plants/{fern}")
    form = page.locator(".care-form")
    form.get_by_label("What").select_option("fertilized")
    form.get_by_label("Amount (ml or g)").fill("5")
    form.get_by_label("Note").fill("Half strength")
    form.get_by_role("button", name="Log care").click()
    expect(page.get_by_text("Fertilized: logged.")).to_be_visible()
    expect(page.locator(".care-timeline").get_by_text("Half strength", exact=True)).to_be_visible()
    page.reload()
    markers = page.locator("#chart-soil_moisture .chart-marker")
    assert markers.count() >= 2
    expect(page.locator("#chart-soil_moisture .chart-band-label")).to_have_text("healthy 30–75")
    page.locator("#chart-soil_moisture .chart-point").nth(20).click()
    expect(page.locator("#chart-soil_moisture .chart-readout")).to_contain_text("%")
    page.locator("#chart-soil_moisture").scroll_into_view_if_needed()
    screenshot(page, "/tmp/care-plant.png")
    assert page.console_errors == []


def test_a_detected_watering_closes_its_task_on_a_page_that_refreshes_itself(app, live_server, page):
    user_id = make_user(app)
    fern = add_plant(app, user_id, "Fern", "dev-fern", soil_moisture_min=30.0, soil_moisture_max=70.0)
    now = utcnow()
    rng = random.Random(2)
    seed_readings(
        app,
        fern,
        [{"ts": now - timedelta(minutes=5 * (30 - i)), "soil_moisture": 26 + rng.gauss(0, 0.3)} for i in range(24)],
    )
    with app.app_context():
        db.session.add(
            Task(
                garden_id=personal_garden_id(user_id),
                plant_id=fern,
                title="Water Fern",
                care_kind="watered",
                due_date=now.date(),
            )
        )
        db.session.commit()
    sign_in(page, live_server)
    page.goto(f"{live_server}/plants/{fern}")
    expect(page.locator("#plant-tasks-region").get_by_text("Water Fern").first).to_be_visible()
    note = page.locator(".care-form").get_by_label("Note")
    note.fill("typing while it refreshes")
    note.focus()
    page.evaluate("window.scrollTo(0, 400)")
    seed_readings(
        app,
        fern,
        [{"ts": now - timedelta(minutes=5 * (6 - i)), "soil_moisture": 64 + rng.gauss(0, 0.3)} for i in range(5)],
    )
    timeline = page.locator("#care-timeline")
    expect(timeline.get_by_text("detected", exact=True)).to_be_visible(timeout=15_000)
    expect(page.locator("#plant-tasks-region").get_by_text("Water Fern")).to_have_count(0)
    expect(page.locator("#plant-latest")).to_contain_text(re.compile(r"6\d\.\d %"))
    assert note.input_value() == "typing while it refreshes"
    assert page.evaluate("document.activeElement.id") == "care-note"
    assert abs(page.evaluate("window.scrollY") - 400) < 60  # where it was, give or take a changed line above
    with app.app_context():
        assert all(task.completed for task in db.session.query(Task))
    assert page.console_errors == []

"""A gardener watches an alert appear and acknowledges it, in a real Chromium."""

import pytest

from tests.fixtures.browser import sign_in

from ..conftest import make_user
from ..integration.alerting import add_plant, store

pytestmark = pytest.mark.e2e


@pytest.fixture
def app(make_app):
    return make_app(config={"WTF_CSRF_ENABLED": True})


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 800}, {"width": 390, "height": 844}])
def test_alert_appears_and_acknowledging_updates_the_nav_count(app, live_server, page, viewport):
    page.set_viewport_size(viewport)
    user_id = make_user(app)
    basil = add_plant(app, user_id, name="Basil")
    fern = add_plant(app, user_id, name="Fern")
    sign_in(page, live_server, then="/plants")
    assert page.locator("#alert-count .count").count() == 0

    store(app, basil, 45.0, 25.0, 24.0)
    store(app, fern, {"temperature": 35.0}, {"temperature": 36.0})
    page.goto(live_server + "/alerts")

    assert page.locator("#alert-count .count").inner_text().startswith("2")
    dry = page.locator(".alert-item", has_text="Basil")
    assert "Soil moisture low" in dry.inner_text()
    assert dry.get_by_role("link", name="Basil").get_attribute("href") == f"/plants/{basil}"
    page.shot(f"alerts-open-{viewport['width']}")

    dry.get_by_role("button", name="Acknowledge").click()
    page.locator(".alert-item.alert-acknowledged", has_text="Basil").wait_for()
    assert page.locator("#alert-count .count").inner_text().startswith("1")

    page.get_by_role("link", name="Acknowledged").click()
    page.wait_for_url("**/alerts?state=acknowledged")
    assert page.locator(".alert-item").count() == 1
    page.shot(f"alerts-acknowledged-{viewport['width']}")
    assert page.console_errors == []


def test_dry_plant_puts_a_water_task_in_the_list_and_ticking_it_acknowledges_the_alert(app, live_server, page):
    basil = add_plant(app, make_user(app), name="Basil")
    sign_in(page, live_server, then="/plants")

    store(app, basil, 25.0, 24.0)
    page.goto(live_server + "/tasks")
    water = page.locator("li.task", has_text="Water Basil")
    assert "From an alert" in water.inner_text()
    page.shot("tasks-water")

    page.get_by_role("checkbox", name="Water Basil").check()
    page.locator("li.task.is-done", has_text="Water Basil").wait_for()
    page.goto(live_server + "/alerts")
    assert "Acknowledged" in page.locator(".alert-item", has_text="Basil").inner_text()
    assert page.locator("#alert-count .count").count() == 0
    assert page.console_errors == []


def test_dashboard_turns_red_and_its_poll_updates_the_alert_count(app, live_server, page):
    # One reading opens the alert here, so the card turns red in the same transaction as the
    # alert opens: the dashboard's version does not include the alert count yet.
    app.config["ALERT_MIN_READINGS"] = 1
    basil = add_plant(app, make_user(app), name="Basil")
    store(app, basil, 45.0)
    sign_in(page, live_server, then="/plants")
    card = page.locator(".plant-card", has_text="Basil")
    assert card.locator(".badge-ok").count() == 1

    store(app, basil, 24.0)  # the ingest writer's work: a dry reading

    card.locator(".badge-alert").wait_for(timeout=15_000)  # the 5 s poll swaps the cards
    page.locator("#alert-count .count", has_text="1").wait_for()
    page.shot("dashboard-red")
    page.goto(live_server + "/tasks")
    assert page.locator("li.task", has_text="Water Basil").count() == 1
    page.get_by_role("link", name="Alerts").click()
    assert "Soil moisture low" in page.locator(".alert-item", has_text="Basil").inner_text()
    assert page.console_errors == []

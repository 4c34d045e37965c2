"""Issue 20 in a real Chromium: the dark theme and its override, the installable app and its
offline page, focus after htmx swaps, the skip link, the phone layout, form defects fixed."""

import json

import pytest

from app.extensions import db
from app.models import User
from tests.fixtures.browser import sign_in

from ..conftest import PASSWORD, make_user
from ..fixtures.browser import screenshot
from ..integration.alerting import add_plant, store

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def app(make_app):
    return make_app(config={"WTF_CSRF_ENABLED": True})


def background(page):
    return page.evaluate("() => getComputedStyle(document.body).backgroundColor")


def garden(app):
    user_id = make_user(app)
    basil = add_plant(app, user_id, name="Basil", location="Kitchen")
    fern = add_plant(app, user_id, name="Fern", light_min=5000.0, light_max=20000.0)
    store(app, basil, 45.0, 25.0, 24.0)
    store(app, fern, {"soil_moisture": 55.0, "temperature": 21.5, "humidity": 70.0, "light": 9100.0, "battery": 80.0})
    return user_id, fern


def test_dark_preference_turns_the_pages_dark_and_the_setting_overrides_it(app, live_server, browser):
    user_id, fern = garden(app)
    context = browser.new_context(viewport=PHONE, color_scheme="dark", service_workers="block")
    page = context.new_page()
    sign_in(page, live_server)
    assert background(page) == "rgb(17, 21, 18)"  # --bg's dark value
    assert page.locator("nav.nav").evaluate("n => n.getBoundingClientRect().height") < 48  # one row
    wide = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
    assert wide <= 0
    screenshot(page, "/tmp/hand-dashboard-dark-phone.png")

    page.goto(f"{live_server}/settings")
    page.get_by_label("Colours").select_option("light")
    page.get_by_role("button", name="Save display settings").click()
    page.wait_for_url(f"{live_server}/settings")
    assert background(page) == "rgb(246, 247, 244)"  # the user's choice wins over the device's
    assert page.locator("html").get_attribute("data-theme") == "light"

    page.goto(f"{live_server}/plants/{fern}")
    assert "9,100 lux" in page.locator("#latest-title + .readings, .readings").first.inner_text()
    screenshot(page, "/tmp/hand-plant-light-phone.png")
    context.close()


def test_temperature_unit_and_language_apply_to_every_page(app, live_server, page):
    user_id, fern = garden(app)
    sign_in(page, live_server)
    page.goto(f"{live_server}/settings")
    page.get_by_label("Temperatures in").select_option("F")
    page.get_by_label("Language").select_option("de")
    page.get_by_role("button", name="Save display settings").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.get_by_role("link", name="Pflanzen").count() == 1  # the German catalog's navigation
    page.goto(f"{live_server}/plants/{fern}")
    readings = page.locator(".readings").first.inner_text()
    assert "70,7 °F" in readings  # 21.5 °C, in °F, with a German decimal comma
    assert "9.100 lux" in readings
    card_page = page.goto(f"{live_server}/plants")
    assert card_page.ok
    assert "70,7 °F" in page.locator(f"#plant-{fern}").inner_text()


def test_installable_app_works_offline_with_the_last_dashboard_and_its_age(app, live_server, browser):
    garden(app)
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, live_server, then="/plants")
    manifest_url = page.locator("link[rel=manifest]").get_attribute("href")
    manifest = json.loads(context.request.get(live_server + manifest_url).text())
    assert {"any", "maskable"} <= {icon["purpose"] for icon in manifest["icons"]}
    for icon in manifest["icons"]:
        response = context.request.get(live_server + icon["src"])
        assert response.ok
        assert response.headers["content-type"] == "image/png"
    page.wait_for_function("() => navigator.serviceWorker.controller !== null || navigator.serviceWorker.ready")
    page.evaluate("() => navigator.serviceWorker.ready")
    page.reload()  # controlled now: this load of the dashboard is kept
    page.wait_for_function("() => caches.open('plantops-last-dashboard').then(c => c.keys()).then(k => k.length > 0)")

    context.set_offline(True)
    page.goto(live_server + "/plants")
    page.locator("#offline-dashboard .plant-card").first.wait_for()
    assert page.get_by_role("heading", name="You are offline").count() == 1
    assert "ago" in page.locator("#offline-age time").inner_text()
    assert "Basil" in page.locator("#offline-dashboard").inner_text()
    context.set_offline(False)

    page.goto(live_server + "/plants")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/auth/login")
    assert page.evaluate("() => caches.open('plantops-last-dashboard').then(c => c.keys()).then(k => k.length)") == 0
    context.close()


def test_focus_follows_htmx_swaps_and_a_skip_link_comes_first(app, live_server, page):
    garden(app)
    sign_in(page, live_server)
    page.goto(live_server + "/tasks")
    page.keyboard.press("Tab")
    skip = page.evaluate("() => document.activeElement.textContent")
    assert skip == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"

    page.get_by_label("Title").fill("Mist the fern")
    page.get_by_role("button", name="Add task").click()
    page.wait_for_function("() => document.activeElement && document.activeElement.matches('li.task')")
    assert "Mist the fern" in page.evaluate("() => document.activeElement.textContent")

    box = page.locator("li.task", has_text="Mist the fern").get_by_role("checkbox")
    box.check()
    page.wait_for_function("() => document.activeElement && document.activeElement.type === 'checkbox'")
    assert page.evaluate("() => document.activeElement.checked") is True

    long_title = "x" * 10_000
    page.get_by_label("Title").fill(long_title)
    page.get_by_role("button", name="Add task").click()
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'title'")
    assert page.get_by_label("Title").input_value() == long_title  # kept, not cut at 200
    assert "200 characters" in page.locator("#title-error").inner_text()


def test_discord_webhook_is_a_visible_url_kept_after_an_error(app, live_server, page):
    make_user(app)
    sign_in(page, live_server)
    page.goto(live_server + "/settings")
    field = page.get_by_label("New webhook URL")
    assert field.get_attribute("type") == "url"
    typed = "https://discord.com/api/webhooks/1/short"
    field.fill(typed)
    page.get_by_role("button", name="Save webhook").click()
    page.locator("#webhook_url-error").wait_for()
    assert "API key" not in page.locator("#discord-settings").inner_text()
    assert page.get_by_label("New webhook URL").input_value() == typed
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'webhook_url'")


def test_registration_takes_the_browsers_timezone(app, live_server, browser):
    context = browser.new_context(timezone_id="Europe/Berlin", service_workers="block")
    page = context.new_page()
    page.goto(live_server + "/auth/register")
    page.get_by_label("Email").fill("new@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/plants")
    with app.app_context():
        assert db.session.scalar(db.select(User.timezone).where(User.email == "new@example.com")) == "Europe/Berlin"
    context.close()


def test_a_long_added_message_wraps_on_a_phone(app, live_server, page):
    garden(app)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server)
    page.goto(live_server + "/tasks")
    title = "w" * 200  # one unbreakable word, the longest title allowed
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Add task").click()
    page.get_by_text("Added “" + title).wait_for()
    assert page.evaluate("() => document.documentElement.scrollWidth - innerWidth") <= 0

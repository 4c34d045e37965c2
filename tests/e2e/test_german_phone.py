"""Issue 20: PlantOps in German on a phone (390×844) in a real Chromium: German words are long,
and nothing may be wider than the screen."""

import pytest

from ..conftest import PASSWORD, make_user
from ..fixtures.browser import screenshot
from ..integration.alerting import add_plant, store

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}

# Elements sticking out to the right, outside anything that scrolls sideways on purpose.
TOO_WIDE = """() => {
  const scrolls = (el) => { for (let p = el.parentElement; p; p = p.parentElement) {
    const x = getComputedStyle(p).overflowX; if (x === "auto" || x === "scroll" || x === "hidden") return true; }
    return false; };
  return [...document.querySelectorAll("body *")].filter((el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.right > innerWidth + 1 && !scrolls(el);
  }).map((el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + el.className : ""));
}"""


@pytest.fixture
def app(make_app):
    return make_app(config={"WTF_CSRF_ENABLED": True})


def test_today_and_a_plant_page_in_german_fit_a_phone(app, live_server, browser):
    user_id = make_user(app, locale="de")
    basil = add_plant(app, user_id, name="Basilikum", location="Küche")
    store(app, basil, {"soil_moisture": 25.0, "temperature": 21.5, "humidity": 70.0, "light": 9100.0, "battery": 80.0})
    store(app, basil, 24.0, 23.0)
    context = browser.new_context(viewport=PHONE, locale="de-DE", service_workers="block")
    page = context.new_page()
    errors = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.goto(f"{live_server}/auth/login")
    page.get_by_label("E-Mail").fill("gardener@example.com")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{live_server}/today")

    assert page.locator("h1").first.inner_text().startswith("Heute")
    assert "Pflanzen, die Pflege brauchen" in page.inner_text("main")
    assert "Bodenfeuchte niedrig" in page.inner_text("main")
    assert page.evaluate("() => document.documentElement.scrollWidth - innerWidth") <= 0
    assert page.evaluate(TOO_WIDE) == []
    screenshot(page, "/tmp/german-today-phone.png")

    page.goto(f"{live_server}/plants/{basil}")
    text = page.inner_text("main")
    assert "Letzter Messwert" in text
    assert "Pflegeprotokoll" in text
    assert "9.100 lux" in text
    assert page.evaluate("() => document.documentElement.scrollWidth - innerWidth") <= 0
    assert page.evaluate(TOO_WIDE) == []
    screenshot(page, "/tmp/german-plant-phone.png")
    assert errors == []
    context.close()

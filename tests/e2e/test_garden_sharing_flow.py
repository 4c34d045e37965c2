"""Sharing a garden in a browser (issue 19): an owner invites a plant-sitter by link with an
end date; the sitter, on a phone, creates an account from the link, accepts, finds the
garden's task on Today and does it; the owner then sees who did it."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app.clock import utcnow
from app.extensions import db
from app.models import Plant, Task
from tests.fixtures.browser import sign_in

from ..conftest import PASSWORD, make_user
from ..fixtures.browser import screenshot

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


def test_an_owner_invites_a_plant_sitter_who_does_the_watering(app, live_server, page, browser, tmp_path):
    make_user(app, email="ana@example.com")
    sign_in(page, live_server, email="ana@example.com", then="/gardens")

    page.get_by_label("Name").fill("Allotment 7")
    page.get_by_role("button", name="Create garden").click()
    expect(page.get_by_role("heading", name="Allotment 7")).to_be_visible()
    garden_id = int(re.search(r"/gardens/(\d+)", page.url).group(1))
    with app.app_context():
        plant = Plant(garden_id=garden_id, name="Tomatoes")
        db.session.add(plant)
        db.session.flush()
        db.session.add(
            Task(
                garden_id=garden_id,
                plant_id=plant.id,
                title="Water the tomatoes",
                care_kind="watered",
                due_date=utcnow().date(),
            )
        )
        db.session.commit()
        plant_id = plant.id

    page.get_by_label("Invite as").select_option("sitter")
    last_day = (utcnow() + timedelta(days=14)).date().isoformat()
    page.get_by_label("Plant-sitter until (last day)").fill(last_day)
    page.get_by_role("button", name="Create invitation").click()
    expect(page.get_by_role("heading", name="Invitation ready")).to_be_visible()
    link = page.get_by_label("Invitation link").input_value()
    path = link[link.index("/invitations/") :]
    expect(page.locator("#invitations")).to_contain_text("Plant-sitter")

    sitter_context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    sitter_context.set_default_timeout(10_000)
    sitter = sitter_context.new_page()
    try:
        sitter.goto(live_server + path)
        expect(sitter.get_by_role("heading", name="Invitation to “Allotment 7”")).to_be_visible()
        expect(sitter.get_by_text("Plant-sitter")).to_be_visible()
        sitter.get_by_role("link", name="Create an account").click()
        sitter.get_by_label("Email").fill("bea@example.com")
        sitter.get_by_label("Password").fill(PASSWORD)
        sitter.get_by_role("button", name="Create account").click()
        sitter.wait_for_url(live_server + path)
        sitter.get_by_role("button", name="Accept invitation").click()
        expect(sitter.get_by_role("heading", name="Allotment 7")).to_be_visible()
        expect(sitter.get_by_text("Your role:")).to_contain_text("Plant-sitter")
        expect(sitter.get_by_text("Invite someone")).to_have_count(0)  # owners only

        sitter.get_by_role("link", name="Today").click()
        expect(sitter.get_by_text("Water the tomatoes")).to_be_visible()
        assert sitter.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        screenshot(sitter, tmp_path / "sitter-today-phone.png")
        sitter.get_by_role("button", name="Done: Water the tomatoes").click()
        expect(sitter.locator(".today-item", has_text="Water the tomatoes")).to_have_count(0)
    finally:
        sitter_context.close()

    page.goto(live_server + "/tasks?status=completed")
    expect(page.get_by_text("Done by bea")).to_be_visible()
    page.goto(live_server + f"/plants/{plant_id}")
    expect(page.locator("#care-timeline")).to_contain_text("by bea")
    expect(page.locator(".last-care")).to_contain_text("Watered by bea")

    page.set_viewport_size(PHONE)
    page.goto(live_server + f"/gardens/{garden_id}")
    expect(page.locator("#members")).to_contain_text("bea")
    expect(page.locator("#members")).to_contain_text("Plant-sitter")
    screenshot(page, tmp_path / "owner-garden-phone.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.console_errors == []

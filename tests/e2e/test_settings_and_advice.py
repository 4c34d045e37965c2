import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.models import Plant
from app.ownership import personal_garden_id
from tests.conftest import PASSWORD, make_user
from tests.fixtures.services import Reply

pytestmark = pytest.mark.e2e

TOKEN = "e2eWebhookToken_" + "Ab9" * 18


def sign_in(page, live_server):
    page.goto(live_server + "/auth/login")
    page.get_by_label("Email").fill("gardener@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/today$"))
    page.goto(live_server + "/plants")


def test_secrets_are_saved_tested_and_never_shown(app, live_server, page, recording_server):
    make_user(app)
    sign_in(page, live_server)
    page.goto(live_server + "/settings")
    page.get_by_label("New webhook URL").fill(f"{recording_server.url}/api/webhooks/1234567890/{TOKEN}")
    page.get_by_role("button", name="Save webhook").click()
    expect(page.get_by_text("Discord webhook saved.")).to_be_visible()
    expect(page.get_by_text("••••9Ab9")).to_be_visible()

    page.get_by_role("button", name="Send a test message").click()
    expect(page.get_by_text("Sent a test message to Discord")).to_be_visible()

    page.get_by_label("Base URL").fill("nope")
    page.get_by_label("Model").fill("tiny-model")
    page.get_by_role("button", name="Save provider").click()
    expect(page.get_by_text("Give a full URL starting with https://")).to_be_visible()
    page.get_by_label("Base URL").fill(recording_server.url + "/v1")
    page.get_by_label("API key").fill("sk-e2e-key-1234")
    page.get_by_role("button", name="Save provider").click()
    expect(page.get_by_text("LLM provider saved.")).to_be_visible()
    recording_server.queue(Reply(401))
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("rejected the credentials (HTTP 401)")).to_be_visible()

    html = page.content()
    assert TOKEN not in html
    assert "sk-e2e-key" not in html
    # The browser reports the 422 of the refused form as a failed load; nothing else may fail.
    assert [e for e in page.console_errors if "status of 422" not in e] == []
    print(page.shot("settings-desktop"))
    page.set_viewport_size({"width": 390, "height": 844})
    print(page.shot("settings-phone"))


def test_asking_for_advice_shows_the_answer_inline(app, live_server, page, recording_server):
    user_id = make_user(app, llm_base_url=recording_server.url, llm_model="tiny-model")
    with app.app_context():
        plant = Plant(
            garden_id=personal_garden_id(user_id), name="Kitchen fern", species="Boston fern", location="north window"
        )
        db.session.add(plant)
        db.session.commit()
        plant_id = plant.id
    sign_in(page, live_server)
    page.goto(f"{live_server}/plants/{plant_id}/advice")
    expect(page.get_by_text("No advice asked for yet.")).to_be_visible()
    answer = "**Water now**: about 300 ml.\n\n- Move it away from the radiator\n- Check again tomorrow\n\n<b>raw</b>"
    recording_server.queue(Reply(200, {"choices": [{"message": {"content": answer}}]}, delay=0.5))
    page.get_by_role("button", name="Ask for advice").click()
    expect(page.locator(".advice-text strong")).to_have_text("Water now")
    expect(page.get_by_text("Move it away from the radiator")).to_be_visible()
    assert page.locator(".advice-text b").count() == 0
    assert page.console_errors == []
    print(page.shot("advice-desktop"))
    page.set_viewport_size({"width": 390, "height": 844})
    print(page.shot("advice-phone"))


def test_advice_section_loads_on_the_plant_page(app, live_server, page, recording_server):
    if "plants.show_plant" not in app.view_functions:
        pytest.skip("the plant page lands with the plants branch")
    user_id = make_user(app, llm_base_url=recording_server.url, llm_model="tiny-model")
    with app.app_context():
        plant = Plant(garden_id=personal_garden_id(user_id), name="Kitchen fern", species="Boston fern")
        db.session.add(plant)
        db.session.commit()
        plant_id = plant.id
    sign_in(page, live_server)
    page.goto(f"{live_server}/plants/{plant_id}")
    expect(page.get_by_text("No advice asked for yet.")).to_be_visible()
    recording_server.queue(Reply(200, {"choices": [{"message": {"content": "**Water now**\n\n- 300 ml"}}]}))
    page.get_by_role("button", name="Ask for advice").click()
    expect(page.locator("#advice .advice-text strong")).to_have_text("Water now")
    assert page.console_errors == []
    print(page.shot("plant-page-advice"))

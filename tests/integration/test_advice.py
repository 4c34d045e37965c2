import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app import outbound
from app.crypto import Secret
from app.extensions import db
from app.models import Advice, Alert, Reading, Task, User
from app.ownership import personal_garden_id
from app.plants.advice import readings_summary
from app.plants.advice_prompt import summarise
from app.settings.providers import LLMProvider
from tests.conftest import AuthActions, make_user
from tests.fixtures.readings import device_ref, new_plant
from tests.fixtures.services import Reply, free_port

API_KEY = "sk-advice-test-key-7c1e"
ANSWER = "**Water now**: about 300 ml.\n\n<script>alert(1)</script>\n\n[more](javascript:alert(1))"


def completion(content=ANSWER):
    return Reply(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})


@pytest.fixture
def app(make_app):
    return make_app(config={"PROVIDER_TIMEOUT_SECONDS": 1, "ADVICE_PER_HOUR": 3})


@pytest.fixture
def plant_id(app, user_id):
    return add_plant(app, user_id)


def add_plant(app, user_id, readings=True):
    now = datetime.now(UTC)
    with app.app_context():
        garden = personal_garden_id(user_id)
        plant = new_plant(
            db.session,
            user_id,
            name="Kitchen fern",
            species="Boston fern",
            location="north window",
            device_id=f"fern-{user_id}",
            soil_moisture_min=30,
            soil_moisture_max=60,
        )
        device = device_ref(db.session, f"fern-{user_id}")
        if readings:
            for i in range(48):  # every 30 min, drying out from 41 % to 22 %
                db.session.add(
                    Reading(
                        device_id=device,
                        ts=now - timedelta(minutes=30 * (47 - i) + 1),
                        soil_moisture=41 - i * 19 / 47,
                        temperature=20.0,
                    )
                )
            db.session.add(Reading(device_id=device, ts=now - timedelta(days=3), light=9))
        db.session.add(
            Alert(garden_id=garden, plant_id=plant.id, problem="soil_moisture_low", metric="soil_moisture", value=22.0,
                  threshold=30.0)
        )  # fmt: skip
        db.session.add(
            Task(
                garden_id=personal_garden_id(user_id),
                plant_id=plant.id,
                title="Water the fern",
                due_date=date(2026, 1, 2),
            )
        )
        db.session.add(
            Task(
                garden_id=personal_garden_id(user_id),
                plant_id=plant.id,
                title="Repot in spring",
                due_date=date(2099, 3, 1),
            )
        )
        db.session.commit()
        return plant.id


def configure(client, base_url, api_key=API_KEY):
    response = client.post("/settings/llm", data={"base_url": base_url, "model": "tiny-model", "api_key": api_key})
    assert response.status_code == 303


def test_advice_request_carries_the_key_and_the_readings_summary(app, client, htmx, plant_id, recording_server):
    configure(client, recording_server.url + "/v1")
    recording_server.queue(completion())
    response = htmx.post(f"/plants/{plant_id}/advice")
    assert response.status_code == 200
    sent = recording_server.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/v1/chat/completions")
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"
    body = sent.json()
    assert body["model"] == "tiny-model"
    prompt = body["messages"][1]["content"]
    assert "Species: Boston fern" in prompt
    assert "- soil moisture: 30.0 to 60.0 %" in prompt
    assert "- soil moisture: min 22.0, max 41.0, mean 31.5 %; trend falling" in prompt
    assert "- temperature: min 20.0, max 20.0, mean 20.0 °C; trend steady" in prompt
    assert "light" not in prompt.split("last 24 hours")[1].split("Open alerts")[0]  # 3-day-old reading left out
    assert "- soil moisture low since" in prompt
    assert "- Water the fern (due 2026-01-02)" in prompt
    assert "Repot in spring" not in prompt


def test_answer_is_kept_and_shown_as_sanitised_markdown(app, client, htmx, plant_id, recording_server):
    configure(client, recording_server.url)
    recording_server.queue(completion())
    body = htmx.post(f"/plants/{plant_id}/advice").get_data(as_text=True)
    assert "<html" not in body
    assert "<strong>Water now</strong>" in body
    assert "<script>alert" not in body
    assert 'href="javascript' not in body
    with app.app_context():
        advice = db.session.scalars(select(Advice)).one()
        assert (advice.plant_id, advice.model, advice.answer) == (plant_id, "tiny-model", ANSWER)
    later = htmx.get(f"/plants/{plant_id}/advice").get_data(as_text=True)
    assert "<strong>Water now</strong>" in later
    assert "tiny-model" in later


def test_without_javascript_the_form_post_redirects_to_the_advice_page(client, plant_id, recording_server):
    configure(client, recording_server.url)
    recording_server.queue(completion("Mist the leaves."))
    response = client.post(f"/plants/{plant_id}/advice")
    assert response.status_code == 303
    page = client.get(response.location).get_data(as_text=True)
    assert "<html" in page
    assert "Mist the leaves." in page


def test_advice_section_loads_lazily_and_lists_nothing_at_first(htmx, client, plant_id):
    body = htmx.get(f"/plants/{plant_id}/advice").get_data(as_text=True)
    assert "No advice asked for yet." in body
    assert "hx-trigger" not in body
    assert f'action="/plants/{plant_id}/advice"' in body


@pytest.mark.parametrize(
    ("reply", "status", "message"),
    [
        (Reply(401, {"error": {"message": "Incorrect API key"}}), 502, "rejected the credentials (HTTP 401)"),
        (Reply(200, delay=2), 504, "did not answer within 1 seconds"),
        (Reply(500), 502, "answered with an error (HTTP 500)"),
        (Reply(429), 502, "limiting requests"),
        (Reply(200, {"choices": []}), 502, "empty or not in the OpenAI format"),
    ],
)
def test_provider_failures_give_a_clear_inline_message(app, client, htmx, plant_id, recording_server, reply, status,
                                                       message):  # fmt: skip
    configure(client, recording_server.url)
    recording_server.queue(reply)
    response = htmx.post(f"/plants/{plant_id}/advice")
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Advice)) == 0


def test_unreachable_provider_gives_a_clear_message(client, htmx, plant_id):
    configure(client, f"http://127.0.0.1:{free_port()}/v1")
    response = htmx.post(f"/plants/{plant_id}/advice")
    assert response.status_code == 502
    assert "Could not connect to 127.0.0.1" in response.get_data(as_text=True)


def test_no_provider_configured_says_so(htmx, plant_id, recording_server):
    response = htmx.post(f"/plants/{plant_id}/advice")
    assert response.status_code == 422
    assert "No LLM provider is set up yet" in response.get_data(as_text=True)
    assert recording_server.requests == []


def test_unreadable_key_asks_to_re_enter(app, client, htmx, user_id, plant_id, recording_server):
    configure(client, recording_server.url)
    with app.app_context():
        user = db.session.get(User, user_id)
        user.llm_api_key = user.llm_api_key[:-4] + "AAAA"
        db.session.commit()
    response = htmx.post(f"/plants/{plant_id}/advice")
    assert response.status_code == 422
    assert "Re-enter this secret" in response.get_data(as_text=True)
    assert recording_server.requests == []


def test_advice_is_limited_per_user_per_hour(client, htmx, plant_id, recording_server):
    configure(client, recording_server.url)
    recording_server.default = completion("ok")
    statuses = [htmx.post(f"/plants/{plant_id}/advice").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert len(recording_server.requests) == 3
    assert "3 times this hour" in htmx.post(f"/plants/{plant_id}/advice").get_data(as_text=True)


def test_someone_elses_plant_is_404(app, other_client, plant_id, recording_server):
    other_client.post("/settings/llm", data={"base_url": recording_server.url, "model": "m", "api_key": "k"})
    assert other_client.post(f"/plants/{plant_id}/advice").status_code == 404
    assert other_client.get(f"/plants/{plant_id}/advice").status_code == 404
    assert other_client.get("/plants/99999/advice").status_code == 404
    assert recording_server.requests == []


def test_other_users_answers_are_not_shown(app, client, htmx, plant_id, recording_server):
    configure(client, recording_server.url)
    recording_server.queue(completion("Secret fern tip"))
    htmx.post(f"/plants/{plant_id}/advice")
    other = make_user(app, email="third@example.com")
    other_plant = add_plant(app, other, readings=False)
    third = app.test_client()
    AuthActions(app, third).login(email="third@example.com")
    assert "Secret fern tip" not in third.get(f"/plants/{other_plant}/advice").get_data(as_text=True)


def test_summary_query_is_empty_for_a_plant_without_recent_readings(app, user_id):
    plant_id = add_plant(app, user_id, readings=False)
    now = datetime.now(UTC)
    with app.app_context():
        assert summarise(readings_summary(plant_id, now - timedelta(hours=24), now)) == []


def test_no_database_lock_is_held_while_waiting_for_the_provider(app, client, user_id, plant_id, recording_server):
    configure(client, recording_server.url)
    recording_server.queue(Reply(200, completion("slow answer").body, delay=0.8))
    asking = threading.Thread(target=client.post, args=(f"/plants/{plant_id}/advice",))
    asking.start()
    recording_server.wait_for(1)
    started = time.monotonic()
    with app.app_context():
        db.session.get(User, user_id).timezone = "Europe/Paris"
        db.session.commit()
    waited = time.monotonic() - started
    asking.join()
    assert waited < 0.5
    with app.app_context():
        assert db.session.scalar(select(Advice.answer)) == "slow answer"


def test_provider_settings_keep_the_key_out_of_their_repr():
    provider = LLMProvider("https://api.example/v1", "m", Secret(API_KEY))
    assert API_KEY not in repr(provider)
    assert provider.headers()["Authorization"] == f"Bearer {API_KEY}"


def test_a_dripping_provider_is_cut_off_at_the_deadline(client, htmx, plant_id, drip_server):
    configure(client, drip_server("body", interval=0.1).url)
    started = time.monotonic()
    response = htmx.post(f"/plants/{plant_id}/advice")
    assert time.monotonic() - started < 2
    assert response.status_code == 504
    assert "did not answer within 1 seconds" in response.get_data(as_text=True)


def test_past_the_outbound_bound_advice_says_busy_inline(app, client, htmx, user_id, plant_id, recording_server):
    configure(client, recording_server.url)
    gate = outbound.shared_gate("web", 2, 1)
    with gate.slot("someone"), gate.slot("someone else"):  # two other requests are waiting on the internet
        response = htmx.post(f"/plants/{plant_id}/advice")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    body = response.get_data(as_text=True)
    assert "Try again in a moment" in body
    assert 'id="advice"' in body
    assert recording_server.requests == []


def test_a_key_for_another_origin_is_not_sent_for_advice(app, client, htmx, user_id, plant_id, recording_server):
    configure(client, recording_server.url)
    with app.app_context():
        db.session.get(User, user_id).llm_base_url = f"http://127.0.0.1:{free_port()}/v1"
        db.session.commit()
    response = htmx.post(f"/plants/{plant_id}/advice")
    assert response.status_code == 422
    assert "entered for another address" in response.get_data(as_text=True)

import threading
import time

import pytest
from sqlalchemy import text

from app.config import new_encryption_key
from app.crypto import decrypt, encrypt
from app.extensions import db
from app.models import User
from tests.conftest import PASSWORD, AuthActions, make_user
from tests.fixtures.services import Reply, free_port, running_recorder

API_KEY = "sk-test-settings-key-9f3a"
WEBHOOK_TOKEN = "tok_" + "x7Y" * 20 + "Wq9z"


def webhook_url(base):
    return f"{base}/api/webhooks/123456789012345678/{WEBHOOK_TOKEN}"


@pytest.fixture
def app(make_app):
    return make_app(config={"PROVIDER_TIMEOUT_SECONDS": 1})


def raw_row(app, user_id):
    with app.app_context():
        return dict(
            db.session.execute(
                text("SELECT discord_webhook_url, llm_api_key, llm_base_url, llm_model FROM users WHERE id = :id"),
                {"id": user_id},
            )
            .mappings()
            .one()
        )


def save_llm(client, base_url, api_key=API_KEY, model="tiny-model"):
    return client.post("/settings/llm", data={"base_url": base_url, "model": model, "api_key": api_key})


def test_settings_page_needs_login(client):
    response = client.get("/settings")
    assert response.status_code == 302
    assert "/auth/login" in response.location


def test_settings_page_is_not_cached_and_says_nothing_is_saved(client, user_id):
    response = client.get("/settings")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "No webhook URL saved." in page
    assert "No API key saved." in page


def test_saved_webhook_is_encrypted_and_shown_only_by_its_last_four(app, client, user_id, recording_server):
    response = client.post("/settings/discord", data={"webhook_url": webhook_url(recording_server.url)})
    assert response.status_code == 303
    page = client.get("/settings").get_data(as_text=True)
    assert "Discord webhook saved." in page
    assert "••••Wq9z" in page
    assert WEBHOOK_TOKEN not in page
    stored = raw_row(app, user_id)["discord_webhook_url"]
    assert stored.startswith("pv1.")
    assert WEBHOOK_TOKEN not in stored
    with app.app_context():
        assert decrypt(stored, user_id, "discord_webhook_url") == webhook_url(recording_server.url)


def test_replacing_and_removing_the_webhook(app, client, user_id, recording_server):
    client.post("/settings/discord", data={"webhook_url": webhook_url(recording_server.url)})
    other = webhook_url(recording_server.url).replace("Wq9z", "Zz00")
    assert client.post("/settings/discord", data={"webhook_url": other}).status_code == 303
    assert "••••Zz00" in client.get("/settings").get_data(as_text=True)
    assert client.post("/settings/discord/remove").status_code == 303
    assert raw_row(app, user_id)["discord_webhook_url"] is None
    assert "No webhook URL saved." in client.get("/settings").get_data(as_text=True)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "Paste the webhook URL"),
        ("https://discord.com/channels/1/2", "not a Discord webhook URL"),
        ("ftp://discord.com/api/webhooks/1/" + WEBHOOK_TOKEN, "starting with https://"),
        ("https://discord.com/api/webhooks/1/" + WEBHOOK_TOKEN + "x" * 500, "500"),
    ],
)
def test_bad_webhook_is_refused_inline_without_echoing_it(app, htmx, user_id, url, message):
    response = htmx.post("/settings/discord", data={"webhook_url": url})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in body
    assert "<html" not in body
    assert WEBHOOK_TOKEN not in body
    assert raw_row(app, user_id)["discord_webhook_url"] is None


def test_llm_provider_is_saved_with_an_encrypted_key(app, client, user_id, recording_server):
    assert save_llm(client, recording_server.url + "/v1/").status_code == 303
    row = raw_row(app, user_id)
    assert row["llm_base_url"] == recording_server.url + "/v1"
    assert row["llm_model"] == "tiny-model"
    assert API_KEY not in row["llm_api_key"]
    page = client.get("/settings").get_data(as_text=True)
    assert "••••9f3a" in page
    assert API_KEY not in page
    assert recording_server.url + "/v1" in page


def test_empty_key_field_keeps_the_saved_key(app, client, user_id, recording_server):
    save_llm(client, recording_server.url)
    before = raw_row(app, user_id)["llm_api_key"]
    assert save_llm(client, recording_server.url, api_key="", model="other").status_code == 303
    row = raw_row(app, user_id)
    assert (row["llm_api_key"], row["llm_model"]) == (before, "other")


def test_removing_the_key_then_the_provider(app, client, user_id, recording_server):
    save_llm(client, recording_server.url)
    client.post("/settings/llm/key/remove")
    assert raw_row(app, user_id)["llm_api_key"] is None
    assert raw_row(app, user_id)["llm_base_url"] == recording_server.url
    client.post("/settings/llm/remove")
    assert raw_row(app, user_id) == {
        "discord_webhook_url": None,
        "llm_api_key": None,
        "llm_base_url": None,
        "llm_model": None,
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"base_url": "", "model": "m"}, "Give the API&#39;s base URL."),
        ({"base_url": "api.openai.com/v1", "model": "m"}, "starting with https://"),
        ({"base_url": "https://key:pw@api.example/v1", "model": "m"}, "Leave user names and passwords out"),
        ({"base_url": "https://api.example/v1", "model": ""}, "Give the model&#39;s name."),
        ({"base_url": "https://api.example/v1", "model": "m" * 201}, "200"),
        ({"base_url": "https://api.example/v1", "model": "m", "api_key": "has space"}, "cannot contain spaces"),
    ],
)
def test_bad_llm_settings_are_refused_inline(app, htmx, user_id, fields, message):
    response = htmx.post("/settings/llm", data=fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert raw_row(app, user_id)["llm_base_url"] is None


def test_production_refuses_plain_http_unless_the_host_is_allowed(make_app):
    for allowed, expected in (("", 422), ("ollama.lan", 303)):
        app = make_app(config={"SESSION_COOKIE_SECURE": False}, PLANTOPS_ENV="production", LLM_ALLOWED_HOSTS=allowed)
        client = app.test_client()
        make_user(app, email=f"p{expected}@example.com")
        assert AuthActions(app, client).login(email=f"p{expected}@example.com").status_code == 303
        response = save_llm(client, "http://ollama.lan:11434/v1", api_key="")
        assert response.status_code == expected


def test_discord_test_button_sends_a_message_and_shows_the_result(client, htmx, user_id, recording_server):
    client.post("/settings/discord", data={"webhook_url": webhook_url(recording_server.url)})
    response = htmx.post("/settings/discord/test")
    assert response.status_code == 200
    assert "Sent a test message to Discord" in response.get_data(as_text=True)
    sent = recording_server.requests[-1]
    assert sent.method == "POST"
    assert sent.path == f"/api/webhooks/123456789012345678/{WEBHOOK_TOKEN}"
    assert "PlantOps test message" in sent.json()["content"]


def test_discord_test_without_javascript_shows_the_page_with_the_result(client, user_id, recording_server):
    client.post("/settings/discord", data={"webhook_url": webhook_url(recording_server.url)})
    response = client.post("/settings/discord/test")
    page = response.get_data(as_text=True)
    assert "<html" in page
    assert "Sent a test message to Discord" in page


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(404, {"message": "Unknown Webhook"}), "Discord answered 404"),
        (Reply(401), "Discord rejected the credentials (HTTP 401)"),
        (Reply(500), "Discord answered with an error (HTTP 500)"),
        (Reply(302, headers={"Location": "http://127.0.0.1:1/"}), "redirect"),
        (Reply(204, delay=2), "did not answer within 1 seconds"),
    ],
)
def test_discord_test_failures_are_shown_inline(client, htmx, user_id, recording_server, reply, message):
    client.post("/settings/discord", data={"webhook_url": webhook_url(recording_server.url)})
    recording_server.queue(reply)
    body = htmx.post("/settings/discord/test").get_data(as_text=True)
    assert message in body
    assert WEBHOOK_TOKEN not in body


def test_llm_test_button_lists_models_with_the_decrypted_key(client, htmx, user_id, recording_server):
    save_llm(client, recording_server.url + "/v1")
    recording_server.queue(Reply(200, {"object": "list", "data": [{"id": "tiny-model"}, {"id": "big"}]}))
    body = htmx.post("/settings/llm/test").get_data(as_text=True)
    assert "Connected: the provider offers tiny-model." in body
    sent = recording_server.requests[-1]
    assert (sent.method, sent.path) == ("GET", "/v1/models")
    assert sent.headers["Authorization"] == f"Bearer {API_KEY}"


def test_llm_test_says_when_the_model_is_missing(client, htmx, user_id, recording_server):
    save_llm(client, recording_server.url)
    recording_server.queue(Reply(200, {"data": [{"id": "big"}]}))
    assert "does not list the model tiny-model" in htmx.post("/settings/llm/test").get_data(as_text=True)


def test_llm_without_a_key_sends_no_authorization(client, htmx, user_id, recording_server):
    save_llm(client, recording_server.url, api_key="")
    recording_server.queue(Reply(200, {"data": [{"id": "tiny-model"}]}))
    htmx.post("/settings/llm/test")
    assert "Authorization" not in recording_server.requests[-1].headers


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(401, {"error": {"message": "Incorrect API key provided: sk-te***9f3a"}}), "rejected the credentials"),
        (Reply(200, {"unexpected": True}), "not in the OpenAI format"),
        (Reply(200, delay=2), "did not answer within 1 seconds"),
    ],
)
def test_llm_test_failures_are_shown_inline(client, htmx, user_id, recording_server, reply, message):
    save_llm(client, recording_server.url)
    recording_server.queue(reply)
    body = htmx.post("/settings/llm/test").get_data(as_text=True)
    assert message in body
    assert "sk-te" not in body


def test_llm_test_against_nothing_listening_says_unreachable(client, htmx, user_id):
    save_llm(client, f"http://127.0.0.1:{free_port()}/v1")
    assert "Could not connect to 127.0.0.1" in htmx.post("/settings/llm/test").get_data(as_text=True)


def test_connection_tests_are_limited_per_user(make_app, recording_server):
    app = make_app()
    make_user(app)
    client = app.test_client()
    AuthActions(app, client).login()
    client.post("/settings/discord", data={"webhook_url": webhook_url(recording_server.url)})
    statuses = [client.post("/settings/discord/test").status_code for _ in range(21)]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
    assert len(recording_server.requests) == 20


def test_value_moved_to_another_users_row_asks_to_re_enter(app, client, other_client, user_id, recording_server):
    other_client.post("/settings/llm", data={"base_url": recording_server.url, "model": "m", "api_key": API_KEY})
    with app.app_context():
        other = db.session.scalar(db.select(User).where(User.email == "other@example.com"))
        me = db.session.get(User, user_id)
        me.llm_api_key, me.llm_base_url, me.llm_model = other.llm_api_key, other.llm_base_url, "m"
        db.session.commit()
    response = client.get("/settings")
    assert response.status_code == 200
    assert "re-enter this secret" in response.get_data(as_text=True)
    body = client.post("/settings/llm/test").get_data(as_text=True)
    assert "Re-enter this secret" in body
    assert recording_server.requests == []


def test_value_under_a_removed_key_asks_to_re_enter_and_can_be_replaced(make_app, recording_server):
    old = make_app(ENCRYPTION_KEY=new_encryption_key())
    uid = make_user(old)
    with old.app_context():
        user = db.session.get(User, uid)
        user.discord_webhook_url = encrypt(webhook_url(recording_server.url), uid, "discord_webhook_url")
        db.session.commit()
    app = make_app(ENCRYPTION_KEY=new_encryption_key())
    client = app.test_client()
    AuthActions(app, client).login()
    page = client.get("/settings").get_data(as_text=True)
    assert "re-enter this secret" in page
    assert "Send a test message" not in page
    assert client.post("/settings/discord/test").status_code == 200
    client.post("/settings/discord", data={"webhook_url": webhook_url(recording_server.url)})
    assert "••••Wq9z" in client.get("/settings").get_data(as_text=True)


def test_each_user_sees_only_their_own_settings(app, client, other_client, user_id, recording_server):
    client.post("/settings/discord", data={"webhook_url": webhook_url(recording_server.url)})
    save_llm(client, recording_server.url)
    page = other_client.get("/settings").get_data(as_text=True)
    assert "No webhook URL saved." in page
    assert "No API key saved." in page
    assert recording_server.url not in page
    other_client.post("/settings/discord/remove")
    other_client.post("/settings/llm/remove")
    assert raw_row(app, user_id)["llm_model"] == "tiny-model"
    assert raw_row(app, user_id)["discord_webhook_url"] is not None


def test_timezone_is_saved_and_bad_zones_are_refused(app, client, htmx, user_id):
    assert client.post("/settings/timezone", data={"timezone": "Europe/Berlin"}).status_code == 303
    with app.app_context():
        assert db.session.get(User, user_id).timezone == "Europe/Berlin"
    response = htmx.post("/settings/timezone", data={"timezone": "Mars/Olympus"})
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_settings_changes_need_the_csrf_token(make_app, recording_server):
    app = make_app(config={"WTF_CSRF_ENABLED": True})
    make_user(app)
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = page.split('"X-CSRFToken": "')[1].split('"')[0]
    client.post("/auth/login", data={"email": "gardener@example.com", "password": PASSWORD, "csrf_token": token})
    # Login starts a fresh session, so the form token comes from a page seen after it.
    page = client.get("/settings").get_data(as_text=True)
    token = page.split('"X-CSRFToken": "')[1].split('"')[0]
    url = webhook_url(recording_server.url)
    assert client.post("/settings/discord", data={"webhook_url": url}).status_code == 400
    assert client.post("/settings/discord", data={"webhook_url": url, "csrf_token": token}).status_code == 303
    assert client.post("/settings/discord/test", headers={"X-CSRFToken": token}).status_code == 200


@pytest.fixture
def other_server():
    """A second recording server: another origin, standing in for an attacker's host."""
    with running_recorder() as server:
        yield server


def test_a_new_origin_with_an_empty_key_field_is_refused_and_the_key_is_not_sent(
    app, client, htmx, user_id, recording_server, other_server
):
    save_llm(client, recording_server.url + "/v1")
    before = raw_row(app, user_id)
    response = htmx.post("/settings/llm", data={"base_url": other_server.url + "/v1", "model": "m", "api_key": ""})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert f"The saved API key was entered for {recording_server.url}" in body
    assert raw_row(app, user_id) == before
    htmx.post("/settings/llm/test")
    assert other_server.requests == []


def test_the_same_origin_keeps_the_key_and_a_re_entered_key_moves_with_the_url(
    app, client, htmx, user_id, recording_server, other_server
):
    save_llm(client, recording_server.url + "/v1")
    assert save_llm(client, recording_server.url + "/api/v2", api_key="").status_code == 303
    recording_server.queue(Reply(200, {"data": [{"id": "tiny-model"}]}))
    htmx.post("/settings/llm/test")
    assert recording_server.requests[-1].headers["Authorization"] == f"Bearer {API_KEY}"
    assert save_llm(client, other_server.url + "/v1", api_key="sk-other-9999").status_code == 303
    other_server.queue(Reply(200, {"data": [{"id": "tiny-model"}]}))
    assert "Connected" in htmx.post("/settings/llm/test").get_data(as_text=True)
    assert other_server.requests[-1].headers["Authorization"] == "Bearer sk-other-9999"


def test_a_key_whose_origin_no_longer_matches_is_never_sent(app, client, htmx, user_id, recording_server, other_server):
    """However the base URL changed (an older PlantOps, a database edit), the key stays home."""
    save_llm(client, recording_server.url + "/v1")
    with app.app_context():
        db.session.get(User, user_id).llm_base_url = other_server.url + "/v1"
        db.session.commit()
    body = htmx.post("/settings/llm/test").get_data(as_text=True)
    assert "The saved API key was entered for" in body
    assert other_server.requests == []


def test_a_key_saved_before_keys_were_bound_is_bound_to_its_url_on_the_next_save(
    app, client, htmx, user_id, recording_server, other_server
):
    save_llm(client, recording_server.url + "/v1")
    with app.app_context():
        user = db.session.get(User, user_id)
        user.llm_api_key = encrypt(API_KEY, user_id, "llm_api_key")  # the unbound format of before
        db.session.commit()
    response = htmx.post("/settings/llm", data={"base_url": other_server.url, "model": "m", "api_key": ""})
    assert response.status_code == 422
    assert save_llm(client, recording_server.url + "/v2", api_key="").status_code == 303
    with app.app_context():
        stored = decrypt(raw_row(app, user_id)["llm_api_key"], user_id, "llm_api_key")
    assert stored == f"{recording_server.url} {API_KEY}"


def test_a_dripping_provider_is_cut_off_at_the_deadline(client, htmx, user_id, drip_server):
    server = drip_server("body", interval=0.1)
    save_llm(client, server.url + "/v1")
    started = time.monotonic()
    body = htmx.post("/settings/llm/test").get_data(as_text=True)
    assert time.monotonic() - started < 2
    assert "did not answer within 1 seconds" in body


def test_concurrent_tests_past_the_bound_say_busy_at_once(make_app, drip_server):
    server = drip_server("body", interval=0.1)
    app = make_app(config={"PROVIDER_TIMEOUT_SECONDS": 2, "OUTBOUND_CONCURRENCY": 2})
    clients = []
    for n in range(2):
        make_user(app, email=f"g{n}@example.com")
        client = app.test_client()
        AuthActions(app, client).login(email=f"g{n}@example.com")
        save_llm(client, server.url + "/v1", api_key="")
        clients.append(client)
    results = []

    def run(client):
        started = time.monotonic()
        response = client.post("/settings/llm/test", headers={"HX-Request": "true"})
        results.append((response.status_code, time.monotonic() - started, response.get_data(as_text=True)))

    threads = [threading.Thread(target=run, args=(clients[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    busy = [r for r in results if r[0] == 503]
    assert len(results) == 8
    assert server.connections <= 2  # one per account, two in all
    assert len(busy) >= 6
    assert all(elapsed < 1 for _, elapsed, _ in busy)
    assert all("Try again in a moment" in body and "<html" not in body for _, _, body in busy)

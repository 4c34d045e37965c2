"""Plant recognisable secrets, run every flow (failures too), and look for them
everywhere a person or an operator could see them: pages, fragments, headers,
logs at DEBUG (with SQL echo on), command output and exception messages."""

import logging
from datetime import UTC, datetime, timedelta

import pytest

from app.config import new_encryption_key
from app.extensions import db
from app.models import Reading, User
from tests.conftest import AuthActions, make_user
from tests.fixtures.readings import device_ref, new_plant
from tests.fixtures.services import Reply, free_port

API_KEY = "sk-CANARY-llmkey-5d1f0c7e9a"
HOOK_TOKEN = "CANARYhookTOKEN_" + "Qx8" * 18
SECRETS = [API_KEY, HOOK_TOKEN]


def leaked(text):
    """Which secret (or its part beyond the last four characters) appears in `text`."""
    return [s for s in SECRETS if s in text or s[:-4] in text]


class Recorder:
    """A test client that keeps every response it got."""

    def __init__(self, client):
        self.client = client
        self.seen = []

    def __getattr__(self, method):
        call = getattr(self.client, method)

        def recorded(*args, htmx=False, **kwargs):
            headers = {"HX-Request": "true"} if htmx else {}
            response = call(*args, headers=headers, **kwargs)
            self.seen.append(f"{response.status_code} {dict(response.headers)}\n{response.get_data(as_text=True)}")
            return response

        return recorded


@pytest.fixture
def leak_app(make_app):
    old_key = new_encryption_key()
    return make_app(
        config={"PROVIDER_TIMEOUT_SECONDS": 0.5, "SQLALCHEMY_ECHO": True},
        ENCRYPTION_KEY=f"{new_encryption_key()},{old_key}",
    )


def test_secrets_never_leak_into_pages_logs_or_output(leak_app, recording_server, caplog):
    caplog.set_level(logging.DEBUG)
    app = leak_app
    user_id = make_user(app)
    with app.app_context():
        plant = new_plant(db.session, user_id, name="Fern", species="Fern", device_id="leak-1", soil_moisture_min=30)
        db.session.add(Reading(device_id=device_ref(db.session, "leak-1"), ts=datetime.now(UTC) - timedelta(hours=1),
                               soil_moisture=25))  # fmt: skip
        db.session.commit()
        plant_id = plant.id
    client = Recorder(app.test_client())
    AuthActions(app, client.client).login()
    hook = f"{recording_server.url}/api/webhooks/123456789012345678/{HOOK_TOKEN}"
    dead = f"http://127.0.0.1:{free_port()}"

    # Bad input that contains the secrets, with and without htmx.
    for htmx in (False, True):
        client.post("/settings/discord", data={"webhook_url": hook + "?x=1"}, htmx=htmx)
        client.post("/settings/discord", data={"webhook_url": "ftp://" + HOOK_TOKEN}, htmx=htmx)
        client.post("/settings/llm", data={"base_url": f"https://u:{API_KEY}@h.example", "model": "m"}, htmx=htmx)
        client.post("/settings/llm", data={"base_url": "nope", "model": "m", "api_key": API_KEY}, htmx=htmx)
        client.post("/settings/llm", data={"base_url": "https://h.example", "model": "m", "api_key": API_KEY + " x"},
                    htmx=htmx)  # fmt: skip

    # Save, show, test (success and every failure), ask for advice (success and failures).
    client.post("/settings/discord", data={"webhook_url": hook})
    client.post("/settings/llm", data={"base_url": recording_server.url, "model": "m", "api_key": API_KEY})
    client.get("/settings")
    client.get("/settings", htmx=True)
    echo = {"error": {"message": f"Incorrect API key provided: {API_KEY}", "url": hook}}
    for reply in (Reply(204), Reply(404, echo), Reply(401, echo), Reply(500, echo), Reply(302, {}, {"Location": hook}),
                  Reply(204, delay=1)):  # fmt: skip
        recording_server.queue(reply)
        client.post("/settings/discord/test", htmx=True)
    for reply in (Reply(200, {"data": [{"id": "m"}]}), Reply(401, echo), Reply(200, echo), Reply(200, delay=1)):
        recording_server.queue(reply)
        client.post("/settings/llm/test")
    for reply in (Reply(200, {"choices": [{"message": {"content": "Water it."}}]}), Reply(401, echo),
                  Reply(500, echo), Reply(200, delay=1)):  # fmt: skip
        recording_server.queue(reply)
        client.post(f"/plants/{plant_id}/advice", htmx=True)
    client.post(f"/plants/{plant_id}/advice")
    client.get(f"/plants/{plant_id}/advice")

    # The same user, with the webhook's host and the provider unreachable.
    with app.app_context():
        from app.settings.secrets import store_secret

        user = db.session.get(User, user_id)
        store_secret(user, "discord_webhook_url", f"{dead}/api/webhooks/1/{HOOK_TOKEN}")
        user.llm_base_url = dead
        db.session.commit()
    client.post("/settings/discord/test", htmx=True)
    client.post("/settings/llm/test", htmx=True)
    client.post(f"/plants/{plant_id}/advice", htmx=True)

    # Rotation, then an undecryptable value (moved to another user), then error pages.
    rotation = app.test_cli_runner().invoke(args=["rotate-key"])
    other_id = make_user(app, email="other@example.com")
    with app.app_context():
        me, other = db.session.get(User, user_id), db.session.get(User, other_id)
        other.llm_api_key, other.discord_webhook_url = me.llm_api_key, me.discord_webhook_url
        other.llm_base_url, other.llm_model = recording_server.url, "m"
        db.session.commit()
    other_client = Recorder(app.test_client())
    AuthActions(app, other_client.client).login(email="other@example.com")
    other_client.get("/settings")
    other_client.post("/settings/discord/test", htmx=True)
    other_client.post("/settings/llm/test")
    other_client.post(f"/plants/{plant_id}/advice")
    client.get("/plants/999999/advice")
    client.post("/settings/discord/remove")
    client.post("/settings/llm/remove", htmx=True)

    # The secrets did reach the services that needed them...
    sent = "\n".join(f"{r.path} {r.headers} {r.body!r}" for r in recording_server.requests)
    assert HOOK_TOKEN in sent
    assert f"Bearer {API_KEY}" in sent
    # ...and nowhere else.
    assert "re-enter this secret" in "".join(other_client.seen)
    for text in client.seen + other_client.seen:
        assert leaked(text) == [], text[:500]
    assert leaked(rotation.output) == []
    assert "sqlalchemy.engine" in caplog.text  # the echo was on
    assert leaked(caplog.text) == []
    for record in caplog.records:
        if record.exc_info:
            assert leaked(repr(record.exc_info[1])) == []

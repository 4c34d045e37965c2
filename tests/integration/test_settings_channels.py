"""Notification channels on /settings: add, show only the last characters, test inline, remove."""

import pytest

from app.extensions import db
from app.models import NotificationChannel
from tests.conftest import make_user
from tests.fixtures.services import Reply

TOPIC = "garden-topic-k3Jq"


@pytest.fixture
def app(make_app):
    return make_app(config={"PROVIDER_TIMEOUT_SECONDS": 2})


def add(client, url, **fields):
    data = {
        "kind": "ntfy",
        "url": url,
        "events": ["alert_opened", "daily_digest"],
        "digest_hour": "8",
        "quiet_mode": "hold",
    }
    data.update(fields)
    return client.post("/settings/channels", data=data)


def channel_ids(app):
    with app.app_context():
        return [c.id for c in db.session.scalars(db.select(NotificationChannel))]


def test_add_shows_only_the_last_characters_and_a_test_reaches_the_server(app, auth, client, recording_server):
    auth.register()
    url = f"ntfy://{recording_server.url.removeprefix('http://')}/{TOPIC}"
    response = add(client, url, quiet_start="22:00", quiet_end="07:00", quiet_mode="digest")
    assert response.status_code == 303
    page = client.get("/settings").get_data(as_text=True)
    assert "••••k3Jq" in page
    assert TOPIC not in page
    assert "quiet 22:00–07:00 (into the digest)" in page
    [channel_id] = channel_ids(app)

    recording_server.default = Reply(200, {"id": "1"})
    result = client.post(f"/settings/channels/{channel_id}/test", headers={"HX-Request": "true"})
    assert "Sent a test message to ntfy" in result.get_data(as_text=True)
    [request] = recording_server.requests
    assert request.json()["title"] == "PlantOps test message"
    assert request.json()["topic"] == TOPIC

    recording_server.default = Reply(403, {"error": "forbidden", "code": 40301})
    failed = client.post(f"/settings/channels/{channel_id}/test", headers={"HX-Request": "true"})
    text = failed.get_data(as_text=True)
    assert "ntfy did not take the test message: HTTP 403: forbidden" in text
    assert 'class="flash flash-error test-result"' in text

    assert client.post(f"/settings/channels/{channel_id}/delete").status_code == 303
    assert channel_ids(app) == []


def test_a_bad_url_is_refused_where_it_was_typed(app, auth, client):
    auth.register()
    response = add(client, "https://example.org/not-ntfy", quiet_start="22:00")
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "That is not a ntfy URL" in text
    assert channel_ids(app) == []
    missing_end = add(client, "ntfys://ntfy.sh/x", quiet_start="22:00")
    assert "Give both ends of the quiet hours" in missing_end.get_data(as_text=True)
    bad_time = add(client, "ntfys://ntfy.sh/x", quiet_start="25:00", quiet_end="07:00")
    assert "HH:MM" in bad_time.get_data(as_text=True)
    assert channel_ids(app) == []


def test_someone_elses_channel_is_404(app, auth, client):
    other = make_user(app, email="other@example.com")
    with app.app_context():
        channel = NotificationChannel(user_id=other, kind="ntfy", events=[])
        db.session.add(channel)
        db.session.commit()
        channel_id = channel.id
    auth.register()
    assert client.post(f"/settings/channels/{channel_id}/test").status_code == 404
    assert client.post(f"/settings/channels/{channel_id}/delete").status_code == 404
    assert channel_ids(app) == [channel_id]

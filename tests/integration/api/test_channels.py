"""GET/POST /api/v1/notification-channels and DELETE .../<id>: the URL is write-only."""

from app.crypto import decrypt
from app.extensions import db
from app.models import NotificationChannel

from ...conftest import make_user
from .conftest import ApiClient, make_token

URL = "ntfys://ntfy.example.org/my-secret-garden-topic"


def test_create_list_and_delete(app, api):
    created = api.post(
        "/api/v1/notification-channels",
        json={
            "kind": "ntfy",
            "url": URL,
            "events": ["daily_digest", "alert_opened"],
            "quiet_hours": {"start": "22:00", "end": "07:00", "mode": "digest"},
            "digest_hour": 7,
            "remind_after_hours": 6,
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["kind"] == "ntfy"
    assert body["url_hint"] == "opic"
    assert body["events"] == ["alert_opened", "daily_digest"]
    assert body["quiet_hours"] == {"start": "22:00", "end": "07:00", "mode": "digest"}
    assert (body["digest_hour"], body["remind_after_hours"]) == (7, 6)
    assert URL not in created.get_data(as_text=True)
    assert "url" not in body

    listed = api.get("/api/v1/notification-channels")
    assert listed.get_json()["items"] == [body]
    with app.app_context():
        channel = db.session.get(NotificationChannel, body["id"])
        assert URL not in channel.url
        assert decrypt(channel.url, channel.user_id, f"notification_channel:{channel.id}") == URL

    assert api.delete(f"/api/v1/notification-channels/{body['id']}").status_code == 204
    assert api.get("/api/v1/notification-channels").get_json()["items"] == []


def test_defaults(api):
    body = api.post("/api/v1/notification-channels", json={"kind": "webhook", "url": "jsons://hooks.example.org/x"})
    assert body.status_code == 201
    assert body.get_json()["events"] == ["alert_opened", "alert_resolved", "sensor_silent", "battery_low"]
    assert body.get_json()["quiet_hours"] is None


def test_bad_input_is_a_422_on_the_field(api):
    cases = [
        ({"kind": "pager", "url": URL}, "kind"),
        ({"kind": "ntfy"}, "url"),
        ({"kind": "ntfy", "url": ""}, "url"),
        ({"kind": "ntfy", "url": "https://example.org/not-ntfy"}, "url"),
        ({"kind": "telegram", "url": "tgram://nonsense"}, "url"),
        ({"kind": "ntfy", "url": URL, "events": ["everything"]}, "events.0"),
        ({"kind": "ntfy", "url": URL, "quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
        ({"kind": "ntfy", "url": URL, "digest_hour": 24}, "digest_hour"),
        ({"kind": "ntfy", "url": URL, "remind_after_hours": 0}, "remind_after_hours"),
        ({"kind": "ntfy", "url": URL, "secret": 1}, "secret"),
        ({"kind": "discord", "url": "https://discord.com/api/nothing"}, "url"),
    ]
    for body, field in cases:
        response = api.post("/api/v1/notification-channels", json=body)
        assert response.status_code == 422, body
        assert [e["field"] for e in response.get_json()["detail"]] == [field], (body, response.get_json())
    assert api.get("/api/v1/notification-channels").get_json()["items"] == []


def test_someone_elses_channel_is_404(api, other_api):
    mine = api.post("/api/v1/notification-channels", json={"kind": "ntfy", "url": URL}).get_json()
    assert other_api.delete(f"/api/v1/notification-channels/{mine['id']}").status_code == 404
    assert other_api.get("/api/v1/notification-channels").get_json()["items"] == []
    assert api.delete("/api/v1/notification-channels/999999").status_code == 404
    assert len(api.get("/api/v1/notification-channels").get_json()["items"]) == 1


def test_production_refuses_lan_servers_unless_the_operator_lists_them(make_app):
    for allowed, status in (("", 422), ("127.0.0.1", 201)):
        app = make_app(PLANTOPS_ENV="production", NOTIFY_ALLOWED_HOSTS=allowed)
        uid = make_user(app, email=f"p{status}@example.com")
        api = ApiClient(app.test_client(), make_token(app, uid), uid)
        response = api.post(
            "/api/v1/notification-channels", json={"kind": "gotify", "url": "gotify://127.0.0.1:8070/Tok"}
        )
        assert response.status_code == status, response.get_json()
        if status == 422:
            assert "encrypted form" in response.get_json()["detail"][0]["message"]
        private = api.post("/api/v1/notification-channels", json={"kind": "gotify", "url": "gotifys://10.1.2.3/Tok"})
        assert private.status_code == 422
        assert "local or private network" in private.get_json()["detail"][0]["message"]

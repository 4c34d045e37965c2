"""Notification channels end to end: a sensor publishes over MQTT (a fixture-started broker),
the app's own consumer and writer store the readings and open the alert, the notifier sends
it to a local stand-in of each service, which records what it received."""

import json
import time

import pytest

from app.extensions import db
from app.models import NotificationChannel, Plant
from app.settings.notification_channels import ChannelInput, create_channel
from app.workers import background_services

from ..fixtures.services import Reply, running_recorder, smtp_server
from .alerting import alerts, notifications
from .ingest_helpers import Publisher, claim, start_ingest, wait_until

FAST = {
    "NOTIFY_POLL_SECONDS": 0.05,
    "NOTIFY_BACKOFF_SECONDS": 0.1,
    "NOTIFY_MAX_ATTEMPTS": 3,
    "NOTIFY_TIMEOUT_SECONDS": 2.0,
    "NOTIFY_SCHEDULE_SECONDS": 3600,
}
PUBLIC = "https://plants.example"


def host_of(server):
    return server.url.removeprefix("http://")


# kind: (reply the stand-in gives, the channel URL for it, app config for it)
STAND_INS = {
    "ntfy": (Reply(200, {"id": "abc", "event": "message"}), lambda s: f"ntfy://{host_of(s)}/garden", {}),
    "telegram": (
        Reply(200, {"ok": True, "result": {"message_id": 7}}),
        lambda s: "tgram://123456:ABC-token_x/987654",
        lambda s: {"TELEGRAM_API_URL": s.url},
    ),
    "gotify": (Reply(200, {"id": 1}), lambda s: f"gotify://{host_of(s)}/AppTokenX", {}),
    "webhook": (Reply(200, {}), lambda s: f"json://{host_of(s)}/hooks/garden?+X-Token=hush", {}),
    "matrix": (
        Reply(200, {"event_id": "$e1"}),
        lambda s: f"matrix://syt_secret@{host_of(s)}/!room1:example.org",
        {},
    ),
    "slack": (
        Reply(200, None),
        lambda s: "slack://T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx",
        lambda s: {"SLACK_HOOKS_URL": s.url},
    ),
    "discord": (Reply(204), lambda s: f"{s.url}/api/webhooks/1/abcdefghijklmnopqrstuvwxyz", {}),
}


@pytest.fixture
def start_app(make_app, mosquitto):
    apps = []

    def start(config=None):
        app = make_app(
            config={**FAST, **(config or {})}, MQTT_ENABLED="true", MQTT_PORT=mosquitto.port, PUBLIC_URL=PUBLIC
        )
        apps.append(start_ingest(app))
        return app

    yield start
    for app in apps:
        background_services(app).stop()


@pytest.fixture
def publisher(mosquitto):
    pub = Publisher(mosquitto.port)
    yield pub
    pub.close()


def add_channel(app, user_id, kind, url, **fields):
    with app.app_context():
        channel = create_channel(db.session, user_id, ChannelInput(kind=kind, url=url, **fields), app.config)
        db.session.commit()
        return channel.id


def dry_plant(app, name="Basil <b>@everyone</b>"):
    plants = claim(app, ["basil-1"], soil_moisture_min=30.0, soil_moisture_max=70.0)
    with app.app_context():
        plant = db.session.get(Plant, plants["basil-1"])
        plant.name = name
        db.session.commit()
        return plant.id, plant.garden.personal_of_id


def publish_dry(publisher):
    now = time.time()
    publisher.send("basil-1", {"ts": now - 20, "soil_moisture": 25.0})
    publisher.send("basil-1", {"ts": now - 10, "soil_moisture": 22.0})


@pytest.mark.parametrize("kind", list(STAND_INS))
def test_an_mqtt_reading_reaches_each_channel(start_app, publisher, kind, record_property):
    reply, url_for, config_for = STAND_INS[kind]
    with running_recorder() as server:
        server.default = reply
        config = config_for(server) if callable(config_for) else config_for
        app = start_app(config)
        plant_id, user_id = dry_plant(app)
        add_channel(app, user_id, kind, url_for(server))

        publish_dry(publisher)
        [request] = server.wait_for(1, timeout=20)
        wait_until(lambda: [n.status for n in notifications(app)] == ["sent"], message="sent")
    record_property("received", f"{request.method} {request.path}\n{request.body.decode()}")
    print(f"\n--- {kind} stand-in received: {request.method} {request.path}\n{request.body.decode()}")
    body = request.json() if request.body else None
    name = "Basil <b>@everyone</b>"
    headline = "soil moisture low (22.0 %, threshold 30.0 %)"
    mute_prefix = f"{PUBLIC}/plants/mute/"
    if kind == "ntfy":
        assert request.path == "/"
        assert body["topic"] == "garden"
        assert body["title"] == f"🚨 {name}: {headline}"
        assert body["click"] == f"{PUBLIC}/plants/{plant_id}"
        assert body["actions"][0]["url"].startswith(mute_prefix)
    elif kind == "telegram":
        assert request.path == "/bot123456:ABC-token_x/sendMessage"
        assert body["chat_id"] == "987654"
        assert body["parse_mode"] == "HTML"
        assert body["text"].startswith(f"<b>🚨 Basil &lt;b&gt;@everyone&lt;/b&gt;: {headline}</b>")
        assert body["reply_markup"]["inline_keyboard"][0][1]["url"].startswith(mute_prefix)
    elif kind == "gotify":
        assert request.path == "/message"
        assert request.headers["X-Gotify-Key"] == "AppTokenX"
        assert body["title"] == f"🚨 {name}: {headline}"
        assert body["priority"] == 8
    elif kind == "webhook":
        assert request.path == "/hooks/garden"
        assert request.headers["X-Token"] == "hush"
        assert body["type"] == "warning"
        assert body["event"] == "opened"
        assert body["title"] == f"🚨 {name}: {headline}"
        assert body["mute_url"].startswith(mute_prefix)
    elif kind == "matrix":
        assert request.method == "PUT"
        assert request.path.startswith("/_matrix/client/v3/rooms/%21room1%3Aexample.org/send/m.room.message/plantops-")
        assert request.headers["Authorization"] == "Bearer syt_secret"
        assert "Basil &lt;b&gt;@everyone&lt;/b&gt;" in body["formatted_body"]
        assert body["msgtype"] == "m.notice"
    elif kind == "slack":
        assert request.path == "/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx"
        assert body["text"].startswith(f"*🚨 Basil &lt;b&gt;@everyone&lt;/b&gt;: {headline}*")
    elif kind == "discord":
        assert request.path == "/api/webhooks/1/abcdefghijklmnopqrstuvwxyz"
        assert body["allowed_mentions"] == {"parse": []}
        assert "\\@everyone" in body["content"]


def test_an_mqtt_reading_reaches_an_email_inbox(start_app, publisher):
    with smtp_server() as inbox:
        app = start_app()
        plant_id, user_id = dry_plant(app, name="Fern\r\nBcc: victim@example.org")
        add_channel(app, user_id, "email", f"mailto://127.0.0.1:{inbox.port}?to=me@example.org&from=plants@example.org")

        publish_dry(publisher)
        wait_until(lambda: inbox.messages, timeout=20, message="an email")
        wait_until(lambda: [n.status for n in notifications(app)] == ["sent"], message="sent")
    [envelope] = inbox.messages
    text = envelope.content.decode()
    print(f"\n--- SMTP stand-in received: MAIL FROM {envelope.mail_from} RCPT TO {envelope.rcpt_tos}\n{text}")
    assert envelope.rcpt_tos == ["me@example.org"]
    assert "Subject: =?utf-8?" in text or "Subject: 🚨" in text
    assert "\nBcc:" not in text  # the name's line break cannot add a header
    assert f"Open the plant: {PUBLIC}/plants/{plant_id}" in text
    assert "Mute this plant for a day: https://plants.example/plants/mute/" in text


def test_a_permanent_error_is_not_retried_and_shows_on_the_alert_and_channel(start_app, publisher):
    with running_recorder() as server:
        server.default = Reply(401, {"error": "unauthorized", "errorDescription": "you need to provide a valid token"})
        app = start_app()
        _, user_id = dry_plant(app)
        channel_id = add_channel(app, user_id, "gotify", f"gotify://{host_of(server)}/WrongToken")
        publish_dry(publisher)
        wait_until(lambda: [n.status for n in notifications(app)] == ["failed"], message="failed")
        time.sleep(0.5)
        assert len(server.requests) == 1
    [notification] = notifications(app)
    assert notification.last_error == "HTTP 401: you need to provide a valid token"
    assert (
        alerts(app)[0].notify_error
        == "Gotify message (opened) failed after 1 attempt: HTTP 401: you need to provide a valid token"
    )
    with app.app_context():
        assert (
            db.session.get(NotificationChannel, channel_id).last_error
            == "opened: HTTP 401: you need to provide a valid token"
        )


def test_a_server_error_is_retried_with_backoff_then_sent(start_app, publisher):
    with running_recorder() as server:
        server.queue(Reply(503), Reply(429, {"ok": False, "parameters": {"retry_after": 1}}))
        server.default = Reply(200, {"ok": True})
        app = start_app({"TELEGRAM_API_URL": server.url})
        _, user_id = dry_plant(app)
        add_channel(app, user_id, "telegram", "tgram://123456:ABC-token_x/987654")
        publish_dry(publisher)
        wait_until(lambda: [n.status for n in notifications(app)] == ["sent"], message="sent")
    assert len(server.requests) == 3
    assert json.loads(server.requests[0].body) == json.loads(server.requests[2].body)
    assert notifications(app)[0].attempts == 3

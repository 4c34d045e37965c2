"""When channel messages go out: quiet hours in the user's timezone, the daily digest, reminders
of unacknowledged alerts, muted plants and their signed links. Readings go through the
ingest writer (tests/fixtures/readings.py); time passes by moving the clock."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from app.alerts.evaluation import check_stale
from app.clock import utcnow
from app.extensions import db
from app.models import Alert, Notification, NotificationChannel, Plant, PlantMute, Task, User
from app.notify.dispatch import mute_token, quiet_until
from app.notify.worker import Notifier
from app.ownership import personal_garden_id
from app.settings.notification_channels import ChannelInput, create_channel

from ..conftest import make_user
from ..fixtures.services import Reply
from .alerting import add_plant, notifications, store

FAST = {"NOTIFY_POLL_SECONDS": 0.05, "NOTIFY_SCHEDULE_SECONDS": 3600, "NOTIFY_TIMEOUT_SECONDS": 2.0}
ZONE = "Europe/Berlin"  # UTC+1 in December


@pytest.fixture
def ntfy(recording_server):
    recording_server.default = Reply(200, {"id": "x"})
    return recording_server


@pytest.fixture
def app(make_app):
    return make_app(config=FAST, PUBLIC_URL="https://plants.example")


@pytest.fixture
def user_id(app):
    uid = make_user(app)
    with app.app_context():
        db.session.get(User, uid).timezone = ZONE
        db.session.commit()
    return uid


def add_channel(app, user_id, url, **fields):
    with app.app_context():
        channel = create_channel(db.session, user_id, ChannelInput(kind="ntfy", url=url, **fields), app.config)
        db.session.commit()
        return channel.id


def ntfy_url(server):
    return f"ntfy://{server.url.removeprefix('http://')}/garden"


def berlin(hour, minute=0, day=2):
    return datetime(2026, 12, day, hour - 1, minute, tzinfo=UTC)  # the UTC moment of that Berlin time


def run(notifier, count, server, timeout=10):
    """Deliver what is due now with the app's notifier (its threads), then stop it."""
    notifier.start()
    try:
        return server.wait_for(count, timeout=timeout)
    finally:
        notifier.stop()


def test_quiet_hours_span_midnight_in_the_users_timezone(app):
    with app.app_context():
        channel = NotificationChannel(quiet_start=22 * 60, quiet_end=7 * 60)
        assert quiet_until(channel, berlin(21, 59), ZONE) is None
        assert quiet_until(channel, berlin(23, 30), ZONE) == berlin(7, 0, day=3)
        assert quiet_until(channel, berlin(6, 59, day=3), ZONE) == berlin(7, 0, day=3)
        assert quiet_until(channel, berlin(7, 0, day=3), ZONE) is None


def test_a_message_in_quiet_hours_is_held_until_they_end(app, user_id, ntfy, clock):
    clock.move_to(berlin(23, 30), tick=True)
    pid = add_plant(app, user_id)
    add_channel(app, user_id, ntfy_url(ntfy), quiet_start="22:00", quiet_end="07:00")
    store(app, pid, 25.0, 25.0)

    [held] = notifications(app)
    assert held.status == "pending"
    assert held.next_attempt_at == berlin(7, 0, day=3)
    notifier = Notifier(app)
    notifier.start()
    try:
        with pytest.raises(TimeoutError):
            ntfy.wait_for(1, timeout=1.0)  # nothing during the night
        clock.move_to(berlin(7, 1, day=3), tick=True)
        [request] = ntfy.wait_for(1)
    finally:
        notifier.stop()
    assert request.json()["title"].startswith("🚨 Basil: soil moisture low")


def test_quiet_hours_fold_into_the_morning_digest(app, user_id, ntfy, clock):
    clock.move_to(berlin(23, 30), tick=True)
    pid = add_plant(app, user_id)
    fern = add_plant(app, user_id, name="Fern")
    add_channel(
        app,
        user_id,
        ntfy_url(ntfy),
        events=["alert_opened", "daily_digest"],
        quiet_start="22:00",
        quiet_end="07:00",
        quiet_mode="digest",
        digest_hour=8,
    )
    store(app, pid, 25.0, 25.0)
    store(app, fern, 20.0, 20.0)
    with app.app_context():
        db.session.add(
            Task(garden_id=personal_garden_id(user_id), title="Repot the <fern>", due_date=berlin(8, day=3).date())
        )
        db.session.add(
            Task(garden_id=personal_garden_id(user_id), title="Feed Basil", due_date=berlin(8, day=3).date())
        )
        db.session.commit()
    assert [n.status for n in notifications(app)] == ["folded", "folded"]

    notifier = Notifier(app)
    assert notifier.run_schedule(berlin(7, 30, day=3)) == 0  # quiet hours are over, the digest is at 8
    clock.move_to(berlin(8, 5, day=3), tick=True)
    assert notifier.run_schedule() == 1
    assert notifier.run_schedule() == 0  # once a day
    [request] = run(notifier, 1, ntfy)
    digest = request.json()
    print("\n--- digest as sent to the ntfy stand-in:\n" + request.body.decode())
    # The alerts' water tasks fell due the day they opened (yesterday): overdue now.
    assert digest["title"] == "🌱 2 plants need water, 2 tasks due today, 2 overdue"
    assert digest["message"].splitlines() == [
        "• Basil: soil moisture low (25.0 %)",
        "• Fern: soil moisture low (20.0 %)",
        f"• Task: Water Basil (due {berlin(8, day=2).date().isoformat()})",
        f"• Task: Water Fern (due {berlin(8, day=2).date().isoformat()})",
        "• Task: Repot the <fern>",
        "• Task: Feed Basil",
        "During quiet hours (2):",
        "• Basil: soil moisture low (25.0 %, threshold 30.0 %)",
        "• Fern: soil moisture low (20.0 %, threshold 30.0 %)",
    ]
    assert [n.status for n in notifications(app)] == ["digested", "digested", "sent"]


def test_an_unacknowledged_alert_is_sent_once_more_after_n_hours(app, user_id, ntfy, clock):
    clock.move_to(berlin(12), tick=True)
    pid = add_plant(app, user_id)
    add_channel(app, user_id, ntfy_url(ntfy), remind_after_hours=3)
    store(app, pid, 25.0, 25.0)
    notifier = Notifier(app)
    assert notifier.run_schedule(berlin(14, 59)) == 0
    assert notifier.run_schedule(berlin(15, 1)) == 1
    assert notifier.run_schedule(berlin(18)) == 0  # once
    clock.move_to(berlin(18), tick=True)
    opened, reminder = run(notifier, 2, ntfy)
    assert reminder.json()["title"] == "⏰ Still open: Basil: soil moisture low (25.0 %, threshold 30.0 %)"
    assert "Not acknowledged for 3 h." in reminder.json()["message"]


def test_an_acknowledged_alert_gets_no_reminder(app, user_id, ntfy, clock):
    clock.move_to(berlin(12), tick=True)
    pid = add_plant(app, user_id)
    add_channel(app, user_id, ntfy_url(ntfy), remind_after_hours=1)
    store(app, pid, 25.0, 25.0)
    with app.app_context():
        db.session.scalars(db.select(Alert)).one().state = "acknowledged"
        db.session.commit()
    assert Notifier(app).run_schedule(berlin(14)) == 0


def test_events_choose_what_a_channel_hears(app, user_id, ntfy):
    pid = add_plant(app, user_id)
    add_channel(app, user_id, ntfy_url(ntfy), events=["alert_resolved"])
    store(app, pid, 25.0, 25.0, 50.0)
    assert [n.event for n in notifications(app)] == ["resolved"]


def test_a_muted_plant_sends_nothing_and_its_link_mutes_it_for_a_day(app, user_id, ntfy, client):
    pid = add_plant(app, user_id)
    add_channel(app, user_id, ntfy_url(ntfy))
    store(app, pid, 25.0, 25.0)
    [message] = notifications(app)
    link = message.payload["mute_url"]
    path = link.removeprefix("https://plants.example")

    page = client.get(path)  # a link preview fetches it: nothing changes
    assert page.status_code == 200
    assert b"Mute for 24 hours" in page.data
    store(app, pid, 50.0, 25.0, 25.0, now=utcnow() + timedelta(minutes=1))  # resolved, dry again: 2 more
    assert len(notifications(app)) == 3

    confirmed = client.post(path)
    assert confirmed.status_code == 200
    assert re.search(rb"Basil is muted until 2\d{3}-\d\d-\d\d \d\d:\d\d CET", confirmed.data)
    store(app, pid, 50.0, 25.0, 25.0, now=utcnow() + timedelta(minutes=2))
    assert len(notifications(app)) == 3  # muted: nothing queued


def test_a_forged_or_expired_mute_link_is_404(app, user_id, client, clock):
    pid = add_plant(app, user_id)
    token = mute_token(app.config["SECRET_KEY"], user_id, pid)
    assert client.post(f"/plants/mute/{token}x").status_code == 404
    assert client.post(f"/plants/mute/{mute_token('another key', user_id, pid)}").status_code == 404
    other = make_user(app, email="other@example.com")
    assert client.post(f"/plants/mute/{mute_token(app.config['SECRET_KEY'], other, pid)}").status_code == 404
    clock.shift(timedelta(days=8))
    assert client.get(f"/plants/mute/{token}").status_code == 404


def test_mute_from_the_plant_page(app, auth, client):
    auth.register()
    uid = auth.user().id
    pid = add_plant(app, uid)
    assert b"Mute for" in client.get(f"/plants/{pid}").data
    response = client.post(f"/plants/{pid}/mute", data={"hours": "4"}, follow_redirects=True)
    assert b"Basil is muted for 4 hours." in response.data
    assert b"Muted until" in response.data
    with app.app_context():
        mute = db.session.get(PlantMute, pid)
        assert timedelta(hours=3, minutes=59) < mute.until - utcnow() <= timedelta(hours=4)
    client.post(f"/plants/{pid}/mute", data={"hours": "0"})
    with app.app_context():
        assert db.session.get(Plant, pid) is not None
        assert db.session.get(PlantMute, pid) is None
    assert client.post(f"/plants/{pid}/mute", data={"hours": "9999"}, headers={"HX-Request": "true"}).status_code == 422
    other = make_user(app, email="other@example.com")
    other_plant = add_plant(app, other, name="Theirs")
    assert client.post(f"/plants/{other_plant}/mute", data={"hours": "4"}).status_code == 404


def test_task_due_messages_once_a_day_at_the_digest_hour(app, user_id, ntfy):
    add_channel(app, user_id, ntfy_url(ntfy), events=["task_due"], digest_hour=9)
    with app.app_context():
        db.session.add(Task(garden_id=personal_garden_id(user_id), title="Water the ferns", due_date=berlin(9).date()))
        db.session.commit()
    notifier = Notifier(app)
    assert notifier.run_schedule(berlin(8, 59)) == 0
    assert notifier.run_schedule(berlin(9, 1)) == 1
    assert notifier.run_schedule(berlin(15)) == 0
    with app.app_context():
        [row] = db.session.scalars(db.select(Notification)).all()
        assert row.payload["title"] == ["📋 Due today: ", "Water the ferns", ""]


def test_a_silent_sensor_goes_only_to_channels_that_take_sensor_silent(app, user_id, ntfy, clock):
    pid = add_plant(app, user_id, stale_after_minutes=60)
    add_channel(app, user_id, ntfy_url(ntfy), events=["sensor_silent"])
    add_channel(app, user_id, ntfy_url(ntfy).replace("/garden", "/other"), events=["alert_opened"])
    store(app, pid, 50.0)
    clock.shift(timedelta(minutes=90))
    with app.app_context():
        opened, _ = check_stale(db.session, utcnow())
        db.session.commit()
    assert opened == 1
    [message] = notifications(app)
    assert message.payload["title"][0] == "🚨 "
    assert message.payload["title"][2].startswith(": sensor silent")

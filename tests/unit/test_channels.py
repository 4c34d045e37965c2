"""Channel URLs as Apprise reads them, what each means for PlantOps, and quiet hours."""

from datetime import UTC, datetime

import pytest

from app.models import NotificationChannel
from app.notify.channels import InvalidChannel, parse, server_host
from app.notify.dispatch import channel_event, quiet_until
from app.notify.retry import parse_retry_after


@pytest.mark.parametrize(
    ("kind", "url", "expected"),
    [
        ("ntfy", "ntfys://ntfy.example.org/garden", {"base": "https://ntfy.example.org", "path": "garden"}),
        ("ntfy", "ntfy://garden", {"base": "https://ntfy.sh", "path": "garden", "host": "ntfy.sh"}),
        ("ntfy", "ntfy://u:pw@10.0.0.5:8080/g", {"base": "http://10.0.0.5:8080", "user": "u", "password": "pw"}),
        ("ntfy", "ntfys://host.example/g?token=tk_abc", {"token": "tk_abc"}),
        ("telegram", "tgram://123456:ABC-def/-100200300", {"token": "123456:ABC-def", "path": "-100200300"}),
        ("gotify", "gotifys://push.example.org/sub/AbCd", {"base": "https://push.example.org/sub", "token": "AbCd"}),
        (
            "email",
            "mailtos://me:pw@smtp.example.org?to=a@example.org&from=b@example.org",
            {"host": "smtp.example.org", "port": 587, "path": "starttls", "recipients": ("a@example.org",)},
        ),
        (
            "matrix",
            "matrixs://syt_tok@matrix.example.org/!r:example.org",
            {"token": "syt_tok", "path": "!r:example.org"},
        ),
        ("slack", "https://hooks.slack.com/services/T1/B2/C3", {"path": "T1/B2/C3"}),
        (
            "webhook",
            "jsons://hooks.example.org/in?+X-Key=v",
            {"base": "https://hooks.example.org/in", "headers": {"X-Key": "v"}},
        ),
    ],
)
def test_apprise_urls_become_targets(kind, url, expected):
    target = parse(kind, url)
    for name, value in expected.items():
        assert getattr(target, name) == value, name


@pytest.mark.parametrize(
    ("kind", "url", "message"),
    [
        ("ntfy", "", "Paste the channel's URL"),
        ("ntfy", "https://ntfy.sh/garden", "That is not a ntfy URL"),
        ("ntfy", "ntfy://host/a/b", "exactly one ntfy topic"),
        ("telegram", "tgram://123456:ABC/1/2", "exactly one Telegram chat"),
        ("email", "mailto://smtp.example.org", "Apprise cannot read that Email (SMTP) URL"),
        ("matrix", "matrixs://user:pw@m.example.org/!r:x", "access token"),
        ("slack", "https://example.org/services/T1/B2/C3", "Slack webhook URL"),
        ("webhook", "json://host/x y", "without spaces"),
        ("pager", "pager://x", "Choose one of"),
    ],
)
def test_bad_urls_say_what_is_wrong_without_repeating_them(kind, url, message):
    with pytest.raises(InvalidChannel) as error:
        parse(kind, url)
    assert message in str(error.value)
    assert not url or url not in str(error.value)


def test_fixed_services_are_called_on_their_own_hosts():
    assert server_host(parse("telegram", "tgram://1:A/2"), {}) == ("api.telegram.org", True)
    assert server_host(parse("slack", "slack://T/B/C"), {}) == ("hooks.slack.com", True)
    assert server_host(parse("gotify", "gotify://10.0.0.2/T"), {}) == ("10.0.0.2", False)


def test_alert_events_map_to_channel_events():
    assert channel_event("soil_moisture_low", "opened") == "alert_opened"
    assert channel_event("stale", "opened") == "sensor_silent"
    assert channel_event("battery_low", "opened") == "battery_low"
    assert channel_event("stale", "resolved") == "alert_resolved"


def test_quiet_hours_follow_daylight_saving_time():
    channel = NotificationChannel(quiet_start=22 * 60, quiet_end=7 * 60)
    # 2026-03-29: Berlin springs forward at 02:00; quiet hours still end at 07:00 local (05:00 UTC).
    assert quiet_until(channel, datetime(2026, 3, 28, 23, 0, tzinfo=UTC), "Europe/Berlin") == datetime(
        2026, 3, 29, 5, 0, tzinfo=UTC
    )
    daytime = NotificationChannel(quiet_start=12 * 60, quiet_end=14 * 60)
    assert quiet_until(daytime, datetime(2026, 6, 1, 11, 30, tzinfo=UTC), "UTC") is None
    assert quiet_until(daytime, datetime(2026, 6, 1, 12, 30, tzinfo=UTC), "UTC") == datetime(2026, 6, 1, 14, tzinfo=UTC)
    assert quiet_until(NotificationChannel(quiet_start=None, quiet_end=None), datetime.now(UTC), "UTC") is None


def test_telegrams_retry_after_is_read_from_its_parameters():
    assert parse_retry_after({}, {"ok": False, "parameters": {"retry_after": 12}}) == 12.0
    assert parse_retry_after({"Retry-After": "3"}, {"ok": False}) == 3.0

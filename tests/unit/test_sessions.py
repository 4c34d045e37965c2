from datetime import timedelta

import pytest

from app.auth.sessions import describe_device
from app.config import ConfigError, load_settings


@pytest.mark.parametrize(
    ("user_agent", "shown"),
    [
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Windows"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
            "Safari on iPhone",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge on macOS",
        ),
        ("python-requests/2.32.3", "python-requests"),
        ("curl/8.5.0", "curl"),
        ("", "Unknown device"),
        ("<script>", "Unknown device"),
    ],
)
def test_a_user_agent_becomes_a_short_device_name(user_agent, shown):
    assert describe_device(user_agent) == shown


def test_sessions_time_out_after_an_hour_idle_and_twelve_hours_at_most_by_default(tmp_path):
    config = load_settings({}, tmp_path)
    assert config["SESSION_IDLE_TIMEOUT"] == timedelta(minutes=60)
    assert config["SESSION_LIFETIME"] == timedelta(hours=12)
    assert config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    assert config["REMEMBER_COOKIE_DURATION"] == timedelta(days=30)


def test_session_timeouts_are_settings(tmp_path):
    env = {"SESSION_IDLE_MINUTES": "15", "SESSION_LIFETIME_HOURS": "8", "REMEMBER_DAYS": "7"}
    config = load_settings(env, tmp_path)
    assert config["SESSION_IDLE_TIMEOUT"] == timedelta(minutes=15)
    assert config["SESSION_LIFETIME"] == timedelta(hours=8)
    assert config["REMEMBER_COOKIE_DURATION"] == timedelta(days=7)


@pytest.mark.parametrize(
    ("name", "value"), [("SESSION_IDLE_MINUTES", "1"), ("SESSION_LIFETIME_HOURS", "0"), ("REMEMBER_DAYS", "forever")]
)
def test_malformed_session_timeouts_are_refused_naming_the_setting(tmp_path, name, value):
    with pytest.raises(ConfigError, match=f"^{name} must be"):
        load_settings({name: value}, tmp_path)

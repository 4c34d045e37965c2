import base64
import secrets
import stat

import pytest

from app.config import ConfigError, database_url, load_settings, new_encryption_key

KEY = new_encryption_key()
SECRET = secrets.token_urlsafe(48)
ALL_ZERO_KEY = base64.urlsafe_b64encode(bytes(32)).decode()


def settings(tmp_path, **env):
    return load_settings(env, tmp_path)


def test_development_generates_keys_once_with_private_mode(tmp_path):
    first = settings(tmp_path)
    second = settings(tmp_path)

    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["ENCRYPTION_KEYS"] == second["ENCRYPTION_KEYS"]
    for name in ("secret_key", "encryption_key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "SECRET_KEY and ENCRYPTION_KEY"),
        ({"SECRET_KEY": "s"}, "ENCRYPTION_KEY"),
        ({"ENCRYPTION_KEY": KEY}, "SECRET_KEY"),
    ],
)
def test_production_names_what_is_missing(tmp_path, env, missing):
    with pytest.raises(ConfigError, match=f"needs {missing} to be set"):
        settings(tmp_path, PLANTOPS_ENV="production", **env)
    assert not (tmp_path / "secret_key").exists()


def test_production_with_keys_sets_secure_cookies(tmp_path):
    config = settings(tmp_path, PLANTOPS_ENV="production", SECRET_KEY=SECRET, ENCRYPTION_KEY=KEY)
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert config["REMEMBER_COOKIE_NAME"] == "__Host-remember"


def test_development_cookies_have_plain_names_and_remember_me_lasts_30_days(tmp_path):
    config = settings(tmp_path)
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SESSION_COOKIE_NAME"] == "session"
    assert config["REMEMBER_COOKIE_NAME"] == "remember_token"
    assert config["REMEMBER_COOKIE_DURATION"].days == 30


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MQTT_PORT", "abc", "MQTT_PORT must be a whole number"),
        ("MQTT_PORT", "70000", "MQTT_PORT must be between 1 and 65535"),
        ("MQTT_PORT", "0", "MQTT_PORT must be between 1 and 65535"),
        ("MQTT_ENABLED", "maybe", "MQTT_ENABLED must be true or false"),
        ("MQTT_TOPIC_PREFIX", "a/b", "MQTT_TOPIC_PREFIX must be one topic level"),
        ("DISCORD_WEBHOOK_URL", "ftp://x", "DISCORD_WEBHOOK_URL must be an absolute"),
        ("DISCORD_WEBHOOK_URL", "https://", "DISCORD_WEBHOOK_URL must be an absolute"),
        ("PUBLIC_URL", "example.com", "PUBLIC_URL must be an absolute"),
        ("ENCRYPTION_KEY", "c2hvcnQ=", "ENCRYPTION_KEY must be URL-safe base64 of 32"),
        ("ENCRYPTION_KEY", "!!!", "ENCRYPTION_KEY must be URL-safe base64 of 32"),
        ("DATABASE_URL", "not a url", "DATABASE_URL is not a database URL"),
        ("PLANTOPS_ENV", "staging", "PLANTOPS_ENV must be development"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of"),
        ("RETENTION_DAYS", "-1", "RETENTION_DAYS must be between"),
        ("ALERT_MIN_READINGS", "0", "ALERT_MIN_READINGS must be between 1 and 100"),
        ("ALERT_MIN_READINGS", "two", "ALERT_MIN_READINGS must be a whole number"),
        ("ALERT_HYSTERESIS_PERCENT", "51", "ALERT_HYSTERESIS_PERCENT must be between 0 and 50"),
        ("DATABASE_CONNECT_TIMEOUT", "1", "DATABASE_CONNECT_TIMEOUT must be between 2 and 300"),
        ("DATABASE_STATEMENT_TIMEOUT", "soon", "DATABASE_STATEMENT_TIMEOUT must be a whole number"),
        ("DATABASE_POOL_TIMEOUT", "0", "DATABASE_POOL_TIMEOUT must be between 1 and 300"),
        ("DATABASE_BUSY_TIMEOUT", "0", "DATABASE_BUSY_TIMEOUT must be between 1 and 300"),
        ("TRUSTED_PROXY_HOPS", "-1", "TRUSTED_PROXY_HOPS must be between 0 and 10"),
    ],
)
def test_malformed_setting_is_refused_with_its_name(tmp_path, name, value, message):
    with pytest.raises(ConfigError, match=message):
        settings(tmp_path, **{name: value})


def test_encryption_key_list_keeps_order_newest_first(tmp_path):
    newer, older = new_encryption_key(), new_encryption_key()
    config = settings(tmp_path, ENCRYPTION_KEY=f"{newer}, {older}")
    assert len(config["ENCRYPTION_KEYS"]) == 2
    assert config["ENCRYPTION_KEYS"][0] != config["ENCRYPTION_KEYS"][1]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_uses_psycopg3(given, expected):
    assert database_url(given) == expected


def test_defaults_match_the_contract(tmp_path):
    config = settings(tmp_path)
    assert config["MQTT_HOST"] == "127.0.0.1"
    assert config["MQTT_PORT"] == 1883
    assert config["MQTT_ENABLED"] is True
    assert config["MQTT_TOPIC_PREFIX"] == "plantops"
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'plantops.db'}"
    assert config["DISCORD_WEBHOOK_URL"] is None
    assert config["ALERT_MIN_READINGS"] == 2
    assert config["ALERT_HYSTERESIS_PERCENT"] == 5
    assert config["DATABASE_CONNECT_TIMEOUT"] == 5
    assert config["DATABASE_STATEMENT_TIMEOUT"] == 30
    assert config["DATABASE_POOL_TIMEOUT"] == 5
    assert config["DATABASE_BUSY_TIMEOUT"] == 10
    assert config["TRUSTED_PROXY_HOPS"] == 0


@pytest.mark.parametrize(("value", "expected"), [(None, 600), ("30", 30)])
def test_api_rate_limit_is_requests_per_minute_per_token(tmp_path, value, expected):
    env = {} if value is None else {"API_RATE_LIMIT": value}
    assert settings(tmp_path, **env)["API_RATE_LIMIT"] == expected


@pytest.mark.parametrize("value", ["0", "many", "-5"])
def test_malformed_api_rate_limit_is_refused(tmp_path, value):
    with pytest.raises(ConfigError, match="API_RATE_LIMIT must be"):
        settings(tmp_path, API_RATE_LIMIT=value)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": "s"}, "SECRET_KEY is too short"),
        ({"SECRET_KEY": "x" * 64}, "SECRET_KEY is too repetitive"),
        ({"SECRET_KEY": "ab" * 32}, "SECRET_KEY is too repetitive"),
        ({"SECRET_KEY": "test-secret-key-not-for-production"}, "SECRET_KEY is a published placeholder"),
        ({"SECRET_KEY": "change-me"}, "SECRET_KEY is a published placeholder"),
        ({"ENCRYPTION_KEY": ALL_ZERO_KEY}, "ENCRYPTION_KEY is too repetitive"),
        ({"ENCRYPTION_KEY": base64.urlsafe_b64encode(b"\xff" * 32).decode()}, "ENCRYPTION_KEY is too repetitive"),
        ({"ENCRYPTION_KEY": base64.urlsafe_b64encode(b"ab" * 16).decode()}, "ENCRYPTION_KEY is too repetitive"),
        (
            {"ENCRYPTION_KEY": "q0vJ2bO0m8m2cX8oVn3Q5q3wJYp9b7s4ZmQyQ1d3X2U="},
            "ENCRYPTION_KEY is a published placeholder",
        ),
        ({"ENCRYPTION_KEY": f"{ALL_ZERO_KEY},{KEY}"}, "ENCRYPTION_KEY is too repetitive"),
    ],
)
def test_production_refuses_weak_keys_with_one_line_naming_the_setting(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message) as refused:
        settings(tmp_path, PLANTOPS_ENV="production", **{"SECRET_KEY": SECRET, "ENCRYPTION_KEY": KEY, **env})
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "secret_key",
    [secrets.token_urlsafe(48), secrets.token_hex(16), "correct-horse-battery-staple-orbit-lantern"],
    ids=["token_urlsafe", "token_hex", "passphrase"],
)
def test_production_accepts_random_and_passphrase_secret_keys(tmp_path, secret_key):
    assert settings(tmp_path, PLANTOPS_ENV="production", SECRET_KEY=secret_key, ENCRYPTION_KEY=KEY)["SECRET_KEY"]


def test_production_accepts_a_weak_older_encryption_key_so_rotation_can_leave_it(tmp_path):
    config = settings(tmp_path, PLANTOPS_ENV="production", SECRET_KEY=SECRET, ENCRYPTION_KEY=f"{KEY},{ALL_ZERO_KEY}")
    assert config["ENCRYPTION_KEYS"][1] == bytes(32)


def test_development_and_testing_accept_the_test_placeholders(tmp_path):
    config = settings(tmp_path, PLANTOPS_ENV="testing", SECRET_KEY="s", ENCRYPTION_KEY=ALL_ZERO_KEY)
    assert config["SECRET_KEY"] == "s"

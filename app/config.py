"""Settings from the environment (and `.env`), validated once at start.

`load_settings` is a plain function of a mapping so it is tested without a
process environment; `create_app` calls it with `os.environ`.
"""

import base64
import binascii
import math
import os
import secrets
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


def load_settings(environ, instance_path):
    """Return the Flask config mapping for `environ`, or raise ConfigError."""
    env = environ.get("PLANTOPS_ENV", "development").strip().lower()
    if env not in {"development", "production", "testing"}:
        raise ConfigError(f"PLANTOPS_ENV must be development, production or testing, not {env!r}")
    production = env == "production"

    missing = [name for name in ("SECRET_KEY", "ENCRYPTION_KEY") if production and not environ.get(name)]
    if missing:
        raise ConfigError(f"PLANTOPS_ENV=production needs {' and '.join(missing)} to be set")

    instance = Path(instance_path)
    secret_key = environ.get("SECRET_KEY") or _instance_secret(instance / "secret_key", _new_secret_key)
    encryption_keys = parse_encryption_keys(
        environ.get("ENCRYPTION_KEY") or _instance_secret(instance / "encryption_key", new_encryption_key)
    )
    if production:
        check_key_strength(secret_key, encryption_keys[0])

    session_lifetime = timedelta(hours=_int(environ, "SESSION_LIFETIME_HOURS", 12, 1, 24 * 30))
    settings = {
        "PLANTOPS_ENV": env,
        "SECRET_KEY": secret_key,
        "ENCRYPTION_KEYS": encryption_keys,
        "SQLALCHEMY_DATABASE_URI": database_url(environ.get("DATABASE_URL") or f"sqlite:///{instance / 'plantops.db'}"),
        "DATABASE_CONNECT_TIMEOUT": _int(environ, "DATABASE_CONNECT_TIMEOUT", 5, 2, 300),
        "DATABASE_STATEMENT_TIMEOUT": _int(environ, "DATABASE_STATEMENT_TIMEOUT", 30, 0, 86400),
        "DATABASE_POOL_TIMEOUT": _int(environ, "DATABASE_POOL_TIMEOUT", 5, 1, 300),
        "DATABASE_BUSY_TIMEOUT": _int(environ, "DATABASE_BUSY_TIMEOUT", 10, 1, 300),
        "TRUSTED_PROXY_HOPS": _int(environ, "TRUSTED_PROXY_HOPS", 0, 0, 10),
        "MQTT_ENABLED": _bool(environ, "MQTT_ENABLED", True),
        "MQTT_HOST": environ.get("MQTT_HOST", "127.0.0.1").strip() or "127.0.0.1",
        "MQTT_PORT": _int(environ, "MQTT_PORT", 1883, 1, 65535),
        "MQTT_USERNAME": environ.get("MQTT_USERNAME") or None,
        "MQTT_PASSWORD": environ.get("MQTT_PASSWORD") or None,
        "MQTT_TLS": _bool(environ, "MQTT_TLS", False),
        "MQTT_TOPIC_PREFIX": _topic_prefix(environ.get("MQTT_TOPIC_PREFIX", "plantops")),
        # The dynamic-security plugin's admin account (docs/broker-accounts.md): with a password,
        # gardeners make their own broker accounts on the settings page; without, that is off.
        "MQTT_ADMIN_USERNAME": (environ.get("MQTT_ADMIN_USERNAME") or "").strip() or "admin",
        "MQTT_ADMIN_PASSWORD": environ.get("MQTT_ADMIN_PASSWORD") or None,
        # What sensors dial, shown with a new broker account (MQTT_HOST is what this process dials).
        "MQTT_PUBLIC_HOST": (environ.get("MQTT_PUBLIC_HOST") or "").strip() or None,
        "MQTT_PUBLIC_PORT": _int(environ, "MQTT_PUBLIC_PORT", None, 1, 65535),
        "INGEST_STALL_SECONDS": _int(environ, "INGEST_STALL_SECONDS", 60, 1, 86400),
        # Home Assistant MQTT discovery and plant status topics (app/integrations/homeassistant.py).
        "HOMEASSISTANT_DISCOVERY": _bool(environ, "HOMEASSISTANT_DISCOVERY", False),
        "HOMEASSISTANT_DISCOVERY_PREFIX": _topic_path(
            "HOMEASSISTANT_DISCOVERY_PREFIX", environ.get("HOMEASSISTANT_DISCOVERY_PREFIX", "homeassistant")
        ),
        "HOMEASSISTANT_POLL_SECONDS": _int(environ, "HOMEASSISTANT_POLL_SECONDS", 5, 1, 3600),
        "HOMEASSISTANT_USERS": [email.lower() for email in _list(environ.get("HOMEASSISTANT_USERS", ""))],
        "DISCORD_WEBHOOK_URL": _url(environ, "DISCORD_WEBHOOK_URL", schemes={"https", "http"}),
        "PUBLIC_URL": _url(environ, "PUBLIC_URL", schemes={"https", "http"}) or default_public_url(environ),
        "REGISTRATION_OPEN": _bool(environ, "REGISTRATION_OPEN", True),
        "RATELIMIT_STORAGE_URI": _rate_limit_storage(environ.get("RATELIMIT_STORAGE_URI", "")),
        "API_RATE_LIMIT": _int(environ, "API_RATE_LIMIT", 600, 1, 1_000_000),
        "API_AUTH_FAILURE_LIMIT": _int(environ, "API_AUTH_FAILURE_LIMIT", 20, 1, 1_000_000),
        "CORS_ORIGINS": _list(environ.get("CORS_ORIGINS", "")),
        "LLM_ALLOWED_HOSTS": _list(environ.get("LLM_ALLOWED_HOSTS", "")),
        "NOTIFY_ALLOWED_HOSTS": _list(environ.get("NOTIFY_ALLOWED_HOSTS", "")),
        "PROVIDER_TIMEOUT_SECONDS": _int(environ, "PROVIDER_TIMEOUT_SECONDS", 30, 1, 120),
        "OUTBOUND_CONCURRENCY": _int(environ, "OUTBOUND_CONCURRENCY", 2, 1, 64),
        "RETENTION_DAYS": _int(environ, "RETENTION_DAYS", 400, 1, 36500),
        "ALERT_MIN_READINGS": _int(environ, "ALERT_MIN_READINGS", 2, 1, 100),
        "ALERT_HYSTERESIS_PERCENT": _int(environ, "ALERT_HYSTERESIS_PERCENT", 5, 0, 50),
        "LOG_LEVEL": _choice(environ, "LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"}),
        "LOG_FORMAT": _choice(environ, "LOG_FORMAT", "text", {"text", "json"}),
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        # Only the responses that ask for it are compressed (the dashboard fragment): a page
        # holding the CSRF token next to text an attacker chose must not be (BREACH).
        "COMPRESS_REGISTER": False,
        # gzip at level 1 for browsers on plain HTTP (br and zstd are HTTPS-only): 500 cards
        # with varied values, 300 KB, become 21 KB in 0.4 ms; level 6 gets 16 KB in 0.9 ms.
        "COMPRESS_LEVEL": 1,
        # __Host- cookies need HTTPS, so only production names them so (ASVS 3.3.1, 3.3.3).
        "SESSION_COOKIE_NAME": "__Host-session" if production else "session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        # Sign-in sessions (app.auth.sessions): signed out after this long without a request,
        # and this long after signing in at the latest; "keep me signed in" lasts REMEMBER_DAYS.
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=_int(environ, "SESSION_IDLE_MINUTES", 60, 5, 7 * 24 * 60)),
        "SESSION_LIFETIME": session_lifetime,
        "PERMANENT_SESSION_LIFETIME": session_lifetime,  # how long Flask accepts the signed cookie
        "REMEMBER_COOKIE_NAME": "__Host-remember" if production else "remember_token",
        "REMEMBER_COOKIE_DURATION": timedelta(days=_int(environ, "REMEMBER_DAYS", 30, 1, 365)),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
    }
    return settings


def default_public_url(environ):
    """Where this process is reached when PUBLIC_URL is unset: the port it listens on (BIND's
    port for gunicorn, else PORT, which `make run`, `make dev` and `make demo` set), else
    `flask run`'s 5000. Links in notifications then point at the instance that sent them."""
    bind = (environ.get("BIND") or "").strip()
    host, _, port = bind.rpartition(":")
    if not (bind and not bind.startswith("unix:") and port.isdigit()):
        port = (environ.get("PORT") or "").strip()
        host = ""
    if not port.isdigit() or not 0 < int(port) < 65536:
        port = "5000"
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):  # noqa: S104  (a wildcard bind is reached on loopback)
        host = "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{int(port)}"


def database_url(url):
    """Use psycopg 3 for PostgreSQL URLs written the usual way."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not url.split(":", 1)[0].replace("+", "").isalnum() or "://" not in url:
        raise ConfigError("DATABASE_URL is not a database URL (expected e.g. postgresql://host/db)")
    return url


def parse_encryption_keys(value):
    """Comma-separated URL-safe base64 keys of 32 bytes each, newest first."""
    keys = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            key = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ConfigError("ENCRYPTION_KEY must be URL-safe base64 of 32 random bytes (comma-separated)")
        keys.append(key)
    if not keys:
        raise ConfigError("ENCRYPTION_KEY is empty")
    return keys


# Keys published in this repository (the test suite's) or in common examples.
PLACEHOLDER_SECRETS = frozenset(
    {
        "test-secret-key-not-for-production",
        "q0vJ2bO0m8m2cX8oVn3Q5q3wJYp9b7s4ZmQyQ1d3X2U=",
        "change-me",
        "changeme",
        "secret",
        "dev",
        "development",
    }
)
MIN_SECRET_KEY_LENGTH = 32
# Shannon entropy of the key's own symbol frequencies, times its length: 32 random bytes
# score about 150, 32 random hex digits 92 to 125, a repeated byte 0.
MIN_ESTIMATED_BITS = 80


def check_key_strength(secret_key: str, encryption_key: bytes) -> None:
    """Refuse a production SECRET_KEY or newest ENCRYPTION_KEY that is short, repetitive or
    published. Older encryption keys stay accepted: they only decrypt, so rotation can
    move away from a weak one."""
    if secret_key.strip() in PLACEHOLDER_SECRETS:
        raise ConfigError("SECRET_KEY is a published placeholder: generate a random one")
    if len(secret_key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(f"SECRET_KEY is too short: use at least {MIN_SECRET_KEY_LENGTH} random characters")
    if estimated_bits(secret_key) < MIN_ESTIMATED_BITS:
        raise ConfigError("SECRET_KEY is too repetitive to be random: generate a random one")
    if base64.urlsafe_b64encode(encryption_key).decode() in PLACEHOLDER_SECRETS:
        raise ConfigError("ENCRYPTION_KEY is a published placeholder: generate a random one")
    if estimated_bits(encryption_key) < MIN_ESTIMATED_BITS:
        raise ConfigError("ENCRYPTION_KEY is too repetitive to be random: generate a random one")


def estimated_bits(symbols: str | bytes) -> float:
    counts = Counter(symbols)
    total = len(symbols)
    return -sum(count * math.log2(count / total) for count in counts.values())


def new_encryption_key():
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _new_secret_key():
    return secrets.token_urlsafe(48)


def _instance_secret(path, make):
    """Read a development secret from the instance folder, creating it (0600) once."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def _bool(environ, name, default):
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _int(environ, name, default, low, high):
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _choice(environ, name, default, choices):
    raw = (environ.get(name) or default).strip()
    for value in (raw, raw.upper(), raw.lower()):
        if value in choices:
            return value
    raise ConfigError(f"{name} must be one of {', '.join(sorted(choices))}, not {raw!r}")


def _url(environ, name, schemes):
    raw = (environ.get(name) or "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(f"{name} must be an absolute {' or '.join(sorted(schemes))} URL")
    return raw.rstrip("/")


def _list(raw):
    return [item.strip() for item in raw.split(",") if item.strip()]


def _rate_limit_storage(raw):
    """None (count in the database) or the URI of a store every process shares."""
    uri = raw.strip()
    if uri.startswith("memory://"):
        raise ConfigError(
            "RATELIMIT_STORAGE_URI=memory:// would count per process; leave it unset to count in the database"
            " or name a shared store such as redis://host:6379"
        )
    if uri and "://" not in uri:
        raise ConfigError("RATELIMIT_STORAGE_URI must be a URI such as redis://host:6379")
    return uri or None


def _topic_path(name, raw):
    """One or more topic levels without wildcards or empty levels ("homeassistant", "ha/discovery")."""
    path = raw.strip()
    if not path or len(path) > 128 or any(ch in path for ch in "+#\0") or "" in path.split("/"):
        raise ConfigError(f"{name} must be topic levels separated by / without +, # or empty levels")
    return path


def _topic_prefix(raw):
    prefix = raw.strip()
    if not prefix or any(ch in prefix for ch in "+#/") or len(prefix) > 64:
        raise ConfigError("MQTT_TOPIC_PREFIX must be one topic level without +, # or /")
    return prefix

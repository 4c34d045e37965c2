"""Limits on failed sign-ins, per account and per client address, in the database.

The counters live in `app.throttle` (one table), so every gunicorn worker and every
host sees the same counts. The account key is a hash of the typed email whether or not
an account exists, so a throttled answer says nothing about which emails are registered.
"""

import hashlib
from dataclasses import dataclass

from flask import current_app, request
from werkzeug.exceptions import TooManyRequests

from .. import throttle


@dataclass(frozen=True)
class Limit:
    count: int
    window_seconds: int


DEFAULT_LIMITS = {
    "account": Limit(10, 15 * 60),
    "ip": Limit(50, 15 * 60),
    "register": Limit(10, 60 * 60),
}


def _limit(kind):
    return current_app.config.get("LOGIN_LIMITS", {}).get(kind, DEFAULT_LIMITS[kind])


def _account_key(email):
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]
    return f"login:account:{digest}"


def _ip_key(prefix="login:ip"):
    return f"{prefix}:{request.remote_addr or 'unknown'}"


def _refuse(retry_after, what):
    minutes = max(1, -(-retry_after // 60))
    unit = "minute" if minutes == 1 else "minutes"
    raise TooManyRequests(f"Too many {what}. Wait {minutes} {unit} and try again.", retry_after=retry_after)


def check_sign_in_allowed(email):
    """Raise 429 when this account or this client address has failed too often lately."""
    for key, kind in ((_account_key(email), "account"), (_ip_key(), "ip")):
        decision = throttle.peek(key, _limit(kind).count)
        if not decision.allowed:
            _refuse(decision.retry_after, "failed sign-in attempts")


def record_failed_sign_in(email):
    for key, kind in ((_account_key(email), "account"), (_ip_key(), "ip")):
        limit = _limit(kind)
        throttle.hit(key, limit.count, limit.window_seconds)


def record_sign_in(email):
    """A correct password clears the account's count (the address keeps its count)."""
    throttle.reset(_account_key(email))


def count_registration():
    """Raise 429 when this client address has registered too often lately."""
    limit = _limit("register")
    decision = throttle.hit(_ip_key("register:ip"), limit.count, limit.window_seconds)
    if not decision.allowed:
        _refuse(decision.retry_after, "new accounts from your network")

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
from ..extensions import db


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


def _sign_in_keys(email):
    return ((_account_key(email), "account"), (_ip_key(), "ip"))


def count_sign_in_attempt(email: str) -> None:
    """Count an attempt against the account and the address, then raise 429 if either is over.

    Counted before the password is checked, and committed at once: of any number of
    concurrent attempts, no more than the limit get their password checked.
    """
    for key, kind in _sign_in_keys(email):
        limit = _limit(kind)
        decision = throttle.hit(key, limit.count, limit.window_seconds)
        if not decision.allowed:
            db.session.commit()
            _refuse(decision.retry_after, "failed sign-in attempts")
    db.session.commit()


def record_sign_in(email: str) -> None:
    """The attempt succeeded: the account's count is cleared, the address gets its attempt back."""
    throttle.reset(_account_key(email))
    throttle.release(_ip_key())


def count_registration() -> None:
    """Raise 429 when this client address has registered too often lately."""
    limit = _limit("register")
    decision = throttle.hit(_ip_key("register:ip"), limit.count, limit.window_seconds)
    if not decision.allowed:
        _refuse(decision.retry_after, "new accounts from your network")

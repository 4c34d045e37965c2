"""JSON API request limits, counted where every process and host sees the same counts.

Each authenticated request counts against its user: all of a user's tokens share
one count, so no token gets more than the limit and making (or rotating) tokens
buys no more requests. Each failed authentication (no token, a
malformed, unknown or revoked one) counts against the client address, and an
address over that limit is refused before its token is even looked up, so forged
tokens are throttled too. The address is `request.remote_addr`, which ProxyFix
sets from the trusted proxy hops.

Counts live in the database's throttle table (`app.throttle`) unless
RATELIMIT_STORAGE_URI names a shared store (`redis://host:6379`); then they go
through the `limits` library.
"""

import time

from flask import current_app, request
from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from ... import database, throttle
from ...extensions import db

REQUEST_WINDOW_SECONDS = 60
FAILURE_WINDOW_SECONDS = 300


Verdict = tuple[bool, int]  # within the limit, seconds until the window ends


class DatabaseCounter:
    """Fixed windows in the throttle table; each count is committed at once."""

    def hit(self, key: str, limit: int, window_seconds: int) -> Verdict:
        """Count one event (one atomic upsert; the count it returns decides)."""
        # A GET runs in a read-only transaction (app.database): count in a short one of its own.
        db.session.rollback()
        previous = database.set_read_only(False)
        try:
            decision = throttle.hit(key, limit, window_seconds)
            db.session.commit()
        finally:
            database.set_read_only(previous.old_value is True)
        return decision.allowed, decision.retry_after

    def peek(self, key: str, limit: int, window_seconds: int) -> Verdict:
        decision = throttle.peek(key, limit)
        return decision.allowed, decision.retry_after


class SharedStoreCounter:
    """Fixed windows in a store the `limits` library speaks to (Redis, Memcached, ...)."""

    def __init__(self, storage_uri: str):
        self.limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))

    def hit(self, key: str, limit: int, window_seconds: int) -> Verdict:
        item = RateLimitItemPerSecond(limit, window_seconds)
        allowed = self.limiter.hit(item, "plantops-api", key)
        return allowed, 0 if allowed else self._seconds_left(item, key)

    def peek(self, key: str, limit: int, window_seconds: int) -> Verdict:
        item = RateLimitItemPerSecond(limit, window_seconds)
        allowed = self.limiter.test(item, "plantops-api", key)
        return allowed, 0 if allowed else self._seconds_left(item, key)

    def _seconds_left(self, item, key):
        return max(1, int(self.limiter.get_window_stats(item, "plantops-api", key).reset_time - time.time()) + 1)


def make_counter(storage_uri: str | None) -> DatabaseCounter | SharedStoreCounter:
    return SharedStoreCounter(storage_uri) if storage_uri else DatabaseCounter()


def _counter():
    return current_app.extensions["plantops.api_rate_limit"]


def _failure_key():
    return f"api:auth-failures:{request.remote_addr or '-'}"


def refuse_failing_address() -> None:
    """429 when this client address has failed to authenticate too often lately."""
    allowed, retry_after = _counter().peek(
        _failure_key(), current_app.config["API_AUTH_FAILURE_LIMIT"], FAILURE_WINDOW_SECONDS
    )
    if not allowed:
        raise _too_many("Too many requests without a valid token from your address; wait and try again.", retry_after)


def count_failed_authentication() -> None:
    """Count a failed authentication against the address; 429 once it is over the limit."""
    allowed, retry_after = _counter().hit(
        _failure_key(), current_app.config["API_AUTH_FAILURE_LIMIT"], FAILURE_WINDOW_SECONDS
    )
    if not allowed:
        raise _too_many("Too many requests without a valid token from your address; wait and try again.", retry_after)


def count_request(user_id: int) -> None:
    """Count an authenticated request against its user; 429 when the user is over the limit."""
    allowed, retry_after = _counter().hit(
        f"api:user:{user_id}", current_app.config["API_RATE_LIMIT"], REQUEST_WINDOW_SECONDS
    )
    if not allowed:
        raise _too_many("Too many API requests for your account; slow down.", retry_after)


def _too_many(detail, retry_after):
    return TooManyRequests(detail, retry_after=max(1, int(retry_after)))

"""Calendar feeds without HTTP: a per-user secret feed URL, and signed done/skip links.

The feed's secret is 32 random bytes (URL-safe); only its SHA-256 is stored, like
API tokens. A new feed revokes the user's older ones. The done and skip links in
the feed are itsdangerous signatures (the app's SECRET_KEY, a salt of their own)
of {feed id, task id, action}: single-purpose (a "done" link cannot skip, nor act
on another task), expiring (ACTION_MAX_AGE), and dead once their feed is revoked.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update

from ..models import CalendarFeed, Task, User
from . import gardens
from .types import DbSession

ACTIONS = ("done", "skip")
ACTION_MAX_AGE = timedelta(days=21)
SALT = "plantops.calendar-action"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_feed(session: DbSession, user: User, now: datetime) -> tuple[CalendarFeed, str]:
    """A new feed and its secret (shown once, in the URL); the user's older feeds are revoked."""
    revoke_feeds(session, user, now)
    secret = secrets.token_urlsafe(32)
    feed = CalendarFeed(user_id=user.id, token_hash=hash_secret(secret), created_at=now)
    session.add(feed)
    session.flush()
    return feed, secret


def revoke_feeds(session: DbSession, user: User, now: datetime) -> None:
    session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def active_feed(session: DbSession, user: User) -> CalendarFeed | None:
    query = select(CalendarFeed).where(CalendarFeed.user_id == user.id, CalendarFeed.revoked_at.is_(None))
    return session.scalars(query.order_by(CalendarFeed.id.desc()).limit(1)).first()


def feed_for_secret(session: DbSession, secret: str) -> CalendarFeed | None:
    if not secret or len(secret) > 100:
        return None
    feed = session.scalar(select(CalendarFeed).where(CalendarFeed.token_hash == hash_secret(secret)))
    return feed if feed is not None and feed.revoked_at is None else None


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def action_token(secret_key: str, feed: CalendarFeed, task: Task, action: str) -> str:
    if action not in ACTIONS:
        raise ValueError(action)
    return _serializer(secret_key).dumps({"f": feed.id, "t": task.id, "a": action})


@dataclass(frozen=True)
class Action:
    feed: CalendarFeed
    task: Task
    action: str
    user: User  # the feed's, who does it (they may care for the task's garden)


class LinkProblem(Exception):
    """Why a done/skip link does nothing: "expired" or "invalid" (bad, revoked, another's)."""


def check_action(session: DbSession, secret_key: str, token: str, action: str, now: datetime) -> Action:
    """The task a link acts on, or LinkProblem. `now` bounds the age (the app's clock)."""
    try:
        data, signed_at = _serializer(secret_key).loads(token, return_timestamp=True)
    except SignatureExpired:
        raise LinkProblem("expired") from None
    except BadSignature:
        raise LinkProblem("invalid") from None
    if not isinstance(data, dict) or data.get("a") != action or action not in ACTIONS:
        raise LinkProblem("invalid")
    if now - signed_at > ACTION_MAX_AGE:
        raise LinkProblem("expired")
    feed = session.get(CalendarFeed, data.get("f"))
    task = session.get(Task, data.get("t"))
    if feed is None or feed.revoked_at is not None or task is None:
        raise LinkProblem("invalid")
    user = session.get(User, feed.user_id)
    if user is None or not gardens.allows(gardens.role_of(session, task.garden_id, user.id, now), "care"):
        raise LinkProblem("invalid")  # no longer in the task's garden, or a role that may not
    return Action(feed, task, action, user)

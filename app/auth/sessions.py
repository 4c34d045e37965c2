"""Sign-in sessions kept in the database: one row per signed-in device.

The session cookie holds a random secret and the remember cookie another; the
database keeps only their SHA-256 hashes, with the device, the client address and
the times. Ending a row ends that device's session at once, whatever copies of its
cookies exist. A session ends after SESSION_IDLE_TIMEOUT without a request and at
SESSION_LIFETIME after sign-in at the latest; "keep me signed in" sessions live up
to REMEMBER_COOKIE_DURATION and outlast the idle timeout through the remember
cookie, whose secret is replaced each time it is used.
"""

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from flask import current_app, g, request
from sqlalchemy import CursorResult, and_, delete, or_, select, update

from .. import database
from ..extensions import db
from ..models import User, UserSession

# last_seen_at is written at most this often per session, so a page view stays a read.
TOUCH_INTERVAL = timedelta(minutes=1)

_BROWSERS = (("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def describe_device(user_agent: str) -> str:
    """A short, human summary of a User-Agent header: "Firefox on Android"."""
    user_agent = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    label = browser or system
    if label:
        return label
    product = re.match(r"[\w.-]{1,40}", user_agent)
    return product.group(0) if product else "Unknown device"


def _hash(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def _now():
    return datetime.now(UTC)


def _idle_timeout():
    return current_app.config["SESSION_IDLE_TIMEOUT"]


def _client():
    return {"device": describe_device(request.user_agent.string)[:100], "client_address": request.remote_addr or ""}


def open_session(user: User, remember: bool = False) -> tuple[UserSession, str, str | None]:
    """Add a session row for this request's device: (row, session secret, remember secret or None)."""
    now = _now()
    _purge_ended(user.id, now)
    secret = secrets.token_urlsafe(32)
    remember_secret = secrets.token_urlsafe(32) if remember else None
    config = current_app.config
    lifetime = config["REMEMBER_COOKIE_DURATION"] if remember else config["SESSION_LIFETIME"]
    row = UserSession(
        user_id=user.id,
        token_hash=_hash(secret),
        remember_hash=remember_secret and _hash(remember_secret),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        **_client(),
    )
    db.session.add(row)
    db.session.flush()
    return row, secret, remember_secret


def _active(now):
    """Rows that still sign someone in: not past their lifetime, and not idle unless remembered."""
    return and_(
        UserSession.expires_at > now,
        or_(UserSession.remember_hash.is_not(None), UserSession.last_seen_at > now - _idle_timeout()),
    )


def _purge_ended(user_id, now):
    db.session.execute(delete(UserSession).where(UserSession.user_id == user_id, ~_active(now)))


def load_user(secret: str) -> User | None:
    """Flask-Login's user loader: the session cookie's secret names a live session row."""
    now = _now()
    row = db.session.execute(
        select(UserSession.id, UserSession.user_id, UserSession.last_seen_at).where(
            UserSession.token_hash == _hash(secret),
            UserSession.expires_at > now,
            UserSession.last_seen_at > now - _idle_timeout(),
        )
    ).first()
    if row is None:
        return None
    session_id, user_id, last_seen_at = row
    if now - last_seen_at >= TOUCH_INTERVAL:
        _write_alone(
            update(UserSession)
            .where(UserSession.id == session_id, UserSession.last_seen_at <= now - TOUCH_INTERVAL)
            .values(last_seen_at=now, **_client())
            .returning(UserSession.id)
        )
    user = db.session.get(User, user_id)
    if user is None or user.disabled:
        return None
    g.user_session_id = session_id
    return user


def resume(remember_secret: str) -> tuple[User, str, str, datetime] | None:
    """Sign in again from a remember cookie, replacing both its secret and the session's.

    One conditional UPDATE does the swap, so of two requests racing with the same
    cookie only one gets the new secrets. Returns (user, session secret, remember
    secret, when the remember cookie expires), or None if the cookie names no live row.
    """
    now = _now()
    secret, new_remember = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    row = _write_alone(
        update(UserSession)
        .where(UserSession.remember_hash == _hash(remember_secret), UserSession.expires_at > now)
        .values(token_hash=_hash(secret), remember_hash=_hash(new_remember), last_seen_at=now, **_client())
        .returning(UserSession.id, UserSession.user_id, UserSession.expires_at)
    )
    if row is None:
        return None
    session_id, user_id, expires_at = row
    user = db.session.get(User, user_id)
    if user is None or user.disabled:
        return None
    g.user_session_id = session_id
    return user, secret, new_remember, expires_at


def _write_alone(statement):
    """Run one UPDATE ... RETURNING and commit it, even inside a read-only request; its row or None.

    The loader runs before the view does any work, so nothing of the view's is rolled back.
    """
    db.session.rollback()
    previous = database.set_read_only(False)
    try:
        row = db.session.execute(statement).first()
        db.session.commit()
        return row
    finally:
        database.set_read_only(previous.old_value is True)


def current_session_id() -> int | None:
    """The id of the session row this request signed in with."""
    return g.get("user_session_id")


def is_remembered(session_id: int | None) -> bool:
    """Whether that session was started with "keep me signed in"."""
    query = select(UserSession.remember_hash.is_not(None)).where(UserSession.id == session_id)
    return bool(db.session.scalar(query))


def list_sessions(user: User) -> Sequence[UserSession]:
    """The user's live sessions, most recently seen first."""
    query = (
        select(UserSession)
        .where(UserSession.user_id == user.id, _active(_now()))
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return db.session.scalars(query).all()


def end_session(user: User, session_id: int | None) -> bool:
    """End one of `user`'s sessions; False when there is no such session of theirs."""
    # A DELETE's result is a CursorResult, which has the rowcount; execute() is typed for any statement.
    result = cast(
        CursorResult[Any],
        db.session.execute(delete(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id)),
    )
    return result.rowcount > 0


def end_all_sessions(user: User) -> None:
    """End every session of `user`, on every device."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))

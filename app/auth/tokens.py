"""Personal access tokens for the JSON API, as plain functions.

A token is `po_` plus 43 URL-safe characters. Only its SHA-256 hash and a short
visible prefix are stored; the full token is shown once, when it is made.
Looking a token up by its hash compares no secret byte by byte, so the time it
takes says nothing about how close a guess was.
"""

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from .. import database
from ..clock import utcnow
from ..extensions import db
from ..models import ApiToken, User

TOKEN_PREFIX = "po_"  # noqa: S105  (a public marker, not a secret)
TOKEN_PATTERN = re.compile(r"po_[A-Za-z0-9_-]{43}")
VISIBLE_CHARS = 10
NAME_MAX = 100
# last_used_at is written at most this often per token, so reads stay reads.
TOUCH_INTERVAL = timedelta(minutes=1)


class InvalidToken(Exception):
    """The token is malformed, unknown, revoked or its owner is disabled."""


def hash_token(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(user, name):
    """Store a new token for `user`; return (ApiToken, the full token to show once)."""
    name = (name or "").strip()
    if not name:
        raise ValueError("Give the token a name.")
    if len(name) > NAME_MAX:
        raise ValueError(f"Keep the name to {NAME_MAX} characters.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=raw[:VISIBLE_CHARS], token_hash=hash_token(raw))
    db.session.add(token)
    db.session.flush()
    return token, raw


def list_tokens(user):
    """The user's live tokens, newest first."""
    query = (
        select(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return db.session.scalars(query).all()


def revoke_token(token, now=None):
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()


def revoke_all_tokens(user: User, now: datetime | None = None) -> None:
    """Revoke every live token of `user` (a disabled account's tokens never work again)."""
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )


def authenticate(raw, now=None):
    """The user a bearer token belongs to, or raise InvalidToken.

    Records the use (at most once a minute per token) in a short transaction of
    its own, so a read-only request stays read-only otherwise.
    """
    if not raw or not TOKEN_PATTERN.fullmatch(raw):
        raise InvalidToken("The token is malformed.")
    now = now or utcnow()
    row = db.session.execute(
        select(User, ApiToken.id, ApiToken.revoked_at, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == hash_token(raw))
    ).first()
    if row is None:
        raise InvalidToken("The token is not valid.")
    user, token_id, revoked_at, last_used_at = row
    if revoked_at is not None:
        raise InvalidToken("The token has been revoked.")
    if user.disabled:
        raise InvalidToken("The account is disabled.")
    if last_used_at is None or now - last_used_at >= TOUCH_INTERVAL:
        _touch(token_id, now)
        user = db.session.get(User, user.id)
    return user


def _touch(token_id, now):
    db.session.rollback()
    previous = database.set_read_only(False)
    try:
        db.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id)
            .where(or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOUCH_INTERVAL))
            .values(last_used_at=now)
        )
        db.session.commit()
    finally:
        database.set_read_only(previous.old_value is True)

"""Accounts without HTTP: creating users, checking passwords, ending sessions."""

import functools

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import database
from ..domain.gardens import create_personal_garden
from ..extensions import db
from ..models import FirstAdministrator, User
from .sessions import end_all_sessions

# Werkzeug's scrypt (N=2**15, r=8, p=1): about 0.1 s of a core per hash or check. The test
# suite lowers the cost (tests/conftest.py), as Django's suites swap in a fast hasher.
DEFAULT_PASSWORD_METHOD = "scrypt"  # noqa: S105  (a hash method, not a password)
PASSWORD_METHOD = DEFAULT_PASSWORD_METHOD


class EmailTaken(Exception):
    pass


def hash_password(password):
    return generate_password_hash(password, method=PASSWORD_METHOD)


@functools.cache
def _dummy_hash(method: str) -> str:
    """Checked against when the email is unknown, so both paths cost one hash check."""
    return generate_password_hash("plantops-timing-equaliser", method=method)


def create_user(email: str, password: str, is_admin: bool = False, timezone: str = "UTC") -> User:
    """Add an account with its personal garden (its owner); the first account of an empty
    instance is its administrator."""
    email = email.strip().lower()
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken(email)
    empty = db.session.scalar(select(func.count(User.id))) == 0
    user = User(email=email, password_hash=hash_password(password), is_admin=is_admin, timezone=timezone)
    db.session.add(user)
    db.session.flush()
    create_personal_garden(db.session, user)
    if empty and _claim_first_administrator(user):
        user.is_admin = True
    return user


def _claim_first_administrator(user):
    """Insert the one first_administrator row; False when a concurrent registration has it.

    Every registration that saw an empty database gets here; the primary key lets one
    insert win, the others wait for its commit (PostgreSQL) or its write lock (SQLite)
    and then insert nothing.
    """
    statement = (
        database.insert(db.session, FirstAdministrator)
        .values(slot=1, user_id=user.id)
        .on_conflict_do_nothing(index_elements=["slot"])
        .returning(FirstAdministrator.user_id)
    )
    return db.session.execute(statement).first() is not None


def authenticate(email, password):
    """The user for these credentials, or None; same cost whether or not the email exists."""
    user = find_user(email)
    if user is None:
        check_password_hash(_dummy_hash(PASSWORD_METHOD), password)
        return None
    if not password_matches(user, password) or user.disabled:
        return None
    return user


def find_user(email):
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def password_matches(user, password):
    return check_password_hash(user.password_hash, password)


def set_password(user: User, password: str) -> None:
    """Store a new password and end every session so far (the caller starts a new one)."""
    user.password_hash = hash_password(password)
    end_all_sessions(user)

"""Accounts without HTTP: creating users, checking passwords, ending sessions."""

from sqlalchemy import bindparam, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from ..models import User

# Checked against when the email is unknown, so both paths cost one scrypt.
_DUMMY_HASH = generate_password_hash("plantops-timing-equaliser", method="scrypt")


class EmailTaken(Exception):
    pass


def hash_password(password):
    return generate_password_hash(password, method="scrypt")


def create_user(email, password, is_admin=False):
    email = email.strip().lower()
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken(email)
    first_user = db.session.scalar(select(func.count(User.id))) == 0
    user = User(email=email, password_hash=hash_password(password), is_admin=is_admin or first_user)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email, password):
    """The user for these credentials, or None; same cost whether or not the email exists."""
    user = find_user(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not password_matches(user, password) or user.disabled:
        return None
    return user


def find_user(email):
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def password_matches(user, password):
    return check_password_hash(user.password_hash, password)


def set_password(user, password):
    """Store a new password and end every session issued so far (the caller starts a new one)."""
    user.password_hash = hash_password(password)
    end_sessions(user)


def end_sessions(user):
    """Invalidate every session cookie issued to `user` so far."""
    user.session_version += 1


# Every signed-in request runs it: built once (session.get() builds its select each time).
USER_BY_ID = select(User).where(User.id == bindparam("user_id"))


def load_user(user_id):
    """Flask-Login loader: the id is `<user id>:<session version>`."""
    uid, _, version = user_id.partition(":")
    if not uid.isdigit() or not version.isdigit():
        return None
    user = db.session.scalar(USER_BY_ID, {"user_id": int(uid)})
    if user is None or user.session_version != int(version) or user.disabled:
        return None
    return user

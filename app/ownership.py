"""The one place that scopes user data to its owner.

Someone else's id answers exactly like a missing one (404), so ids leak nothing.
"""

from flask_login import current_user
from sqlalchemy import select

from .errors import NotFoundError
from .extensions import db


def owned(model, user=None):
    """A select() of `model` rows that belong to `user` (default: the current user)."""
    user = user or current_user
    return select(model).where(model.user_id == user.id)


MAX_ID = 2**31 - 1  # owned rows have INTEGER ids; PostgreSQL refuses to compare a larger number to one


def get_owned_or_404(model, object_id, user=None):
    try:
        object_id = int(object_id)
    except (TypeError, ValueError):
        raise NotFoundError() from None
    if not 0 < object_id <= MAX_ID:
        raise NotFoundError()
    obj = db.session.scalar(owned(model, user).where(model.id == object_id))
    if obj is None:
        raise NotFoundError()
    return obj

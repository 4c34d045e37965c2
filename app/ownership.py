"""The one place that scopes user data to its owner.

Someone else's id answers exactly like a missing one (404), so ids leak nothing.
"""

from flask_login import current_user
from sqlalchemy import Integer, bindparam, select

from .errors import NotFoundError
from .extensions import db
from .models import MAX_ID


def owned(model, user=None):
    """A select() of `model` rows that belong to `user` (default: the current user)."""
    user = user or current_user
    return select(model).where(model.user_id == user.id)


# The owner of a statement built once and run many times (building a select costs more
# than running a small one): such a statement cannot run without owner_params().
OWNER_ID = bindparam("owner_id", type_=Integer)


def owned_statement(model):
    """owned() with the owner left as a parameter, for a statement kept and reused."""
    return select(model).where(model.user_id == OWNER_ID)


def owner_params(user=None):
    return {"owner_id": (user or current_user).id}


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

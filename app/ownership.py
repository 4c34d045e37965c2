"""The one place that scopes user data: to the gardens the user is a current member of, and
to what their role there allows (app.domain.gardens.ROLE_ACTIONS).

Anything outside the user's gardens answers exactly like a missing id (404), so ids leak
nothing; an action the role does not allow on something the user can see is a 403 with
the role's message (`require`), and pages ask `can()` before they offer the action.
"""

from flask import g
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import Integer, bindparam, select

from .clock import utcnow
from .database import MAX_ID
from .domain import gardens
from .domain.errors import ForbiddenError, NotFoundError, ValidationError
from .extensions import db
from .models import Garden, UTCDateTime


def visible(model, user=None):
    """A select() of `model` rows in the gardens `user` (default: the current user) is a
    current member of (a plant-sitter's membership ends by itself at `until`)."""
    user = user or current_user
    return select(model).where(model.garden_id.in_(gardens.garden_ids_of(user.id, utcnow())))


# The viewer of a statement built once and run many times (building a select costs more than
# running a small one): such a statement cannot run without viewer_params().
VIEWER_ID = bindparam("viewer_id", type_=Integer)
VIEWED_AT = bindparam("viewed_at", type_=UTCDateTime())


def visible_statement(model):
    """visible() with the viewer and the moment left as parameters, for a statement kept and reused."""
    return select(model).where(model.garden_id.in_(gardens.garden_ids_of(VIEWER_ID, VIEWED_AT)))


def viewer_params(user=None):
    return {"viewer_id": (user or current_user).id, "viewed_at": utcnow()}


def own(model, user=None):
    """A select() of a person's own rows (API tokens, notification channels, advice asked),
    which belong to a user, not to a garden."""
    user = user or current_user
    return select(model).where(model.user_id == user.id)


def _one_or_404(query, model, object_id):
    try:
        object_id = int(object_id)
    except (TypeError, ValueError):
        raise NotFoundError() from None
    if not 0 < object_id <= MAX_ID:
        raise NotFoundError()
    obj = db.session.scalar(query.where(model.id == object_id))
    if obj is None:
        raise NotFoundError()
    return obj


def get_visible_or_404(model, object_id, user=None):
    return _one_or_404(visible(model, user), model, object_id)


def get_own_or_404(model, object_id, user=None):
    return _one_or_404(own(model, user), model, object_id)


def _garden_id(target):
    return target if isinstance(target, int) or target is None else target.garden_id


def role_in(target, user=None):
    """The user's current role in a garden (an id, or anything with a garden_id); None: not a member."""
    user = user or current_user
    return gardens.role_of(db.session, _garden_id(target), user.id, utcnow())


def can(target, action, user=None):
    return gardens.allows(role_in(target, user), action)


def require(target, action, user=None):
    """Refuse unless the user's role in the garden of `target` allows `action`: outside their
    gardens 404 (as if missing), visible but not allowed 403 with the role's message."""
    role = role_in(target, user)
    if role is None:
        raise NotFoundError()
    if not gardens.allows(role, action):
        raise ForbiddenError(gettext(gardens.FORBIDDEN_MESSAGES[action]))
    return role


def get_allowed_or_404(model, object_id, action, user=None):
    """get_visible_or_404, then require(action) on it."""
    obj = get_visible_or_404(model, object_id, user)
    require(obj, action, user)
    return obj


def _current_role(garden_id):
    """The current user's role in the garden, looked up once per garden and request."""
    roles = g.setdefault("garden_roles", {})
    if garden_id not in roles:
        roles[garden_id] = role_in(garden_id)
    return roles[garden_id]


def may(target, action):
    """For templates: whether the current user may do `action` with `target` (an object with a
    garden_id, or a garden id). A page offers only what this allows; the route checks again
    with require()."""
    return gardens.allows(_current_role(_garden_id(target)), action)


def permissions(target):
    """`can(action)` for a template: what the current user's role lets them do with `target`."""
    role = _current_role(_garden_id(target))
    return lambda action: gardens.allows(role, action)


def garden_roles(user=None):
    """`can_in(garden_id, action)` for a template listing rows of several gardens (one query)."""
    roles = {garden.id: role for garden, role in my_gardens("view", user)}
    return lambda garden_id, action: gardens.allows(roles.get(garden_id), action)


def my_gardens(action="view", user=None):
    """[(garden, role)] where the user may do `action`, the personal garden first."""
    user = user or current_user
    return gardens.gardens_of(db.session, user.id, utcnow(), action)


def personal_garden_id(user=None):
    """The personal garden of a user (a User or an id); every account has one."""
    user = user or current_user
    user_id = user if isinstance(user, int) else user.id
    return gardens.personal_garden_id(db.session, user_id)


def choose_garden(value, action="edit", user=None, field="garden_id"):
    """The garden id a form or the API typed for new plants, tasks or devices: blank means
    the personal garden; a garden the user may not `action` in (or none of theirs) is a 422
    on `field` saying to choose one of theirs, never a hint that it exists."""
    user = user or current_user
    if value is None or (isinstance(value, str) and not value.strip()):
        return personal_garden_id(user)
    if isinstance(value, bool):
        value = None
    try:
        garden_id = int(value)
    except (TypeError, ValueError):
        garden_id = None
    if garden_id is None or not 0 < garden_id <= MAX_ID or not can(garden_id, action, user):
        raise ValidationError([{"field": field, "message": gettext(gardens.NOT_YOUR_GARDEN)}])
    return garden_id


def garden_name(garden_id):
    return db.session.scalar(select(Garden.name).where(Garden.id == garden_id))

"""Gardens and roles without HTTP: what each role may do, and who is a member now.

A garden holds plants, devices, tasks, care and alerts. Its members have one role each
(models.GARDEN_ROLES). `ROLE_ACTIONS` is the one table of what a role allows; the route
matrix in docs/security.md is written from it and tests/integration/test_role_matrix.py
checks every route against that matrix. Anything outside a user's gardens is "not found"
(404) wherever it is asked for; an action the role does not allow on something the user can
see is "forbidden" (403) with `FORBIDDEN_MESSAGES[action]`.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from ..models import GARDEN_ROLES, Garden, GardenMember, User
from .types import DbSession

# view: see the garden's plants, readings, devices, tasks, care log and alerts.
# care: log care, complete or snooze tasks, acknowledge alerts.
# edit: add, edit and delete plants, tasks and devices' settings; bind sensors; mute plants.
# members: invite, change roles, remove members; rename or delete the garden.
ACTIONS = ("view", "care", "edit", "members")

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "owner": frozenset({"view", "care", "edit", "members"}),
    "caretaker": frozenset({"view", "care", "edit"}),
    "sitter": frozenset({"view", "care"}),
    "viewer": frozenset({"view"}),
}
assert set(ROLE_ACTIONS) == set(GARDEN_ROLES)

ROLE_LABELS = {
    "owner": "Owner",
    "caretaker": "Caretaker",
    "sitter": "Plant-sitter",
    "viewer": "Viewer",
}

# Translated where they are shown (app.ownership); app.i18n.VOCABULARY marks them for extraction.
FORBIDDEN_MESSAGES = {
    "view": "You cannot see this garden.",
    "care": "Your role in this garden lets you look, not log care or complete tasks.",
    "edit": "Your role in this garden does not let you change plants, tasks or devices.",
    "members": "Only the garden's owners can manage its members.",
}
NOT_YOUR_GARDEN = "Choose one of your gardens."
STAYS_IN_GARDEN = "It stays in its garden; create a new one in the other garden instead."


def allows(role: str | None, action: str) -> bool:
    """Whether `role` may do `action` (an unknown or missing role may do nothing)."""
    return action in ROLE_ACTIONS.get(role or "", frozenset())


def is_current(until: datetime | None, now: datetime) -> bool:
    """A membership with an end (a plant-sitter's) ends by itself at that moment."""
    return until is None or now < until


def current_member(user_id: Any, now: Any) -> ColumnElement[bool]:
    """The condition on GardenMember: `user_id`'s membership, not ended at `now`.
    `user_id` and `now` may be values or bind parameters (a statement kept for reuse)."""
    condition: ColumnElement[bool] = and_(
        GardenMember.user_id == user_id, or_(GardenMember.until.is_(None), GardenMember.until > now)
    )
    return condition


def roles_allowing(action: str) -> list[str]:
    return [role for role, actions in ROLE_ACTIONS.items() if action in actions]


def garden_ids_of(user_id: Any, now: Any, action: str = "view") -> Select[tuple[int]]:
    """A select of the ids of the gardens `user_id` is a current member of, with a role
    that allows `action`."""
    query = select(GardenMember.garden_id).where(current_member(user_id, now))
    if action != "view":
        query = query.where(GardenMember.role.in_(roles_allowing(action)))
    return query


def role_of(session: DbSession, garden_id: int | None, user_id: int, now: datetime) -> str | None:
    """`user_id`'s role in the garden at `now`; None when not (or no longer) a member."""
    if garden_id is None:
        return None
    return session.scalar(
        select(GardenMember.role).where(GardenMember.garden_id == garden_id, current_member(user_id, now))
    )


def gardens_of(session: DbSession, user_id: int, now: datetime, action: str = "view") -> list[tuple[Garden, str]]:
    """(garden, role) of each garden where `user_id` may do `action`: the personal one first."""
    rows = session.execute(
        select(Garden, GardenMember.role)
        .join(GardenMember, GardenMember.garden_id == Garden.id)
        .where(current_member(user_id, now))
        .order_by((Garden.personal_of_id == user_id).desc(), Garden.name, Garden.id)
    ).all()
    return [(garden, role) for garden, role in rows if allows(role, action)]


def personal_garden_id(session: DbSession, user_id: int) -> int | None:
    return session.scalar(select(Garden.id).where(Garden.personal_of_id == user_id))


def default_name(email: str) -> str:
    local = (email.split("@", 1)[0] or "My")[:85]
    return f"{local}'s garden"


def create_personal_garden(session: DbSession, user: User) -> Garden:
    """The garden every account has from its creation, with the user as its owner (flushed)."""
    garden = Garden(name=default_name(user.email), personal_of_id=user.id)
    garden.members.append(GardenMember(user_id=user.id, role="owner"))
    session.add(garden)
    session.flush()
    return garden


def owner_of(session: DbSession, garden_id: int) -> User | None:
    """The person a garden answers to for its clock (timezone) and for restoring old data:
    the one it is personal to, else its first owner member."""
    garden = session.get(Garden, garden_id)
    if garden is None:
        return None
    if garden.personal_of_id is not None:
        return session.get(User, garden.personal_of_id)
    user_id = session.scalar(
        select(GardenMember.user_id)
        .where(GardenMember.garden_id == garden_id, GardenMember.role == "owner")
        .order_by(GardenMember.id)
        .limit(1)
    )
    return session.get(User, user_id) if user_id is not None else None


def members_allowed(session: DbSession, garden_id: int, action: str, now: datetime) -> list[GardenMember]:
    """The current members of the garden whose role allows `action` (alert notifications: view)."""
    members = session.scalars(
        select(GardenMember)
        .where(GardenMember.garden_id == garden_id, or_(GardenMember.until.is_(None), GardenMember.until > now))
        .order_by(GardenMember.id)
    ).all()
    return [m for m in members if allows(m.role, action)]


def owner_id_of_garden() -> ColumnElement[int]:
    """A column (correlated to Garden) of the garden's owner's user id, as owner_of() picks it."""
    first_owner = (
        select(func.min(GardenMember.user_id))
        .where(GardenMember.garden_id == Garden.id, GardenMember.role == "owner")
        .correlate(Garden)
        .scalar_subquery()
    )
    return func.coalesce(Garden.personal_of_id, first_owner)

"""Members of a garden as other members see them, and who a task may be assigned to."""

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from ..database import MAX_ID
from ..models import GardenMember, User
from .errors import ValidationError
from .gardens import allows
from .types import DbSession

NOT_A_HELPER = "Choose a member of the task's garden who may do its care."


def name_from_email(email: str | None) -> str:
    """How members see each other: the local part of the email address (there is no name)."""
    if not email:
        return ""
    return email.split("@", 1)[0]


def helpers_of(session: DbSession, garden_ids: list[int], now: datetime) -> list[tuple[int, int, str]]:
    """(garden id, user id, name) of the current members of `garden_ids` whose role lets them do
    care (those a task can be assigned to), by garden and name."""
    if not garden_ids:
        return []
    rows = session.execute(
        select(GardenMember.garden_id, GardenMember.user_id, GardenMember.role, User.email)
        .join(User, User.id == GardenMember.user_id)
        .where(
            GardenMember.garden_id.in_(garden_ids),
            or_(GardenMember.until.is_(None), GardenMember.until > now),
        )
        .order_by(GardenMember.garden_id, User.email)
    ).all()
    return [
        (garden_id, user_id, name_from_email(email)) for garden_id, user_id, role, email in rows if allows(role, "care")
    ]


def check_assignee(session: DbSession, garden_id: int, raw: Any, now: datetime) -> int | None:
    """The assignee typed on a task form (empty: nobody) as a user id, who must be a current
    member of the garden allowed to do care; ValidationError on field `assignee_id` otherwise."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        user_id = int(raw)
    except (TypeError, ValueError):
        user_id = 0
    if 0 < user_id <= MAX_ID and any(uid == user_id for _, uid, _ in helpers_of(session, [garden_id], now)):
        return user_id
    raise ValidationError([{"field": "assignee_id", "message": NOT_A_HELPER}])

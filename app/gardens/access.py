"""A garden as the signed-in user sees it: 404 outside their gardens, 403 for an action
their role does not allow (with the role table's sentence)."""

from dataclasses import dataclass

from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from ..database import MAX_ID
from ..domain.gardens import FORBIDDEN_MESSAGES, allows, current_member
from ..errors import ForbiddenError, NotFoundError
from ..extensions import db
from ..models import Garden, GardenMember, utcnow


@dataclass
class Membership:
    garden: Garden
    member: GardenMember

    @property
    def role(self) -> str:
        return self.member.role

    def may(self, action: str) -> bool:
        return allows(self.member.role, action)


def membership_or_404(garden_id, action: str = "view", user=None) -> Membership:
    """The user's current membership of the garden; NotFoundError when there is none,
    ForbiddenError when the role does not allow `action`."""
    user = user or current_user
    try:
        garden_id = int(garden_id)
    except (TypeError, ValueError):
        raise NotFoundError() from None
    if not 0 < garden_id <= MAX_ID:
        raise NotFoundError()
    row = db.session.execute(
        select(Garden, GardenMember)
        .join(GardenMember, GardenMember.garden_id == Garden.id)
        .where(Garden.id == garden_id, current_member(user.id, utcnow()))
    ).first()
    if row is None:
        raise NotFoundError()
    membership = Membership(*row)
    if not membership.may(action):
        raise ForbiddenError(gettext(FORBIDDEN_MESSAGES[action]))
    return membership

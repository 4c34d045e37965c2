"""A garden as the signed-in user sees it, through app.ownership's rule: 404 outside their
gardens, 403 (with the role table's sentence) for an action their role does not allow."""

from dataclasses import dataclass

from flask_login import current_user
from sqlalchemy import select

from ..database import MAX_ID
from ..domain.gardens import allows
from ..errors import NotFoundError
from ..extensions import db
from ..models import Garden, GardenMember
from ..ownership import require


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
    """The user's current membership of the garden, once `require(garden, action)` passed."""
    user = user or current_user
    try:
        garden_id = int(garden_id)
    except (TypeError, ValueError):
        raise NotFoundError() from None
    if not 0 < garden_id <= MAX_ID:
        raise NotFoundError()
    require(garden_id, action, user)
    member = db.session.scalar(
        select(GardenMember).where(GardenMember.garden_id == garden_id, GardenMember.user_id == user.id)
    )
    if member is None:  # ended between the two queries
        raise NotFoundError()
    return Membership(member.garden, member)

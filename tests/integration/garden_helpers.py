"""Gardens and members made straight in the database, for the garden and invitation tests."""

from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import Garden, GardenInvitation, GardenMember, User


def make_garden(app, owner_id: int, name: str = "Allotment 7", **members: tuple) -> int:
    """A shared garden owned by `owner_id`; `members` maps a label to (user_id, role[, until])."""
    with app.app_context():
        garden = Garden(name=name)
        garden.members.append(GardenMember(user_id=owner_id, role="owner"))
        for user_id, role, *until in members.values():
            garden.members.append(GardenMember(user_id=user_id, role=role, until=until[0] if until else None))
        db.session.add(garden)
        db.session.commit()
        return garden.id


def add_member(app, garden_id: int, user_id: int, role: str, until: datetime | None = None) -> int:
    with app.app_context():
        member = GardenMember(garden_id=garden_id, user_id=user_id, role=role, until=until)
        db.session.add(member)
        db.session.commit()
        return member.id


def member_of(app, garden_id: int, user_id: int) -> GardenMember | None:
    with app.app_context():
        member = db.session.scalar(
            select(GardenMember).where(GardenMember.garden_id == garden_id, GardenMember.user_id == user_id)
        )
        if member is not None:
            db.session.expunge(member)
        return member


def invitations_of(app, garden_id: int) -> list[GardenInvitation]:
    with app.app_context():
        rows = list(db.session.scalars(select(GardenInvitation).where(GardenInvitation.garden_id == garden_id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def user_id_of(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def secret_of(url: str) -> str:
    return url.rsplit("/invitations/", 1)[1]

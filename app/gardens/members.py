"""What owners and members do to a garden: create, rename, delete, change roles, remove,
leave, and each member's own notification choices. Callers have checked the role
(app.gardens.access); the rules here are about the garden keeping an owner."""

from datetime import datetime

from flask_babel import gettext
from sqlalchemy import func, select

from ..database import MAX_ID
from ..domain.invitations import check_garden_name, check_until
from ..errors import NotFoundError, ValidationError
from ..extensions import db
from ..i18n import N_
from ..models import GARDEN_ROLES, Garden, GardenMember, NotificationChannel, User
from ..notify.channels import EVENTS

LAST_OWNER = N_("A garden needs an owner: make someone else an owner first.")


def create_garden(user: User, name: str) -> Garden:
    garden = Garden(name=check_garden_name(name))
    garden.members.append(GardenMember(user_id=user.id, role="owner"))
    db.session.add(garden)
    db.session.flush()
    return garden


def rename_garden(garden: Garden, name: str) -> None:
    garden.name = check_garden_name(name)


def delete_garden(garden: Garden) -> None:
    """The garden goes with its plants, tasks, care log and alerts (the database cascades)."""
    if garden.personal_of_id is not None:
        raise ValidationError(gettext("Your personal garden cannot be deleted; every account keeps one."))
    db.session.delete(garden)


def members_of(garden: Garden, now: datetime) -> list[tuple[GardenMember, User]]:
    """The garden's current members, owners first."""
    order = {role: index for index, role in enumerate(GARDEN_ROLES)}
    rows = db.session.execute(
        select(GardenMember, User)
        .join(User, User.id == GardenMember.user_id)
        .where(GardenMember.garden_id == garden.id)
        .where((GardenMember.until.is_(None)) | (GardenMember.until > now))
    ).all()
    return sorted(((m, u) for m, u in rows), key=lambda row: (order.get(row[0].role, 9), row[1].email))


def member_or_404(garden: Garden, member_id, now: datetime) -> GardenMember:
    try:
        member_id = int(member_id)
    except (TypeError, ValueError):
        raise NotFoundError() from None
    member = db.session.get(GardenMember, member_id) if 0 < member_id <= MAX_ID else None
    if member is None or member.garden_id != garden.id or (member.until is not None and member.until <= now):
        raise NotFoundError()
    return member


def owner_count(garden: Garden, now: datetime) -> int:
    return (
        db.session.scalar(
            select(func.count(GardenMember.id)).where(
                GardenMember.garden_id == garden.id,
                GardenMember.role == "owner",
                (GardenMember.until.is_(None)) | (GardenMember.until > now),
            )
        )
        or 0
    )


def change_role(garden: Garden, member: GardenMember, role: str, until: datetime | None, now: datetime) -> None:
    if role not in GARDEN_ROLES:
        raise ValidationError([{"field": "role", "message": gettext("Choose a role.")}])
    problems = check_until(role, until, now)
    if problems:
        raise ValidationError([{"field": "until", "message": gettext(p["message"])} for p in problems])
    if member.role == "owner" and role != "owner" and owner_count(garden, now) <= 1:
        raise ValidationError(gettext(LAST_OWNER))
    member.role = role
    member.until = until if role == "sitter" else None


def remove_member(garden: Garden, member: GardenMember, now: datetime) -> None:
    """Removing a member (or leaving): the last owner stays."""
    if member.role == "owner" and owner_count(garden, now) <= 1:
        raise ValidationError(gettext(LAST_OWNER))
    db.session.delete(member)


def own_channels(user: User) -> list[NotificationChannel]:
    return list(
        db.session.scalars(
            select(NotificationChannel).where(NotificationChannel.user_id == user.id).order_by(NotificationChannel.id)
        )
    )


def chosen_events(member: GardenMember, channel: NotificationChannel) -> list[str]:
    """The events `channel` hears from this garden (None in `notify`: the channel's own)."""
    if member.notify is None:
        return list(channel.events or [])
    return list(member.notify.get(str(channel.id), []))


def set_notify(member: GardenMember, channels: list[NotificationChannel], chosen: dict[int, list[str]]) -> None:
    """Store which of the member's channels hear this garden, for which events. `chosen` maps
    a channel id to its ticked events; a channel with none ticked does not hear the garden."""
    own = {channel.id for channel in channels}
    notify = {}
    for channel_id, events in chosen.items():
        if channel_id not in own:
            raise ValidationError(gettext("Choose among your own notification channels."))
        unknown = [e for e in events if e not in EVENTS]
        if unknown:
            raise ValidationError(gettext("Choose among the listed events."))
        if events:
            notify[str(channel_id)] = [e for e in EVENTS if e in events]
    member.notify = notify

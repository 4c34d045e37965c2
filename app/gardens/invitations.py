"""Invitations to a garden: made by an owner, sent by email or copied as a link, accepted
once by a signed-in account (the page or POST /api/v1/invitations/accept).

The link is `<PUBLIC_URL>/invitations/<secret>`; only the secret's SHA-256 is stored. Opening
the link only shows the invitation (link previews fetch it); accepting is a POST.
"""

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from flask import current_app
from flask_babel import gettext
from sqlalchemy import CursorResult, select, update

from .. import outbound
from ..domain.gardens import ROLE_LABELS
from ..domain.invitations import (
    STATE_MESSAGES,
    InvitationInput,
    hash_secret,
    is_secret,
    new_secret,
    state_of,
)
from ..domain.members import name_from_email
from ..errors import ValidationError
from ..extensions import db
from ..models import Garden, GardenInvitation, GardenMember, NotificationChannel, User
from ..notify import channels
from ..notify.delivery import TIMEOUT_SECONDS
from ..settings.providers import DEFAULT_CONCURRENCY
from ..settings.secrets import read_channel_url
from ..web import public_url

log = logging.getLogger(__name__)


class InvitationRefused(ValidationError):
    """Why an invitation cannot be accepted: `state` is a key of STATE_MESSAGES."""

    def __init__(self, state: str, garden: Garden | None = None) -> None:
        super().__init__(gettext(STATE_MESSAGES[state]))
        self.state = state
        self.garden = garden


def invitation_url(secret: str) -> str:
    return public_url("gardens.show_invitation", secret=secret)


def create_invitation(garden: Garden, inviter: User, fields: InvitationInput) -> tuple[GardenInvitation, str]:
    """A new pending invitation and its URL (the only time the secret exists)."""
    secret = new_secret()
    invitation = GardenInvitation(
        garden_id=garden.id,
        role=fields.role,
        until=fields.until,
        email=fields.email,
        token_hash=hash_secret(secret),
        expires_at=fields.expires_at,
        created_by_id=inviter.id,
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, invitation_url(secret)


def find_invitation(secret: str) -> GardenInvitation | None:
    if not is_secret(secret):
        return None
    return db.session.scalar(select(GardenInvitation).where(GardenInvitation.token_hash == hash_secret(secret)))


def pending_invitations(garden: Garden, now: datetime) -> list[GardenInvitation]:
    return list(
        db.session.scalars(
            select(GardenInvitation)
            .where(
                GardenInvitation.garden_id == garden.id,
                GardenInvitation.accepted_at.is_(None),
                GardenInvitation.revoked_at.is_(None),
                GardenInvitation.expires_at > now,
            )
            .order_by(GardenInvitation.created_at, GardenInvitation.id)
        )
    )


def revoke(invitation: GardenInvitation, now: datetime) -> None:
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = now


def existing_member(invitation: GardenInvitation, user: User) -> GardenMember | None:
    """The user's row in the invitation's garden, current or (a plant-sitter's) ended."""
    return db.session.scalar(
        select(GardenMember).where(GardenMember.garden_id == invitation.garden_id, GardenMember.user_id == user.id)
    )


def accept(secret: str, user: User, now: datetime) -> GardenMember:
    """Make `user` a member with the invitation's role; InvitationRefused says why not.

    The invitation is taken with one conditional UPDATE, so two people racing for one link
    cannot both get in."""
    invitation = find_invitation(secret)
    if invitation is None:
        raise InvitationRefused("invalid")
    garden = invitation.garden
    member = existing_member(invitation, user)
    current = member is not None and (member.until is None or member.until > now)
    state = state_of(invitation, now)
    if current and state in ("pending", "accepted"):
        raise InvitationRefused("member", garden)
    if state != "pending":
        raise InvitationRefused(state, garden)
    # An UPDATE's result is a CursorResult, which has the rowcount; execute() is typed for any statement.
    taken = cast(
        CursorResult[Any],
        db.session.execute(
            update(GardenInvitation)
            .where(
                GardenInvitation.id == invitation.id,
                GardenInvitation.accepted_at.is_(None),
                GardenInvitation.revoked_at.is_(None),
            )
            .values(accepted_at=now, accepted_by_id=user.id)
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    if taken != 1:
        db.session.rollback()
        raise InvitationRefused("accepted", garden)
    if member is None:  # a sitter whose time ran out gets the new role on the same row
        member = GardenMember(garden_id=garden.id, user_id=user.id)
        db.session.add(member)
    member.role = invitation.role
    member.until = invitation.until
    member.joined_at = now
    db.session.flush()
    return member


# Sending by email ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    sent: bool
    message: str


def email_channel_of(user: User) -> NotificationChannel | None:
    """The inviter's own email channel (its SMTP server sends the invitation)."""
    return db.session.scalar(
        select(NotificationChannel)
        .where(NotificationChannel.user_id == user.id, NotificationChannel.kind == "email")
        .order_by(NotificationChannel.id)
        .limit(1)
    )


def invitation_message(garden: Garden, inviter: User, invitation: GardenInvitation, url: str) -> dict:
    """The email: PlantOps' words at even places of each line, the names people typed at odd
    ones (app.notify.channels escapes those)."""
    role = gettext(ROLE_LABELS[invitation.role])
    lines = [
        [
            gettext("You are invited to the garden “"),
            garden.name,
            gettext("” as %(role)s by ", role=role),
            name_from_email(inviter.email),
        ],
        [gettext("Open this link to accept the invitation (it works once): %(url)s", url=url)],
    ]
    if invitation.until is not None:
        lines.append([gettext("Your access ends on %(day)s (UTC).", day=invitation.until.strftime("%Y-%m-%d %H:%M"))])
    return channels.plain_message("invitation", [gettext("Invitation to the garden "), garden.name], lines)


def send_invitation(garden: Garden, inviter: User, invitation: GardenInvitation, url: str) -> Delivery:
    """Email the invitation through the inviter's email channel, when they have one.

    The channel's server and sender are used, with the invited address as the only
    recipient; app.notify.smtp keeps the outbound guard (vetted address, one deadline)."""
    channel = email_channel_of(inviter)
    if channel is None or not invitation.email:
        return Delivery(False, gettext("No email channel is set up, so nothing was sent: copy the link below."))
    config = current_app.config
    try:
        secret = read_channel_url(channel)
        target = channels.parse("email", secret.reveal()) if secret else None
    except Exception:  # an unreadable or broken channel: the link is still there to copy
        log.warning("garden %s: the inviter's email channel cannot be used", garden.id, exc_info=True)
        target = None
    if target is None:
        return Delivery(False, gettext("Your email channel cannot be used; copy the link below instead."))
    target = replace(target, recipients=(invitation.email,))
    total = config.get("OUTBOUND_CONCURRENCY", DEFAULT_CONCURRENCY)
    sender = channels.Sender(
        channels.policy_for(config, config.get("NOTIFY_TIMEOUT_SECONDS", TIMEOUT_SECONDS)),
        outbound.shared_gate("web", total, max(1, total // 2)),
        config,
        key=inviter.id,
    )
    message = invitation_message(garden, inviter, invitation, url)
    db.session.commit()  # no transaction stays open while we wait on the network
    outcome = channels.send(target, message, sender)
    if outcome.sent:
        return Delivery(True, gettext("Sent the invitation to %(email)s.", email=invitation.email))
    return Delivery(
        False,
        gettext("The email could not be sent (%(error)s); copy the link below instead.", error=outcome.error or ""),
    )

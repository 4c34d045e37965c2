"""Invitations to a garden, without HTTP.

An invitation is a link whose secret is shown once: only its SHA-256 is stored, so a copy of
the database invites nobody. It is used once, expires (7 days unless the inviter says
otherwise) and can be revoked; a plant-sitter's invitation carries the end of their access.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email

from ..models import GARDEN_ROLES
from .errors import ValidationError


def N_(text: str) -> str:  # noqa: N802  (marks a string for extraction; shown through gettext)
    return text


DEFAULT_EXPIRY = timedelta(days=7)
MAX_EXPIRY = timedelta(days=90)
MAX_SITTING = timedelta(days=366)
EMAIL_MAX = 254
NAME_MAX = 100
SECRET_BYTES = 32
# token_urlsafe(32): 43 characters of the URL-safe alphabet.
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")

# What the invitation page says in each state (an accepted one says nothing more to a stranger).
STATE_MESSAGES = {
    "accepted": N_("This invitation has already been used. Ask the garden's owner for a new one."),
    "expired": N_("This invitation has expired. Ask the garden's owner for a new one."),
    "revoked": N_("This invitation was withdrawn by the garden's owner."),
    "invalid": N_("This invitation link is not valid. Check that you copied all of it."),
    "member": N_("You are already a member of this garden."),
}


@dataclass(frozen=True)
class InvitationInput:
    role: str
    expires_at: datetime
    until: datetime | None
    email: str | None


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_secret(text: str) -> bool:
    """A string of the form new_secret() makes (anything else is refused before any lookup)."""
    return bool(SECRET_PATTERN.match(text or ""))


def state_of(invitation: Any, now: datetime) -> str:
    """ "pending", "accepted", "revoked" or "expired"."""
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    if now >= invitation.expires_at:
        return "expired"
    return "pending"


def check_invitation(
    role: Any, expires_at: datetime | None, until: datetime | None, email: Any, now: datetime
) -> InvitationInput:
    """The invitation's fields checked; ValidationError lists each field's problem."""
    errors = []
    if role not in GARDEN_ROLES:
        errors.append({"field": "role", "message": N_("Choose a role: owner, caretaker, sitter or viewer.")})
    if expires_at is None:
        expires_at = now + DEFAULT_EXPIRY
    elif expires_at <= now:
        errors.append({"field": "expires_at", "message": N_("The invitation must expire in the future.")})
    elif expires_at - now > MAX_EXPIRY:
        errors.append({"field": "expires_at", "message": N_("An invitation can be valid for at most 90 days.")})
    errors += check_until(role, until, now)
    address = None
    if email not in (None, ""):
        try:
            address = check_email(email)
        except ValueError as error:
            errors.append({"field": "email", "message": str(error)})
    if errors:
        raise ValidationError(errors)
    return InvitationInput(role, expires_at, until, address)


def check_until(role: Any, until: datetime | None, now: datetime) -> list[dict[str, str]]:
    """A plant-sitter's access ends (in the future, within a year); nobody else's does."""
    if role == "sitter":
        if until is None:
            return [{"field": "until", "message": N_("Say until when the plant-sitter may look after the garden.")}]
        if until <= now:
            return [{"field": "until", "message": N_("The end date must be in the future.")}]
        if until - now > MAX_SITTING:
            return [{"field": "until", "message": N_("A plant-sitter's access can last at most a year.")}]
    elif until is not None and role in GARDEN_ROLES:
        return [{"field": "until", "message": N_("Only a plant-sitter's access has an end date.")}]
    return []


def check_email(email: Any) -> str:
    if not isinstance(email, str):
        raise ValueError(N_("Must be text."))
    email = email.strip()
    if len(email) > EMAIL_MAX:
        raise ValueError(N_("An email address has at most 254 characters."))
    try:
        return str(validate_email(email, check_deliverability=False).normalized)
    except EmailNotValidError:
        raise ValueError(N_("That is not an email address.")) from None


def check_garden_name(name: Any) -> str:
    """A garden's name: visible text of at most 100 characters."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError([{"field": "name", "message": N_("Give the garden a name.")}])
    cleaned: str = name.strip()
    if len(cleaned) > NAME_MAX or "\x00" in cleaned:
        raise ValidationError([{"field": "name", "message": N_("Keep the name to 100 characters or fewer.")}])
    return cleaned


def secret_from_url(url: Any) -> str | None:
    """The secret of an invitation URL (`…/invitations/<secret>`), or None."""
    if not isinstance(url, str) or len(url) > 2000:
        return None
    path = url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    head, _, secret = path.rpartition("/invitations/")
    if not head and not path.startswith("/invitations/"):
        return None
    return secret if is_secret(secret) else None

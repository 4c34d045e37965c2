"""Gardens over JSON: the gardens a token's user is in, inviting (owners), accepting an
invitation. The same services as the garden pages (app.gardens)."""

from flask_babel import gettext
from flask_login import current_user

from ...clock import utcnow
from ...domain.invitations import check_invitation, secret_from_url
from ...errors import NotFoundError, ValidationError
from ...extensions import db
from ...gardens import invitations
from ...gardens.access import membership_or_404
from ...ownership import my_gardens
from . import bp
from .document import operation
from .schemas import AcceptInput, GardenList, Invitation, InvitationInput, Membership
from .validation import json_body

TAG = "gardens"


@bp.get("/gardens")
@operation("listGardens", TAG, (200, GardenList, "The gardens you are a member of, your personal one first."))
def list_gardens() -> dict:
    """Your gardens and your role in each"""
    rows = my_gardens()
    return {"items": [{"id": garden.id, "name": garden.name, "role": role} for garden, role in rows]}


@bp.post("/gardens/<int:garden_id>/invitations")
@operation(
    "createInvitation",
    TAG,
    (201, Invitation, "Created: the link, shown only now."),
    body=InvitationInput,
    by_id=True,
    forbidden=True,
)
def create_invitation(garden_id: int) -> tuple[dict, int]:
    """Invite someone to a garden"""
    membership = membership_or_404(garden_id, "members")
    body = json_body(InvitationInput)
    now = utcnow()
    try:
        fields = check_invitation(body.role, body.expires_at, body.until, body.email, now)
    except ValidationError as error:
        raise ValidationError([{"field": e["field"], "message": gettext(e["message"])} for e in error.detail]) from None
    invitation, url = invitations.create_invitation(membership.garden, current_user, fields)
    db.session.commit()
    emailed = False
    if fields.email:
        emailed = invitations.send_invitation(membership.garden, current_user, invitation, url).sent
    return {"url": url, "emailed": emailed}, 201


@bp.post("/invitations/accept")
@operation("acceptInvitation", TAG, (200, Membership, "You are a member now."), body=AcceptInput, by_id=True)
def accept_invitation() -> dict:
    """Accept an invitation with its URL"""
    body = json_body(AcceptInput)
    secret = secret_from_url(body.url)
    if secret is None:
        raise NotFoundError(gettext("This invitation link is not valid. Check that you copied all of it."))
    try:
        member = invitations.accept(secret, current_user, utcnow())
    except invitations.InvitationRefused as error:
        db.session.rollback()
        if error.state == "invalid":
            raise NotFoundError(error.detail) from None
        raise ValidationError([{"field": "url", "message": error.detail}]) from None
    db.session.commit()
    return Membership.model_validate(
        {"garden_id": member.garden_id, "name": member.garden.name, "role": member.role, "until": member.until}
    ).model_dump(mode="json")

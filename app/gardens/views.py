"""Garden pages: my gardens, one garden (members, roles, invitations, my notifications), and
the invitation link's page. Plain forms that answer with a 303 (or the page again, 422, with
the problem under the field that caused it)."""

from datetime import UTC, date, datetime, time, timedelta

from flask import abort, flash, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from ..domain.gardens import ROLE_LABELS
from ..domain.invitations import (
    DEFAULT_EXPIRY,
    STATE_MESSAGES,
    check_invitation,
    state_of,
)
from ..domain.members import name_from_email
from ..errors import ValidationError
from ..extensions import db
from ..filters import user_zone
from ..i18n import N_
from ..models import GARDEN_ROLES, GardenInvitation, User, utcnow
from ..notify.channels import EVENTS, KINDS
from ..ownership import my_gardens
from ..web import render, see_other
from . import bp, invitations, members
from .access import membership_or_404

EXPIRY_DAYS = (1, 3, 7, 14, 30)
# app.domain.gardens.ROLE_LABELS, marked for extraction (shown through role_label()).
ROLE_WORDS = (N_("Owner"), N_("Caretaker"), N_("Plant-sitter"), N_("Viewer"))
DATE_MAX = 10


@bp.app_template_filter("name_from_email")
def name_from_email_filter(email):
    return name_from_email(email)


@bp.app_template_global()
def member_name(user_id):
    """A member's name for "Watered by Ana" (the email's local part), looked up once per
    request and person; "" for nobody (a deleted account, a detected event)."""
    if not user_id:
        return ""
    names = g.setdefault("member_names", {})
    if user_id not in names:
        email = db.session.scalar(select(User.email).where(User.id == user_id))
        names[user_id] = name_from_email(email)
    return names[user_id]


@bp.app_template_global()
def role_label(role):
    return _(ROLE_LABELS.get(role, role))


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"  # invitation links and member lists
    return response


def field_errors(error: ValidationError) -> dict[str, str]:
    if isinstance(error.detail, str):
        return {"form": error.detail}
    return {item["field"]: _(item["message"]) for item in error.detail}


def end_of_day(text: str | None):
    """A date typed on a form (YYYY-MM-DD) as the end of that day in the user's timezone, UTC.
    None when empty; ValueError when it is no date."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) != DATE_MAX:
        raise ValueError(text)
    day = date.fromisoformat(text)
    if day >= date.max:
        raise ValueError(text)
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=user_zone()).astimezone(UTC)


def last_day(moment):
    """The local day an end (the midnight after it) falls on, for showing and editing."""
    if moment is None:
        return None
    return (moment - timedelta(seconds=1)).astimezone(user_zone()).date()


# My gardens ---------------------------------------------------------------------------------


@bp.get("/gardens")
@login_required
def list_gardens():
    return gardens_page()


def gardens_page(status=200, errors=None, name=""):
    rows = my_gardens()
    return render("gardens/list.html", gardens=rows, errors=errors or {}, name=name, status=status)


@bp.post("/gardens")
@login_required
def create_garden():
    name = request.form.get("name", "")
    try:
        garden = members.create_garden(current_user, name)
    except ValidationError as error:
        db.session.rollback()
        return gardens_page(422, field_errors(error), name)
    db.session.commit()
    flash(_("Created the garden. Invite people to share it."), "success")
    return see_other(url_for("gardens.show_garden", garden_id=garden.id))


# One garden ---------------------------------------------------------------------------------


def garden_page(membership, status=200, **context):
    now = utcnow()
    garden = membership.garden
    manage = membership.may("members")
    channels = members.own_channels(current_user)
    context.setdefault("errors", {})
    context.setdefault("invite", {"role": "caretaker", "expires_days": "7"})
    return render(
        "gardens/show.html",
        status=status,
        garden=garden,
        me=membership.member,
        role=membership.role,
        manage=manage,
        sole_owner=membership.role == "owner" and members.owner_count(garden, now) <= 1,
        members=members.members_of(garden, now),
        invitations=invitations.pending_invitations(garden, now) if manage else [],
        channels=[(c, members.chosen_events(membership.member, c)) for c in channels],
        events=EVENTS,
        kinds=KINDS,
        roles=GARDEN_ROLES,
        expiry_days=EXPIRY_DAYS,
        last_day=last_day,
        now=now,
        **context,
    )


@bp.get("/gardens/<int:garden_id>")
@login_required
def show_garden(garden_id):
    return garden_page(membership_or_404(garden_id))


@bp.post("/gardens/<int:garden_id>/rename")
@login_required
def rename_garden(garden_id):
    membership = membership_or_404(garden_id, "members")
    try:
        members.rename_garden(membership.garden, request.form.get("name", ""))
    except ValidationError as error:
        db.session.rollback()
        return garden_page(membership_or_404(garden_id), 422, errors=field_errors(error))
    db.session.commit()
    flash(_("Renamed the garden."), "success")
    return see_other(url_for("gardens.show_garden", garden_id=garden_id))


@bp.get("/gardens/<int:garden_id>/delete")
@login_required
def confirm_delete_garden(garden_id):
    membership = membership_or_404(garden_id, "members")
    return render("gardens/delete.html", garden=membership.garden)


@bp.post("/gardens/<int:garden_id>/delete")
@login_required
def delete_garden(garden_id):
    membership = membership_or_404(garden_id, "members")
    if request.form.get("confirm") != membership.garden.name:
        return render(
            "gardens/delete.html",
            status=422,
            garden=membership.garden,
            error=_("Type the garden's name to confirm."),
        )
    name = membership.garden.name
    members.delete_garden(membership.garden)
    db.session.commit()
    flash(_("Deleted the garden “%(name)s” and everything in it.", name=name), "success")
    return see_other(url_for("gardens.list_gardens"))


@bp.post("/gardens/<int:garden_id>/leave")
@login_required
def leave_garden(garden_id):
    membership = membership_or_404(garden_id)
    try:
        members.remove_member(membership.garden, membership.member, utcnow())
    except ValidationError as error:
        db.session.rollback()
        return garden_page(membership_or_404(garden_id), 422, errors=field_errors(error))
    db.session.commit()
    flash(_("You left the garden “%(name)s”.", name=membership.garden.name), "success")
    return see_other(url_for("gardens.list_gardens"))


# Members ------------------------------------------------------------------------------------


def member_refused(garden_id, member_id, error):
    """The garden page again with what refused a change to a member under that member's row;
    nothing of the change is kept."""
    db.session.rollback()
    message = "; ".join(field_errors(error).values())
    return garden_page(membership_or_404(garden_id), 422, errors={f"member-{member_id}": message})


@bp.post("/gardens/<int:garden_id>/members/<int:member_id>/role")
@login_required
def change_role(garden_id, member_id):
    membership = membership_or_404(garden_id, "members")
    now = utcnow()
    member = members.member_or_404(membership.garden, member_id, now)
    try:
        until = end_of_day(request.form.get("until"))
    except ValueError:
        return garden_page(membership, 422, errors={f"member-{member.id}": _("Enter a date as YYYY-MM-DD.")})
    try:
        members.change_role(membership.garden, member, request.form.get("role", ""), until, now)
    except ValidationError as error:
        return member_refused(garden_id, member_id, error)
    db.session.commit()
    flash(_("Changed the role."), "success")
    return see_other(url_for("gardens.show_garden", garden_id=garden_id))


@bp.post("/gardens/<int:garden_id>/members/<int:member_id>/remove")
@login_required
def remove_member(garden_id, member_id):
    membership = membership_or_404(garden_id, "members")
    now = utcnow()
    member = members.member_or_404(membership.garden, member_id, now)
    try:
        members.remove_member(membership.garden, member, now)
    except ValidationError as error:
        return member_refused(garden_id, member_id, error)
    db.session.commit()
    flash(_("Removed the member."), "success")
    if member.user_id == current_user.id:
        return see_other(url_for("gardens.list_gardens"))
    return see_other(url_for("gardens.show_garden", garden_id=garden_id))


@bp.post("/gardens/<int:garden_id>/notifications")
@login_required
def set_notifications(garden_id):
    membership = membership_or_404(garden_id)
    channels = members.own_channels(current_user)
    if request.form.get("reset"):
        membership.member.notify = None
    else:
        chosen = {}
        for channel in channels:
            chosen[channel.id] = request.form.getlist(f"events-{channel.id}")
        try:
            members.set_notify(membership.member, channels, chosen)
        except ValidationError as error:
            db.session.rollback()
            return garden_page(
                membership_or_404(garden_id), 422, errors={"notify": "; ".join(field_errors(error).values())}
            )
    db.session.commit()
    flash(_("Saved your notifications for this garden."), "success")
    return see_other(url_for("gardens.show_garden", garden_id=garden_id) + "#notifications")


# Invitations --------------------------------------------------------------------------------


@bp.post("/gardens/<int:garden_id>/invitations")
@login_required
def create_invitation(garden_id):
    membership = membership_or_404(garden_id, "members")
    now = utcnow()
    form = request.form
    typed = {
        "role": form.get("role", ""),
        "until": form.get("until", ""),
        "email": form.get("email", ""),
        "expires_days": form.get("expires_days", "7"),
    }
    errors = {}
    try:
        until = end_of_day(typed["until"])
    except ValueError:
        until, errors["until"] = None, _("Enter a date as YYYY-MM-DD.")
    try:
        days = int(typed["expires_days"])
        if days not in EXPIRY_DAYS:
            raise ValueError(days)
        expires_at = now + timedelta(days=days)
    except ValueError:
        expires_at, errors["expires_days"] = now + DEFAULT_EXPIRY, _("Choose how long the link works.")
    try:
        fields = check_invitation(typed["role"], expires_at, until, typed["email"] or None, now)
    except ValidationError as error:
        for field, message in field_errors(error).items():
            errors.setdefault(field, message)  # a date that is no date says so, not "missing"
    if errors:
        return garden_page(membership, 422, errors=errors, invite=typed)
    invitation, url = invitations.create_invitation(membership.garden, current_user, fields)
    db.session.commit()
    delivery = invitations.send_invitation(membership.garden, current_user, invitation, url) if fields.email else None
    return garden_page(
        membership_or_404(garden_id),
        201,
        new_invitation={"url": url, "role": fields.role, "email": fields.email, "delivery": delivery},
    )


@bp.post("/gardens/<int:garden_id>/invitations/<int:invitation_id>/revoke")
@login_required
def revoke_invitation(garden_id, invitation_id):
    membership = membership_or_404(garden_id, "members")
    invitation = db.session.get(GardenInvitation, invitation_id) if invitation_id < 2**31 else None
    if invitation is None or invitation.garden_id != membership.garden.id:
        abort(404)
    invitations.revoke(invitation, utcnow())
    db.session.commit()
    flash(_("Revoked the invitation: its link no longer works."), "success")
    return see_other(url_for("gardens.show_garden", garden_id=garden_id) + "#invitations")


@bp.get("/invitations/<secret>")
def show_invitation(secret):
    """What the link shows, to anyone holding it; accepting is the form's POST."""
    now = utcnow()
    invitation = invitations.find_invitation(secret)
    if invitation is None:
        return render("gardens/invitation.html", status=404, state="invalid", message=_(STATE_MESSAGES["invalid"]))
    state = state_of(invitation, now)
    member = None
    if current_user.is_authenticated:
        member = invitations.existing_member(invitation, current_user)
        if member is not None and (member.until is not None and member.until <= now):
            member = None
    if member is not None and state in ("pending", "accepted"):
        state = "member"
    status = 200 if state in ("pending", "member") else 410
    return render(
        "gardens/invitation.html",
        status=status,
        state=state,
        message=_(STATE_MESSAGES[state]) if state != "pending" else None,
        invitation=invitation,
        garden=invitation.garden,
        secret=secret,
        here=url_for("gardens.show_invitation", secret=secret),
        last_day=last_day,
    )


@bp.post("/invitations/<secret>/accept")
@login_required
def accept_invitation(secret):
    try:
        member = invitations.accept(secret, current_user, utcnow())
    except invitations.InvitationRefused as error:
        db.session.rollback()
        status = 404 if error.state == "invalid" else (200 if error.state == "member" else 410)
        invitation = invitations.find_invitation(secret)
        return render(
            "gardens/invitation.html",
            status=status,
            state=error.state,
            message=error.detail,
            invitation=invitation,
            garden=error.garden,
            secret=secret,
            here=url_for("gardens.show_invitation", secret=secret),
            last_day=last_day,
        )
    db.session.commit()
    flash(_("Welcome to “%(name)s”.", name=member.garden.name), "success")
    return see_other(url_for("gardens.show_garden", garden_id=member.garden_id))

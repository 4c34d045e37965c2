"""Muting a plant's notifications: from its page (signed in), or from the link a message
carries (a signed token that can only mute that plant for a day, valid for a week)."""

from datetime import timedelta

from flask import abort, current_app, flash, request, url_for
from flask_login import login_required

from ..clock import utcnow
from ..domain.gardens import allows, owner_of, role_of
from ..extensions import csrf, db
from ..models import Plant, User
from ..notify.dispatch import MUTE_LINK_HOURS, mute_plant, muted_until, read_mute_token, zone_of
from ..ownership import get_allowed_or_404
from ..web import is_htmx, render, see_other
from . import bp

MUTE_CHOICES = {"1": "1 hour", "4": "4 hours", "24": "1 day", "72": "3 days", "168": "1 week"}


@bp.app_template_global()
def plant_muted_until(plant):
    return muted_until(db.session, plant.id, utcnow())


@bp.post("/<int:plant_id>/mute")
@login_required
def mute(plant_id):
    plant = get_allowed_or_404(Plant, plant_id, "edit")
    hours = request.form.get("hours", "")
    if hours == "0":
        mute_plant(db.session, plant.id, None)
        message = f"Notifications for {plant.name} are on again."
    elif hours in MUTE_CHOICES:
        mute_plant(db.session, plant.id, utcnow() + timedelta(hours=int(hours)))
        message = f"{plant.name} is muted for {MUTE_CHOICES[hours]}."
    else:
        if is_htmx():
            return render("plants/_mute.html", None, 422, plant=plant, mute_error="Choose how long to mute.")
        flash("Choose how long to mute.", "error")
        return see_other(url_for("plants.show_plant", plant_id=plant.id))
    db.session.commit()
    flash(message, "success")
    return see_other(url_for("plants.show_plant", plant_id=plant.id))


def _from_token(token):
    found = read_mute_token(current_app.config["SECRET_KEY"], token)
    if found is None:
        return None
    user_id, plant_id = found
    plant = db.session.get(Plant, plant_id)
    user = db.session.get(User, user_id)
    if plant is None or user is None or user.disabled:
        return None
    if not allows(role_of(db.session, plant.garden_id, user_id, utcnow()), "edit"):
        return None  # no longer in the garden, or a role that may not mute
    return plant


@bp.get("/mute/<token>")
def mute_from_link(token):
    """A page with one button: link previews and mail scanners fetch links, and must not mute."""
    plant = _from_token(token)
    if plant is None:
        return render("notify/mute_link.html", None, 404, plant=None, done=False)
    return render("notify/mute_link.html", None, 200, plant=plant, done=False, hours=MUTE_LINK_HOURS)


@bp.post("/mute/<token>")
@csrf.exempt  # the signed token is the credential; it can do nothing but this
def mute_from_link_confirm(token):
    plant = _from_token(token)
    if plant is None:
        abort(404)
    until = utcnow() + timedelta(hours=MUTE_LINK_HOURS)
    mute_plant(db.session, plant.id, until)
    db.session.commit()
    shown = until.astimezone(zone_of(getattr(owner_of(db.session, plant.garden_id), "timezone", "UTC"))).strftime(
        "%Y-%m-%d %H:%M %Z"
    )
    return render("notify/mute_link.html", None, 200, plant=plant, done=True, until_text=shown, hours=MUTE_LINK_HOURS)

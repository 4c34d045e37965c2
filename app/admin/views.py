import os

from flask import current_app, flash, render_template, url_for
from flask_login import current_user

from .. import workers
from ..auth.sessions import end_all_sessions
from ..auth.tokens import revoke_all_tokens
from ..errors import NotFoundError, ValidationError
from ..extensions import db
from ..models import User
from ..web import is_htmx, render, see_other
from . import bp, queries


@bp.before_request
def administrators_only():
    """Visitors are sent to sign in, as on every page; a signed-in gardener who is not an
    administrator gets the same 404 as for a page that does not exist."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if not current_user.is_admin:
        raise NotFoundError()
    return None


@bp.get("")
def show_admin():
    devices, discovered_total = queries.discovered_devices(db.session)
    return render(
        "admin/page.html",
        block="overview",
        users=queries.users_with_plant_counts(db.session),
        rejections=queries.rejections(db.session),
        devices=devices,
        discovered_total=discovered_total,
        outbox=queries.outbox(db.session),
        states=[(label, queries.describe_state(s)) for label, s in workers.background_services().status().items()],
        pid=os.getpid(),
    )


@bp.post("/users/<int:user_id>/disable")
def disable_user(user_id):
    user = _user_or_404(user_id)
    if user.id == current_user.id:
        raise ValidationError("You cannot disable your own account.")
    if not user.disabled:
        user.disabled = True
        end_all_sessions(user)
        revoke_all_tokens(user)
        db.session.commit()
    return _user_changed(user, f"{user.email} is disabled: signed out everywhere, API tokens revoked.")


@bp.post("/users/<int:user_id>/enable")
def enable_user(user_id):
    user = _user_or_404(user_id)
    if user.disabled:
        user.disabled = False
        db.session.commit()
    return _user_changed(user, f"{user.email} can sign in again (their old API tokens stay revoked).")


def _user_or_404(user_id):
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFoundError()
    return user


def _user_changed(user, message):
    if is_htmx():
        row_user, plants = queries.user_with_plant_count(db.session, user)
        return render_template("admin/_user_row.html", user=row_user, plants=plants)
    flash(message, "success")
    return see_other(url_for("admin.show_admin"))

import os

from flask import current_app, flash, render_template, url_for
from flask_login import current_user

from .. import workers
from ..auth.sessions import end_all_sessions
from ..auth.tokens import revoke_all_tokens
from ..broker import accounts as broker_accounts
from ..broker.dynsec import AdminSettings, BrokerError
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
    problem = _broker_account_enabled(user, False)
    return _user_changed(user, f"{user.email} is disabled: signed out everywhere, API tokens revoked.{problem}")


@bp.post("/users/<int:user_id>/enable")
def enable_user(user_id):
    user = _user_or_404(user_id)
    if user.disabled:
        user.disabled = False
        db.session.commit()
    problem = _broker_account_enabled(user, True)
    return _user_changed(user, f"{user.email} can sign in again (their old API tokens stay revoked).{problem}")


def _broker_account_enabled(user, enabled):
    """Switch the user's broker account (if any) with the user (the broker closes its
    connections when disabled); a sentence for the message, or ""."""
    admin = AdminSettings.from_config(current_app.config)
    account = broker_accounts.user_account(db.session, user)
    if admin is None or account is None:
        return ""
    username = account.username
    db.session.commit()  # no transaction stays open while the broker is asked
    try:
        broker_accounts.set_enabled(admin, username, enabled)
    except BrokerError as error:
        return f" Their broker account {username} is unchanged: {error.message}"
    return f" Their broker account {username} is {'on again' if enabled else 'off'}."


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

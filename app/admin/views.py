import os

from flask import current_app, flash, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from .. import workers
from ..auth.sessions import end_all_sessions
from ..auth.tokens import revoke_all_tokens
from ..broker import accounts as broker_accounts
from ..broker.dynsec import AdminSettings, BrokerError
from ..domain.sources import settings as source_settings
from ..errors import NotFoundError, ValidationError
from ..extensions import db
from ..models import IngestSource, User
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


def _page_context(**sources):
    devices, discovered_total = queries.discovered_devices(db.session)
    context = {
        "users": queries.users_with_plant_counts(db.session),
        "rejections": queries.rejections(db.session),
        "devices": devices,
        "discovered_total": discovered_total,
        "outbox": queries.outbox(db.session),
        "states": [(label, queries.describe_state(s)) for label, s in workers.background_services().status().items()],
        "pid": os.getpid(),
    }
    context.update(_sources_context(**sources))
    return context


def _source_rows():
    return source_settings.source_rows(current_app.config["MQTT_TOPIC_PREFIX"], queries.source_rows(db.session))


def _sources_context(rows=None, errors=None, generic_values=None, generic_errors=None, saved=None):
    rows = rows if rows is not None else _source_rows()
    generic = next(row for row in rows if row.kind == "generic")
    return {
        "sources": rows,
        "source_errors": errors or {},
        "generic_values": generic_values
        if generic_values is not None
        else source_settings.generic_form_values(generic),
        "generic_errors": generic_errors or {},
        "sources_saved": saved,
        "metrics": source_settings.METRICS,
        "temperature_units": source_settings.TEMPERATURE_UNITS,
    }


@bp.get("")
def show_admin():
    return render("admin/page.html", block="overview", **_page_context())


@bp.post("/sources")
def save_sources():
    """Every source's enabled flag and base topic in one form; nothing is stored if one is wrong."""
    prefix = current_app.config["MQTT_TOPIC_PREFIX"]
    rows, errors = source_settings.apply_sources(prefix, _source_rows(), request.form)
    if errors:
        return _sources_answer(rows=rows, errors=errors)
    for row in rows:
        _store(row)
    db.session.commit()
    return _sources_answer(saved=gettext("Sources saved. They apply when the MQTT consumers restart."))


@bp.post("/sources/generic")
def save_generic_source():
    """The generic JSON source's topic filter and fields; nothing is stored if one is wrong."""
    prefix = current_app.config["MQTT_TOPIC_PREFIX"]
    rows = _source_rows()
    generic = next(row for row in rows if row.kind == "generic")
    filter_, options, errors = source_settings.parse_generic(prefix, request.form, generic.options)
    if errors:
        values = {k: str(v) for k, v in request.form.items() if k != "csrf_token"}
        return _sources_answer(rows=rows, generic_values=values, generic_errors=errors)
    generic.base, generic.options = filter_, options
    _store(generic)
    db.session.commit()
    return _sources_answer(saved=gettext("Generic source saved. It applies when the MQTT consumers restart."))


def _store(row):
    stored = db.session.get(IngestSource, row.name)
    if stored is None:
        stored = IngestSource(name=row.name, kind=row.kind)
        db.session.add(stored)
    stored.kind, stored.enabled, stored.base_topic = row.kind, row.enabled, row.base
    stored.options = dict(row.options)
    db.session.flush()


def _sources_answer(saved=None, **sources):
    """htmx: the sources section (422 with the errors); without JavaScript the page, or a redirect."""
    failed = bool(sources.get("errors") or sources.get("generic_errors"))
    status = 422 if failed else 200
    if is_htmx():
        html = render_template("admin/_sources.html", **_sources_context(saved=saved, **sources))
        return html, status, {"Vary": "HX-Request"}
    if failed:
        return render("admin/page.html", status=status, **_page_context(**sources))
    flash(saved, "success")
    return see_other(url_for("admin.show_admin") + "#sources-heading")


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
    return _user_changed(
        user, gettext("%(email)s is disabled: signed out everywhere, API tokens revoked.", email=user.email) + problem
    )


@bp.post("/users/<int:user_id>/enable")
def enable_user(user_id):
    user = _user_or_404(user_id)
    if user.disabled:
        user.disabled = False
        db.session.commit()
    problem = _broker_account_enabled(user, True)
    return _user_changed(
        user, gettext("%(email)s can sign in again (their old API tokens stay revoked).", email=user.email) + problem
    )


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

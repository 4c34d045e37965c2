"""Broker accounts on /settings ("Connect sensors"): a gardener's own account, publishing only
under `<MQTT_TOPIC_PREFIX>/u/<username>/`, and for administrators bridge accounts, publishing on
the sources' shared topics (docs/broker-accounts.md).

A password is shown once, in the response to the click that made it: never in a redirect, a
flash cookie or a log. The broker is asked with no transaction open, within one deadline.
"""

import logging
from urllib.parse import urlsplit

from flask import current_app, request
from flask_login import current_user, login_required

from ..broker import accounts
from ..broker.dynsec import AdminSettings, BrokerError, NameTaken
from ..domain import broker as names
from ..errors import NotFoundError
from ..extensions import db
from ..models import BrokerAccount
from ..web import render
from . import bp

log = logging.getLogger(__name__)

FEATURE_OFF = (
    "Broker accounts are off on this instance: the operator sets MQTT_ADMIN_USERNAME and "
    "MQTT_ADMIN_PASSWORD (the broker's dynamic-security admin account) to turn them on."
)


def admin_settings() -> AdminSettings | None:
    return AdminSettings.from_config(current_app.config)


def connection() -> dict:
    """What a sensor dials: MQTT_PUBLIC_HOST/PORT, else PUBLIC_URL's host and MQTT_PORT."""
    config = current_app.config
    host = config.get("MQTT_PUBLIC_HOST") or urlsplit(config["PUBLIC_URL"]).hostname or config["MQTT_HOST"]
    return {"host": host, "port": config.get("MQTT_PUBLIC_PORT") or config["MQTT_PORT"], "tls": config["MQTT_TLS"]}


def panel_context(new_account=None, password=None, error=None, bridge_error=None) -> dict:
    user = current_user
    prefix = current_app.config["MQTT_TOPIC_PREFIX"]
    account = accounts.user_account(db.session, user)
    where = connection()
    shown = new_account if new_account is not None and new_account.role == "user" else account
    context = {
        "enabled": admin_settings() is not None,
        "feature_off": FEATURE_OFF,
        "account": account,
        "connection": where,
        "prefix": names.user_prefix(prefix, account.username) if account else None,
        "examples": (
            names.examples(
                where["host"],
                where["port"],
                names.user_prefix(prefix, shown.username),
                shown.username,
                password if new_account is not None and new_account.role == "user" else None,
            )
            if shown is not None
            else []
        ),
        "new_account": new_account,
        "password": password,
        "error": error,
        "bridge_error": bridge_error,
        "bridges": accounts.bridge_accounts(db.session) if user.is_admin else [],
        "shared_filters": names.bridge_publish_filters(prefix),
    }
    return context


@bp.context_processor
def broker_panel():
    """The panel's data, computed only when a template asks for it."""
    return {"broker_panel_context": panel_context}


def _panel(status=200, **context):
    response = render("settings/broker.html", "settings/_broker.html", status, broker=panel_context(**context))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/broker")
@login_required
def create_broker_account():
    """Make my broker account, or give it a new password (the old one stops working)."""
    admin = admin_settings()
    if admin is None:
        return _panel(409, error=FEATURE_OFF)
    try:
        account, new = accounts.claim_user_account(db.session, current_user)
    except BrokerError as error:
        db.session.rollback()
        return _panel(409, error=error.message)
    return _provision(admin, account, new, bridge=False)


@bp.post("/broker/bridges")
@login_required
def create_bridge_account():
    """Administrators: make a bridge account (or reset its password) by its short name."""
    if not current_user.is_admin:
        raise NotFoundError()
    admin = admin_settings()
    if admin is None:
        return _panel(409, bridge_error=FEATURE_OFF)
    name = (request.form.get("name") or "").strip().lower()
    try:
        account, new = accounts.claim_bridge_account(db.session, name)
    except BrokerError as error:
        db.session.rollback()
        return _panel(422, bridge_error=error.message)
    return _provision(admin, account, new, bridge=True)


def _provision(admin, account, new, *, bridge):
    account_id, username, role = account.id, account.username, account.role
    db.session.commit()  # the name is ours; no transaction stays open while the broker is asked
    try:
        password = accounts.provision(admin, username, role, current_app.config["MQTT_TOPIC_PREFIX"], new=new)
    except BrokerError as error:
        log.warning("broker account %s: %s", username, error.message)
        if new:
            stale = db.session.get(BrokerAccount, account_id)
            if stale is not None:
                accounts.forget(db.session, stale)
                db.session.commit()
        key = "bridge_error" if bridge else "error"
        return _panel(409 if isinstance(error, NameTaken) else 503, **{key: error.message})
    log.info("user %s %s broker account %s", current_user.id, "made" if new else "reset", username)
    return _panel(201 if new else 200, new_account=db.session.get(BrokerAccount, account_id), password=password)


@bp.post("/broker/<int:account_id>/delete")
@login_required
def delete_broker_account(account_id):
    account = accounts.account_for(db.session, account_id, current_user)
    if account is None:
        raise NotFoundError()
    admin = admin_settings()
    if admin is None:
        return _panel(409, error=FEATURE_OFF)
    username, role = account.username, account.role
    db.session.commit()
    try:
        accounts.deprovision(admin, username, role)
    except BrokerError as error:
        return _panel(503, **{"bridge_error" if role == "bridge" else "error": error.message})
    stale = db.session.get(BrokerAccount, account_id)
    if stale is not None:
        accounts.forget(db.session, stale)
        db.session.commit()
    log.info("user %s deleted broker account %s", current_user.id, username)
    return _panel()

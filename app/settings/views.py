"""The settings page: the user's Discord webhook, LLM provider and timezone.

Secrets are never sent back to the browser (only their last four characters), and
every response here is `Cache-Control: no-store`.
"""

import logging

from flask import current_app, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import throttle
from ..crypto import DecryptionError
from ..domain.calendar import active_feed
from ..extensions import db
from ..web import render, see_other
from . import bp
from .forms import DiscordForm, LLMForm, PreferencesForm, TimezoneForm
from .providers import Caller, ProviderError, caller_for, list_models, send_discord_test
from .secrets import (
    KeyForAnotherOrigin,
    key_origin,
    llm_provider,
    origin_of,
    read_llm_key,
    read_secret,
    secret_state,
    store_llm_key,
    store_secret,
)

log = logging.getLogger(__name__)

TESTS_PER_WINDOW = 20
TEST_WINDOW_SECONDS = 600
REENTER = "This secret can no longer be read. Re-enter this secret to use it again."
KEY_FOR_ANOTHER_ORIGIN = (
    "The saved API key was entered for {origin}. Enter the key again to use this address "
    "(or remove the saved key first); it is never sent anywhere else."
)
BUSY_RETRY_AFTER_SECONDS = 5


def caller() -> Caller:
    return caller_for(current_app.config, current_user.id)


@bp.after_request
def no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def page(status=200, fragment="settings/page.html", **context):
    user = current_user
    context.setdefault("discord_form", DiscordForm(formdata=None))
    context.setdefault("llm_form", LLMForm(formdata=None, base_url=user.llm_base_url, model=user.llm_model))
    context.setdefault("timezone_form", TimezoneForm(formdata=None, timezone=user.timezone))
    context.setdefault("calendar_feed", active_feed(db.session, user))
    context.setdefault(
        "preferences_form",
        PreferencesForm(
            formdata=None, theme=user.theme, locale=user.locale or "", temperature_unit=user.temperature_unit
        ),
    )
    return render(
        "settings/page.html",
        fragment,
        status,
        discord=secret_state(user, "discord_webhook_url"),
        llm_key=secret_state(user, "llm_api_key"),
        llm_configured=bool(user.llm_base_url and user.llm_model),
        **context,
    )


@bp.get("")
@login_required
def show_settings():
    return page()


@bp.post("/discord")
@login_required
def save_discord():
    form = DiscordForm()
    if not form.validate():
        return page(422, "settings/_discord.html", discord_form=form)
    store_secret(current_user, "discord_webhook_url", form.webhook_url.data)
    db.session.commit()
    log.info("user %s saved a Discord webhook", current_user.id)
    flash(_("Discord webhook saved."), "success")
    return see_other(url_for("settings.show_settings"))


@bp.post("/discord/remove")
@login_required
def remove_discord():
    store_secret(current_user, "discord_webhook_url", None)
    db.session.commit()
    flash(_("Discord webhook removed."), "info")
    return see_other(url_for("settings.show_settings"))


@bp.post("/discord/test")
@login_required
def test_discord():
    return test_result("discord", _run_discord_test)


def _run_discord_test(user):
    webhook = read_secret(user, "discord_webhook_url")
    if webhook is None:
        return False, "Save a webhook URL first."
    out = caller()
    db.session.commit()  # no transaction stays open while we wait on the network
    send_discord_test(webhook, out)
    return True, "Sent a test message to Discord: check the channel."


@bp.post("/llm")
@login_required
def save_llm():
    form = LLMForm()
    if not form.validate():
        return page(422, "settings/_llm.html", llm_form=form)
    user = current_user
    if form.api_key.data:
        store_llm_key(user, form.api_key.data, form.base_url.data)
    elif not keep_key_for(user, form.base_url.data):
        form.api_key.errors.append(KEY_FOR_ANOTHER_ORIGIN.format(origin=key_origin(user, read_llm_key(user))))
        return page(422, "settings/_llm.html", llm_form=form)
    user.llm_base_url = form.base_url.data
    user.llm_model = form.model.data
    db.session.commit()
    log.info("user %s saved an LLM provider", user.id)
    flash(_("LLM provider saved."), "success")
    return see_other(url_for("settings.show_settings"))


def keep_key_for(user, base_url: str) -> bool:
    """Whether the saved key (if any) may stay with `base_url`: only for the origin it was
    entered for. A key saved before keys were bound is bound here to the old base URL."""
    try:
        bound = read_llm_key(user)
    except DecryptionError:
        return True  # unreadable: it can never be sent; the page asks to re-enter it
    if bound is None:
        return True
    if key_origin(user, bound) != origin_of(base_url):
        return False
    if bound.origin is None:
        store_llm_key(user, bound.key.reveal(), base_url)
    return True


@bp.post("/llm/key/remove")
@login_required
def remove_llm_key():
    store_secret(current_user, "llm_api_key", None)
    db.session.commit()
    flash(_("API key removed."), "info")
    return see_other(url_for("settings.show_settings"))


@bp.post("/llm/remove")
@login_required
def remove_llm():
    user = current_user
    user.llm_base_url = user.llm_model = None
    store_secret(user, "llm_api_key", None)
    db.session.commit()
    flash(_("LLM provider removed."), "info")
    return see_other(url_for("settings.show_settings"))


@bp.post("/llm/test")
@login_required
def test_llm():
    return test_result("llm", _run_llm_test)


def _run_llm_test(user):
    provider = llm_provider(user)
    if provider is None:
        return False, "Save a base URL and model first."
    out = caller()
    db.session.commit()  # read nothing from the session after this: it would open a transaction
    models = list_models(provider, out)
    if provider.model in models:
        return True, f"Connected: the provider offers {provider.model}."
    return False, f"Connected, but the provider does not list the model {provider.model} ({len(models)} models)."


def test_result(target, run):
    """Run a connection test for `target` and show its outcome next to its button."""
    user = current_user
    decision = throttle.hit(f"settings-test:{user.id}", TESTS_PER_WINDOW, TEST_WINDOW_SECONDS)
    db.session.commit()
    if not decision.allowed:
        ok, message, status = False, f"Too many tests. Try again in {decision.retry_after} seconds.", 429
    else:
        status = 200
        try:
            ok, message = run(user)
        except DecryptionError:
            ok, message = False, REENTER
        except KeyForAnotherOrigin as error:
            ok, message = False, KEY_FOR_ANOTHER_ORIGIN.format(origin=error.origin)
        except ProviderError as error:
            ok, message = False, error.message
            if error.kind == "busy":
                status = 503
    response = page(status, "settings/_test_result.html", result={"target": target, "ok": ok, "message": message})
    if status == 503:
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
    return response


@bp.post("/timezone")
@login_required
def save_timezone():
    form = TimezoneForm()
    if not form.validate():
        return page(422, "settings/_timezone.html", timezone_form=form)
    current_user.timezone = form.timezone.data
    db.session.commit()
    flash(_("Times are now shown in %(zone)s.", zone=form.timezone.data), "success")
    return see_other(url_for("settings.show_settings"))


@bp.post("/preferences")
@login_required
def save_preferences():
    """Theme, language and temperature unit; a full page follows (they change every page)."""
    form = PreferencesForm()
    if not form.validate():
        return page(422, "settings/_preferences.html", preferences_form=form)
    user = current_user
    user.theme = form.theme.data
    user.locale = form.locale.data or None
    user.temperature_unit = form.temperature_unit.data
    db.session.commit()
    flash(_("Preferences saved."), "success")
    return see_other(url_for("settings.show_settings"))

"""Languages: Flask-Babel, the locale of each request, and the catalogs in app/translations.

The locale is the user's choice in settings, else the best match of the browser's
Accept-Language among LANGUAGES, else English. Templates call `_()`/`gettext()` (the
Jinja i18n extension Flask-Babel installs); dates and numbers go through app/filters.py,
which formats them with Babel for that locale. `babel.cfg` says where strings are
extracted from; `make translations` extracts, updates and compiles the catalogs.
"""

from flask import has_request_context, request
from flask_babel import Babel, force_locale, get_locale
from flask_login import current_user

from .domain import language

# The languages PlantOps has a catalog for (English is the source): code -> its own name.
LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch"}
DEFAULT_LOCALE = "en"

babel = Babel()


def N_(text: str) -> str:  # noqa: N802  (the usual name of gettext's no-op marker)
    """Marks a string defined elsewhere for extraction (babel.cfg's keywords include N_)."""
    return text


# Source strings that live outside templates and `_()` calls (app.domain holds no Flask), marked
# here so `make translations` extracts them; tests/unit/test_i18n.py checks each still exists.
VOCABULARY = (
    # app.domain.gardens: what a role may not do, and a garden that is not one of yours
    N_("You cannot see this garden."),
    N_("Your role in this garden lets you look, not log care or complete tasks."),
    N_("Your role in this garden does not let you change plants, tasks or devices."),
    N_("Only the garden's owners can manage its members."),
    N_("Choose one of your gardens."),
    N_("It stays in its garden; create a new one in the other garden instead."),
    # app.domain.describe: statuses and problems
    N_("Needs care"),
    N_("Sensor silent"),
    N_("Waiting for data"),
    N_("OK"),
    N_("Soil moisture low"),
    N_("Soil moisture high"),
    N_("Temperature low"),
    N_("Temperature high"),
    N_("Humidity low"),
    N_("Humidity high"),
    N_("Light low"),
    N_("Light high"),
    N_("Conductivity low"),
    N_("Conductivity high"),
    N_("Battery low"),
    # form errors: app.domain.tasks, app.domain.devices, app.plants.forms, app.settings.forms
    N_("Enter a title."),
    N_("Keep the title to 200 characters or fewer."),
    N_("Keep the description to 1,000 characters or fewer."),
    N_("Enter a date as YYYY-MM-DD."),
    N_("Choose one of your plants."),
    N_("Enter a whole number of days."),
    N_("Repeat every 1 to 365 days."),
    N_("Use 1 to 64 letters, digits, dots, dashes or underscores."),
    N_("Enter a number of minutes."),
    N_("Use 1 to 10080 minutes (one week)."),
    N_("Paste the webhook URL that Discord shows."),
    # app.domain.metrics: metric names and presets
    N_("Soil moisture"),
    N_("Temperature"),
    N_("Humidity"),
    N_("Light"),
    N_("Conductivity"),
    N_("Battery"),
    N_("Succulent / cactus"),
    N_("Tropical foliage"),
    N_("Kitchen herbs"),
    N_("Fern"),
    N_("Vegetables"),
    # app.domain.care: kinds of care and its form errors
    N_("Watered"),
    N_("Fertilized"),
    N_("Repotted"),
    N_("Pruned"),
    N_("Misted"),
    N_("Note"),
    N_("Choose what was done: watered, fertilized, repotted, pruned, misted, note."),
    N_("Enter text."),
    N_("Keep the note to 500 characters or fewer."),
    N_("Write the note."),
    N_("Enter an amount from 0 to 100,000, or leave it empty."),
    N_("Enter a date and time."),
    N_("That time is in the future."),
    # app.domain.tasks: repeat choices and form errors
    N_("From the due date"),
    N_("From when it was done"),
    N_("Choose “due” (from the due date) or “done” (from when it was done)."),
    # app.domain.device_settings: rejection reasons and calibration errors
    N_("wrong topic"),
    N_("message too large"),
    N_("not UTF-8 text"),
    N_("malformed JSON"),
    N_("unexpected message shape"),
    N_("too many items"),
    N_("empty batch"),
    N_("a value of the wrong type"),
    N_("a value that is not a number"),
    N_("value out of range"),
    N_("unreadable time"),
    N_("time in the future"),
    N_("no known metric"),
    N_("no plant uses it"),
    N_("could not be read"),
    N_("retained copy ignored"),
    N_("raw soil value, not calibrated yet"),
    N_("This sensor has not sent a raw soil value yet. Wait for its next message and try again."),
    N_("The dry and the wet value must differ."),
    # app.domain.device_settings, devices, broker: more form and API errors
    N_("Must be text."),
    N_("Must not contain NUL characters."),
    N_("Unknown calibration setting."),
    N_("Enter a number."),
    N_(
        "Use the sensor's id (1 to 64 letters, digits, dots, dashes or underscores) or a source's device key "
        "such as zigbee2mqtt:Fern soil (at most 200 characters)."
    ),
    N_("Use 1 to 32 lower-case letters, digits, dashes or underscores, starting with a letter or digit."),
)


def select_locale() -> str:
    chosen = getattr(current_user, "locale", None) if has_request_context() else None
    if chosen in LANGUAGES:
        return chosen
    if has_request_context():
        return request.accept_languages.best_match(list(LANGUAGES), DEFAULT_LOCALE) or DEFAULT_LOCALE
    return DEFAULT_LOCALE


def locale_code() -> str:
    """The request's language as a BCP 47 tag for <html lang> ("en", "de")."""
    if not has_request_context():
        return DEFAULT_LOCALE
    return str(get_locale() or DEFAULT_LOCALE).replace("_", "-")


def init_app(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")  # relative to app/
    babel.init_app(app, locale_selector=select_locale)
    language.translate = translate_for
    app.jinja_env.globals.update(locale_code=locale_code, LANGUAGES=LANGUAGES, js_strings=js_strings)


def language_of(user):
    """`with language_of(user):` makes what is written inside it in the user's language (their
    setting; English when they chose none): notifications, made by background threads or for
    another user than the one of the request."""
    chosen = getattr(user, "locale", None)
    return force_locale(chosen if chosen in LANGUAGES else DEFAULT_LOCALE)


def translate_for(user, text, values):
    """app.domain.language's sentences in `user`'s language."""
    from flask_babel import gettext

    with language_of(user):
        return gettext(text, **values)


def js_strings() -> dict[str, str]:
    """What static/*.js writes, in the page's language: base.html and offline.html render it as
    <body data-i18n='{...}'> (no inline script: the CSP); the scripts read it (English if absent)."""
    from flask_babel import gettext

    return {
        "send_error": gettext("Could not reach PlantOps. Check your connection and try again."),
        "copied": gettext("Copied"),
        "less_than_a_minute_ago": gettext("less than a minute ago"),
        "minutes_ago": gettext("%(num)s minutes ago", num="{num}"),
        "hours_ago": gettext("%(num)s hours ago", num="{num}"),
        "days_ago": gettext("%(num)s days ago", num="{num}"),
        "offline_status": gettext(
            "Your plants as PlantOps last showed them, %(age)s (%(time)s). Readings may have changed since.",
            age="{age}",
            time="{time}",
        ),
    }

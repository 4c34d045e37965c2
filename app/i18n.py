"""Languages: Flask-Babel, the locale of each request, and the catalogs in app/translations.

The locale is the user's choice in settings, else the best match of the browser's
Accept-Language among LANGUAGES, else English. Templates call `_()`/`gettext()` (the
Jinja i18n extension Flask-Babel installs); dates and numbers go through app/filters.py,
which formats them with Babel for that locale. `babel.cfg` says where strings are
extracted from; `make translations` extracts, updates and compiles the catalogs.
"""

from flask import has_request_context, request
from flask_babel import Babel, get_locale
from flask_login import current_user

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
    app.jinja_env.globals.update(locale_code=locale_code, LANGUAGES=LANGUAGES)

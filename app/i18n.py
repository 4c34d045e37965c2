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

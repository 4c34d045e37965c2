"""Jinja filters: times in the viewer's timezone and language, numbers and readings formatted
with Babel for the request's locale, "3 min ago", and the one vocabulary of statuses and
problems (app.domain.describe) through gettext. The one formatting place for the web.
"""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from flask import has_app_context, has_request_context
from flask_babel import get_locale, gettext, ngettext
from flask_babel.speaklater import LazyString
from flask_login import current_user
from markupsafe import Markup, escape

from .clock import utcnow
from .domain import describe
from .domain.metrics import BY_KEY, Metric

# strftime directives the templates use -> CLDR patterns, so a format written once reads in
# every locale ("%a %-d %b" is "Sun 1 Nov" in English, "So. 1 Nov." in German).
STRFTIME_TO_CLDR = {
    "%Y": "yyyy",
    "%m": "MM",
    "%d": "dd",
    "%-d": "d",
    "%b": "MMM",
    "%B": "MMMM",
    "%a": "EEE",
    "%H": "HH",
    "%M": "mm",
    "%S": "ss",
    "%Z": "zzz",
}
_DIRECTIVE = re.compile(r"%-?[a-zA-Z]")


def cldr_pattern(strftime_format):
    """ "%Y-%m-%d %H:%M" -> "yyyy-MM-dd HH:mm"; literal text is quoted."""
    out, last = [], 0
    for match in _DIRECTIVE.finditer(strftime_format):
        literal = strftime_format[last : match.start()]
        if literal:
            out.append(re.sub(r"([A-Za-z]+)", r"'\1'", literal))
        out.append(STRFTIME_TO_CLDR[match.group()])
        last = match.end()
    tail = strftime_format[last:]
    if tail:
        out.append(re.sub(r"([A-Za-z]+)", r"'\1'", tail))
    return "".join(out)


def locale():
    """The locale in force: the request's, or one app.i18n.language_of forced (English else)."""
    return (get_locale() if has_app_context() else None) or "en"


def user_zone():
    name = getattr(current_user, "timezone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def temperature_unit():
    if not has_request_context():
        return "C"
    return getattr(current_user, "temperature_unit", None) or "C"


def _(text, **values):
    """gettext in a request; the English source outside one (the CLI, unit tests)."""
    return gettext(text, **values) if has_request_context() else text % values if values else text


def _n(singular, plural, num):
    if has_request_context():
        return ngettext(singular, plural, num)
    return (singular if num == 1 else plural) % {"num": num}


def display_key():
    """What, besides the data, changes how a value is written: memoised markup keys on it."""
    return (str(locale()), temperature_unit())


def localtime(value, fmt="%Y-%m-%d %H:%M", zone=None):
    """`value` in the viewer's timezone; pass `zone` when rendering many (one lookup, not one each)."""
    if value is None:
        return ""
    return format_datetime(value, cldr_pattern(fmt), tzinfo=zone or user_zone(), locale=locale())


def day(value, today=None):
    """A date as "Sun 1 Nov", with the year when it is not `today`'s."""
    fmt = "%a %-d %b" if today is None or value.year == today.year else "%a %-d %b %Y"
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, cldr_pattern(fmt), locale=locale())


def number(value, decimals=0):
    """9100 -> "9,100" (English), "9.100" (German)."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=locale())


def reading(metric, value):
    """A reading as the viewer reads it: the registry's decimals and unit, °F when chosen,
    the locale's digits ("9,100 lux", "21.5 °C", "70.7 °F")."""
    if value is None:
        return "–"
    known = metric if isinstance(metric, Metric) else BY_KEY.get(metric)
    if known is None:
        return number(value, 1)
    return known.format(value, temperature_unit(), number)


def value_text(metric, value):
    """An alert's value or threshold: a reading, or minutes of silence (metric None)."""
    return describe.format_value(metric, value, temperature_unit(), number)


def unit(metric):
    known = metric if isinstance(metric, Metric) else BY_KEY[metric]
    return known.shown(0.0, temperature_unit())[1]


def translated(text):
    """A message made elsewhere (a form error from app.domain), in the viewer's language when
    the catalog has it; never %-formatted, so a "%" in it is safe. A lazy_gettext string (a
    WTForms label or message) is translated already: it becomes plain text, escaped as any."""
    if isinstance(text, LazyString):
        return str(text)
    return gettext(text) if has_request_context() and isinstance(text, str) else text


def metric_label(key):
    """A metric's name in the viewer's language ("soil_moisture" -> "Bodenfeuchte")."""
    known = BY_KEY.get(key)
    return translated(known.label) if known else str(key).replace("_", " ")


def in_sentence(label):
    """A name inside a sentence: lower case in English ("no soil moisture readings"), as it is
    in German, where nouns keep their capital."""
    return label.lower() if str(locale()).startswith("en") else label


def link(url, text):
    """<a href="url">text</a> to pass into a translated sentence as one of its %(name)s."""
    return Markup('<a href="%s">%s</a>') % (url, escape(text))


def status_label(status):
    return _(describe.status_label(status))


def problem_label(problem):
    return _(describe.problem_label(problem))


def ago(value, now=None):
    """A short relative age: "just now", "3 min ago", "2 h ago", "4 days ago"."""
    return age_text(None if value is None else ((now or utcnow()) - value).total_seconds())


def age_text(seconds):
    """`ago` of an age in seconds (None: there never was a reading)."""
    if seconds is None:
        return _("never")
    seconds = int(seconds)
    if seconds < 45:
        return _("just now")
    if seconds < 3600:
        return _("%(n)s min ago", n=max(1, round(seconds / 60)))
    if seconds < 86400:
        return _("%(n)s h ago", n=seconds // 3600)
    days = seconds // 86400
    return _n("%(num)s day ago", "%(num)s days ago", days)


def register(app):
    for name, function in (
        ("localtime", localtime),
        ("day", day),
        ("ago", ago),
        ("number", number),
        ("status_label", status_label),
        ("problem_label", problem_label),
        ("translated", translated),
        ("metric_label", metric_label),
        ("in_sentence", in_sentence),
    ):
        app.add_template_filter(function, name)
    app.jinja_env.globals.update(reading=reading, value_text=value_text, unit_of=unit, link=link)

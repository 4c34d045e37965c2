"""Jinja filters: times in the viewer's timezone, and "3 min ago"."""

from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_login import current_user

from .clock import utcnow


def user_zone():
    name = getattr(current_user, "timezone", None) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def localtime(value, fmt="%Y-%m-%d %H:%M", zone=None):
    """`value` in the viewer's timezone; pass `zone` when rendering many (one lookup, not one each)."""
    if value is None:
        return ""
    return value.astimezone(zone or user_zone()).strftime(fmt)


def day(value, today=None):
    """A date as "Sun 1 Nov", with the year when it is not `today`'s."""
    return value.strftime("%a %-d %b" if today is None or value.year == today.year else "%a %-d %b %Y")


def ago(value, now=None):
    """A short relative age: "just now", "3 min ago", "2 h ago", "4 days ago"."""
    return age_text(None if value is None else ((now or utcnow()) - value).total_seconds())


def age_text(seconds):
    """`ago` of an age in seconds (None: there never was a reading)."""
    if seconds is None:
        return "never"
    seconds = int(seconds)
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    days = seconds // 86400
    return f"{days} day ago" if days == 1 else f"{days} days ago"


def register(app):
    app.add_template_filter(localtime)
    app.add_template_filter(day)
    app.add_template_filter(ago)

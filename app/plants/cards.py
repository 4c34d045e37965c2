"""Dashboard cards as HTML, memoised by what they show.

A card's markup depends only on its plant row (latest state, thresholds,
names), its status and its age text, so those are the cache key: polls that
re-render the dashboard after one plant changed re-render only that card.
The cache holds markup only, never a user's other data; the rows come from
the user's own query.
"""

from functools import lru_cache

from flask import current_app, url_for
from markupsafe import Markup

from ..filters import ago
from .presets import LABELS, UNITS

STATUS_LABELS = {"alert": "Needs care", "stale": "No recent data", "no_data": "Waiting for data", "ok": "OK"}
CARD_CACHE_SIZE = 20_000


def format_value(metric, value):
    return f"{value:,.0f} {UNITS[metric]}" if metric == "light" else f"{value:.1f} {UNITS[metric]}"


def card_values(row):
    """[(label, "22.5 %")] for the metrics the plant reported."""
    values = []
    for metric, label in LABELS.items():
        value = getattr(row, f"latest_{metric}")
        if value is not None:
            values.append((label, format_value(metric, value)))
    return values


@lru_cache(maxsize=CARD_CACHE_SIZE)
def _card_html(row, status, age, show_url, edit_url):
    template = current_app.jinja_env.get_template("plants/_card.html")
    return Markup(  # noqa: S704  (autoescaped template output)
        template.render(
            plant=row,
            status=status,
            age=age,
            values=card_values(row),
            show_url=show_url,
            edit_url=edit_url,
            status_labels=STATUS_LABELS,
        )
    )


def card_html(row, status, now, plants_url):
    """One card. `plants_url` is url_for("plants.list_plants"): the plant pages live
    under it as /<id> and /<id>/edit, built here without one url_for per card."""
    show_url = f"{plants_url}/{row.id}"
    return _card_html(row, status, ago(row.last_reading_at, now), show_url, f"{show_url}/edit")


def render_cards(cards, now):
    plants_url = url_for("plants.list_plants")
    return [card_html(row, status, now, plants_url) for row, status in cards]

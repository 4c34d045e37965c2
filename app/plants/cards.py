"""Dashboard cards as HTML, memoised by what they show (`CardCache`).

The cache holds markup only, never a user's other data; the rows come from the
user's own query.
"""

from collections import namedtuple
from datetime import UTC, datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any

from flask import current_app, request, url_for
from jinja2 import Template
from markupsafe import Markup

from ..domain.describe import STATUS_LABELS
from ..domain.metrics import METRICS
from ..domain.status import NO_DATA, age_is_stale, status_with_reading
from ..filters import age_text, display_key, reading

__all__ = ["STATUS_LABELS", "CardCache", "dashboard_cards"]
CARD_CACHE_SIZE = 20_000

Card = namedtuple("Card", "status sort_key html")


def card_values(row):
    """[(label, "22.5 %")] for the metrics the plant reported."""
    values = []
    for metric in METRICS:
        value = getattr(row, f"latest_{metric.key}")
        if value is not None:
            values.append((metric.label, reading(metric, value)))
    return values


def render_card(
    template: Template, row: Any, stale: bool, age: str, script_root: str, display: tuple, watered: str | None = None
) -> Card:
    """One card's markup from the card template; `script_root` is the part of its links
    that comes from the request rather than the row, `display` the viewer's language and
    units (app.filters.display_key), which change its words and numbers."""
    seen = row.last_reading_ts
    status = NO_DATA if seen is None else status_with_reading(row, stale)
    html = template.render(
        plant=row,
        seen_at=None if seen is None else datetime.fromtimestamp(round(seen, 3), UTC),
        status=status,
        age=age,
        watered=watered,
        values=card_values(row),
        show_url=url_for("plants.show_plant", plant_id=row.id),
        edit_url=url_for("plants.edit_plant", plant_id=row.id),
        status_labels=STATUS_LABELS,
    )
    return Card(status, (status.rank, row.name.lower(), row.id), html)


class CardCache:
    """Card markup by everything a card shows: its row (latest state, thresholds, names),
    whether it is stale and its age text, and the card template itself.

    A poll that re-renders the dashboard after one plant changed renders that card
    only; a changed plant or a new reading is a new row, so a new entry. With
    templates reloading (debug), an edited card template is a new template object:
    the cache then starts afresh, so the edit shows on the next request.
    """

    def __init__(self, maxsize: int = CARD_CACHE_SIZE) -> None:
        self._render = lru_cache(maxsize=maxsize)(render_card)
        self._template: Template | None = None

    def card(self, row: Any, stale: bool, age: str, watered: str | None = None) -> Card:
        template = current_app.jinja_env.get_template("plants/_card.html")  # checks the file only when reloading
        if template is not self._template:
            self._render.cache_clear()
            self._template = template
        return self._render(template, row, stale, age, request.script_root, display_key(), watered)


CARDS = CardCache()


def dashboard_cards(rows, now, status=None, watered=None):
    """The cards' markup as one piece, worst first, then by name; only `status` ones if given.
    `watered`: {plant id: its last watering} for "Last watered 2 days ago"."""
    now_seconds = now.timestamp()
    watered = watered or {}
    cards = []
    for row in rows:
        age = None if row.last_reading_ts is None else now_seconds - row.last_reading_ts
        last = watered.get(row.id)
        watered_text = None if last is None else age_text(now_seconds - last.timestamp())
        one = CARDS.card(row, age_is_stale(age, row.stale_after_minutes), age_text(age), watered_text)
        if status is None or one.status.status == status:
            cards.append(one)
    cards.sort(key=attrgetter("sort_key"))
    return Markup("".join(one.html for one in cards))  # noqa: S704  (autoescaped template output)

"""Dashboard cards as HTML, memoised by what they show.

A card depends only on its plant row (latest state, thresholds, names),
whether its reading is stale and its age text, so those are the cache key: a
poll that re-renders the dashboard after one plant changed computes the status
and markup of that card only. The cache holds markup only, never a user's
other data; the rows come from the user's own query.
"""

from collections import namedtuple
from datetime import UTC, datetime
from functools import lru_cache
from operator import attrgetter

from flask import current_app, url_for
from markupsafe import Markup

from ..domain.metrics import METRICS
from ..domain.status import NO_DATA, age_is_stale, status_with_reading
from ..filters import age_text

STATUS_LABELS = {"alert": "Needs care", "stale": "No recent data", "no_data": "Waiting for data", "ok": "OK"}
CARD_CACHE_SIZE = 20_000

Card = namedtuple("Card", "status sort_key html")


def card_values(row):
    """[(label, "22.5 %")] for the metrics the plant reported."""
    values = []
    for metric in METRICS:
        value = getattr(row, f"latest_{metric.key}")
        if value is not None:
            values.append((metric.label, metric.format(value)))
    return values


@lru_cache(maxsize=CARD_CACHE_SIZE)
def card(row, stale, age, plants_url):
    """One card. `plants_url` is url_for("plants.list_plants"): the plant pages live
    under it as /<id> and /<id>/edit, built here without one url_for per card."""
    seen = row.last_reading_ts
    status = NO_DATA if seen is None else status_with_reading(row, stale)
    show_url = f"{plants_url}/{row.id}"
    template = current_app.jinja_env.get_template("plants/_card.html")
    html = template.render(
        plant=row,
        seen_at=None if seen is None else datetime.fromtimestamp(round(seen, 3), UTC),
        status=status,
        age=age,
        values=card_values(row),
        show_url=show_url,
        edit_url=f"{show_url}/edit",
        status_labels=STATUS_LABELS,
    )
    return Card(status, (status.rank, row.name.lower(), row.id), html)


def dashboard_cards(rows, now, status=None):
    """The cards' markup as one piece, worst first, then by name; only `status` ones if given."""
    plants_url = url_for("plants.list_plants")
    now_seconds = now.timestamp()
    cards = []
    for row in rows:
        age = None if row.last_reading_ts is None else now_seconds - row.last_reading_ts
        one = card(row, age_is_stale(age, row.stale_after_minutes), age_text(age), plants_url)
        if status is None or one.status.status == status:
            cards.append(one)
    cards.sort(key=attrgetter("sort_key"))
    return Markup("".join(one.html for one in cards))  # noqa: S704  (autoescaped template output)

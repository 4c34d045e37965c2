"""PlantListCache: each gardener's `GET /api/v1/plants` body, kept until it could differ.

Building the list of 500 plants costs milliseconds; its fingerprint is one
aggregate query. An entry is rebuilt when
- the plants' fingerprint changes (`plants.queries.plants_fingerprint`, the one the
  dashboard's ETag uses too), or
- the next plant crosses its staleness limit (its status changes with the clock alone).
The entry's ETag lets a client that sent If-None-Match get a bodyless 304.
"""

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app

from ...clock import utcnow
from ...models import Plant
from ...plants.queries import plants_fingerprint

MAX_USERS = 256
# Plain rows with fast attribute access, not ORM objects: hundreds of plants stay cheap.
PLANT_COLUMNS = tuple(column.name for column in Plant.__table__.columns if column.name != "notes")
EXTENSION = "plantops.plant_list_cache"


@dataclass(frozen=True)
class Entry:
    fingerprint: str
    expires_at: datetime
    body: bytes
    etag: str


class PlantListCache:
    def __init__(self, max_users: int = MAX_USERS) -> None:
        self.max_users = max_users
        self.entries: dict[int, Entry] = {}
        self.lock = threading.Lock()

    def get(self, user_id: int, build: Callable[[datetime], tuple[bytes, Sequence[Any]]]) -> Entry:
        """The user's entry, rebuilt with `build(now) -> (body, plant rows)` when stale."""
        now = utcnow()
        fingerprint = plants_fingerprint().token  # the current user's, who is `user_id`
        entry = self.entries.get(user_id)
        if entry is None or entry.fingerprint != fingerprint or now >= entry.expires_at:
            body, rows = build(now)
            entry = Entry(fingerprint, _next_status_change(rows, now), body, hashlib.sha256(body).hexdigest()[:32])
            with self.lock:
                if len(self.entries) >= self.max_users:
                    self.entries.clear()
                self.entries[user_id] = entry
        return entry


def plant_list_cache() -> PlantListCache:
    """The application's cache (one per app, so test apps never share entries)."""
    return current_app.extensions.setdefault(EXTENSION, PlantListCache())


def _next_status_change(rows: Sequence[Any], now: datetime) -> datetime:
    """The moment the next plant becomes stale."""
    changes = [
        row.last_reading_at + timedelta(minutes=row.stale_after_minutes)
        for row in rows
        if row.last_reading_at is not None
    ]
    return min((moment for moment in changes if moment >= now), default=datetime.max.replace(tzinfo=UTC))

"""Fixed-window counters in the database, so a limit holds across every process and host."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, delete, select

from . import database
from .clock import utcnow
from .extensions import db
from .models import Throttle


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window ends


def _insert():
    return database.insert(db.session, Throttle)


def hit(key, limit, window_seconds, now=None):
    """Count one event for `key` and say whether it is within `limit` per window.

    One atomic upsert: concurrent processes never lose a count.
    """
    now = now or utcnow()
    ends = now + timedelta(seconds=window_seconds)
    statement = _insert().values(key=key, count=1, window_ends_at=ends)
    expired = Throttle.window_ends_at <= now
    statement = statement.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "count": case((expired, 1), else_=Throttle.count + 1),
            "window_ends_at": case((expired, statement.excluded.window_ends_at), else_=Throttle.window_ends_at),
        },
    ).returning(Throttle.count, Throttle.window_ends_at)
    count, window_ends_at = db.session.execute(statement).one()
    return Decision(count <= limit, count, max(1, int((window_ends_at - now).total_seconds())))


def peek(key, limit, now=None):
    """Whether `key` is over `limit` right now, without counting."""
    now = now or utcnow()
    row = db.session.scalar(select(Throttle).where(Throttle.key == key))
    if row is None or row.window_ends_at <= now:
        return Decision(True, 0, 0)
    return Decision(row.count < limit, row.count, max(1, int((row.window_ends_at - now).total_seconds())))


def reset(key):
    db.session.execute(delete(Throttle).where(Throttle.key == key))

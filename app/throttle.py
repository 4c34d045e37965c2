"""Fixed-window counters in the database, so a limit holds across every process and host."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import bindparam, case, delete, select, update

from . import database
from .clock import utcnow
from .extensions import db
from .models import Throttle


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window ends


@lru_cache(maxsize=2)
def _upsert(dialect_name):
    """The counting upsert, built once per dialect (API requests run it on every call)."""
    statement = database.insert_for(dialect_name, Throttle).values(
        key=bindparam("key"), count=1, window_ends_at=bindparam("ends")
    )
    expired = Throttle.window_ends_at <= bindparam("now")
    return statement.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "count": case((expired, 1), else_=Throttle.count + 1),
            "window_ends_at": case((expired, statement.excluded.window_ends_at), else_=Throttle.window_ends_at),
        },
    ).returning(Throttle.count, Throttle.window_ends_at)


def hit(key: str, limit: int, window_seconds: int, now: datetime | None = None) -> Decision:
    """Count one event for `key` and say whether it is within `limit` per window.

    One atomic upsert that returns the new count: concurrent processes never lose a
    count, and each sees a count of its own, so counting first and checking the
    returned count lets at most `limit` events through (peek-then-hit would not).
    """
    now = now or utcnow()
    ends = now + timedelta(seconds=window_seconds)
    values = {"key": key, "ends": ends, "now": now}
    # Core execution: the ORM would take a parameter dict for a bulk INSERT and drop "now".
    count, window_ends_at = db.session.connection().execute(_upsert(database.dialect_name(db.session)), values).one()
    return Decision(count <= limit, count, max(1, int((window_ends_at - now).total_seconds())))


def peek(key: str, limit: int, now: datetime | None = None) -> Decision:
    """Whether `key` is over `limit` right now, without counting."""
    now = now or utcnow()
    row = db.session.scalar(select(Throttle).where(Throttle.key == key))
    if row is None or row.window_ends_at <= now:
        return Decision(True, 0, 0)
    return Decision(row.count < limit, row.count, max(1, int((row.window_ends_at - now).total_seconds())))


def release(key: str, now: datetime | None = None) -> None:
    """Take back one event counted by `hit` (an attempt that turned out to be allowed)."""
    now = now or utcnow()
    db.session.execute(
        update(Throttle)
        .where(Throttle.key == key, Throttle.count > 0, Throttle.window_ends_at > now)
        .values(count=Throttle.count - 1)
    )


def reset(key: str) -> None:
    db.session.execute(delete(Throttle).where(Throttle.key == key))

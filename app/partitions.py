"""Monthly partitions of `readings` on PostgreSQL (docs/architecture.md, "Storage and retention").

Migration 0010 makes `readings` a table partitioned by range of `ts`: one partition per
calendar month (UTC), `readings_pYYYY_MM`, holding [first of the month, first of the next),
and a default partition, `readings_default`, for a reading of any other time (a device
that buffered for months, a clock set years back: the ingest accepts 2000-01-01 up to
5 minutes ahead). Without the default one such reading would fail the writer's whole batch
statement; with it every accepted reading has a home, and the partitions only decide how
fast a month is read and dropped.

`ensure_partitions` creates the current month and the next `MONTHS_AHEAD` ones; migration
0010, every serving process's `RollupSchedule` (at its start and hourly) and the daily
retention run call it. `drop_partitions_before` drops every month wholly older than a
cutoff: retention's cheap path, one catalog change instead of millions of deleted rows.
Both change the catalog under one transaction-level advisory lock, so two processes
(or hosts) running them at once take turns and the second finds the work done; the
statements themselves are idempotent too (IF NOT EXISTS / IF EXISTS). Creating or
dropping a partition locks the parent table for an instant; while it waits for that lock
behind a long query (a CSV export streaming a year) every new insert and read of readings
queues behind it, so `LOCK_TIMEOUT` keeps the wait short and a timed-out run leaves the job
to the next one (months ahead are made two months early, retention runs daily).

SQLite keeps one plain table: every function here does nothing there.
"""

import logging
import re
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from . import database
from .domain.types import DbSession

log = logging.getLogger(__name__)

TABLE = "readings"
DEFAULT_PARTITION = "readings_default"
MONTHS_AHEAD = 2
# pg_advisory_xact_lock key of every change to readings' partitions (any constant unique to it).
ADVISORY_LOCK_KEY = 0x504C_5254  # "PLRT"
LOCK_TIMEOUT = "1s"
_NAME = re.compile(r"readings_p(\d{4})_(\d{2})")


def month_start(moment: datetime) -> datetime:
    """The first instant of `moment`'s UTC month, naive (as the column stores it)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_months(month: datetime, count: int) -> datetime:
    index = month.year * 12 + month.month - 1 + count
    return month.replace(year=index // 12, month=index % 12 + 1)


def partition_name(month: datetime) -> str:
    return f"readings_p{month:%Y_%m}"


def include_in_autogenerate(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic's include_name: the partitions are made by the app, not by the models."""
    return not (type_ == "table" and name is not None and (name == DEFAULT_PARTITION or _NAME.fullmatch(name)))


def is_partitioned(session: DbSession) -> bool:
    if not database.is_postgresql(session):
        return False
    found = session.scalar(text("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:t)"), {"t": TABLE})
    return found is not None


def monthly_partitions(session: DbSession) -> dict[datetime, str]:
    """{first of the month: partition name} of readings' monthly partitions."""
    names = session.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ),
        {"t": TABLE},
    )
    months = {}
    for name in names:
        match = _NAME.fullmatch(name)
        if match:
            months[datetime(int(match[1]), int(match[2]), 1)] = name
    return months


def ensure_partitions(session: DbSession, now: datetime, ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create the partitions of `now`'s month and the `ahead` next ones that are missing;
    returns the names created (none on SQLite or when all exist: one catalog query)."""
    if not is_partitioned(session):
        session.rollback()
        return []
    wanted = [add_months(month_start(now), i) for i in range(ahead + 1)]
    if all(month in monthly_partitions(session) for month in wanted):
        session.rollback()
        return []
    created: list[str] = []
    try:
        _lock(session)
        existing = monthly_partitions(session)  # again, under the lock: another process may have made them
        for month in wanted:
            if month not in existing:
                create_partition(session, month)
                created.append(partition_name(month))
        session.commit()
    except OperationalError:  # lock_timeout: a long query held the table; the next run tries again
        session.rollback()
        log.warning("readings partitions: could not lock the table within %s; retrying next run", LOCK_TIMEOUT)
        return []
    if created:
        log.info("readings partitions created: %s", ", ".join(created))
    return created


def create_partition(session: DbSession, month: datetime) -> None:
    """Create `month`'s partition in the caller's transaction (which holds the advisory lock).

    Readings of that month stored before it existed sit in the default partition, and
    PostgreSQL refuses a new partition whose range the default partition holds rows of: then
    the default partition is detached, the new one created, those rows moved, and the
    default one attached again, all in this one transaction."""
    name, lower, upper = partition_name(month), month, add_months(month, 1)
    bounds = {"lower": lower, "upper": upper}
    create = f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {TABLE} FOR VALUES FROM ('{lower}') TO ('{upper}')"
    stray = session.scalar(
        text(f"SELECT 1 FROM {DEFAULT_PARTITION} WHERE ts >= :lower AND ts < :upper LIMIT 1"), bounds
    )
    if stray is None:
        session.execute(text(create))
        return
    session.execute(text(f"ALTER TABLE {TABLE} DETACH PARTITION {DEFAULT_PARTITION}"))
    session.execute(text(create))
    moved = (
        session.connection()
        .execute(
            text(
                f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE ts >= :lower AND ts < :upper RETURNING *) "
                f"INSERT INTO {name} SELECT * FROM moved"
            ),
            bounds,
        )
        .rowcount
    )
    session.execute(text(f"ALTER TABLE {TABLE} ATTACH PARTITION {DEFAULT_PARTITION} DEFAULT"))
    log.info("readings partition %s: moved %d readings in from the default partition", name, moved)


def drop_partitions_before(session: DbSession, cutoff: datetime) -> list[tuple[str, int]]:
    """Drop every monthly partition whose whole month is older than `cutoff`; returns
    [(name, rows it held, as PostgreSQL's statistics estimate them)]. None on SQLite."""
    if not is_partitioned(session):
        session.rollback()
        return []
    limit = month_start(cutoff)  # a month's partition ends on a first of a month
    dropped = []
    try:
        _lock(session)
        for month, name in sorted(monthly_partitions(session).items()):
            if add_months(month, 1) <= limit:
                rows = session.scalar(
                    text("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE relname = :n"), {"n": name}
                )
                session.execute(text(f"DROP TABLE IF EXISTS {name}"))
                dropped.append((name, int(rows or 0)))
        session.commit()
    except OperationalError:
        session.rollback()
        log.warning("readings partitions: could not lock the table within %s; retrying next run", LOCK_TIMEOUT)
        return []
    return dropped


def _lock(session: DbSession) -> None:
    session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})

"""Hourly rollups of readings, and deletion of raw readings older than RETENTION_DAYS.

A daily run (`flask --app wsgi retention`, from a systemd timer or cron; see
deploy/) does two things, in this order:

1. Rollup: for each plant, every complete hour from a little before its
   newest rollup up to the current hour is aggregated from the raw readings (count, and
   min/max/mean/count per metric) and upserted into `readings_hourly`. The
   lookback (`ROLLUP_LOOKBACK`) re-reads recent hours so late readings (a
   device that buffered while offline) are counted.
2. Deletion: raw readings older than the cutoff are deleted per plant, oldest
   first, `BATCH_SIZE` rows per transaction, through the (plant_id, ts) index.

Reads run outside write transactions and each write is short, so ingestion
keeps writing throughout (on SQLite a write transaction holds the one write
lock; on PostgreSQL nothing here locks more than the rows it deletes).

`hourly_series` serves long charts (a year is 8,760 points at most) from the
rollups, plus the hours not rolled up yet computed from the raw readings.
"""

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from .database import read_only
from .models import METRICS, Plant, Reading, ReadingHourly, UTCDateTime

log = logging.getLogger(__name__)

BATCH_SIZE = 5_000
ROLLUP_LOOKBACK = timedelta(days=2)
ROLLUP_CHUNK = timedelta(days=31)


@dataclass
class RetentionReport:
    hours_rolled_up: int = 0
    readings_deleted: int = 0
    delete_batches: int = 0
    rollup_seconds: float = 0.0
    delete_seconds: float = 0.0
    longest_batch_ms: float = 0.0
    plants: int = 0
    cutoff: datetime | None = None
    errors: list = field(default_factory=list)


def run_retention(session, retention_days, now=None, batch_size=BATCH_SIZE, pause=0.01, rebuild=False):
    """Roll up, then delete raw readings older than `retention_days`. Returns a RetentionReport."""
    now = now or datetime.now(UTC)
    report = RetentionReport(cutoff=now - timedelta(days=retention_days))
    plant_ids = session.scalars(select(Plant.id).order_by(Plant.id)).all()
    session.rollback()
    report.plants = len(plant_ids)

    started = time.perf_counter()
    for plant_id in plant_ids:
        report.hours_rolled_up += rollup_plant(session, plant_id, now, rebuild=rebuild)
    report.rollup_seconds = time.perf_counter() - started

    started = time.perf_counter()
    for plant_id in plant_ids:
        delete_old_readings(session, plant_id, report, batch_size, pause)
    report.delete_seconds = time.perf_counter() - started
    log.info(
        "retention: %d hours rolled up, %d readings older than %s deleted in %d batches",
        report.hours_rolled_up,
        report.readings_deleted,
        report.cutoff.isoformat(),
        report.delete_batches,
    )
    return report


def rollup_plant(session, plant_id, now, rebuild=False):
    """Aggregate a plant's complete hours since its last rollup; returns hours written."""
    end = hour_floor(now)
    with read_only():
        newest = select(func.max(ReadingHourly.hour)).where(ReadingHourly.plant_id == plant_id)
        start = None if rebuild else session.scalar(newest)
        if start is None:
            start = session.scalar(select(func.min(Reading.ts)).where(Reading.plant_id == plant_id))
        else:
            start -= ROLLUP_LOOKBACK
        session.rollback()
    if start is None:
        return 0
    written = 0
    chunk_start = hour_floor(start)
    while chunk_start < end:
        chunk_end = min(chunk_start + ROLLUP_CHUNK, end)
        with read_only():
            hours = aggregate_hours(session, plant_id, chunk_start, chunk_end)
            session.rollback()
        if hours:
            upsert_hours(session, plant_id, hours)
            session.commit()
        written += len(hours)
        chunk_start = chunk_end
    return written


def delete_old_readings(session, plant_id, report, batch_size=BATCH_SIZE, pause=0.0):
    """Delete a plant's readings older than the cutoff, `batch_size` rows per transaction."""
    oldest = (
        select(Reading.id)
        .where(Reading.plant_id == plant_id, Reading.ts < report.cutoff)
        .order_by(Reading.ts)
        .limit(batch_size)
    )
    while True:
        started = time.perf_counter()
        deleted = session.execute(delete(Reading).where(Reading.id.in_(oldest.scalar_subquery()))).rowcount
        session.commit()
        if not deleted:
            return
        report.readings_deleted += deleted
        report.delete_batches += 1
        report.longest_batch_ms = max(report.longest_batch_ms, (time.perf_counter() - started) * 1000)
        if deleted < batch_size:
            return
        if pause:
            time.sleep(pause)


def aggregate_hours(session, plant_id, start, end):
    """{hour: (count, stats)} for a plant's raw readings in [start, end)."""
    bucket = _hour_bucket(session)
    columns = [bucket.label("hour"), func.count().label("n")]
    for metric in METRICS:
        column = getattr(Reading, metric)
        columns += [func.min(column), func.max(column), func.avg(column), func.count(column)]
    query = (
        select(*columns)
        .where(Reading.plant_id == plant_id, Reading.ts >= start, Reading.ts < end)
        .group_by(bucket)
        .order_by(bucket)
    )
    hours = {}
    for row in session.execute(query):
        stats = {}
        for index, metric in enumerate(METRICS):
            low, high, mean, count = row[2 + 4 * index : 6 + 4 * index]
            if count:
                stats[metric] = {"min": low, "max": high, "mean": round(float(mean), 4), "count": count}
        hours[_as_utc(row.hour)] = (row.n, stats)
    return hours


def upsert_hours(session, plant_id, hours):
    rows = [{"plant_id": plant_id, "hour": hour, "count": n, "stats": stats} for hour, (n, stats) in hours.items()]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for start in range(0, len(rows), 1000):
        statement = dialect.insert(ReadingHourly).values(rows[start : start + 1000])
        statement = statement.on_conflict_do_update(
            index_elements=["plant_id", "hour"],
            set_={"count": statement.excluded["count"], "stats": statement.excluded.stats},
        )
        session.execute(statement)


@dataclass(frozen=True)
class HourlyPoint:
    hour: datetime
    count: int
    stats: dict

    def mean(self, metric):
        return self.stats.get(metric, {}).get("mean")


def hourly_series(plant_id, since, until, session=None):
    """Hourly points of a plant in [since, until), oldest first, for long charts.

    Rolled-up hours come from `readings_hourly`; hours after the newest rollup
    are aggregated from the raw readings on the fly (a day at most when the
    daily run is scheduled). The caller checks that the plant is the user's.
    """
    if session is None:
        from .extensions import db

        session = db.session
    rolled = session.scalars(
        select(ReadingHourly)
        .where(ReadingHourly.plant_id == plant_id, ReadingHourly.hour >= hour_floor(since), ReadingHourly.hour < until)
        .order_by(ReadingHourly.hour)
    ).all()
    points = [HourlyPoint(r.hour, r.count, r.stats) for r in rolled]
    tail_start = points[-1].hour + timedelta(hours=1) if points else hour_floor(since)
    if tail_start < until:
        tail = aggregate_hours(session, plant_id, tail_start, until)
        points += [HourlyPoint(hour, n, stats) for hour, (n, stats) in tail.items()]
    return points


def hour_floor(moment):
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hour_bucket(session):
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc("hour", Reading.ts, type_=UTCDateTime)
    return func.strftime("%Y-%m-%d %H:00:00", Reading.ts, type_=UTCDateTime)


def _as_utc(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)

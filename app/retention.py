"""Hourly rollups of readings, and deletion of raw readings older than RETENTION_DAYS.

A daily run (`flask --app wsgi retention`, from a systemd timer or cron; see
deploy/) does two things, in this order:

1. Rollup: for each device, every complete hour from a little before its
   newest rollup up to the current hour is aggregated from the raw readings
   (count, and min/max/mean/count per metric) and upserted into
   `readings_hourly`, a month of one device per INSERT ... SELECT. The lookback
   (`ROLLUP_LOOKBACK`) re-reads recent hours so late readings (a device that
   buffered while offline) are counted.
2. Deletion: raw readings older than the cutoff are deleted per device, oldest
   first, `BATCH_SIZE` rows per transaction (SQLite: `SQLITE_BATCH_SIZE`),
   through the (device_id, ts) index. A device nobody owns (discovered on the
   shared topics) keeps a bounded history: `UNOWNED_DAYS` and at most
   `UNOWNED_READINGS` readings.

Every write transaction is short and SQLite's are spaced out, so ingestion
keeps writing throughout (on SQLite a write transaction holds the one write
lock; on PostgreSQL nothing here locks more than the rows it writes).

Between daily runs, each serving process's `RollupSchedule` rolls up the last
hours every `ROLLUP_INTERVAL_SECONDS` (an hour), so the rollups stay at most about
an hour behind. The 90-day and 12-month charts (`app.plants.queries.bucketed_rollups`)
and the hourly CSV (`hourly_series`, 8,760 rows a year) read them.
"""

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from flask import Flask
from sqlalchemy import case, delete, func, literal, select

from . import database
from .clock import utcnow
from .database import read_only
from .domain.devices import plant_bindings
from .domain.metrics import KEYS as METRICS
from .domain.types import DbSession
from .extensions import db
from .models import Device, Reading, ReadingHourly

log = logging.getLogger(__name__)

BATCH_SIZE = 5_000
# SQLite has one write lock: smaller batches keep each hold short (~0.1 s on a quiet disk).
SQLITE_BATCH_SIZE = 1_000
ROLLUP_LOOKBACK = timedelta(days=2)
# The hourly run re-reads only the last hours; the daily run's lookback catches later arrivals.
SCHEDULED_LOOKBACK = timedelta(hours=2)
ROLLUP_INTERVAL_SECONDS = 3600.0
ROLLUP_FIRST_DELAY_SECONDS = 60.0
ROLLUP_CHUNK = timedelta(days=31)
SQLITE_PAUSE = 0.05
UNOWNED_DAYS = 7
UNOWNED_READINGS = 10_000


@dataclass
class RetentionReport:
    hours_rolled_up: int = 0
    readings_deleted: int = 0
    delete_batches: int = 0
    rollup_seconds: float = 0.0
    delete_seconds: float = 0.0
    longest_batch_ms: float = 0.0
    devices: int = 0
    cutoff: datetime | None = None


def run_retention(session, retention_days, now=None, batch_size=None, pause=None, rebuild=False):
    """Roll up, then delete raw readings older than `retention_days`. Returns a RetentionReport.

    `pause` (seconds) is slept between write transactions. SQLite has one write
    lock, and a writer waiting in its busy handler only retries every few
    milliseconds, so without a pause a loop of short transactions can still
    starve ingestion; PostgreSQL locks rows, not the table, and needs none.
    """
    on_sqlite = database.has_single_writer(session)
    if pause is None:
        pause = SQLITE_PAUSE if on_sqlite else 0.0
    if batch_size is None:
        batch_size = SQLITE_BATCH_SIZE if on_sqlite else BATCH_SIZE
    now = now or utcnow()
    report = RetentionReport(cutoff=now - timedelta(days=retention_days))
    # A device in no garden (discovered on the shared topics) keeps less.
    devices = session.execute(select(Device.id, Device.garden_id).order_by(Device.id)).all()
    session.rollback()
    report.devices = len(devices)

    started = time.perf_counter()
    for device_id, _owner in devices:
        report.hours_rolled_up += rollup_device(session, device_id, now, rebuild=rebuild, pause=pause)
    report.rollup_seconds = time.perf_counter() - started

    started = time.perf_counter()
    unowned_cutoff = max(report.cutoff, now - timedelta(days=UNOWNED_DAYS))
    for device_id, owner in devices:
        if owner is None:
            delete_old_readings(session, device_id, report, batch_size, pause, cutoff=unowned_cutoff)
            delete_beyond(session, device_id, UNOWNED_READINGS, report, batch_size, pause)
        else:
            delete_old_readings(session, device_id, report, batch_size, pause)
    report.delete_seconds = time.perf_counter() - started
    log.info(
        "retention: %d hours rolled up, %d readings older than %s deleted in %d batches",
        report.hours_rolled_up,
        report.readings_deleted,
        report.cutoff.isoformat(),
        report.delete_batches,
    )
    return report


def rollup_device(session, device_id, now, rebuild=False, pause=0.0, lookback=ROLLUP_LOOKBACK):
    """Aggregate a device's complete hours since its last rollup; returns hours written.

    Each chunk is one INSERT ... SELECT ... GROUP BY in the database (no rows
    travel through Python), so a write transaction lasts as long as one
    chunk's aggregation: tens of milliseconds for a month of one device.
    """
    end = hour_floor(now)
    with read_only():
        newest = select(func.max(ReadingHourly.hour)).where(ReadingHourly.device_id == device_id)
        start = None if rebuild else session.scalar(newest)
        if start is None:
            start = session.scalar(select(func.min(Reading.ts)).where(Reading.device_id == device_id))
        else:
            start -= lookback
        session.rollback()
    if start is None:
        return 0
    dialect = database.dialect_name(session)
    table = ReadingHourly.__table__
    written = 0
    chunk_start = hour_floor(start)
    while chunk_start < end:
        chunk_end = min(chunk_start + ROLLUP_CHUNK, end)
        hours = hours_query(dialect, device_id, chunk_start, chunk_end)
        statement = database.insert(session, table)
        statement = statement.from_select(["device_id", "hour", "count", "stats"], hours)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.device_id, table.c.hour],
            set_={"count": statement.excluded["count"], "stats": statement.excluded.stats},
        )
        result = session.connection().execute(statement.execution_options(preserve_rowcount=True))
        written += max(result.rowcount, 0)
        session.commit()
        chunk_start = chunk_end
        if pause:
            time.sleep(pause)
    return written


def rollup_recent(session: DbSession, now: datetime, pause: float | None = None) -> int:
    """Roll up every device's hours since its newest rollup (less SCHEDULED_LOOKBACK); returns hours written."""
    if pause is None:
        pause = SQLITE_PAUSE if database.has_single_writer(session) else 0.0
    device_ids = session.scalars(select(Device.id).order_by(Device.id)).all()
    session.rollback()
    return sum(
        rollup_device(session, device_id, now, pause=pause, lookback=SCHEDULED_LOOKBACK) for device_id in device_ids
    )


class RollupSchedule:
    """A serving process's thread that keeps the hourly rollups at most about an hour behind.

    Every process runs one; the upserts are idempotent, so two processes rolling up the
    same hour write the same rows.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.interval = app.config.get("ROLLUP_INTERVAL_SECONDS", ROLLUP_INTERVAL_SECONDS)
        self.first_delay = min(self.interval, ROLLUP_FIRST_DELAY_SECONDS)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="rollup-schedule", daemon=True)

    def _loop(self):
        delay = self.first_delay
        while not self.stopping.wait(delay):
            delay = self.interval
            try:
                self.run_once()
            except Exception:  # the next round tries again; the thread must not die
                log.exception("scheduled rollup failed")

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        self.thread.join(timeout)

    def run_once(self, now: datetime | None = None) -> int:
        with self.app.app_context():
            hours = rollup_recent(db.session, now or utcnow())
        log.info("scheduled rollup: %d device-hours", hours)
        return hours


def delete_old_readings(session, device_id, report, batch_size=BATCH_SIZE, pause=0.0, cutoff=None):
    """Delete a device's readings older than the cutoff, `batch_size` rows per transaction."""
    oldest = (
        select(Reading.id)
        .where(Reading.device_id == device_id, Reading.ts < (cutoff or report.cutoff))
        .order_by(Reading.ts)
        .limit(batch_size)
    )
    delete_batches(session, oldest, report, batch_size, pause)


def delete_beyond(session, device_id, keep, report, batch_size=BATCH_SIZE, pause=0.0):
    """Delete a device's readings older than its newest `keep`, `batch_size` rows per transaction."""
    with read_only():
        boundary = session.scalar(
            select(Reading.ts).where(Reading.device_id == device_id).order_by(Reading.ts.desc()).offset(keep).limit(1)
        )
        session.rollback()
    if boundary is None:
        return
    oldest = (
        select(Reading.id)
        .where(Reading.device_id == device_id, Reading.ts <= boundary)
        .order_by(Reading.ts)
        .limit(batch_size)
    )
    delete_batches(session, oldest, report, batch_size, pause)


def delete_batches(session, oldest, report, batch_size, pause):
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


def hours_query(dialect, device_id, start, end):
    """SELECT device_id, hour, count, stats (JSON: min/max/mean/count of each metric present)
    for a device's raw readings in [start, end), one row per hour."""
    bucket = database.hour_start(Reading.ts, dialect)
    stats = database.json_object_without_nulls(dialect, *_metric_stats(dialect))
    return (
        select(
            literal(device_id).label("device_id"),
            bucket.label("hour"),
            func.count().label("count"),
            stats.label("stats"),
        )
        .where(Reading.device_id == device_id, Reading.ts >= start, Reading.ts < end)
        .group_by(bucket)
        .order_by(bucket)
    )


def _metric_stats(dialect):
    """'metric', {min, max, mean, count} or NULL when no reading of the hour had the metric."""
    arguments = []
    for metric in METRICS:
        column = getattr(Reading, metric)
        mean = database.round_to(func.avg(column), 4, dialect)
        entry = database.json_object(
            dialect, "min", func.min(column), "max", func.max(column), "mean", mean, "count", func.count(column)
        )
        arguments += [metric, case((func.count(column) > 0, entry))]
    return arguments


class HourlyPoint(NamedTuple):
    """One bucket of a series: its start, the readings in it, and per metric min/max/mean/count."""

    hour: datetime
    count: int
    stats: dict

    def mean(self, metric):
        return self.stats.get(metric, {}).get("mean")


def hourly_series(plant_id: int, since: datetime, until: datetime, session: DbSession) -> list["HourlyPoint"]:
    """Hourly points of a plant in [since, until), oldest first, for the CSV of long ranges.

    Rolled-up hours come from `readings_hourly`; hours after the newest rollup
    are aggregated from the raw readings on the fly (about an hour while the
    serving process's `RollupSchedule` runs). The caller checks that the plant is
    the user's. Each metric comes from the device bound for it; an hour's count is the
    largest of its devices' counts.
    """
    bindings = plant_bindings(session, plant_id)
    by_device = {}
    for device_id in sorted(set(bindings.values())):
        rolled = session.execute(
            select(ReadingHourly.hour, ReadingHourly.count, ReadingHourly.stats)
            .where(
                ReadingHourly.device_id == device_id,
                ReadingHourly.hour >= hour_floor(since),
                ReadingHourly.hour < until,
            )
            .order_by(ReadingHourly.hour)
        )
        points = [HourlyPoint(*row) for row in rolled]
        tail_start = points[-1].hour + timedelta(hours=1) if points else hour_floor(since)
        if tail_start < until:
            tail = hours_query(database.dialect_name(session), device_id, tail_start, until)
            points += [
                HourlyPoint(_as_utc(row.hour), row._mapping["count"], _as_dict(row.stats))
                for row in session.execute(tail)
            ]
        by_device[device_id] = points
    if len(by_device) <= 1:
        return next(iter(by_device.values()), [])
    hours: dict[datetime, tuple[int, dict]] = {}
    for device_id, points in by_device.items():
        metrics = [m for m, d in bindings.items() if d == device_id]
        for point in points:
            count, stats = hours.get(point.hour, (0, {}))
            stats.update({m: point.stats[m] for m in metrics if m in point.stats})
            hours[point.hour] = (max(count, point.count), stats)
    return [HourlyPoint(hour, count, stats) for hour, (count, stats) in sorted(hours.items())]


def merge_points(points, every):
    """Merge consecutive points into buckets of `every` (a timedelta, e.g. a day for a year's chart).

    Min of the minimums, max of the maximums, mean weighted by each hour's count.
    """
    merged, bucket, stats, count = [], None, {}, 0
    origin = datetime(2000, 1, 1, tzinfo=UTC)
    for point in points:
        start = origin + ((point.hour - origin) // every) * every
        if start != bucket:
            if bucket is not None:
                merged.append(HourlyPoint(bucket, count, _finish(stats)))
            bucket, stats, count = start, {}, 0
        count += point.count
        for metric, values in point.stats.items():
            low, high, total, n = stats.get(metric, (values["min"], values["max"], 0.0, 0))
            stats[metric] = (
                min(low, values["min"]),
                max(high, values["max"]),
                total + values["mean"] * values["count"],
                n + values["count"],
            )
    if bucket is not None:
        merged.append(HourlyPoint(bucket, count, _finish(stats)))
    return merged


def _finish(stats):
    return {
        metric: {"min": low, "max": high, "mean": round(total / n, 4), "count": n}
        for metric, (low, high, total, n) in stats.items()
    }


def hour_floor(moment):
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _as_utc(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _as_dict(stats):
    return json.loads(stats) if isinstance(stats, str) else stats

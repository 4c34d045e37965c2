"""Time retention (hourly rollups + batched deletion) on a large readings table.

.venv/bin/python -m bench.retention [--readings 5000000] [--plants 20] [--days 520]
    [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Fills the readings table with `--readings` rows spread evenly over `--days` days
for `--plants` plants, then runs retention with RETENTION_DAYS=400 (the first run
rolls up everything and deletes the oldest ~20%), then a second, daily-style run.
While each run goes, a writer thread commits one reading every 20 ms, like the
ingest writer, and the bench prints its p99 and slowest commit (the longest
time ingestion waited on retention's locks) next to the same figures for the
writer alone during the 3 s before. Finally it times a one-year
`hourly_series` (the long chart). With a PostgreSQL URL it creates a scratch
database on that server and drops it afterwards.

.venv/bin/python -m bench.retention --database-url postgresql://... --month-readings 2000000

compares instead, in one run on PostgreSQL, the two ways to remove a month of
`--month-readings` readings (spread over `--plants` devices, a tenth as many kept in the
next month): at revision 0008 (one plain table) the batched per-device deletes that
SQLite keeps, then, the month filled again and the table partitioned by migration 0010
(timed too), dropping the month's partition. The 20 ms writer runs through both.
"""

import argparse
import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from .load import bench_env, scratch_database

NOW = datetime.now(UTC).replace(microsecond=0)
BASELINE_SECONDS = 3.0
METRIC_COLUMNS = "device_id, ts, soil_moisture, temperature, humidity, light, battery"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=5_000_000)
    parser.add_argument("--plants", type=int, default=20)
    parser.add_argument("--days", type=int, default=520)
    parser.add_argument("--retention-days", type=int, default=400)
    parser.add_argument("--database-url", help="a PostgreSQL server URL (default: SQLite in a temp folder)")
    parser.add_argument("--month-readings", type=int, help="compare dropping a month's partition with deleting it")
    args = parser.parse_args()
    if args.month_readings:
        if not args.database_url:
            raise SystemExit("bench: --month-readings compares PostgreSQL's partitions; give --database-url")
        compare_partition_drop(args)
        return

    with scratch_database(args.database_url) as url:
        env = bench_env(url)
        os.environ.update(env)
        from flask_migrate import upgrade

        from app import create_app
        from app.extensions import db

        app = create_app()
        with app.app_context():
            upgrade()
            size = f"{args.readings:,} readings, {args.plants} plants, {args.days} days"
            print(f"database: {db.engine.dialect.name}; {size}")
            started = time.perf_counter()
            fill(db.engine, args)
            print(f"filled in {time.perf_counter() - started:.0f} s")
            labels = ("first run (rollup of all history + deletion)", "second run (daily: incremental)")
            for number, label in enumerate(labels, start=1):
                run(app, db, label, args.retention_days, NOW + timedelta(days=number))
            chart(db, args)
            db.engine.dispose()


def fill(engine, args):
    """Users, plants and readings written with the driver's fastest path (COPY on PostgreSQL)."""
    add_owners(engine, args.plants)
    per_plant = args.readings // args.plants
    step = timedelta(days=args.days) / per_plant
    start = (NOW - timedelta(days=args.days)).replace(tzinfo=None)
    copy_readings(engine, args.plants, per_plant, start, step)


def add_owners(engine, plants):
    """One user, and `plants` plants each with its own device (ids 1..plants)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (email, password_hash, session_version, is_admin, disabled, timezone, created_at) "
                "VALUES ('bench@example.com', 'x', 1, false, false, 'UTC', :now)"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
        garden_id = conn.execute(
            text(
                "INSERT INTO gardens (name, personal_of_id, created_at) VALUES ('Bench garden', 1, :now) RETURNING id"
            ),
            {"now": NOW.replace(tzinfo=None)},
        ).scalar_one()
        conn.execute(
            text("INSERT INTO garden_members (garden_id, user_id, role, joined_at) VALUES (:g, 1, 'owner', :now)"),
            {"g": garden_id, "now": NOW.replace(tzinfo=None)},
        )
        for n in range(1, plants + 1):
            conn.execute(
                text(
                    "INSERT INTO plants (garden_id, name, species, location, notes, stale_after_minutes, "
                    "created_at, updated_at) VALUES (:g, :name, '', '', '', 60, :now, :now)"
                ),
                {"g": garden_id, "name": f"plant {n}", "now": NOW.replace(tzinfo=None)},
            )
            conn.execute(
                text(
                    "INSERT INTO devices (namespace, key, source, owner_id, name, model, first_seen_at, message_count, "
                    "metrics, calibration, field_map, last_raw) "
                    "VALUES ('', :key, 'native', 1, '', '', :now, 0, '[]', '{}', '{}', '{}')"
                ),
                {"key": f"dev-{n}", "now": NOW.replace(tzinfo=None)},
            )
            conn.execute(
                text("INSERT INTO plant_sensors (plant_id, metric, device_id) VALUES (:n, 'light', :n)"), {"n": n}
            )


def copy_readings(engine, plants, per_plant, start, step):
    """`per_plant` readings of each device from `start` (naive UTC), `step` apart."""

    def rows(plant):
        for i in range(per_plant):
            yield (plant, start + step * i, 40 + i % 20, 18 + i % 7, 55.0, float(i % 1000), 90.0)

    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for plant in range(1, plants + 1):
            if engine.dialect.name == "postgresql":
                with cursor.copy(f"COPY readings ({METRIC_COLUMNS}) FROM STDIN") as copy:
                    for row in rows(plant):
                        copy.write_row(row)
            else:
                cursor.execute("BEGIN")
                cursor.executemany(
                    f"INSERT INTO readings ({METRIC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    ((d, ts.strftime("%Y-%m-%d %H:%M:%S.%f"), *rest) for d, ts, *rest in rows(plant)),
                )
            raw.commit()
        if engine.dialect.name == "postgresql":
            cursor.execute("ANALYZE readings")
            raw.commit()
    finally:
        raw.close()


class Writer(threading.Thread):
    """Commits one reading every 20 ms and records how long each commit took."""

    def __init__(self, app, db, first_ts):
        super().__init__(daemon=True)
        self.first_ts = first_ts
        self.app, self.db = app, db
        self.stop = threading.Event()
        self.latencies = []

    def run(self):
        from app.models import Reading

        ts = self.first_ts
        with self.app.app_context():
            while not self.stop.is_set():
                started = time.perf_counter()
                ts += timedelta(seconds=1)
                self.db.session.add(Reading(device_id=1, ts=ts, light=1.0))
                self.db.session.commit()
                self.latencies.append((time.perf_counter() - started) * 1000)
                self.stop.wait(0.02)


def run(app, db, label, retention_days, writer_first_ts):
    from app.retention import run_retention

    writer = Writer(app, db, writer_first_ts)
    writer.start()
    time.sleep(BASELINE_SECONDS)
    baseline = sorted(writer.latencies)
    try:
        report = run_retention(db.session, retention_days)
    finally:
        writer.stop.set()
        writer.join()
    latencies = sorted(writer.latencies[len(baseline) :])
    p99 = percentile(latencies, 0.99)
    print(
        f"{label}: rollup {report.hours_rolled_up:,} device-hours in {report.rollup_seconds:.1f} s; "
        f"deleted {report.readings_deleted:,} readings in {report.delete_batches:,} batches, "
        f"{report.delete_seconds:.1f} s (longest batch {report.longest_batch_ms:.0f} ms); "
        f"concurrent writer: {len(latencies)} commits, p99 {p99:.1f} ms, max {max(latencies, default=0):.1f} ms "
        f"(alone: p99 {percentile(baseline, 0.99):.1f} ms, max {max(baseline, default=0):.1f} ms)"
    )


def compare_partition_drop(args):
    """A month of readings removed by batched deletes (plain table) and by dropping its partition."""
    from sqlalchemy import func, select

    with scratch_database(args.database_url) as url:
        os.environ.update(bench_env(url))
        from flask_migrate import upgrade

        from app import create_app, partitions
        from app.extensions import db
        from app.models import Reading
        from app.retention import RetentionReport, delete_old_readings

        month = datetime(2025, 1, 1)
        cutoff = datetime(2025, 2, 1, tzinfo=UTC)
        per_plant = args.month_readings // args.plants
        step = timedelta(days=31) / per_plant
        app = create_app()
        with app.app_context():
            upgrade(revision="0008")
            add_owners(db.engine, args.plants)
            copy_readings(db.engine, args.plants, per_plant, month, step)
            copy_readings(db.engine, args.plants, per_plant // 10, datetime(2025, 2, 1), step)
            total = db.session.scalar(select(func.count()).select_from(Reading))
            db.session.rollback()
            print(
                f"PostgreSQL; {per_plant * args.plants:,} readings in January 2025 of {total:,}, {args.plants} devices"
            )

            def batched():
                report = RetentionReport(cutoff=cutoff)
                for device_id in range(1, args.plants + 1):
                    delete_old_readings(db.session, device_id, report)
                return f"{report.readings_deleted:,} readings in {report.delete_batches:,} batches"

            timed(app, db, "batched deletes (plain table, 5,000 a transaction)", batched)
            copy_readings(db.engine, args.plants, per_plant, month, step)
            started = time.perf_counter()
            upgrade()
            print(f"migration 0010 (partition {total:,} readings): {time.perf_counter() - started:.1f} s")

            def drop():
                dropped = partitions.drop_partitions_before(db.session, cutoff)
                return ", ".join(f"{name} (about {rows:,} readings)" for name, rows in dropped)

            timed(app, db, "dropping the month's partition", drop)
            left = db.session.scalar(select(func.count()).select_from(Reading).where(Reading.ts < cutoff))
            print(f"readings left before the cutoff: {left}")
            db.session.rollback()
            db.engine.dispose()


def timed(app, db, label, work):
    """Run `work` while the 20 ms writer commits; print its time and the writer's latencies."""
    writer = Writer(app, db, NOW + timedelta(days=len(label)))
    writer.start()
    time.sleep(BASELINE_SECONDS)
    baseline = sorted(writer.latencies)
    started = time.perf_counter()
    try:
        what = work()
    finally:
        seconds = time.perf_counter() - started
        writer.stop.set()
        writer.join()
    latencies = sorted(writer.latencies[len(baseline) :])
    print(
        f"{label}: {what}: {seconds:.2f} s; concurrent writer: {len(latencies)} commits, "
        f"p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies, default=0):.1f} ms "
        f"(alone: p99 {percentile(baseline, 0.99):.1f} ms, max {max(baseline, default=0):.1f} ms)"
    )


def percentile(sorted_values, fraction):
    return sorted_values[max(0, int(len(sorted_values) * fraction) - 1)] if sorted_values else 0.0


def chart(db, args):
    from app.retention import hourly_series, merge_points

    started = time.perf_counter()
    points = hourly_series(1, NOW - timedelta(days=365), NOW, db.session)
    db.session.rollback()
    hourly_ms = (time.perf_counter() - started) * 1000
    days = merge_points(points, timedelta(days=1))
    merged_ms = (time.perf_counter() - started) * 1000
    print(
        f"1-year chart: hourly_series {len(points):,} points in {hourly_ms:.0f} ms; "
        f"merged into {len(days)} daily points, {merged_ms:.0f} ms in all"
    )


if __name__ == "__main__":
    sys.exit(main())

"""PostgreSQL's monthly partitions of readings (app/partitions.py): made ahead, safely from
two processes at once, dropped by retention; and the charts', CSV's and latest state's
queries touch only the partitions of their time range, with custom and with generic plans
(auto_explain sends the plan each statement really ran with back as a notice)."""

import json
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from app import partitions, retention
from app.domain.evaluate import recent_readings
from app.domain.readings import RECENT_AFTER, RECENT_BEFORE, recent_values
from app.extensions import db
from app.models import Device, Reading
from app.plants import queries
from app.retention import RollupSchedule, run_retention
from tests.fixtures.readings import device_of, new_plant, seed_readings

from ..conftest import make_user


@pytest.fixture
def pg(app):
    """The app on PostgreSQL; partitions a test makes are dropped after it."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL partitions")
        before = set(partitions.monthly_partitions(db.session).values())
        db.session.rollback()
    yield app
    with app.app_context():
        for name in set(partitions.monthly_partitions(db.session).values()) - before:
            db.session.execute(text(f"DROP TABLE {name}"))
        db.session.commit()


def partition_of(app, ts):
    with app.app_context():
        return db.session.scalar(select(text("tableoid::regclass::text")).select_from(Reading).where(Reading.ts == ts))


def add_plant(app):
    user_id = make_user(app)
    with app.app_context():
        plant = new_plant(db.session, user_id, name="Basil", device_id="dev-1")
        db.session.commit()
        return plant.id


def test_the_migration_partitions_readings_by_month_ahead_with_a_default(pg):
    with pg.app_context():
        months = partitions.monthly_partitions(db.session)
        assert partitions.is_partitioned(db.session)
        default = db.session.scalar(text("SELECT to_regclass('readings_default')::text"))
    current = partitions.month_start(datetime.now(UTC))
    assert {current, partitions.add_months(current, 1), partitions.add_months(current, 2)} <= set(months)
    assert default == "readings_default"


def test_ensure_partitions_makes_the_months_ahead_once_even_from_two_processes_at_once(pg):
    now = datetime(2031, 5, 20, tzinfo=UTC)
    results, errors = [], []
    barrier = threading.Barrier(2)

    def make():
        try:
            with pg.app_context():
                barrier.wait()
                results.append(partitions.ensure_partitions(db.session, now))
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=make) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(name for names in results for name in names) == [
        "readings_p2031_05",
        "readings_p2031_06",
        "readings_p2031_07",
    ]
    with pg.app_context():
        assert partitions.ensure_partitions(db.session, now) == []


def test_readings_of_a_month_without_its_partition_wait_in_the_default_and_move_in_when_it_is_made(pg):
    plant_id = add_plant(pg)
    ts = datetime(2031, 9, 10, 8, tzinfo=UTC)
    seed_readings(pg, plant_id, [{"ts": ts, "soil_moisture": 40.0}], now=ts)
    assert partition_of(pg, ts) == "readings_default"

    with pg.app_context():
        assert "readings_p2031_09" in partitions.ensure_partitions(db.session, ts)

    assert partition_of(pg, ts) == "readings_p2031_09"


def test_the_writer_stores_a_repeated_reading_once_in_its_month(pg):
    plant_id = add_plant(pg)
    ts = datetime(2031, 9, 10, 8, tzinfo=UTC)
    with pg.app_context():
        partitions.ensure_partitions(db.session, ts)
    first = seed_readings(pg, plant_id, [{"ts": ts, "soil_moisture": 40.0}], now=ts)
    again = seed_readings(pg, plant_id, [{"ts": ts, "soil_moisture": 40.0}], now=ts)

    assert (first.stored, again.stored) == (1, 0)
    assert partition_of(pg, ts) == "readings_p2031_09"


def test_retention_drops_the_months_past_the_cutoff_whole_and_keeps_the_rest(pg, monkeypatch):
    monkeypatch.setattr(retention, "UNOWNED_READINGS", 3)
    plant_id = add_plant(pg)
    with pg.app_context():
        partitions.ensure_partitions(db.session, datetime(2020, 1, 15))
        stray = Device(namespace="", key="stray-1", source="native")
        db.session.add(stray)
        db.session.commit()
        stray_id = stray.id
    now = datetime(2020, 3, 25, tzinfo=UTC)  # cutoff 30 days back: 2020-02-24
    january = [datetime(2020, 1, 5, tzinfo=UTC) + timedelta(hours=h) for h in range(10)]
    february = [datetime(2020, 2, 2, tzinfo=UTC) + timedelta(hours=h) for h in range(10)]
    march = [datetime(2020, 3, 20, tzinfo=UTC) + timedelta(hours=h) for h in range(5)]
    before = [datetime(2019, 6, 1, tzinfo=UTC)]  # no partition: in the default, deleted row by row
    seed_readings(pg, plant_id, [{"ts": ts, "light": 1.0} for ts in january + february + march + before], now=now)
    with pg.app_context():
        db.session.add_all(Reading(device_id=stray_id, ts=ts, light=1.0) for ts in march)
        db.session.commit()
        device_id = db.session.scalar(select(Device.id).where(Device.key == device_of(pg, plant_id)[1]))

        report = run_retention(db.session, 30, now=now, pause=0)
        left = db.session.scalars(select(Reading.ts).where(Reading.device_id == device_id).order_by(Reading.ts)).all()
        stray_left = db.session.scalar(select(func.count()).where(Reading.device_id == stray_id))

    assert report.partitions_dropped == ["readings_p2020_01"]
    assert report.readings_deleted == 1 + 2  # the default's one, and the unowned device's beyond its 3
    assert left == february + march  # February straddles the cutoff: kept whole
    assert stray_left == 3


@contextmanager
def plans(app, generic=False):
    """The plans of the statements run inside, as auto_explain reports them: a list of
    (statement, set of relations scanned, partitions removed at executor start)."""
    captured = []
    conn = db.session.connection()
    driver = conn.connection.driver_connection

    def notice(diagnostic):
        message = diagnostic.message_primary or ""
        if message.startswith("duration:"):
            document = json.loads(message.split("plan:", 1)[1])
            captured.append((document["Query Text"], relations(document["Plan"]), removed(document["Plan"])))

    for setting in (
        "LOAD 'auto_explain'",
        "SET auto_explain.log_min_duration = 0",
        "SET auto_explain.log_format = json",
        "SET client_min_messages = log",
        f"SET plan_cache_mode = {'force_generic_plan' if generic else 'auto'}",
    ):
        conn.exec_driver_sql(setting)
    driver.add_notice_handler(notice)
    try:
        yield captured
    finally:
        driver.remove_notice_handler(notice)
        conn.exec_driver_sql("SET auto_explain.log_min_duration = -1")
        conn.exec_driver_sql("RESET client_min_messages")
        conn.exec_driver_sql("RESET plan_cache_mode")


def relations(node):
    found = {node["Relation Name"]} if "Relation Name" in node else set()
    for child in node.get("Plans", []):
        found |= relations(child)
    return found


def removed(node):
    """Partitions a generic plan pruned when it started (plan-time pruning leaves no trace)."""
    return node.get("Subplans Removed", 0) + sum(removed(child) for child in node.get("Plans", []))


def readings_partitions(captured):
    """The readings partitions each statement that read readings touched. A statement's plan
    comes when its portal closes: at the next statement at the latest, hence the SELECT 1."""
    db.session.execute(text("SELECT 1"))
    return [
        {name for name in scanned if name.startswith("readings_p") or name == "readings_default"}
        for query, scanned, _removed in captured
        if "FROM readings" in query and "readings_hourly" not in query
    ]


@pytest.mark.parametrize("generic", [False, True], ids=["custom plan", "generic plan"])
def test_charts_csv_and_latest_state_read_only_the_partitions_in_their_range(pg, generic):
    plant_id = add_plant(pg)
    now = datetime.now(UTC).replace(microsecond=0)
    current = partitions.partition_name(partitions.month_start(now))
    day_ago = partitions.partition_name(partitions.month_start(now - timedelta(hours=24)))
    with pg.app_context():
        partitions.ensure_partitions(db.session, now - timedelta(days=7))  # the 24 h and 7 d windows' months
        partitions.ensure_partitions(db.session, datetime(2030, 1, 1))  # months after every window
        partitions.ensure_partitions(db.session, datetime(2020, 1, 1), ahead=0)  # and one before
    seed_readings(pg, plant_id, [{"ts": now - timedelta(minutes=10 * i), "soil_moisture": 40.0} for i in range(12)])

    with pg.app_context(), plans(pg, generic) as captured:
        for _ in range(6):  # psycopg prepares a statement on its 5th run: then PostgreSQL may plan it generic
            queries.bucketed_readings(plant_id, now - timedelta(hours=24), now, 120)
        chart = readings_partitions(captured)
        pruned_at_start = [count for query, _scanned, count in captured if "FROM readings" in query]
        captured.clear()
        list(queries.reading_rows(plant_id, now - timedelta(hours=24), now))
        csv_day = readings_partitions(captured)
        captured.clear()
        list(queries.reading_rows(plant_id, now - timedelta(days=7), None))  # the CSV view's "7d": no end
        csv_week = readings_partitions(captured)
        captured.clear()
        recent = recent_values(db.session, plant_id, "soil_moisture", 3)
        newest = recent_readings(db.session, plant_id, 3)
        latest = readings_partitions(captured)

    assert chart
    assert all(touched == {current, day_ago} for touched in chart)
    if generic:  # the planner could not prune without the values: the executor did, at its start
        assert all(count > 0 for count in pruned_at_start)
    assert csv_day
    assert all(touched == {current, day_ago} for touched in csv_day)
    assert csv_week
    assert all("readings_p2020_01" not in touched and "readings_p2030_01" in touched for touched in csv_week)
    assert (len(recent), len(newest)) == (3, 3)
    week = {
        partitions.partition_name(partitions.month_start(moment))
        for moment in (now - RECENT_BEFORE, now + RECENT_AFTER)
    }
    assert latest == [week, week]  # recent_values' query, then recent_readings'


def test_each_serving_process_makes_the_months_ahead_when_its_rollup_thread_starts(pg):
    ahead = partitions.partition_name(partitions.add_months(partitions.month_start(datetime.now(UTC)), 2))
    with pg.app_context():
        db.session.execute(text(f"DROP TABLE {ahead}"))
        db.session.commit()
    schedule = RollupSchedule(pg)
    schedule.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with pg.app_context():
                if ahead in partitions.monthly_partitions(db.session).values():
                    break
            time.sleep(0.1)
    finally:
        schedule.stop()
    with pg.app_context():
        assert ahead in partitions.monthly_partitions(db.session).values()


def test_making_a_partition_behind_a_long_read_gives_up_within_the_lock_timeout_and_retries_later(pg):
    now = datetime(2031, 11, 5, tzinfo=UTC)
    with pg.app_context():
        reader = db.engine.connect()
        reader.exec_driver_sql("BEGIN")
        reader.exec_driver_sql("SELECT count(*) FROM readings")  # holds its lock until the transaction ends
        try:
            started = time.monotonic()
            assert partitions.ensure_partitions(db.session, now) == []
            waited = time.monotonic() - started
        finally:
            reader.exec_driver_sql("ROLLBACK")
            reader.close()
        assert waited < 3
        assert "readings_p2031_11" in partitions.ensure_partitions(db.session, now)

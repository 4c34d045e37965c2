"""Hourly rollups and deletion of old raw readings, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app import retention
from app.domain.devices import primary_device
from app.extensions import db
from app.models import Device, Plant, Reading, ReadingHourly
from app.retention import HourlyPoint, hourly_series, merge_points, run_retention
from tests.fixtures.readings import new_plant

from ..conftest import make_user

NOW = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)


def add_plant(app, device_id="dev-1", email="gardener@example.com"):
    user_id = make_user(app, email=email)
    with app.app_context():
        plant = new_plant(db.session, user_id, name="Basil", device_id=device_id)
        db.session.commit()
        return plant.id


def dev(app, plant_id):
    """The id of the plant's device (readings and rollups belong to it)."""
    with app.app_context():
        return primary_device(db.session, db.session.get(Plant, plant_id)).id


def add_readings(app, plant_id, times, device_id=None, **metrics):
    device = dev(app, plant_id)
    with app.app_context():
        db.session.add_all(
            Reading(device_id=device, ts=ts, **{k: v(i) for k, v in metrics.items()}) for i, ts in enumerate(times)
        )
        db.session.commit()


def add_device_readings(app, device, times):
    with app.app_context():
        db.session.add_all(Reading(device_id=device, ts=ts, light=1.0) for ts in times)
        db.session.commit()


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_rollup_keeps_min_max_mean_and_count_per_metric_and_hour(app):
    plant_id = add_plant(app)
    hour = datetime(2026, 11, 20, 8, tzinfo=UTC)
    times = [hour + timedelta(minutes=m) for m in (0, 15, 30, 45)]
    add_readings(app, plant_id, times, soil_moisture=lambda i: 40.0 + i, temperature=lambda i: None if i else 20.0)

    with app.app_context():
        report = run_retention(db.session, 400, now=NOW, pause=0)
        row = db.session.get(ReadingHourly, (dev(app, plant_id), hour))

    assert report.hours_rolled_up == 1
    assert row.count == 4
    assert row.stats["soil_moisture"] == {"min": 40.0, "max": 43.0, "mean": 41.5, "count": 4}
    assert row.stats["temperature"] == {"min": 20.0, "max": 20.0, "mean": 20.0, "count": 1}
    assert "humidity" not in row.stats


def test_readings_older_than_retention_are_deleted_after_their_hours_are_rolled_up(app):
    plant_id = add_plant(app)
    old = [NOW - timedelta(days=10, minutes=1 + 7 * i) for i in range(30)]
    recent = [NOW - timedelta(days=9, minutes=5 * i) for i in range(12)]
    add_readings(app, plant_id, old + recent, soil_moisture=lambda i: float(i))

    with app.app_context():
        report = run_retention(db.session, 10, now=NOW, batch_size=7, pause=0)

    assert report.readings_deleted == 30
    assert report.delete_batches == 5
    assert count(app, Reading) == 12
    assert count(app, Reading, Reading.ts < NOW - timedelta(days=10)) == 0
    with app.app_context():
        rolled = db.session.scalar(select(func.sum(ReadingHourly.count)))
    assert rolled == 42


def test_a_second_run_only_recomputes_recent_hours_and_counts_late_readings(app):
    plant_id = add_plant(app)
    start = NOW - timedelta(days=5)
    add_readings(app, plant_id, [start + timedelta(hours=h) for h in range(100)], humidity=lambda i: 50.0)
    with app.app_context():
        first = run_retention(db.session, 400, now=NOW, pause=0)
    late_hour = (start + timedelta(hours=90)).replace(minute=0)
    add_readings(app, plant_id, [late_hour + timedelta(minutes=1)], humidity=lambda i: 90.0)

    with app.app_context():
        second = run_retention(db.session, 400, now=NOW, pause=0)
        row = db.session.get(ReadingHourly, (dev(app, plant_id), late_hour))

    assert first.hours_rolled_up == 100
    assert second.hours_rolled_up < first.hours_rolled_up
    assert row.count == 2
    assert row.stats["humidity"]["max"] == 90.0


def test_retention_leaves_other_plants_readings_within_the_window_alone(app):
    mine = add_plant(app)
    theirs = add_plant(app, device_id="dev-2", email="other@example.com")
    add_readings(app, mine, [NOW - timedelta(days=500)], light=lambda i: 1.0)
    add_readings(app, theirs, [NOW - timedelta(days=5)], light=lambda i: 2.0)

    with app.app_context():
        run_retention(db.session, 400, now=NOW, pause=0)

    assert count(app, Reading, Reading.device_id == dev(app, mine)) == 0
    assert count(app, Reading, Reading.device_id == dev(app, theirs)) == 1
    assert count(app, ReadingHourly, ReadingHourly.device_id == dev(app, mine)) == 1


def test_a_device_nobody_owns_keeps_7_days_and_at_most_10000_readings(app, monkeypatch):
    monkeypatch.setattr(retention, "UNOWNED_READINGS", 5)
    owned = dev(app, add_plant(app))
    with app.app_context():
        stray = Device(namespace="", key="stray-1", source="native")
        crowd = Device(namespace="", key="crowd-1", source="native")
        db.session.add_all([stray, crowd])
        db.session.commit()
        stray, crowd = stray.id, crowd.id
    week_and_more = [NOW - timedelta(days=8, hours=h) for h in range(3)]
    add_device_readings(app, owned, week_and_more)
    add_device_readings(app, stray, week_and_more + [NOW - timedelta(days=6)])
    add_device_readings(app, crowd, [NOW - timedelta(hours=h) for h in range(1, 9)])

    with app.app_context():
        run_retention(db.session, 400, now=NOW, pause=0)

    assert count(app, Reading, Reading.device_id == owned) == 3  # its owner's retention: 400 days
    assert count(app, Reading, Reading.device_id == stray) == 1  # older than 7 days: gone
    with app.app_context():
        kept = db.session.scalars(select(Reading.ts).where(Reading.device_id == crowd).order_by(Reading.ts)).all()
    assert kept == [NOW - timedelta(hours=h) for h in range(5, 0, -1)]  # the newest 5


def test_hourly_series_joins_rollups_with_hours_not_rolled_up_yet(app):
    plant_id = add_plant(app)
    first_hour = NOW.replace(minute=0) - timedelta(hours=30)
    add_readings(app, plant_id, [first_hour + timedelta(hours=h) for h in range(24)], soil_moisture=lambda i: 30.0)
    with app.app_context():
        run_retention(db.session, 400, now=NOW - timedelta(hours=10), pause=0)
    add_readings(
        app,
        plant_id,
        [first_hour + timedelta(hours=h, minutes=30) for h in range(20, 30)],
        soil_moisture=lambda i: 60.0,
    )

    with app.app_context():
        points = hourly_series(plant_id, NOW - timedelta(days=365), NOW, db.session)

    hours = [p.hour for p in points]
    assert hours == sorted(hours)
    assert len(hours) == len(set(hours)) == 30
    assert points[0].hour == first_hour
    assert points[0].mean("soil_moisture") == 30.0
    assert points[-1].mean("soil_moisture") == 60.0
    assert points[22].count == 2
    assert points[22].mean("soil_moisture") == 45.0


def test_hourly_series_of_a_plant_without_readings_is_empty(app):
    plant_id = add_plant(app)
    with app.app_context():
        assert hourly_series(plant_id, NOW - timedelta(days=365), NOW, db.session) == []


def test_rebuild_recomputes_every_hour(app):
    plant_id = add_plant(app)
    add_readings(app, plant_id, [NOW - timedelta(days=30, hours=h) for h in range(5)], battery=lambda i: 80.0)
    with app.app_context():
        run_retention(db.session, 400, now=NOW, pause=0)
        db.session.execute(ReadingHourly.__table__.delete())
        db.session.commit()
        report = run_retention(db.session, 400, now=NOW, rebuild=True, pause=0)
    assert report.hours_rolled_up == 5


def test_retention_command_uses_retention_days(make_app):
    app = make_app(RETENTION_DAYS=30)
    plant_id = add_plant(app)
    now = datetime.now(UTC)
    add_readings(app, plant_id, [now - timedelta(days=31), now - timedelta(days=29)], light=lambda i: 5.0)

    result = app.test_cli_runner().invoke(args=["retention"])

    assert result.exit_code == 0, result.output
    assert "deleted 1 readings" in result.output
    assert count(app, Reading) == 1


@pytest.mark.parametrize("args", [["--days", "0"], ["--days", "x"], ["--batch-size", "5"]])
def test_retention_command_refuses_bad_options(runner, args):
    result = runner.invoke(args=["retention", *args])
    assert result.exit_code == 2


def test_merge_points_makes_daily_points_with_weighted_means():
    day = datetime(2026, 3, 1, tzinfo=UTC)
    points = [
        HourlyPoint(day + timedelta(hours=1), 3, {"light": {"min": 1.0, "max": 5.0, "mean": 2.0, "count": 3}}),
        HourlyPoint(day + timedelta(hours=9), 1, {"light": {"min": 0.5, "max": 9.0, "mean": 6.0, "count": 1}}),
        HourlyPoint(day + timedelta(days=1, hours=2), 2, {"battery": {"min": 80, "max": 81, "mean": 80.5, "count": 2}}),
    ]

    merged = merge_points(points, timedelta(days=1))

    assert [p.hour for p in merged] == [day, day + timedelta(days=1)]
    assert merged[0].count == 4
    assert merged[0].stats["light"] == {"min": 0.5, "max": 9.0, "mean": 3.0, "count": 4}
    assert merged[1].stats == {"battery": {"min": 80, "max": 81, "mean": 80.5, "count": 2}}
    assert merge_points([], timedelta(days=1)) == []

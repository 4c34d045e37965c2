"""The 90-day and 12-month charts and the hourly CSV read the hourly rollups (both databases)."""

import csv
import io
import re
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import Reading, ReadingHourly
from app.plants.queries import bucketed_readings, bucketed_rollups
from app.retention import RollupSchedule, hour_floor, run_retention
from tests.fixtures.readings import device_ref, new_plant

from ..fixtures.readings import seed_readings

STEP = timedelta(hours=3)
SPAN = timedelta(days=400)  # thirteen months of readings, one every three hours


def add_plant(app, user_id):
    with app.app_context():
        plant = new_plant(db.session, user_id, device_id="dev-fern")
        db.session.commit()
        return plant.id


def seed_months(app, plant_id, end, span=SPAN, step=STEP):
    """Soil moisture 30, 40, 50, 30, ... and temperature 20.0 for every reading."""
    count = int(span / step)
    rows = [
        {"ts": end - step * i - timedelta(minutes=1), "soil_moisture": 30.0 + 10 * (i % 3), "temperature": 20.0}
        for i in range(count)
    ]
    seed_readings(app, plant_id, rows)
    return count


def roll_up_and_age_out(app, now, keep_days=30):
    """The daily job: roll up, then delete raw readings older than `keep_days`."""
    with app.app_context():
        run_retention(db.session, keep_days, now=now, pause=0)


@contextmanager
def counted_statements(app):
    statements = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def polylines(html):
    return [points.split() for points in re.findall(r'<polyline class="chart-line" points="([^"]*)"', html)]


@pytest.mark.parametrize(("range_key", "days"), [("90d", 90), ("1y", 365)])
def test_long_charts_cover_their_whole_range_after_retention_deleted_the_raw_readings(
    app, htmx, user_id, range_key, days
):
    plant_id = add_plant(app, user_id)
    now = datetime.now(UTC)
    seed_months(app, plant_id, now)
    roll_up_and_age_out(app, now, keep_days=30)

    html = htmx.get(f"/plants/{plant_id}?range={range_key}").get_data(as_text=True)

    lines = polylines(html)
    assert len(lines) == 2  # soil moisture and temperature
    for points in lines:
        # 300 buckets of 7.2 h (90 days) or 29.2 h (a year), all but a few holding readings
        assert 290 <= len(points) <= 300
    xs = [float(point.split(",")[0]) for point in lines[0]]
    assert xs[0] < 70  # starts at the left edge: the months without raw readings are drawn
    assert f"over the last {days} days" in html or "over the last 12 months" in html


def test_rollup_buckets_agree_with_the_raw_readings(app, user_id):
    plant_id = add_plant(app, user_id)
    now = datetime.now(UTC)
    seed_months(app, plant_id, now, span=timedelta(days=90))
    with app.app_context():
        run_retention(db.session, 400, now=now, pause=0)
    with app.test_request_context():
        start = now - timedelta(days=90)
        raw = dict(bucketed_readings(plant_id, start, now, 300))
        rolled = dict(bucketed_rollups(plant_id, start, now, 300))
    assert rolled.keys() == raw.keys()
    for index, values in raw.items():
        for metric, (low, mean, high) in values.items():
            got = rolled[index][metric]
            assert (got[0], got[2]) == (low, high)
            assert got[1] == pytest.approx(mean, abs=1e-3) if mean is not None else got[1] is None


def test_hours_not_rolled_up_yet_come_from_the_raw_readings(app, user_id):
    plant_id = add_plant(app, user_id)
    now = datetime.now(UTC)
    seed_months(app, plant_id, now - timedelta(days=10), span=timedelta(days=60))
    roll_up_and_age_out(app, now - timedelta(days=10), keep_days=400)
    seed_readings(app, plant_id, [{"ts": now - timedelta(minutes=5), "soil_moisture": 99.0}])
    with app.test_request_context():
        series = bucketed_rollups(plant_id, now - timedelta(days=90), now, 300)
    assert series[-1] == (299, {**series[-1][1], "soil_moisture": (99.0, 99.0, 99.0)})


def test_a_year_chart_costs_the_same_few_queries_and_rows_as_a_month_of_readings(app, htmx, user_id):
    plant_id = add_plant(app, user_id)
    now = datetime.now(UTC)
    seed_months(app, plant_id, now, span=timedelta(days=30))
    roll_up_and_age_out(app, now)
    with counted_statements(app) as month:
        htmx.get(f"/plants/{plant_id}?range=1y")
    seed_months(app, plant_id, now - timedelta(days=30), span=timedelta(days=330))
    roll_up_and_age_out(app, now, keep_days=400)
    with counted_statements(app) as year:
        htmx.get(f"/plants/{plant_id}?range=1y")
    assert len(year) == len(month)
    assert sum("readings" in s for s in year) <= 3


def test_range_selector_and_csv_form_offer_90_days_and_12_months(app, client, user_id):
    plant_id = add_plant(app, user_id)
    html = client.get(f"/plants/{plant_id}").get_data(as_text=True)
    assert f'href="/plants/{plant_id}?range=90d"' in html
    assert f'href="/plants/{plant_id}?range=1y"' in html
    assert '<option value="1y">Last 12 months (hourly summary)</option>' in html
    assert '<option value="7d">Last 7 days</option>' in html


def test_a_year_of_csv_is_one_row_per_hour_from_the_rollups(app, client, user_id):
    plant_id = add_plant(app, user_id)
    now = datetime.now(UTC)
    seed_months(app, plant_id, now)
    roll_up_and_age_out(app, now, keep_days=30)

    response = client.get(f"/plants/{plant_id}/readings.csv?range=1y")

    assert response.headers["Content-Disposition"] == f'attachment; filename="plant-{plant_id}-hourly-1y.csv"'
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    header, body = rows[0], rows[1:]
    assert header[:5] == ["ts", "readings", "soil_moisture_min", "soil_moisture_mean", "soil_moisture_max"]
    assert 365 * 8 - 2 <= len(body) <= 365 * 8 + 1  # one reading every three hours: 8 hours a day hold one
    assert body[0][0] < (now - timedelta(days=364)).strftime("%Y-%m-%dT%H")  # older than the raw readings kept
    first = dict(zip(header, body[0], strict=True))
    assert first["readings"] == "1"
    assert float(first["soil_moisture_min"]) == float(first["soil_moisture_max"]) in (30.0, 40.0, 50.0)
    assert first["humidity_mean"] == ""


def test_short_range_csv_stays_raw_readings(app, client, user_id):
    plant_id = add_plant(app, user_id)
    now = datetime.now(UTC)
    seed_months(app, plant_id, now, span=timedelta(days=2))
    response = client.get(f"/plants/{plant_id}/readings.csv?range=7d")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:2] == ["ts", "soil_moisture"]
    assert len(rows) == 1 + 16


def newest_rollup(app, plant_id):
    with app.app_context():
        device = device_ref(db.session, "dev-fern")
        return db.session.scalar(select(func.max(ReadingHourly.hour)).where(ReadingHourly.device_id == device))


def test_the_scheduled_rollup_keeps_the_rollups_within_the_last_hour(app, user_id):
    plant_id = add_plant(app, user_id)
    now = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)
    seed_months(app, plant_id, now, span=timedelta(days=3), step=timedelta(minutes=20))
    schedule = RollupSchedule(app)
    schedule.run_once(now)
    assert newest_rollup(app, plant_id) == hour_floor(now) - timedelta(hours=1)

    seed_readings(app, plant_id, [{"ts": now + timedelta(minutes=20), "soil_moisture": 11.0}])
    schedule.run_once(now + timedelta(hours=1))
    assert newest_rollup(app, plant_id) == hour_floor(now)
    with app.app_context():
        row = db.session.get(ReadingHourly, (plant_id, hour_floor(now)))
        assert row.stats["soil_moisture"]["min"] == 11.0


def test_serving_processes_roll_up_on_their_interval(make_app, user_id, app):
    plant_id = add_plant(app, user_id)
    seed_readings(app, plant_id, [{"ts": datetime.now(UTC) - timedelta(hours=2), "soil_moisture": 40.0}])
    serving = make_app(config={"ROLLUP_INTERVAL_SECONDS": 0.05})
    schedule = RollupSchedule(serving)
    schedule.start()
    try:
        deadline = time.monotonic() + 10
        while newest_rollup(app, plant_id) is None and time.monotonic() < deadline:
            schedule.stopping.wait(0.05)
    finally:
        schedule.stop()
    assert newest_rollup(app, plant_id) is not None
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Reading)) == 1


def test_a_year_chart_dates_its_axis_with_the_year(app, client, user_id):
    plant_id = add_plant(app, user_id)
    seed_readings(app, plant_id, [{"ts": datetime.now(UTC), "soil_moisture": 40.0}])
    html = client.get(f"/plants/{plant_id}?range=1y").get_data(as_text=True)
    year_ago = datetime.now(UTC) - timedelta(days=365)
    labels = re.findall(r'<text class="chart-label"[^>]*>([^<]*)</text>', html)
    dated = [label for label in labels if re.fullmatch(r"[A-Z][a-z]{2} \d{4}", label)]
    assert dated, labels  # months with their years
    assert dated[0].endswith(f"{year_ago:%Y}"), labels  # from a year ago

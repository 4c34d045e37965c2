"""Watering detected from the soil through the ingest writer, and daily light judged per day."""

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from app.alerts.evaluation import periodic
from app.extensions import db
from app.models import Alert, CareEvent, PlantLightDay, Task
from app.ownership import personal_garden_id

from .care_helpers import add_plant, series

START = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)


def soil_rows(values, start=START):
    return series(start, values)


def test_a_rise_in_soil_moisture_logs_a_detected_watering_and_closes_its_task(app, readings, clock):
    clock.move_to(START + timedelta(hours=3))
    from ..conftest import make_user

    user_id = make_user(app)
    plant_id = add_plant(app, user_id, soil_moisture_min=30.0, soil_moisture_max=70.0)
    with app.app_context():
        db.session.add(
            Task(
                garden_id=personal_garden_id(user_id),
                plant_id=plant_id,
                title="Water Fern",
                care_kind="watered",
                source="user",
            )
        )
        db.session.commit()
    rng = random.Random(3)
    dry = [35 - 0.05 * i + rng.gauss(0, 0.4) for i in range(24)]
    readings(plant_id, soil_rows(dry))
    with app.app_context():
        assert db.session.query(CareEvent).count() == 0
    wet = [62 + rng.gauss(0, 0.4) for _ in range(4)]
    readings(plant_id, soil_rows(wet, START + 24 * timedelta(minutes=5)))
    readings(plant_id, soil_rows([62.5, 62.1], START + 28 * timedelta(minutes=5)))  # a later batch: not again
    with app.app_context():
        event = db.session.query(CareEvent).one()
        assert (event.kind, event.detected, event.by_user_id) == ("watered", True, None)
        assert event.at == START + 23 * timedelta(minutes=5)
        task = db.session.query(Task).one()
        assert task.completed
        assert "Detected" in task.completion_note


def test_noise_and_a_slow_rise_log_nothing(app, readings, clock):
    clock.move_to(START + timedelta(hours=12))
    from ..conftest import make_user

    plant_id = add_plant(app, make_user(app))
    rng = random.Random(5)
    noisy = [40 + rng.gauss(0, 0.8) for _ in range(30)]
    noisy[12] = 75.0  # a stray spike
    readings(plant_id, soil_rows(noisy))
    slow = [40 + 0.4 * i for i in range(60)]  # 24 points over 5 hours
    readings(plant_id, soil_rows(slow, START + timedelta(hours=3)))
    with app.app_context():
        assert db.session.query(CareEvent).count() == 0


@pytest.mark.parametrize(
    ("watered_before_rise", "detected"), [(timedelta(minutes=20), False), (timedelta(hours=3), True)]
)
def test_a_watering_logged_by_hand_within_the_rise_window_is_not_logged_again(
    app, readings, clock, watered_before_rise, detected
):
    """A watering logged by hand shortly before the rise is that rise (nothing detected); one
    logged hours earlier is another watering, and the rise is logged."""
    clock.move_to(START + timedelta(hours=6))
    from ..conftest import make_user

    user_id = make_user(app)
    plant_id = add_plant(app, user_id)
    rise_at = START + timedelta(hours=3) + 23 * timedelta(minutes=5)
    with app.app_context():
        at = rise_at - watered_before_rise
        db.session.add(
            CareEvent(
                garden_id=personal_garden_id(user_id), plant_id=plant_id, kind="watered", at=at, by_user_id=user_id
            )
        )
        db.session.commit()
    rng = random.Random(7)
    dry = [35 - 0.05 * i + rng.gauss(0, 0.4) for i in range(24)]
    wet = [62 + rng.gauss(0, 0.4) for _ in range(4)]
    readings(plant_id, soil_rows(dry + wet, START + timedelta(hours=3)))
    with app.app_context():
        found = db.session.query(CareEvent).filter_by(detected=True).all()
        assert [event.at for event in found] == ([rise_at] if detected else [])


def day_night(start, days, peak, every=timedelta(minutes=15)):
    rows, ts = [], start
    while ts < start + timedelta(days=days):
        hour = ts.hour + ts.minute / 60
        rows.append({"ts": ts, "light": round(max(0.0, math.sin(math.pi * (hour - 6) / 12)) * peak)})
        ts += every
    return rows


def run_periodic(app, now):
    with app.app_context():
        changes = periodic(db.session, now)
        db.session.commit()
        return changes


def test_a_day_night_series_opens_no_light_alert_at_night_and_judges_the_day(app, readings, clock):
    from ..conftest import make_user

    clock.move_to(datetime(2026, 12, 12, 0, 0, tzinfo=UTC))
    plant_id = add_plant(app, make_user(app), light_min=4.0, light_max=20.0)
    # two bright days (about 10 mol/m2), every night 0 lux: the writer evaluates every batch
    bright = day_night(datetime(2026, 12, 10, tzinfo=UTC), 2, 20_000)
    for start in range(0, len(bright), 8):
        readings(plant_id, bright[start : start + 8])
    with app.app_context():
        assert db.session.query(Alert).count() == 0
    # the night after a dim day (peak 2,000 lux: about 1 mol/m2): nothing opens at night
    dim = day_night(datetime(2026, 12, 12, tzinfo=UTC), 1, 2_000)
    clock.move_to(datetime(2026, 12, 13, 2, 0, tzinfo=UTC))
    readings(plant_id, dim)
    assert run_periodic(app, datetime(2026, 12, 13, 2, 0, tzinfo=UTC)) == 0
    with app.app_context():
        assert db.session.query(Alert).count() == 0
    # the next morning, yesterday's total is judged: light low, once
    morning = datetime(2026, 12, 13, 10, 0, tzinfo=UTC)
    clock.move_to(morning)
    assert run_periodic(app, morning) == 1
    assert run_periodic(app, morning + timedelta(hours=1)) == 0
    with app.app_context():
        alert = db.session.query(Alert).one()
        assert (alert.problem, alert.metric) == ("light_low", "light")
        assert 0.5 < alert.value < 1.5
        day = db.session.get(PlantLightDay, (plant_id, datetime(2026, 12, 12).date()))
        assert day.complete
        assert day.dli == alert.value


@pytest.fixture
def later(clock):
    clock.move_to(datetime(2026, 12, 12, 10, 0, tzinfo=UTC))
    return clock


def test_a_bright_day_resolves_the_light_alert_and_the_page_shows_yesterday(app, later, auth, user_id, readings):
    clock = later
    plant_id = add_plant(app, user_id, light_min=4.0)
    readings(plant_id, day_night(datetime(2026, 12, 11, tzinfo=UTC), 1, 1_000))
    run_periodic(app, datetime(2026, 12, 12, 10, 0, tzinfo=UTC))
    with app.app_context():
        assert db.session.query(Alert).one().problem == "light_low"
    clock.move_to(datetime(2026, 12, 13, 10, 0, tzinfo=UTC))
    readings(plant_id, day_night(datetime(2026, 12, 12, tzinfo=UTC), 1, 20_000))
    run_periodic(app, datetime(2026, 12, 13, 10, 0, tzinfo=UTC))
    with app.app_context():
        alert = db.session.query(Alert).one()
        assert alert.resolved_at is not None
    auth.login()  # a day later
    html = auth.client.get(f"/plants/{plant_id}").get_data(as_text=True)
    assert "Light yesterday:" in html
    assert "mol/m²" in html


def test_the_periodic_check_thread_judges_daily_light(app, clock, readings):
    from app.alerts.stale import StaleCheck

    from ..conftest import make_user

    clock.move_to(datetime(2026, 12, 13, 10, 0, tzinfo=UTC))
    plant_id = add_plant(app, make_user(app), light_min=4.0)
    readings(plant_id, day_night(datetime(2026, 12, 12, tzinfo=UTC), 1, 1_000))
    StaleCheck(app).run_once()
    StaleCheck(app).run_once()
    with app.app_context():
        assert {a.problem for a in db.session.query(Alert)} == {"light_low", "stale"}  # silent since midnight too


def test_the_soil_series_of_several_plants_read_at_once_are_each_plants_own(app, readings, clock):
    """metric_series_of_plants (one read for a batch's plants) gives what plant_readings gives
    each plant: its bound device's rows in its window, oldest first, none without the metric,
    also for two plants on one device and for a window far from the others."""
    from app.care.series import metric_series
    from app.domain.readings import metric_series_of_plants

    from ..conftest import make_user

    clock.move_to(START + timedelta(days=3))
    user_id = make_user(app)
    fern = add_plant(app, user_id, key="dev-fern")
    twin = add_plant(app, user_id, key="dev-fern")  # the same device
    basil = add_plant(app, user_id, key="dev-basil")
    readings(fern, soil_rows([30 + i for i in range(30)]))
    readings(fern, series(START + timedelta(minutes=1), [20.0] * 5, metric="temperature"))  # no soil value
    readings(basil, soil_rows([50 + i for i in range(30)]))
    readings(basil, soil_rows([60.0, 61.0, 62.0], START + timedelta(days=2)))
    windows = {
        fern: (START + timedelta(minutes=10), START + timedelta(minutes=60)),
        twin: (START + timedelta(minutes=100), START + timedelta(minutes=200)),
        basil: (START + timedelta(days=2), START + timedelta(days=2, minutes=6)),  # far away: a group of its own
    }
    with app.app_context():
        got = metric_series_of_plants(db.session, "soil_moisture", windows)
        for plant_id, (start, end) in windows.items():
            assert got[plant_id] == metric_series(db.session, plant_id, "soil_moisture", start, end)
    assert [v for _, v in got[fern]] == [32 + i for i in range(10)]
    assert [v for _, v in got[twin]] == [30 + i for i in range(20, 30)]
    assert [v for _, v in got[basil]] == [60.0, 61.0]

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from app.domain.metrics import KEYS, THRESHOLD_KEYS
from app.domain.status import plant_status

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def plant(**overrides):
    fields = {
        "last_reading_at": NOW - timedelta(minutes=1),
        "stale_after_minutes": 60,
        "latest_soil_moisture": 40.0,
        "latest_temperature": 21.0,
        "latest_humidity": 50.0,
        "latest_light": 1000.0,
        "latest_battery": 80.0,
        "soil_moisture_min": 30.0,
        "soil_moisture_max": 70.0,
        "temperature_min": 10.0,
        "temperature_max": 30.0,
        "humidity_min": 30.0,
        "humidity_max": 80.0,
        "light_min": 100.0,
        "light_max": 20000.0,
    }
    fields.update({f"latest_{m}": None for m in KEYS if f"latest_{m}" not in fields})
    fields.update(
        {f"{m}_{bound}": None for m in THRESHOLD_KEYS for bound in ("min", "max") if f"{m}_{bound}" not in fields}
    )
    fields.update(overrides)
    return SimpleNamespace(**fields)


def test_no_reading_yet_is_no_data():
    result = plant_status(plant(last_reading_at=None), NOW)
    assert (result.status, result.problems) == ("no_data", ())


def test_everything_in_range_is_ok():
    result = plant_status(plant(), NOW)
    assert (result.status, result.problems) == ("ok", ())


@pytest.mark.parametrize(
    ("overrides", "problems"),
    [
        ({"latest_soil_moisture": 29.9}, ("soil_moisture_low",)),
        ({"latest_soil_moisture": 70.1}, ("soil_moisture_high",)),
        ({"latest_temperature": 35.0}, ("temperature_high",)),
        ({"latest_humidity": 10.0}, ("humidity_low",)),
        ({"latest_battery": 14.9}, ("battery_low",)),
        ({"latest_soil_moisture": 5.0, "latest_temperature": 40.0}, ("soil_moisture_low", "temperature_high")),
    ],
)
def test_out_of_range_is_alert_with_problems(overrides, problems):
    result = plant_status(plant(**overrides), NOW)
    assert (result.status, result.problems) == ("alert", problems)


@pytest.mark.parametrize(
    "overrides",
    [
        {"latest_soil_moisture": 30.0},  # exactly at the minimum
        {"latest_soil_moisture": 70.0},  # exactly at the maximum
        {"latest_battery": 15.0},  # exactly at the battery floor
        {"latest_temperature": None},  # metric not reported
        {"temperature_min": None, "temperature_max": None, "latest_temperature": -30.0},  # no threshold set
    ],
)
def test_edges_and_gaps_are_ok(overrides):
    assert plant_status(plant(**overrides), NOW).status == "ok"


def test_stale_boundary():
    at_window = plant(last_reading_at=NOW - timedelta(minutes=60))
    past_window = plant(last_reading_at=NOW - timedelta(minutes=60, seconds=1))
    assert plant_status(at_window, NOW).status == "ok"
    result = plant_status(past_window, NOW)
    assert (result.status, result.problems) == ("stale", ("stale",))


def test_stale_with_bad_last_values_is_alert_and_lists_both():
    result = plant_status(plant(last_reading_at=NOW - timedelta(hours=3), latest_soil_moisture=5.0), NOW)
    assert (result.status, result.problems) == ("alert", ("soil_moisture_low", "stale"))


def test_rank_orders_worst_first():
    statuses = [plant_status(p, NOW) for p in (plant(), plant(last_reading_at=None), plant(latest_battery=1.0))]
    assert [s.status for s in sorted(statuses, key=lambda s: s.rank)] == ["alert", "no_data", "ok"]


def test_light_is_never_judged_on_one_reading():
    """Light is a daily total (app.domain.daylight): 0 lux at night is no problem."""
    assert plant_status(plant(latest_light=0.0), NOW).status == "ok"

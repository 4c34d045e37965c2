"""Daylight judged per day: the daily light integral over the plant's local day."""

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from app.domain import daylight, rules, status
from app.domain.metrics import BY_KEY, PRESET_LABELS
from app.domain.presets import preset_thresholds

BERLIN = ZoneInfo("Europe/Berlin")


def day_night_series(day, zone, peak_lux, every=timedelta(minutes=10), days=1):
    """A clear day: light rises at 06:00 local, peaks at noon, is 0 lux from 18:00 to 06:00."""
    start = datetime.combine(day, datetime.min.time(), zone) - timedelta(hours=2)
    end = start + timedelta(days=days, hours=4)
    series, ts = [], start
    while ts < end:
        hour = ts.astimezone(zone).hour + ts.astimezone(zone).minute / 60
        series.append((ts.astimezone(UTC), max(0.0, math.sin(math.pi * (hour - 6) / 12)) * peak_lux))
        ts += every
    return series


def test_a_constant_light_integrates_with_the_documented_factor():
    start = datetime(2026, 6, 1, tzinfo=UTC)
    series = [(start + timedelta(minutes=10 * i), 10_000.0) for i in range(6 * 12 * 24 + 1)]
    total, covered = daylight.integrate(series, start, start + timedelta(days=1))
    # 10,000 lux x 0.0185 = 185 umol/m2/s for 86,400 s = 15.98 mol/m2
    assert math.isclose(total, 10_000 * 0.0185 * 86_400 / 1e6, rel_tol=1e-9)
    assert covered == 86_400


def test_a_day_night_series_gives_the_day_total_in_the_local_day():
    series = day_night_series(date(2026, 6, 1), BERLIN, 20_000)
    light = daylight.day_light(series, date(2026, 6, 1), BERLIN)
    # sine over 12 h: mean 2/pi of the peak -> 20,000 x 0.0185 x 43,200 x 2/pi / 1e6 = 10.2
    assert light.complete
    assert 10.0 < light.dli < 10.4


def test_a_day_with_a_long_gap_is_not_judged():
    series = [p for p in day_night_series(date(2026, 6, 1), BERLIN, 20_000) if p[0].astimezone(BERLIN).hour < 10]
    light = daylight.day_light(series, date(2026, 6, 1), BERLIN)
    assert not light.complete


def test_the_local_day_follows_the_timezone_and_dst():
    start, end = daylight.local_day_bounds(date(2026, 3, 29), BERLIN)
    assert end - start == timedelta(hours=23)
    assert start == datetime(2026, 3, 28, 23, tzinfo=UTC)


def test_daily_problem_and_judging_hours():
    assert daylight.daily_problem(1.5, 4, 20) == "light_low"
    assert daylight.daily_problem(25, 4, 20) == "light_high"
    assert daylight.daily_problem(10, 4, 20) is None
    assert not daylight.judging_hours(datetime(2026, 6, 2, 2, tzinfo=BERLIN))
    assert not daylight.judging_hours(datetime(2026, 6, 2, 22, tzinfo=BERLIN))
    assert daylight.judging_hours(datetime(2026, 6, 2, 10, tzinfo=BERLIN))


def test_presets_hold_daily_values_in_the_registry():
    light = BY_KEY["light"]
    assert light.daily
    assert light.threshold_unit == "mol/m²/day"
    for name in PRESET_LABELS:
        low, high = preset_thresholds(name)["light_min"], preset_thresholds(name)["light_max"]
        assert 0 < low < high <= light.threshold_range[1]  # mol/m2/day, not lux


class Night:
    """A plant at night: 0 lux, a light minimum of 4 mol/m2/day, everything else fine."""

    last_reading_at = datetime(2026, 6, 2, 1, tzinfo=UTC)
    stale_after_minutes = 60
    latest_light, light_min, light_max = 0.0, 4.0, 20.0
    latest_battery = 90.0

    def __getattr__(self, name):
        return None


def test_no_per_reading_light_rule_and_no_night_problem():
    plant = Night()
    assert all(rule.metric != "light" for rule in rules.plant_rules(plant, 0.05))
    assert status.plant_status(plant, plant.last_reading_at) == status.Status("ok", ())
    # an open daily light alert is left to the daily check
    assert rules.problems_to_resolve(plant, rules.plant_rules(plant, 0.05), ["light_low"]) == []


def test_former_lux_thresholds_convert_as_twelve_hours_of_that_light():
    assert daylight.lux_threshold_to_dli(5_000) == 4.0

"""Watering detected from a rise in soil moisture: noise, spikes and slow drifts are not waterings."""

import random
from datetime import UTC, datetime, timedelta

from app.domain.watering import detect_rise, not_needed_yet

START = datetime(2026, 6, 1, 8, tzinfo=UTC)


def series(values, every=timedelta(minutes=5)):
    return [(START + i * every, v) for i, v in enumerate(values)]


def drying(count, start=40.0, rng=None):
    rng = rng or random.Random(1)
    return [start - 0.05 * i + rng.gauss(0, 0.4) for i in range(count)]


def test_a_watering_is_detected_at_its_start():
    values = drying(20) + [65.0 + random.Random(2).gauss(0, 0.4) for _ in range(6)]
    rise = detect_rise(series(values))
    assert rise is not None
    assert rise.started_at == START + 19 * timedelta(minutes=5)
    assert rise.after - rise.before > 20


def test_noise_and_a_single_spike_are_not_waterings():
    values = drying(60, rng=random.Random(7))
    values[30] = 80.0  # one stray reading
    assert detect_rise(series(values)) is None


def test_a_slow_soak_within_the_window_counts():
    values = drying(10) + [38 + 2.5 * i for i in range(1, 9)] + [58.0] * 4  # 20 points over 40 minutes
    assert detect_rise(series(values), points=8, minutes=60) is not None


def test_a_slow_drift_up_is_not_a_watering():
    values = [30 + 0.5 * i for i in range(72)]  # 36 points over 6 hours: 6 points an hour
    assert detect_rise(series(values), points=8, minutes=60) is None


def test_a_rise_at_the_very_end_waits_for_the_next_reading():
    values = drying(10) + [70.0]
    assert detect_rise(series(values)) is None
    assert detect_rise(series([*values, 70.2])) is not None


def test_not_needed_yet_while_the_soil_is_well_above_its_minimum():
    assert not_needed_yet(60, 30, 70)
    assert not not_needed_yet(35, 30, 70)
    assert not not_needed_yet(None, 30, 70)
    assert not not_needed_yet(60, None, None)

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from app.domain.describe import format_value, problem_label
from app.domain.metrics import KEYS, THRESHOLD_KEYS
from app.domain.rules import (
    Rule,
    hysteresis_margin,
    opening_candidates,
    plant_rules,
    problems_to_resolve,
    should_open,
)
from app.domain.status import is_stale
from app.notify.delivery import classify
from app.notify.discord import alert_message
from app.notify.retry import backoff_delay, parse_retry_after

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SOIL_LOW = Rule("soil_moisture_low", "soil_moisture", 30.0, True, 2.0)
TEMP_HIGH = Rule("temperature_high", "temperature", 30.0, False, 1.0)


def plant(**overrides):
    fields = {f"{m}_{side}": None for m in THRESHOLD_KEYS for side in ("min", "max")}
    fields.update({f"latest_{m}": None for m in KEYS})
    fields.update(soil_moisture_min=30.0, soil_moisture_max=70.0, temperature_min=10.0, temperature_max=30.0)
    fields.update(overrides)
    return SimpleNamespace(**fields)


def simulate(values, rule=SOIL_LOW, min_readings=2):
    """Feed readings one by one as the writer does; returns how many alerts opened."""
    opened, is_open, recent = 0, False, []
    for value in values:
        recent.insert(0, value)
        if is_open and rule.recovered(value):
            is_open = False
        elif not is_open and rule.breached(value) and should_open(rule, recent, min_readings):
            is_open, opened = True, opened + 1
    return opened


@pytest.mark.parametrize(
    ("rule", "value", "breached"),
    [
        (SOIL_LOW, 29.9, True),
        (SOIL_LOW, 30.0, False),  # exactly at the threshold is inside
        (SOIL_LOW, None, False),
        (TEMP_HIGH, 30.1, True),
        (TEMP_HIGH, 30.0, False),
        (TEMP_HIGH, -5.0, False),
    ],
)
def test_breached_only_strictly_past_the_threshold(rule, value, breached):
    assert rule.breached(value) is breached


@pytest.mark.parametrize(
    ("rule", "value", "recovered"),
    [
        (SOIL_LOW, 30.5, False),  # inside, but not by the margin
        (SOIL_LOW, 31.9, False),
        (SOIL_LOW, 32.0, True),
        (SOIL_LOW, None, False),
        (TEMP_HIGH, 29.5, False),
        (TEMP_HIGH, 29.0, True),
    ],
)
def test_recovers_only_back_inside_by_the_margin(rule, value, recovered):
    assert rule.recovered(value) is recovered


@pytest.mark.parametrize(
    ("low", "high", "margin"),
    [(30.0, 70.0, 2.0), (10.0, None, 0.5), (None, 40.0, 2.0), (0.0, None, 0.0), (50.0, 50.0, 2.5)],
)
def test_margin_is_five_percent_of_the_range_or_of_a_lone_threshold(low, high, margin):
    assert hysteresis_margin(low, high, 0.05) == pytest.approx(margin)


def test_rules_follow_the_thresholds_that_are_set_plus_battery():
    rules = {r.problem: r for r in plant_rules(plant(temperature_min=None), 0.05)}
    assert set(rules) == {"soil_moisture_low", "soil_moisture_high", "temperature_high", "battery_low"}
    assert rules["battery_low"].threshold == 15
    assert rules["battery_low"].margin == pytest.approx(5.0)
    assert rules["temperature_high"].margin == pytest.approx(1.5)  # only a max: 5 % of it


@pytest.mark.parametrize(
    ("values", "min_readings", "opens"),
    [
        ([25.0], 2, False),  # one reading is not enough
        ([25.0, 26.0], 2, True),
        ([25.0, 40.0], 2, False),  # the older one was fine
        ([25.0, 40.0], 1, True),
        ([25.0, 26.0, 40.0], 3, False),
        ([25.0, None], 2, False),  # a reading without the metric breaks the run
        ([], 2, False),
    ],
)
def test_opens_after_n_consecutive_readings_past_the_threshold(values, min_readings, opens):
    assert should_open(SOIL_LOW, values, min_readings) is opens


def test_only_breached_rules_without_an_open_alert_are_candidates():
    rules = plant_rules(plant(), 0.05)
    dry_and_hot = plant(latest_soil_moisture=20.0, latest_temperature=35.0, latest_battery=80.0)
    assert [r.problem for r in opening_candidates(dry_and_hot, rules, {"temperature_high": object()})] == [
        "soil_moisture_low"
    ]
    assert opening_candidates(plant(latest_soil_moisture=50.0), rules, {}) == []


def test_open_problem_resolves_when_recovered_or_its_threshold_is_removed():
    rules = plant_rules(plant(temperature_max=None), 0.05)
    state = plant(temperature_max=None, latest_soil_moisture=33.0, latest_temperature=40.0, latest_battery=14.0)
    open_problems = {"soil_moisture_low": 1, "temperature_high": 2, "battery_low": 3, "stale": 4}
    assert problems_to_resolve(state, rules, open_problems) == ["soil_moisture_low", "temperature_high"]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("min_readings", [1, 2, 3])
def test_fifty_readings_flapping_around_the_threshold_open_exactly_one_alert(seed, min_readings):
    # Every seed has `min_readings` readings in a row below 30 (one alert opens) and none back
    # past 30 + the 2-point margin (it never resolves, so no second alert).
    rng = random.Random(seed)
    values = [30.0 + rng.uniform(-1.5, 1.5) for _ in range(50)]
    assert simulate(values, min_readings=min_readings) == 1


def test_strictly_alternating_values_open_nothing_with_two_readings():
    assert simulate([29.0, 31.0] * 25) == 0


def test_dry_then_watered_then_dry_again_opens_twice():
    assert simulate([25.0, 25.0, 50.0, 50.0, 25.0, 24.0]) == 2


@pytest.mark.parametrize(
    ("last", "window", "stale"),
    [(None, 60, False), (NOW - timedelta(minutes=60), 60, False), (NOW - timedelta(minutes=61), 60, True)],
)
def test_stale_only_past_the_window(last, window, stale):
    assert is_stale(last, window, NOW) is stale


@pytest.mark.parametrize(
    ("problem", "label"),
    [("soil_moisture_low", "Soil moisture low"), ("temperature_high", "Temperature high"), ("stale", "Sensor silent")],
)
def test_problem_labels(problem, label):
    assert problem_label(problem) == label


@pytest.mark.parametrize(
    ("metric", "value", "text"),
    [
        ("soil_moisture", 22.0, "22.0 %"),
        ("temperature", 31.25, "31.2 °C"),
        ("light", 4.25, "4.2 mol/m²/day"),  # a light alert carries the day's total
        (None, 75.5, "75.5 min"),
        ("battery", None, "-"),
    ],
)
def test_values_carry_their_unit(metric, value, text):
    assert format_value(metric, value) == text


@pytest.mark.parametrize(("attempt", "low", "high"), [(1, 1.0, 2.0), (2, 2.0, 4.0), (3, 4.0, 8.0), (10, 150.0, 300.0)])
def test_backoff_doubles_with_jitter_up_to_a_cap(attempt, low, high):
    delays = [backoff_delay(attempt, 2.0, 300.0, rng=random.Random(i).random) for i in range(20)]
    assert all(low <= d <= high for d in delays)
    assert len(set(delays)) > 1


@pytest.mark.parametrize(
    ("headers", "body", "seconds"),
    [
        ({}, {"retry_after": 0.75, "global": False}, 0.75),
        ({"Retry-After": "3"}, None, 3.0),
        ({"Retry-After": "2"}, {"retry_after": 1.5}, 1.5),  # the body is more precise
        ({"Retry-After": "soon"}, None, None),
        ({}, {"retry_after": "x"}, None),
        ({}, {"retry_after": -1}, None),
        ({}, None, None),
    ],
)
def test_retry_after_from_discords_body_or_header(headers, body, seconds):
    assert parse_retry_after(headers, body) == seconds


@pytest.mark.parametrize(
    ("status", "sent", "retry"),
    [
        (204, True, False),
        (200, True, False),
        (429, False, True),
        (500, False, True),
        (503, False, True),
        (400, False, False),
        (401, False, False),
        (404, False, False),
    ],
)
def test_which_answers_are_retried(status, sent, retry):
    outcome = classify(status, {}, None)
    assert (outcome.sent, outcome.retry) == (sent, retry)


def test_final_client_error_keeps_discords_message():
    assert classify(404, {}, {"message": "Unknown Webhook", "code": 10015}).error == "HTTP 404: Unknown Webhook"


def test_message_names_plant_problem_value_threshold_time_and_link():
    body = alert_message(
        "opened",
        plant_name="Basil *kitchen*",
        label="Soil moisture low",
        value="22 %",
        threshold="30 %",
        when=NOW,
        timezone="Europe/Berlin",
        plant_url="https://plants.example/plants/7",
    )
    assert body["content"] == "🚨 Basil \\*kitchen\\*: soil moisture low (22 %, threshold 30 %)"
    embed = body["embeds"][0]
    assert embed["url"] == "https://plants.example/plants/7"
    assert {f["name"]: f["value"] for f in embed["fields"]} == {
        "Plant": "Basil \\*kitchen\\*",
        "Problem": "Soil moisture low",
        "Value": "22 %",
        "Threshold": "30 %",
        "Time": "2026-11-22 13:00 CET",
    }
    assert embed["timestamp"] == "2026-11-22T12:00:00Z"
    assert body["allowed_mentions"] == {"parse": []}


def test_mentions_in_a_plant_name_ping_nobody():
    body = alert_message(
        "resolved",
        plant_name="@everyone",
        label="Sensor silent",
        value=None,
        threshold="60 min",
        when=NOW,
        timezone="Not/AZone",
        plant_url="u",
    )
    assert body["content"] == "✅ \\@everyone: sensor silent is over"
    assert body["allowed_mentions"] == {"parse": []}

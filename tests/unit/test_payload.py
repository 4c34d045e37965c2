import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.payload import (
    MAX_ITEM_BYTES,
    MAX_ITEMS,
    MAX_PAYLOAD_BYTES,
    RANGES,
    REASONS,
    device_from_topic,
    parse_message,
)

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)
TOPIC = "plantops/sensor-1/telemetry"
GOOD = {"ts": NOW.timestamp() - 60, "soil_moisture": 41.2, "temperature": 21.5}


def parse(payload, topic=TOPIC):
    if not isinstance(payload, bytes):
        payload = json.dumps(payload).encode()
    return parse_message(topic, payload, "plantops", NOW)


def test_a_full_reading_is_kept_with_every_metric():
    payload = {"ts": 1763800000.5, "soil_moisture": 41.2, "temperature": 21.5, "humidity": 55.0}
    payload |= {"light": 1200, "battery": 87}

    result = parse(payload)

    assert result.key == "sensor-1"
    assert not result.rejections
    [reading] = result.readings
    assert reading.ts == datetime(2025, 11, 22, 8, 26, 40, 500000, tzinfo=UTC)
    assert reading.values == {
        "soil_moisture": 41.2,
        "temperature": 21.5,
        "humidity": 55.0,
        "light": 1200.0,
        "battery": 87.0,
    }


def test_reading_without_ts_gets_the_receive_time():
    [reading] = parse({"battery": 50}).readings
    assert reading.ts == NOW


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2026-11-22T11:00:00+00:00", datetime(2026, 11, 22, 11, 0, tzinfo=UTC)),
        ("2026-11-22T13:00:00+02:00", datetime(2026, 11, 22, 11, 0, tzinfo=UTC)),
        ("2026-11-22T11:00:00Z", datetime(2026, 11, 22, 11, 0, tzinfo=UTC)),
        (NOW.timestamp() + 299, NOW + timedelta(seconds=299)),
        (int(NOW.timestamp()), NOW),
    ],
)
def test_accepted_timestamps(ts, expected):
    [reading] = parse({"ts": ts, "temperature": 20}).readings
    assert reading.ts == expected


@pytest.mark.parametrize(
    ("metric", "value"),
    [
        ("soil_moisture", 0),
        ("soil_moisture", 100),
        ("temperature", -40),
        ("temperature", 85),
        ("humidity", 100),
        ("light", 200_000),
        ("battery", 0),
    ],
)
def test_range_bounds_are_inside(metric, value):
    assert parse({metric: value}).readings[0].values == {metric: float(value)}


def test_unknown_keys_are_ignored_and_null_metrics_are_absent():
    [reading] = parse({"temperature": 20, "firmware": "1.2", "humidity": None, "rssi": -70}).readings
    assert reading.values == {"temperature": 20.0}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"x" * (MAX_PAYLOAD_BYTES + 1), "too_large"),
        (b'{"temperature": 20, "pad": "' + b"x" * MAX_PAYLOAD_BYTES + b'"}', "too_large"),
        (b'{"temperature": "\xff\xfe"}', "not_utf8"),
        (b"", "malformed_json"),
        (b"{not json", "malformed_json"),
        (b'{"temperature": 20', "malformed_json"),
        (b"[" * 60_000, "malformed_json"),
        (b"42", "wrong_shape"),
        (b'"temperature"', "wrong_shape"),
        (b"null", "wrong_shape"),
        (b"[]", "empty_batch"),
        (json.dumps([{"temperature": 20}] * (MAX_ITEMS + 1)).encode(), "too_many_items"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_messages_are_dropped_whole_and_counted(payload, reason):
    result = parse(payload)
    assert result.readings == []
    assert dict(result.rejections) == {reason: 1}


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ({"temperature": "21.5"}, "wrong_type"),
        ({"temperature": True}, "wrong_type"),
        ({"temperature": [21]}, "wrong_type"),
        ({"temperature": {"value": 21}}, "wrong_type"),
        ({"temperature": float("nan")}, "not_finite"),
        ({"temperature": float("inf")}, "not_finite"),
        ({"light": float("-inf")}, "not_finite"),
        ({"temperature": -40.01}, "out_of_range"),
        ({"temperature": 85.5}, "out_of_range"),
        ({"soil_moisture": -1}, "out_of_range"),
        ({"soil_moisture": 100.1}, "out_of_range"),
        ({"humidity": 101}, "out_of_range"),
        ({"light": 200_001}, "out_of_range"),
        ({"battery": -0.5}, "out_of_range"),
        ({"battery": 10**400}, "out_of_range"),
        ({"temperature": 20, "ts": NOW.timestamp() + 301}, "future_ts"),
        ({"temperature": 20, "ts": "2026-11-22T12:06:00+00:00"}, "future_ts"),
        ({"temperature": 20, "ts": 10**30}, "future_ts"),
        ({"temperature": 20, "ts": float("nan")}, "not_finite"),
        ({"temperature": 20, "ts": "2026-11-22T11:00:00"}, "bad_ts"),
        ({"temperature": 20, "ts": "yesterday"}, "bad_ts"),
        ({"temperature": 20, "ts": "1763800000"}, "bad_ts"),
        ({"temperature": 20, "ts": 0}, "bad_ts"),
        ({"temperature": 20, "ts": -(10**30)}, "bad_ts"),
        ({"temperature": 20, "ts": True}, "bad_ts"),
        ({"temperature": 20, "ts": [1]}, "bad_ts"),
        ({"temperature": 20, "ts": "0001-01-01T00:00:00+14:00"}, "bad_ts"),
        ({}, "no_metric"),
        ({"ts": NOW.timestamp()}, "no_metric"),
        ({"firmware": "1.2", "temperature": None}, "no_metric"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_items_are_dropped_and_counted(item, reason):
    result = parse(item)

    assert result.readings == []
    assert dict(result.rejections) == {reason: 1}
    assert reason in REASONS


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_json_non_finite_literals_are_rejected(literal):
    result = parse(b'{"temperature": ' + literal + b"}")
    assert dict(result.rejections) == {"not_finite": 1}


def test_array_keeps_valid_items_and_counts_the_invalid_ones():
    items = [
        {"ts": NOW.timestamp() - 120, "temperature": 20},
        {"ts": NOW.timestamp() - 60, "temperature": 999},
        "not an object",
        {"ts": NOW.timestamp() - 30, "temperature": 21, "humidity": "wet"},
        {"ts": NOW.timestamp(), "temperature": 22},
    ]

    result = parse(items)

    assert [r.values for r in result.readings] == [{"temperature": 20.0}, {"temperature": 21.0}, {"temperature": 22.0}]
    assert dict(result.rejections) == {"out_of_range": 1, "wrong_shape": 1, "wrong_type": 1}


def test_an_item_with_one_bad_metric_keeps_its_good_metrics_and_says_what_was_dropped():
    result = parse({"temperature": 20, "humidity": 140, "soil_moisture": True})
    assert [r.values for r in result.readings] == [{"temperature": 20.0}]
    assert dict(result.rejections) == {"out_of_range": 1, "wrong_type": 1}
    assert result.details == {
        "out_of_range": "air humidity out of range (140)",
        "wrong_type": "soil moisture not a number (true)",
    }


def test_an_item_whose_every_metric_is_bad_is_counted_per_metric_and_stores_nothing():
    result = parse({"temperature": 999, "humidity": 140})
    assert result.readings == []
    assert dict(result.rejections) == {"out_of_range": 2}


def test_a_bad_ts_still_drops_the_whole_item():
    result = parse({"ts": "yesterday", "temperature": 20})
    assert result.readings == []
    assert dict(result.rejections) == {"bad_ts": 1}


def test_array_of_exactly_the_maximum_is_accepted():
    items = [{"ts": NOW.timestamp() - i, "battery": 50} for i in range(MAX_ITEMS)]
    assert len(parse(items).readings) == MAX_ITEMS


def longest_reading(n):
    """A reading as long as the contract allows: an ISO ts with microseconds, every metric at 17 digits."""
    ts = (NOW - timedelta(seconds=n, microseconds=123456)).isoformat()
    return {"ts": ts, **{metric: low + (high - low) / 3.0 for metric, (low, high) in RANGES.items()}}


def test_the_size_cap_fits_the_maximum_array_of_the_longest_readings_with_headroom():
    item_bytes = len(json.dumps(longest_reading(0)))
    assert item_bytes * 1.25 <= MAX_ITEM_BYTES
    # A seventh metric of the same width still fits.
    assert item_bytes * (len(RANGES) + 2) / (len(RANGES) + 1) <= MAX_ITEM_BYTES

    payload = json.dumps([longest_reading(n) for n in range(MAX_ITEMS)]).encode()
    assert len(payload) <= MAX_PAYLOAD_BYTES
    result = parse(payload)
    assert len(result.readings) == MAX_ITEMS
    assert not result.rejections


@pytest.mark.parametrize(
    ("ts", "reason"),
    [(10**400, "future_ts"), (-(10**400), "bad_ts"), (2**63, "future_ts"), (-(2**63), "bad_ts"), (-1, "bad_ts")],
)
def test_integer_timestamps_too_large_for_a_float_are_rejected(ts, reason):
    result = parse(b'{"ts": %d, "soil_moisture": 40}' % ts)
    assert result.readings == []
    assert dict(result.rejections) == {reason: 1}


OFFSETS = st.integers(-1439, 1439).map(lambda minutes: timezone(timedelta(minutes=minutes)))
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**500), max_value=10**500)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.datetimes().map(datetime.isoformat)
    | st.datetimes(timezones=OFFSETS).map(datetime.isoformat),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=8,
)
READING_KEYS = st.sampled_from(["ts", *RANGES, "other"])
ITEMS = st.dictionaries(READING_KEYS, JSON_VALUES, max_size=7)


def assert_accounted(result):
    """Every item ends as a reading or a counted reason; nothing else."""
    assert set(result.rejections) <= set(REASONS)
    assert len(result.readings) + sum(result.rejections.values()) >= 1
    for reading in result.readings:
        assert reading.ts.tzinfo is not None
        assert reading.values


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=2048))
def test_any_payload_bytes_parse_without_raising(payload):
    assert_accounted(parse(payload))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(ITEMS | st.lists(ITEMS, max_size=5) | JSON_VALUES)
def test_any_json_value_parses_without_raising(document):
    payload = json.dumps(document).encode()
    assert_accounted(parse(payload))


@pytest.mark.parametrize(
    "topic",
    [
        "plantops/sensor-1/status",
        "plantops/sensor-1/telemetry/extra",
        "other/sensor-1/telemetry",
        "plantops//telemetry",
        "plantops/bad id/telemetry",
        "plantops/sensör/telemetry",
        "plantops/" + "a" * 65 + "/telemetry",
        "plantops/a+b/telemetry",
    ],
)
def test_topics_outside_the_contract_are_counted(topic):
    result = parse(GOOD, topic=topic)
    assert result.key is None
    assert result.readings == []
    assert dict(result.rejections) == {"bad_topic": 1}


@pytest.mark.parametrize("device_id", ["a", "A-z_0.9", "x" * 64, "sim-001"])
def test_device_ids_of_the_allowed_characters(device_id):
    assert device_from_topic(f"plantops/{device_id}/telemetry", "plantops") == device_id


def test_conductivity_is_accepted_within_its_range_and_refused_beyond():
    assert parse({"conductivity": 1250}).readings[0].values == {"conductivity": 1250.0}
    assert parse({"conductivity": 10_000}).readings[0].values == {"conductivity": 10_000.0}
    assert parse({"conductivity": 10_001}).rejections == {"out_of_range": 1}

"""The metrics registry against the models, the forms' presets and the payload contract."""

import pytest

from app.domain.metrics import METRICS, PRESET_LABELS, THRESHOLD_METRICS, metric
from app.domain.payload import RANGES
from app.domain.presets import preset_thresholds
from app.models import Plant, Reading


@pytest.mark.parametrize("entry", METRICS, ids=lambda m: m.key)
def test_every_metric_has_its_reading_and_latest_columns(entry):
    assert entry.key in Reading.__table__.columns
    assert f"latest_{entry.key}" in Plant.__table__.columns


@pytest.mark.parametrize("entry", THRESHOLD_METRICS, ids=lambda m: m.key)
def test_every_threshold_metric_has_its_threshold_columns_and_a_value_in_every_preset(entry):
    assert f"{entry.key}_min" in Plant.__table__.columns
    assert f"{entry.key}_max" in Plant.__table__.columns
    for preset in PRESET_LABELS:
        low, high = entry.presets[preset]
        assert entry.low <= low <= high <= entry.high


def test_payload_ranges_are_the_registrys():
    assert {m.key: (m.low, m.high) for m in METRICS} == RANGES


def test_a_preset_fills_every_threshold():
    assert len(preset_thresholds("fern")) == 2 * len(THRESHOLD_METRICS)
    assert preset_thresholds("nope") == {}


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [("soil_moisture", 41.25, "41.2 %"), ("light", 9100.0, "9,100 lux"), ("battery", 87.0, "87 %")],
)
def test_values_are_shown_with_the_registrys_unit_and_decimals(key, value, shown):
    assert metric(key).format(value) == shown

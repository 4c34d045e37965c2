"""app/domain/sources/settings.py: what the admin form accepts is what the adapters read."""

from datetime import UTC, datetime

import pytest

from app.domain.sources import generic
from app.domain.sources.routing import active_sources
from app.domain.sources.settings import SourceRow, apply_sources, base_error, generic_form_values, parse_generic

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)


def test_parsed_options_drive_the_generic_adapter():
    filter_, options, errors = parse_generic(
        "plantops",
        {"filter": "/sensors/+/json/", "path.humidity": "h", "scale.humidity": "0.1", "path.temperature": "t",
         "unit.temperature": "k"},
        previous={"device_level": 1, "fields": {"light": {"path": "old"}}},
    )  # fmt: skip

    assert errors == {}
    assert filter_ == "sensors/+/json"
    assert options == {
        "device_level": 1,
        "fields": {"humidity": {"path": "h", "scale": 0.1}, "temperature": {"path": "t", "unit": "K"}},
    }
    row = {"enabled": True, "base_topic": filter_, "options": options}
    (source,) = [s for s in active_sources("plantops", {"generic": row}) if s.name == "generic"]
    result = generic.ADAPTER.parse("sensors/pot-7/json", b'{"h": 555, "t": 293.15}', NOW, source.options)
    (reading,) = result.readings
    assert result.key == "generic:pot-7"
    assert reading.values == {"humidity": pytest.approx(55.5), "temperature": pytest.approx(20.0)}


def test_a_whole_payload_number_round_trips_through_the_form():
    _, options, errors = parse_generic("plantops", {"filter": "pot/+/moisture", "path.soil_moisture": "."})
    assert errors == {}
    assert options["fields"] == {"soil_moisture": {"path": ""}}
    result = generic.ADAPTER.parse("pot/a/moisture", b"37.5", NOW, {**options, "filter": "pot/+/moisture"})
    assert result.readings[0].values == {"soil_moisture": 37.5}
    row = SourceRow("generic", "generic", True, "pot/+/moisture", options)
    assert generic_form_values(row)["path.soil_moisture"] == "."


@pytest.mark.parametrize(
    ("kind", "base", "ok"),
    [("tasmota", "tele", True), ("tasmota", "", False), ("esphome", "", True), ("tasmota", "a/+", False),
     ("tasmota", "plantops/x", False), ("tasmota", "x" * 201, False), ("generic", "a/+/b", True),
     ("generic", "#", True), ("generic", "a/#/b", False), ("generic", "", False), ("generic", "plantops/#", False)],
)  # fmt: skip
def test_base_errors(kind, base, ok):
    assert (base_error(kind, base, "plantops") is None) is ok


def test_one_bad_base_is_reported_by_its_field():
    rows = [SourceRow("tasmota", "tasmota", True, "tele"), SourceRow("shelly", "shelly", True, "")]
    updated, errors = apply_sources("plantops", rows, {"enabled.tasmota": "1", "base.tasmota": "tele/#"})
    assert list(errors) == ["base.tasmota"]
    assert [(r.enabled, r.base) for r in updated] == [(True, "tele/#"), (False, "")]

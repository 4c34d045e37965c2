"""The device settings' rules and the diagnostics line's facts, without a database."""

from datetime import UTC, datetime, timedelta

import pytest

from app.domain import device_settings as settings
from app.domain.errors import ValidationError
from app.models import Device

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


class Session:
    def flush(self):
        pass


def device(**fields):
    return Device(
        **{"key": "esphome:balcony", "source": "esphome", "calibration": {}, "field_map": {}, "last_raw": {}, **fields}
    )


@pytest.mark.parametrize(
    ("values", "problems"),
    [
        ({}, []),
        ({"soil_dry_raw": 2900, "soil_wet_raw": 1200, "temperature_offset": -0.5}, []),
        ({"soil_dry_raw": 2900}, []),  # the dry point first, the wet one later
        ({"soil_dry_raw": 1000, "soil_wet_raw": 1000}, [("soil_wet_raw", settings.SAME_DRY_WET)]),
        ({"temperature_offset": 20.5}, [("temperature_offset", "Use a value from -20 to 20.")]),
        ({"soil_dry_raw": float("nan")}, [("soil_dry_raw", "Enter a number.")]),
        ({"soil_dry_raw": True}, [("soil_dry_raw", "Enter a number.")]),
        ({"soil_wet_raw": 1e300}, [("soil_wet_raw", "Use a value from -1e+07 to 1e+07.")]),
        ({"offset": 1}, [("offset", "Unknown calibration setting.")]),
    ],
)
def test_calibration_problems(values, problems):
    assert [(p["field"], p["message"]) for p in settings.calibration_problems(values)] == problems


def test_calibrate_now_takes_the_current_raw_value_and_keeps_the_other_point():
    d = device(last_raw={"soil_moisture": 2450.0}, calibration={"soil_wet_raw": 1200.0, "temperature_offset": 0.4})
    assert settings.calibrate_now(Session(), d, "dry") == 2450.0
    assert d.calibration == {"soil_wet_raw": 1200.0, "temperature_offset": 0.4, "soil_dry_raw": 2450.0}
    assert settings.soil_calibrated(d)


def test_calibrate_now_without_a_raw_value_or_onto_the_other_point_is_refused():
    with pytest.raises(ValidationError):
        settings.calibrate_now(Session(), device(), "dry")
    d = device(last_raw={"soil_moisture": 1200.0}, calibration={"soil_wet_raw": 1200.0})
    with pytest.raises(ValidationError):
        settings.calibrate_now(Session(), d, "dry")
    assert d.calibration == {"soil_wet_raw": 1200.0}


def test_field_map_merges_and_refuses_two_fields_for_one_metric_and_unknown_metrics():
    d = device(field_map={"temp_1": "temperature", "hum": ""})
    settings.set_field_map(Session(), d, {"hum": "humidity"})
    assert d.field_map == {"temp_1": "temperature", "hum": "humidity"}
    with pytest.raises(ValidationError) as twice:
        settings.set_field_map(Session(), d, {"temp_2": "temperature"})
    assert twice.value.detail == [{"field": "field_map.temp_2", "message": "temp_1 already feeds temperature."}]
    with pytest.raises(ValidationError) as unknown:
        settings.set_field_map(Session(), d, {"temp_2": "warmth"})
    assert unknown.value.detail[0]["field"] == "field_map.temp_2"
    with pytest.raises(ValidationError):
        settings.set_field_map(Session(), d, {f"f{n}": "" for n in range(settings.FIELD_MAP_MAX + 1)})
    assert d.field_map == {"temp_1": "temperature", "hum": "humidity"}


def test_rename_strips_and_bounds_the_name():
    d = device()
    settings.rename(Session(), d, "  Balcony  ")
    assert d.name == "Balcony"
    assert settings.display_name(device(name="")) == "esphome:balcony"
    for bad in ("x" * 101, "nul\x00"):
        with pytest.raises(ValidationError):
            settings.rename(Session(), d, bad)
    assert d.name == "Balcony"


@pytest.mark.parametrize(
    ("last_seen", "state"),
    [(None, "waiting"), (NOW - timedelta(minutes=2), "receiving"), (NOW - timedelta(hours=2), "silent")],
)
def test_diagnose_says_whether_the_device_is_receiving(last_seen, state):
    assert settings.diagnose(device(last_seen_at=last_seen), {}, NOW).state == state


def test_diagnose_counts_todays_rejections_and_names_the_last_one_only_when_it_was_today():
    today = device(
        last_seen_at=NOW,
        last_rejection="out_of_range",
        last_rejection_detail="soil moisture out of range (145)",
        last_rejection_at=NOW - timedelta(hours=1),
    )
    diagnostics = settings.diagnose(today, {"out_of_range": 3, "bad_ts": 1}, NOW)
    assert diagnostics.rejected_today == 4
    assert diagnostics.rejection_text == "soil moisture out of range (145)"
    yesterday = device(last_seen_at=NOW, last_rejection="bad_ts", last_rejection_at=NOW - timedelta(days=1))
    assert settings.diagnose(yesterday, {}, NOW).rejection_text == ""
    no_detail = device(last_seen_at=NOW, last_rejection="uncalibrated", last_rejection_at=NOW)
    assert settings.diagnose(no_detail, {"uncalibrated": 2}, NOW).rejection_text == "raw soil value, not calibrated yet"

"""The demo's seven days of history look like a real plant's."""

import random
from datetime import UTC, datetime, timedelta

from app.care.demo import history
from app.domain.daylight import day_light
from app.domain.watering import detect_rise

END = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_seven_days_with_nights_waterings_and_care():
    made = history(random.Random(1), END - timedelta(days=7), END, UTC)
    assert len(made.readings) == 7 * 24 * 6 + 1
    night = [r["light"] for r in made.readings if r["ts"].hour in (0, 1, 2, 3)]
    noon = [r["light"] for r in made.readings if r["ts"].hour == 12]
    assert max(night) == 0
    assert min(noon) > 3_000
    soil = [r["soil_moisture"] for r in made.readings]
    assert min(soil) > 15
    assert max(soil) < 100
    waterings = [e for e in made.events if e["kind"] == "watered"]
    assert len(waterings) >= 1
    assert {e["kind"] for e in made.events} >= {"watered"}
    # each watering is a rise the detector would see, and each day has a believable light total
    first = waterings[0]["at"]
    window = [
        (r["ts"], r["soil_moisture"])
        for r in made.readings
        if first - timedelta(hours=1) <= r["ts"] <= first + timedelta(hours=1)
    ]
    assert detect_rise(window) is not None
    day = day_light([(r["ts"], r["light"]) for r in made.readings], (END - timedelta(days=3)).date(), UTC)
    assert day.complete
    assert 2 < day.dli < 30

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.plants.charts import (
    HEIGHT,
    LEFT,
    PLOT_W,
    RANGE_LABELS,
    RANGES,
    build_chart,
    nice_number,
    runs,
    time_ticks,
    value_ticks,
)

START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(days=1)


def bucket(index, low, avg, high):
    values = dict.fromkeys(("soil_moisture", "temperature", "humidity", "light", "battery"), (None, None, None))
    values["soil_moisture"] = (low, avg, high)
    return (index, values)


def test_no_readings_is_an_empty_chart_with_time_labels():
    chart = build_chart("soil_moisture", [], START, END, 300, 30.0, 70.0)
    assert chart.empty
    assert chart.band is None
    assert [when for _, when, _, _ in chart.x_ticks] == [START + timedelta(hours=h) for h in (0, 6, 12, 18, 24)]


def test_points_stay_inside_the_plot_and_band_covers_thresholds():
    series = [bucket(i, 20.0 + i % 7, 40.0 + i % 10, 60.0 + i % 5) for i in range(300)]
    chart = build_chart("soil_moisture", series, START, END, 300, 30.0, 70.0)

    assert chart.points == 300
    assert len(chart.lines) == 1
    coordinates = [tuple(map(float, p.split(","))) for p in chart.lines[0].split()]
    assert all(LEFT <= x <= LEFT + PLOT_W and 0 <= y <= HEIGHT for x, y in coordinates)
    band_y, band_height = chart.band
    assert band_height > 0
    max_point_y = min(y for _, y in coordinates)
    assert band_y < max_point_y + 200  # the band sits within the drawing
    assert [label for _, label in chart.y_ticks] == ["20", "40", "60"]  # round steps inside the drawing
    assert all(10 <= y <= HEIGHT - 28 for y, _ in chart.y_ticks)
    assert chart.band_label == "healthy 30–70"


def test_a_gap_in_readings_splits_the_line():
    series = [bucket(i, 40.0, 41.0, 42.0) for i in (*range(10), *range(100, 110))]
    chart = build_chart("soil_moisture", series, START, END, 300)
    assert len(chart.lines) == 2
    assert len(chart.envelope) == 2
    assert chart.band is None


def test_a_flat_series_still_has_height():
    chart = build_chart("soil_moisture", [bucket(0, 50.0, 50.0, 50.0)], START, END, 300)
    assert chart.points == 1
    assert [label for _, label in chart.y_ticks] == ["49", "50", "51"]


@pytest.mark.parametrize(("low", "high"), [(30.0, None), (None, 70.0)])
def test_a_single_threshold_draws_a_band_to_the_edge(low, high):
    chart = build_chart("soil_moisture", [bucket(0, 40.0, 50.0, 60.0)], START, END, 300, low, high)
    assert chart.band is not None
    assert chart.band[1] > 0


def test_runs_split_on_gaps():
    assert [len(r) for r in runs([(0,), (1,), (5,), (6,)], gap=2)] == [2, 2]


@pytest.mark.parametrize(
    ("value", "label"), [(0, "0"), (12.5, "12.5"), (-3.25, "-3.2"), (480.4, "480"), (1250, "1.2k"), (20000, "20k")]
)
def test_axis_labels_stay_short(value, label):
    assert nice_number(value) == label


def test_short_ranges_exist():
    assert RANGES["1h"] == timedelta(hours=1)
    assert RANGES["6h"] == timedelta(hours=6)
    assert list(RANGE_LABELS)[:2] == ["1h", "6h"]


def test_an_axis_never_goes_below_what_the_metric_can_read():
    values = dict.fromkeys(("soil_moisture", "temperature", "humidity", "light", "battery"), (None, None, None))
    values["light"] = (0.0, 3.0, 8.0)
    chart = build_chart("light", [(0, values)], START, END, 300, limits=(0.0, 200_000.0))
    labels = [label for _, label in chart.y_ticks]
    assert labels[0] == "0"
    assert not any(label.startswith("-") for label in labels)


def test_ticks_are_round_and_distinct():
    ticks = value_ticks(20.05, 20.23)
    labels = [label for _, label in ticks]
    assert len(set(labels)) == len(labels) >= 2
    assert labels == ["20.05", "20.10", "20.15", "20.20"]
    assert [label for _, label in value_ticks(0, 18_000)] == ["0", "5.0k", "10k", "15k"]


def test_time_ticks_fall_on_round_local_times():
    berlin = ZoneInfo("Europe/Berlin")
    end = datetime(2026, 11, 1, 12, 7, tzinfo=UTC)
    ticks = time_ticks(end - timedelta(hours=1), end, berlin)
    assert [t.astimezone(berlin).strftime(fmt) for t, fmt in ticks] == [
        "12:10",
        "12:20",
        "12:30",
        "12:40",
        "12:50",
        "13:00",
    ]
    week = time_ticks(end - timedelta(days=7), end, berlin)
    assert all(t.astimezone(berlin).hour == 0 for t, _ in week)
    assert len(week) <= 7


def test_samples_give_hover_values_and_table_rows():
    series = [bucket(i, 40.0, 41.0 + i / 100, 42.0) for i in range(300)]
    chart = build_chart("soil_moisture", series, START, END, 300)
    assert 1 < len(chart.samples) <= 60
    x0, width, y, when, low, avg, high = chart.samples[0]
    assert START <= when <= END
    assert low <= avg <= high
    assert width > 0

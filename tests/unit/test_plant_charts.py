from datetime import UTC, datetime, timedelta

import pytest

from app.plants.charts import HEIGHT, LEFT, PLOT_W, build_chart, nice_number, runs

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
    assert [when for _, when, _ in chart.x_ticks] == [START, START + timedelta(hours=12), END]


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
    assert chart.y_ticks[0][1] == "70"  # top label is the highest of data and thresholds


def test_a_gap_in_readings_splits_the_line():
    series = [bucket(i, 40.0, 41.0, 42.0) for i in (*range(10), *range(100, 110))]
    chart = build_chart("soil_moisture", series, START, END, 300)
    assert len(chart.lines) == 2
    assert len(chart.envelope) == 2
    assert chart.band is None


def test_a_flat_series_still_has_height():
    chart = build_chart("soil_moisture", [bucket(0, 50.0, 50.0, 50.0)], START, END, 300)
    assert chart.points == 1
    assert chart.y_ticks[0][1] == "51"


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

"""Server-rendered SVG charts: geometry from bucketed readings, no Flask here.

The template draws what `build_chart` returns: the threshold band as a rect,
the min..max envelope as a polygon and the mean as polylines (split where
readings are missing), in a fixed viewBox so the SVG scales to any width.
"""

from dataclasses import dataclass, field
from datetime import timedelta

RANGES = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    "1y": timedelta(days=365),
}
RANGE_LABELS = {"24h": "24 hours", "7d": "7 days", "30d": "30 days", "90d": "90 days", "1y": "12 months"}
# Ranges read from the hourly rollups (readings_hourly), which outlive the raw readings.
ROLLUP_RANGES = frozenset(("90d", "1y"))
DEFAULT_RANGE = "24h"
MAX_POINTS = 300

WIDTH, HEIGHT = 600, 210
LEFT, RIGHT, TOP, BOTTOM = 62, 8, 10, 28
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
# The template draws the frame from these.
BOX = {"width": WIDTH, "height": HEIGHT, "left": LEFT, "top": TOP, "plot_w": PLOT_W, "plot_h": PLOT_H}


@dataclass
class Chart:
    metric: str
    start: object
    end: object
    points: int = 0
    lines: list = field(default_factory=list)  # "x,y x,y ..." per unbroken run
    envelope: list = field(default_factory=list)  # polygon points per unbroken run
    band: tuple | None = None  # (y, height) of the threshold band
    y_ticks: list = field(default_factory=list)  # (y, label)
    x_ticks: list = field(default_factory=list)  # (x, datetime, text-anchor)

    @property
    def empty(self):
        return self.points == 0


def nice_number(value):
    """A short axis label: 12.5, 480, 1.2k, 20k."""
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    if abs(value) >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}".rstrip("0").rstrip(".")


def value_range(values, low, high):
    """The values' span, widened to include the thresholds, never zero."""
    known = [v for v in (*values, low, high) if v is not None]
    bottom, top = min(known), max(known)
    if bottom == top:
        bottom, top = bottom - 1, top + 1
    return bottom, top


def runs(series, gap):
    """Split [(index, ...)] where consecutive bucket indexes are more than `gap` apart."""
    run = []
    for item in series:
        if run and item[0] - run[-1][0] > gap:
            yield run
            run = []
        run.append(item)
    if run:
        yield run


def build_chart(metric, bucketed, start, end, buckets, low=None, high=None):
    """`bucketed` is [(bucket_index, {metric: (min, avg, max)})] from the query."""
    chart = Chart(metric, start, end)
    series = [(i, values[metric]) for i, values in bucketed if values[metric][1] is not None]
    chart.x_ticks = [
        (LEFT, start, "start"),
        (LEFT + PLOT_W / 2, start + (end - start) / 2, "middle"),
        (LEFT + PLOT_W, end, "end"),
    ]
    if not series:
        return chart
    chart.points = len(series)
    data_low, data_high = value_range([v for _, (lo, _avg, hi) in series for v in (lo, hi)], low, high)
    pad = (data_high - data_low) * 0.08
    bottom, top = data_low - pad, data_high + pad

    x_scale, y_scale = PLOT_W / buckets, PLOT_H / (top - bottom)

    def y(value):
        return round(TOP + (top - value) * y_scale, 1)

    def point(index, value):
        return f"{LEFT + (index + 0.5) * x_scale:.1f},{TOP + (top - value) * y_scale:.1f}"

    if low is not None or high is not None:
        band_top, band_bottom = y(high if high is not None else top), y(low if low is not None else bottom)
        chart.band = (band_top, round(band_bottom - band_top, 1))
    for run in runs(series, gap=max(2, buckets // 50)):
        chart.lines.append(" ".join([point(i, avg) for i, (_lo, avg, _hi) in run]))
        upper = [point(i, hi) for i, (_lo, _avg, hi) in run]
        lower = [point(i, lo) for i, (lo, _avg, _hi) in reversed(run)]
        chart.envelope.append(" ".join(upper + lower))
    chart.y_ticks = [(y(v), nice_number(v)) for v in (data_high, (data_high + data_low) / 2, data_low)]
    return chart

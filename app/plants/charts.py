"""Server-rendered SVG charts: geometry from bucketed readings, no Flask here.

The template draws what `build_chart` returns: the threshold band as a labelled
rect, the min..max envelope as a polygon and the mean as polylines (split where
readings are missing), in a fixed viewBox so the SVG scales to any width; up to
SAMPLES hover/tap targets with the value and time, which also fill the data table
read by screen readers. Axis ticks fall on round values (1, 2 or 5 × 10ⁿ) inside
the metric's possible range, and on round local times.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from ..filters import _
from ..i18n import N_

RANGES = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    "1y": timedelta(days=365),
}
RANGE_LABELS = {
    "1h": N_("hour"),
    "6h": N_("6 hours"),
    "24h": N_("24 hours"),
    "7d": N_("7 days"),
    "30d": N_("30 days"),
    "90d": N_("90 days"),
    "1y": N_("12 months"),
}
# Ranges read from the hourly rollups (readings_hourly), which outlive the raw readings.
ROLLUP_RANGES = frozenset(("90d", "1y"))
DEFAULT_RANGE = "24h"
MAX_POINTS = 300
# Short ranges have fewer buckets than readings every few minutes would leave empty.
RANGE_BUCKETS = {"1h": 60, "6h": 180}
SAMPLES = 60  # hover targets and data-table rows per chart
LINE_GAP = timedelta(minutes=20)  # readings further apart than this (and 2 buckets) break the line
TIME_STEPS = (
    timedelta(minutes=10),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(days=1),
    timedelta(days=2),
    timedelta(days=7),
    timedelta(days=14),
    timedelta(days=30),
    timedelta(days=61),
)
MAX_X_TICKS = 6

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
    band_label: str = ""  # "healthy 30-70"
    y_ticks: list = field(default_factory=list)  # (y, label)
    x_ticks: list = field(default_factory=list)  # (x, datetime, text-anchor, strftime format)
    samples: list = field(default_factory=list)  # (x0, width, y, datetime, min, avg, max) for hover and the table

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


def nice_step(span, count=4):
    """A round step (1, 2 or 5 x 10^n) giving about `count` intervals over `span`."""
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def tick_label(value, step):
    """A tick at `value` with as many decimals as the step needs: distinct labels, "0" not "-0"."""
    if abs(value) < step / 1000:
        value = 0.0
    if abs(value) >= 1000 and step >= 100:
        return nice_number(value)
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{value:.{decimals}f}"


def value_ticks(bottom, top, count=4):
    step = nice_step(top - bottom, count)
    first = math.ceil(bottom / step - 1e-9) * step
    ticks = []
    value = first
    while value <= top + step * 1e-9:
        ticks.append((value, tick_label(value, step)))
        value += step
    return ticks


def time_ticks(start, end, zone):
    """Round local times between `start` and `end`: (datetime, strftime format), at most MAX_X_TICKS."""
    span = end - start
    step = next((s for s in TIME_STEPS if span / s <= MAX_X_TICKS), TIME_STEPS[-1])
    local = start.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    fmt = "%H:%M" if step < timedelta(days=1) else ("%-d %b" if step < timedelta(days=61) else "%b %Y")
    ticks = []
    if step < timedelta(days=1):
        moment = midnight
        while moment < local:
            moment += step
        while moment <= end.astimezone(zone):
            ticks.append((moment.astimezone(UTC), fmt))
            moment = (moment + step).astimezone(zone)
    else:
        days = step.days
        moment = midnight + timedelta(days=1) if midnight < local else midnight
        while moment <= end.astimezone(zone):
            ticks.append((moment.astimezone(UTC), fmt))
            moment = datetime.combine((moment + timedelta(days=days)).date(), moment.time(), zone)
    return ticks


def build_chart(metric, bucketed, start, end, buckets, low=None, high=None, limits=None, zone: tzinfo = UTC):
    """`bucketed` is [(bucket_index, {metric: (min, avg, max)})] from the query; `limits` the
    metric's possible (low, high) from the registry: no axis ever goes outside it."""
    chart = Chart(metric, start, end)
    series = [(i, values[metric]) for i, values in bucketed if values[metric][1] is not None]

    def x_of(moment):
        return round(LEFT + (moment - start) / (end - start) * PLOT_W, 1)

    def anchor(x):
        return "start" if x < LEFT + 25 else ("end" if x > LEFT + PLOT_W - 25 else "middle")

    chart.x_ticks = [(x, when, anchor(x), fmt) for when, fmt in time_ticks(start, end, zone) for x in [x_of(when)]]
    if not series:
        return chart
    chart.points = len(series)
    data_low, data_high = value_range([v for _, (lo, _avg, hi) in series for v in (lo, hi)], low, high)
    pad = (data_high - data_low) * 0.08
    bottom, top = data_low - pad, data_high + pad
    if limits is not None:
        bottom, top = max(bottom, limits[0]), min(top, limits[1])
        if top <= bottom:
            bottom, top = data_low - 1, data_high + 1

    x_scale, y_scale = PLOT_W / buckets, PLOT_H / (top - bottom)

    def y(value):
        return round(TOP + (top - min(max(value, bottom), top)) * y_scale, 1)

    def point(index, value):
        return f"{LEFT + (index + 0.5) * x_scale:.1f},{y(value):.1f}"

    if low is not None or high is not None:
        band_top, band_bottom = y(high if high is not None else top), y(low if low is not None else bottom)
        chart.band = (band_top, round(band_bottom - band_top, 1))
        if low is not None and high is not None:
            chart.band_label = _("healthy %(low)s–%(high)s", low=f"{low:g}", high=f"{high:g}")
        else:
            chart.band_label = (
                _("healthy above %(low)s", low=f"{low:g}")
                if low is not None
                else _("healthy below %(high)s", high=f"{high:g}")
            )
    width = (end - start) / buckets
    gap = max(2, buckets // 50, math.ceil(LINE_GAP / width))
    for run in runs(series, gap=gap):
        chart.lines.append(" ".join([point(i, avg) for i, (_lo, avg, _hi) in run]))
        upper = [point(i, hi) for i, (_lo, _avg, hi) in run]
        lower = [point(i, lo) for i, (lo, _avg, _hi) in reversed(run)]
        chart.envelope.append(" ".join(upper + lower))
    chart.y_ticks = [(y(v), label) for v, label in value_ticks(bottom, top)]
    every = max(1, math.ceil(len(series) / SAMPLES))
    for index in range(0, len(series), every):
        group = series[index : index + every]
        first, last = group[0][0], group[-1][0]
        lows, avgs, highs = [v[0] for _, v in group], [v[1] for _, v in group], [v[2] for _, v in group]
        mean = sum(avgs) / len(avgs)
        chart.samples.append(
            (
                round(LEFT + first * x_scale, 1),
                round(max(1.0, (last - first + 1) * x_scale), 1),
                y(mean),
                start + width * ((first + last + 1) / 2),
                min(lows),
                mean,
                max(highs),
            )
        )
    return chart

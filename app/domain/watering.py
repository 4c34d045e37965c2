"""Watering detected from the soil: a rise in soil moisture of at least `points` within `minutes`.

Capacitive sensors read a few tenths of a point of noise and the odd spike; a
watered pot jumps by 15 to 40 points within minutes (a slow soak can take half an
hour), while a pot that is not watered only drifts (temperature, a humid day) by a
point or two over hours. So:

- a median of three readings first, so one stray reading can neither make a rise nor
  hide one;
- the rise is measured from the lowest smoothed value in the preceding `minutes`,
  so a slow soak within the window counts, and a drift slower than `points` per
  `minutes` never does.

Defaults (a rise of 8 points within 60 minutes) fit capacitive sensors read every
few minutes; a plant may set its own (`Plant.watering_rise_points`,
`Plant.watering_rise_minutes`).
"""

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

DEFAULT_RISE_POINTS = 8.0
DEFAULT_RISE_MINUTES = 60
RISE_POINTS_RANGE = (2.0, 60.0)
RISE_MINUTES_RANGE = (5, 360)


@dataclass(frozen=True)
class Rise:
    started_at: datetime  # the last reading still near the low before the rise
    at: datetime  # the reading at which the rise reached `points`
    before: float
    after: float


def smoothed(series: Sequence[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    """A running median of three (the ends kept as they are)."""
    if len(series) < 3:
        return list(series)
    middle = [
        (series[i][0], sorted((series[i - 1][1], series[i][1], series[i + 1][1]))[1]) for i in range(1, len(series) - 1)
    ]
    return [series[0], *middle, series[-1]]


def detect_rise(
    series: Sequence[tuple[datetime, float | None]],
    points: float = DEFAULT_RISE_POINTS,
    minutes: int = DEFAULT_RISE_MINUTES,
) -> Rise | None:
    """The first rise of at least `points` within `minutes` in `series` (time order), or None.

    The newest reading needs a neighbour to be smoothed, so a rise is confirmed by the
    reading after it: one spike at the end of a batch is never a watering.
    """
    known = [(ts, float(v)) for ts, v in series if v is not None]
    if len(known) < 3:
        return None
    smooth = smoothed(known)[:-1]  # the last value is unsmoothed: wait for the next reading
    window = timedelta(minutes=minutes)
    # The lowest smoothed value within `minutes` before each reading, by a sliding-window minimum:
    # `lows` holds indices of rising values (of equal ones the latest), its first the window's low.
    lows: deque[int] = deque()
    for j, (tj, vj) in enumerate(smooth):
        while lows and tj - smooth[lows[0]][0] > window:
            lows.popleft()
        if lows and vj - smooth[lows[0]][1] >= points:
            low_index = lows[0]
            low = smooth[low_index][1]
            # the rise began at the last reading still near the low (noise is well under points / 4)
            start = max(i for i in range(low_index, j) if smooth[i][1] <= low + points / 4)
            return Rise(smooth[start][0], tj, low, vj)
        while lows and smooth[lows[-1]][1] >= vj:
            lows.pop()
        lows.append(j)
    return None


def not_needed_yet(latest: float | None, low: float | None, high: float | None) -> bool:
    """Whether a watering that falls due can wait: the soil is still well above its minimum
    (by 10 points, or a quarter of the plant's range when that is wider)."""
    if latest is None or low is None:
        return False
    margin = max(10.0, (high - low) / 4) if high is not None and high > low else 10.0
    return latest >= low + margin

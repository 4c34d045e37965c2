"""Daylight judged per day: the daily light integral (DLI) from lux readings.

A plant's light need is a daily total, not a level at each moment: 0 lux at
night is normal, so a light threshold judged per reading would open "Light low"
every night. PlantOps integrates the lux readings over the plant's local day (the
owner's timezone) into mol/m²/day and judges that total once the day is over,
and only in the daytime of the next day, so no light alert ever opens at night.

Conversion: photosynthetic photon flux density (µmol/m²/s) = lux × 0.0185, the
factor for sunlight (about 54 lux per µmol/m²/s) from Thimijan & Heins,
"Photometric, radiometric, and quantum light units of measure: a review of
procedures for interconversion", HortScience 18 (1983) 818-822. Grow lights differ
(white LEDs: about 0.014-0.016); the factor is a constant here, the same for every
plant, so a preset written in DLI means the same everywhere.

DLI (mol/m²/day) = Σ PPFD × seconds / 1,000,000 (trapezoids between readings).
Gaps longer than MAX_GAP are not integrated, and a day with less than
MIN_COVERAGE of its length covered is not judged (a silent sensor is the stale
alert's business, not a dark day).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

LUX_TO_PPFD = 0.0185  # µmol/m²/s per lux, sunlight (Thimijan & Heins 1983)
MAX_GAP = timedelta(hours=2)  # readings further apart than this leave the gap unknown
MIN_COVERAGE = 0.75  # of the local day's length, for the day to be judged
JUDGE_FROM_HOUR, JUDGE_UNTIL_HOUR = 9, 18  # local hours in which yesterday's total may open or resolve an alert


@dataclass(frozen=True)
class DayLight:
    day: date
    dli: float  # mol/m²/day over the covered part
    covered_seconds: float
    day_seconds: float

    @property
    def complete(self) -> bool:
        return self.day_seconds > 0 and self.covered_seconds >= MIN_COVERAGE * self.day_seconds


def local_day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """The local day's start and end in UTC (23 or 25 hours on a DST change)."""
    start = datetime.combine(day, time.min, zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, zone).astimezone(UTC)
    return start, end


def _interpolate(t0: datetime, v0: float, t1: datetime, v1: float, at: datetime) -> float:
    span = (t1 - t0).total_seconds()
    return v0 if span == 0 else v0 + (v1 - v0) * (at - t0).total_seconds() / span


def integrate(series: Iterable[tuple[datetime, float | None]], start: datetime, end: datetime) -> tuple[float, float]:
    """(mol/m², covered seconds) of lux `series` (time order) clipped to [start, end)."""
    points = [(ts, value) for ts, value in series if value is not None]
    total = covered = 0.0
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        if t1 <= t0 or t1 - t0 > MAX_GAP or t1 <= start or t0 >= end:
            continue
        a, b = max(t0, start), min(t1, end)
        va, vb = _interpolate(t0, v0, t1, v1, a), _interpolate(t0, v0, t1, v1, b)
        seconds = (b - a).total_seconds()
        total += (va + vb) / 2 * LUX_TO_PPFD * seconds / 1_000_000
        covered += seconds
    return total, covered


def day_light(series: Sequence[tuple[datetime, float | None]], day: date, zone: tzinfo) -> DayLight:
    start, end = local_day_bounds(day, zone)
    dli, covered = integrate(series, start, end)
    return DayLight(day, round(dli, 3), covered, (end - start).total_seconds())


def judging_hours(local_now: datetime) -> bool:
    """Daytime where the plant is: the only hours in which a daily light alert opens or resolves."""
    return JUDGE_FROM_HOUR <= local_now.hour < JUDGE_UNTIL_HOUR


def daily_problem(dli: float, low: float | None, high: float | None) -> str | None:
    """ "light_low" / "light_high" for a day's total against the plant's daily bounds."""
    if low is not None and dli < low:
        return "light_low"
    if high is not None and dli > high:
        return "light_high"
    return None


def lux_threshold_to_dli(lux: float, hours: float = 12.0) -> float:
    """A former per-reading lux threshold as a daily total, assuming `hours` of that light a day
    (the migration's conversion of thresholds typed before light was judged per day)."""
    return round(lux * LUX_TO_PPFD * hours * 3600 / 1_000_000, 1)

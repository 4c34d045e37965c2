"""A plant's status from its latest state, in plain functions.

The plant page and the JSON API use `plant_status`. The dashboard cards call its two
halves, `age_is_stale` and `status_with_reading`, so that a memoised card is keyed by
staleness rather than by the clock. The alert rules use `is_stale`. All of them share
one staleness rule and one threshold check, so they can never disagree.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .metrics import READING_THRESHOLD_KEYS

BATTERY_LOW_PERCENT = 15

# Worst first: the dashboard sorts by this.
STATUS_ORDER = {"alert": 0, "stale": 1, "no_data": 2, "ok": 3}


@dataclass(frozen=True)
class Status:
    status: str
    problems: tuple[str, ...]

    @property
    def rank(self) -> int:
        return STATUS_ORDER[self.status]


NO_DATA = Status("no_data", ())


def plant_status(plant: Any, now: datetime) -> Status:
    """`plant` needs `last_reading_at`, `stale_after_minutes`, `latest_<metric>` and
    `<metric>_min`/`<metric>_max`; anything with those attributes works.

    A value exactly at a threshold is inside the range. A missing metric or an
    unset threshold raises nothing. `alert` wins over `stale`: the last values
    still say what is wrong, and `problems` lists both.
    """
    if plant.last_reading_at is None:
        return NO_DATA
    return status_with_reading(plant, is_stale(plant.last_reading_at, plant.stale_after_minutes, now))


def is_stale(last_reading_at: datetime | None, stale_after_minutes: float, now: datetime) -> bool:
    """No reading within the window."""
    age = None if last_reading_at is None else (now - last_reading_at).total_seconds()
    return age_is_stale(age, stale_after_minutes)


def age_is_stale(age_seconds: float | None, stale_after_minutes: float) -> bool:
    """The staleness rule, on the age of the last reading in seconds; a plant that never
    sent one (None) is not stale: it has no data."""
    return age_seconds is not None and age_seconds > stale_after_minutes * 60


def status_with_reading(plant: Any, stale: bool) -> Status:
    """`plant_status` of a plant that has a reading: the clock matters only through `stale`."""
    problems = []
    for metric in READING_THRESHOLD_KEYS:  # a daily metric's problem is its open alert
        value = getattr(plant, f"latest_{metric}")
        if value is None:
            continue
        low, high = getattr(plant, f"{metric}_min"), getattr(plant, f"{metric}_max")
        if low is not None and value < low:
            problems.append(f"{metric}_low")
        elif high is not None and value > high:
            problems.append(f"{metric}_high")
    if plant.latest_battery is not None and plant.latest_battery < BATTERY_LOW_PERCENT:
        problems.append("battery_low")
    if stale:
        problems.append("stale")
    if len(problems) > (1 if stale else 0):
        return Status("alert", tuple(problems))
    return Status("stale" if stale else "ok", tuple(problems))

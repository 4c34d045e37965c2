"""Alert rules as plain functions: when a problem opens and when it is over.

A threshold alert opens once the newest `min_readings` readings are all past
the threshold, so one stray value raises nothing. It resolves only once the
value is back inside by a margin (hysteresis), so a value wobbling around the
threshold cannot open, resolve and reopen. A stale alert opens when a plant's
newest reading is older than its window and resolves when data returns.
"""

from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .metrics import DAILY_METRICS, READING_THRESHOLD_KEYS
from .status import BATTERY_LOW_PERCENT

STALE = "stale"
# Problems of metrics judged per day (light): opened and resolved by the daily check only.
DAILY_PROBLEMS = frozenset(f"{m.key}_{side}" for m in DAILY_METRICS for side in ("low", "high"))


@dataclass(frozen=True)
class Rule:
    problem: str  # "soil_moisture_low"
    metric: str  # "soil_moisture"
    threshold: float
    low: bool  # True: a value below the threshold is the problem
    margin: float  # how far back inside a value must be to resolve

    def breached(self, value: float | None) -> bool:
        if value is None:
            return False
        return value < self.threshold if self.low else value > self.threshold

    def recovered(self, value: float | None) -> bool:
        if value is None:
            return False
        return value >= self.threshold + self.margin if self.low else value <= self.threshold - self.margin


def hysteresis_margin(low: float | None, high: float | None, fraction: float) -> float:
    """`fraction` of the plant's min..max range; of the threshold itself when only one bound is set."""
    if low is not None and high is not None and high > low:
        return (high - low) * fraction
    bound = low if low is not None else high
    if bound is None:
        raise TypeError("hysteresis_margin needs low or high")
    return abs(bound) * fraction


def plant_rules(plant: Any, hysteresis_fraction: float) -> list[Rule]:
    """The threshold rules of `plant` (anything with `<metric>_min`/`_max`), plus low battery."""
    rules: list[Rule] = []
    for metric in READING_THRESHOLD_KEYS:  # light is judged per day (app.domain.daylight)
        low, high = getattr(plant, f"{metric}_min"), getattr(plant, f"{metric}_max")
        if low is not None:
            rules.append(Rule(f"{metric}_low", metric, low, True, hysteresis_margin(low, high, hysteresis_fraction)))
        if high is not None:
            rules.append(Rule(f"{metric}_high", metric, high, False, hysteresis_margin(low, high, hysteresis_fraction)))
    rules.append(Rule("battery_low", "battery", BATTERY_LOW_PERCENT, True, 100 * hysteresis_fraction))
    return rules


def latest_value(plant: Any, rule: Rule) -> float | None:
    value: float | None = getattr(plant, f"latest_{rule.metric}")
    return value


def opening_candidates(plant: Any, rules: Iterable[Rule], open_problems: Container[str]) -> list[Rule]:
    """Rules whose latest value is past the threshold and that have no open alert yet.

    Only these need the plant's recent readings, so a healthy plant costs no query.
    """
    return [r for r in rules if r.problem not in open_problems and r.breached(latest_value(plant, r))]


def should_open(rule: Rule, recent_values: Iterable[float | None], min_readings: int) -> bool:
    """`recent_values`: the metric in the plant's newest readings, newest first.

    Opens only when each of the newest `min_readings` readings is past the threshold.
    """
    window = list(recent_values)[:min_readings]
    return len(window) == min_readings and all(rule.breached(value) for value in window)


def problems_to_resolve(plant: Any, rules: Iterable[Rule], open_problems: Iterable[str]) -> list[str]:
    """Open threshold problems whose value is back inside by the margin, or whose threshold is gone."""
    by_problem = {rule.problem: rule for rule in rules}
    resolved = []
    for problem in open_problems:
        if problem == STALE or problem in DAILY_PROBLEMS:
            continue
        rule = by_problem.get(problem)
        if rule is None or rule.recovered(latest_value(plant, rule)):
            resolved.append(problem)
    return resolved


def minutes_silent(last_reading_at: datetime, now: datetime) -> float:
    return round((now - last_reading_at).total_seconds() / 60, 1)

"""Words and units for problems and values, shared by the alert pages and the Discord messages."""

from .metrics import BY_KEY
from .rules import STALE


def problem_label(problem: str) -> str:
    """ "soil_moisture_low" -> "Soil moisture low", "stale" -> "Sensor silent"."""
    if problem == STALE:
        return "Sensor silent"
    metric, _, direction = problem.rpartition("_")
    known = BY_KEY.get(metric)
    return f"{known.label if known else metric.replace('_', ' ').capitalize()} {direction}"


def format_value(metric: str | None, value: float | None) -> str:
    """ "22.5 %", "1,200 lux" as the registry shows them; "75 min" for a stale alert's silence."""
    if value is None:
        return "-"
    number = f"{value:.1f}".rstrip("0").rstrip(".")
    if metric is None:
        return f"{number} min"
    known = BY_KEY.get(metric)  # an alert outlives a metric taken out of the registry
    if known is None:
        return number
    # A daily metric's alerts carry the day's total (light: mol/m²/day), never a reading.
    return known.format_threshold(value) if known.daily else known.format(value)

"""Words and units for statuses, problems and values: the one vocabulary of the dashboard
cards, the plant page, the alerts pages, the Discord messages and the API's labels.

These are the English source strings; the web layer passes them through gettext
(app.filters), so a translation catalog has one entry for each.
"""

from collections.abc import Callable

from .metrics import BY_KEY
from .rules import STALE

# A plant's status (app.domain.status.STATUS_ORDER) as a gardener reads it.
STATUS_LABELS: dict[str, str] = {
    "alert": "Needs care",
    "stale": "Sensor silent",
    "no_data": "Waiting for data",
    "ok": "OK",
}
STALE_LABEL = STATUS_LABELS["stale"]
DIRECTION_WORDS = {"low": "low", "high": "high"}


def status_label(status: str) -> str:
    """ "stale" -> "Sensor silent": the same words as the alert of a silent sensor."""
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def problem_label(problem: str) -> str:
    """ "soil_moisture_low" -> "Soil moisture low", "stale" -> "Sensor silent"."""
    if problem == STALE:
        return STALE_LABEL
    metric, _, direction = problem.rpartition("_")
    known = BY_KEY.get(metric)
    return f"{known.label if known else metric.replace('_', ' ').capitalize()} {direction}"


def format_value(
    metric: str | None,
    value: float | None,
    temperature_unit: str = "C",
    number: Callable[[float, int], str] | None = None,
) -> str:
    """ "22.5 %", "1,200 lux" as the registry shows them; "75 min" for a stale alert's silence."""
    if value is None:
        return "-"
    if metric is None:
        rounded = round(value, 1)
        decimals = 0 if rounded == int(rounded) else 1
        return f"{number(rounded, decimals) if number else f'{rounded:.{decimals}f}'} min"
    known = BY_KEY.get(metric)  # an alert outlives a metric taken out of the registry
    if known is None:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    if known.daily:  # its alerts carry the day's total (light: mol/m²/day), never a reading
        return f"{number(value, 1) if number else f'{value:,.1f}'} {known.daily_unit}"
    return known.format(value, temperature_unit, number)

"""Words and units for problems and values, shared by the alert pages and the Discord messages."""

from .rules import STALE

METRIC_LABELS = {
    "soil_moisture": "Soil moisture",
    "temperature": "Temperature",
    "humidity": "Humidity",
    "light": "Light",
    "battery": "Battery",
}
UNITS = {"soil_moisture": "%", "temperature": "°C", "humidity": "%", "light": "lux", "battery": "%"}


def problem_label(problem):
    """ "soil_moisture_low" -> "Soil moisture low", "stale" -> "Sensor silent"."""
    if problem == STALE:
        return "Sensor silent"
    metric, _, direction = problem.rpartition("_")
    return f"{METRIC_LABELS.get(metric, metric.replace('_', ' ').capitalize())} {direction}"


def format_value(metric, value):
    """ "22.5 %", "1200 lux", "75 min" for a stale alert's silence."""
    if value is None:
        return "-"
    number = f"{value:.1f}".rstrip("0").rstrip(".")
    if metric is None:
        return f"{number} min"
    unit = UNITS.get(metric, "")
    return f"{number} {unit}".strip()

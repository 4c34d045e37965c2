"""Threshold presets a gardener can start from, and the ranges sensors report in."""

from ..models import THRESHOLD_METRICS

# The contract's accepted range per metric (docs/contracts.md, MQTT telemetry), with its unit.
METRIC_RANGES = {
    "soil_moisture": (0.0, 100.0),
    "temperature": (-40.0, 85.0),
    "humidity": (0.0, 100.0),
    "light": (0.0, 200_000.0),
    "battery": (0.0, 100.0),
}
UNITS = {"soil_moisture": "%", "temperature": "°C", "humidity": "%", "light": "lux", "battery": "%"}
LABELS = {
    "soil_moisture": "Soil moisture",
    "temperature": "Temperature",
    "humidity": "Humidity",
    "light": "Light",
    "battery": "Battery",
}

# (min, max) per threshold metric.
PRESETS = {
    "succulent": {
        "label": "Succulent / cactus",
        "soil_moisture": (10, 40),
        "temperature": (10, 35),
        "humidity": (10, 50),
        "light": (5_000, 100_000),
    },
    "tropical": {
        "label": "Tropical foliage",
        "soil_moisture": (40, 80),
        "temperature": (18, 30),
        "humidity": (50, 90),
        "light": (1_000, 20_000),
    },
    "herbs": {
        "label": "Kitchen herbs",
        "soil_moisture": (30, 70),
        "temperature": (12, 28),
        "humidity": (40, 70),
        "light": (5_000, 50_000),
    },
    "fern": {
        "label": "Fern",
        "soil_moisture": (50, 85),
        "temperature": (15, 26),
        "humidity": (60, 95),
        "light": (500, 10_000),
    },
    "vegetables": {
        "label": "Vegetables",
        "soil_moisture": (40, 75),
        "temperature": (10, 32),
        "humidity": (40, 80),
        "light": (10_000, 120_000),
    },
}


def preset_thresholds(name):
    """{"soil_moisture_min": 10.0, ...} for a preset name, or {} for an unknown one."""
    preset = PRESETS.get(name)
    if preset is None:
        return {}
    values = {}
    for metric in THRESHOLD_METRICS:
        low, high = preset[metric]
        values[f"{metric}_min"] = float(low)
        values[f"{metric}_max"] = float(high)
    return values

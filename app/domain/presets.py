"""Threshold presets a gardener can start from; their values live in the metrics registry."""

from typing import Any

from .metrics import PRESET_LABELS, THRESHOLD_METRICS


def preset_thresholds(name: str) -> dict[str, float]:
    """{"soil_moisture_min": 10.0, ...} for a preset name, or {} for an unknown one."""
    if name not in PRESET_LABELS:
        return {}
    values = {}
    for metric in THRESHOLD_METRICS:
        low, high = metric.presets[name]
        values[f"{metric.key}_min"] = float(low)
        values[f"{metric.key}_max"] = float(high)
    return values


def matching_preset(plant: Any) -> str:
    """The preset whose ranges `plant` (anything with `<metric>_min`/`_max` attributes) holds
    exactly, or "" when they were typed by hand: what the edit form shows as chosen."""
    for name in PRESET_LABELS:
        if all(getattr(plant, key, None) == value for key, value in preset_thresholds(name).items()):
            return name
    return ""

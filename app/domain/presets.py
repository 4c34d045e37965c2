"""Threshold presets a gardener can start from; their values live in the metrics registry."""

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

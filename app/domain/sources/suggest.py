"""A metric for a source field name, suggested on a device's first sight (its field_map)."""

import re

from ..metrics import KEYS

_WORDS = re.compile(r"[a-z]+")
# A word that makes a field something else than the metric its other words name.
_NOT_A_METRIC = {"voltage", "volt", "volts", "raw", "adc", "signal", "rssi", "uptime", "wifi", "status", "dew", "point"}
# (words any of which names the metric, metric), in order: "soil humidity" is soil moisture.
_SUGGESTIONS: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"soil", "moisture", "moi", "moist", "soilmoisture"}), "soil_moisture"),
    (frozenset({"temperature", "temp", "tempc", "tc", "temperatur"}), "temperature"),
    (frozenset({"humidity", "hum", "rh", "humid"}), "humidity"),
    (frozenset({"illuminance", "lux", "light", "brightness", "illumination", "luminance"}), "light"),
    (frozenset({"conductivity", "fertility", "ec", "fer", "cond"}), "conductivity"),
    (frozenset({"battery", "batt", "bat"}), "battery"),
)


def suggest_metric(name: str) -> str | None:
    """The registry metric a field name most likely means, or None.

    "Fern Soil Moisture", "soil_moisture", "moisture" -> "soil_moisture"; "temp" ->
    "temperature"; "lux" -> "light"; "fertility" -> "conductivity"; "battery_voltage",
    "wifi_signal" -> None.
    """
    if not isinstance(name, str) or len(name) > 200:
        return None
    lowered = name.lower()
    if lowered in KEYS:
        return lowered
    words = set(_WORDS.findall(lowered.replace("_", " ")))
    if not words or words & _NOT_A_METRIC:
        return None
    for names, metric in _SUGGESTIONS:
        if words & names:
            return metric
    return None

"""A metric for a source field name, suggested on a device's first sight (its field_map)."""

import re

WORDS = (
    ("soil_moisture", ("soil", "moist", "moi")),
    ("conductivity", ("conduct", "fertil", "ec", "fer")),
    ("light", ("illuminance", "lux", "light", "brightness")),
    ("humidity", ("humid", "rh")),
    ("temperature", ("temp", "tempc")),
    ("battery", ("batt", "battery")),
)


def suggest_metric(name: str) -> str:
    """The registry metric a field name most likely means ("Fern soil moisture" ->
    "soil_moisture"), or "" to ignore it."""
    parts = [part for part in re.split(r"[^a-z0-9]+", name.lower()) if part]
    for metric, words in WORDS:
        for part in parts:
            if any(part == word or (len(word) > 3 and part.startswith(word)) for word in words):
                return metric
    return ""

"""Source adapters: the messages of sensor ecosystems as readings of devices (no Flask, no I/O).

One small module per source; each exposes an adapter (base.Adapter). `SOURCES` lists every
source PlantOps knows with its defaults (an administrator's IngestSource row overrides the
`enabled` flag, the base topic and the options); `suggest_metric` proposes the registry metric
for a source's field name (ESPHome object ids, generic fields) when a device is first seen.
"""

from typing import Any

from .base import MERGE_SECONDS, Adapter, DeviceReading, SourceResult
from .suggest import suggest_metric

__all__ = [
    "MERGE_SECONDS",
    "SOURCES",
    "Adapter",
    "DeviceReading",
    "SourceResult",
    "SourceSpec",
    "adapter",
    "suggest_metric",
]


def __getattr__(name: str) -> Any:
    """The registry (sources.SOURCES, sources.adapter, ...), imported on first use: the adapters
    import app.domain.payload, which imports this package's base."""
    if name in {"SOURCES", "BY_NAME", "ADAPTERS", "SourceSpec", "adapter"}:
        from . import registry

        return getattr(registry, name)
    raise AttributeError(name)

"""Sources: one module per sensor ecosystem (docs/plan SENSORS.md, base.py the interface)."""

from .suggest import suggest_metric as suggest_metric

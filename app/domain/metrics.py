"""The metrics registry: every fact about a metric, written once.

Forms, the API schema, payload validation, cards, charts, the CSV and the alert
rules all read these entries. A new metric is one entry here and one migration
(its reading, latest-state and threshold columns).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    key: str  # column and payload field name: "soil_moisture"
    label: str  # "Soil moisture"
    unit: str  # as shown: "%", "°C", "lux", "µS/cm"
    low: float  # the accepted range of a reading (the payload contract)
    high: float
    decimals: int  # digits after the point when shown
    threshold: bool  # the gardener sets a min..max range for it
    trend_tolerance: float  # a change smaller than this is "steady"

    @property
    def range(self) -> tuple[float, float]:
        return (self.low, self.high)

    def format(self, value: float) -> str:
        """41.2 -> "41.2 %", 9100.0 -> "9,100 lux"."""
        return f"{value:,.{self.decimals}f} {self.unit}"


METRICS: tuple[Metric, ...] = (
    Metric("soil_moisture", "Soil moisture", "%", 0.0, 100.0, 1, True, 2.0),
    Metric("temperature", "Temperature", "°C", -40.0, 85.0, 1, True, 0.5),
    Metric("humidity", "Humidity", "%", 0.0, 100.0, 1, True, 3.0),
    Metric("light", "Light", "lux", 0.0, 200_000.0, 0, True, 500.0),
    Metric("battery", "Battery", "%", 0.0, 100.0, 0, False, 2.0),
)

BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
KEYS: tuple[str, ...] = tuple(m.key for m in METRICS)
THRESHOLD_METRICS: tuple[Metric, ...] = tuple(m for m in METRICS if m.threshold)
THRESHOLD_KEYS: tuple[str, ...] = tuple(m.key for m in THRESHOLD_METRICS)


def metric(key: str) -> Metric:
    return BY_KEY[key]

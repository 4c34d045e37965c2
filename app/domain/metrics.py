"""The metrics registry: every fact about a metric, written once.

Forms, the API schema, payload validation, cards, charts, the CSV, the advice
prompt and the alert rules all read these entries. A new metric is one entry here
and one migration (its reading, latest-state and threshold columns; a test checks
the models have them).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# Threshold presets a gardener can start from; each threshold metric gives its (min, max) for each.
PRESET_LABELS: dict[str, str] = {
    "succulent": "Succulent / cactus",
    "tropical": "Tropical foliage",
    "herbs": "Kitchen herbs",
    "fern": "Fern",
    "vegetables": "Vegetables",
}


@dataclass(frozen=True)
class Metric:
    key: str  # column and payload field name: "soil_moisture"
    label: str  # "Soil moisture"
    unit: str  # as shown: "%", "°C", "lux", "µS/cm"
    low: float  # the accepted range of a reading (the payload contract)
    high: float
    decimals: int  # digits after the point when shown
    threshold: bool  # the gardener sets a min..max range for it
    trend_tolerance: float  # a change smaller than this is "steady" (the advice prompt)
    presets: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # PRESET_LABELS key -> (min, max)
    charted: bool = True  # drawn on the plant page
    words: str = ""  # how the advice prompt names it, when not the label in lower case
    # Judged once per local day rather than per reading (light: the daily light integral). Then
    # the thresholds and presets are daily values in `daily_unit` within `daily_range`.
    daily_unit: str = ""
    daily_range: tuple[float, float] = (0.0, 0.0)

    @property
    def daily(self) -> bool:
        return bool(self.daily_unit)

    @property
    def threshold_unit(self) -> str:
        """The unit of the gardener's min..max: the daily unit for a metric judged per day."""
        return self.daily_unit or self.unit

    @property
    def threshold_range(self) -> tuple[float, float]:
        return self.daily_range if self.daily else self.range

    def format_threshold(self, value: float) -> str:
        """A threshold as shown: 4.2 mol/m²/day for light, else as `format`."""
        return f"{value:,.1f} {self.daily_unit}" if self.daily else self.format(value)

    @property
    def range(self) -> tuple[float, float]:
        return (self.low, self.high)

    @property
    def in_words(self) -> str:
        return self.words or self.label.lower()

    def shown(self, value: float, temperature_unit: str = "C") -> tuple[float, str]:
        """The value and unit as displayed: temperatures are stored in °C and shown in °F
        when the user chose "F" (settings); every other metric as stored."""
        if self.unit == "°C" and temperature_unit == "F":
            return value * 9 / 5 + 32, "°F"
        return value, self.unit

    def format(
        self, value: float, temperature_unit: str = "C", number: Callable[[float, int], str] | None = None
    ) -> str:
        """41.2 -> "41.2 %", 9100.0 -> "9,100 lux"; `number(value, decimals)` formats the number
        for a locale (app.filters passes Babel's), else English digit grouping."""
        shown, unit = self.shown(value, temperature_unit)
        text = number(shown, self.decimals) if number else f"{shown:,.{self.decimals}f}"
        return f"{text} {unit}"


METRICS: tuple[Metric, ...] = (
    Metric(
        "soil_moisture", "Soil moisture", "%", 0.0, 100.0, 1, True, 2.0,
        presets={"succulent": (10, 40), "tropical": (40, 80), "herbs": (30, 70), "fern": (50, 85),
                 "vegetables": (40, 75)},
    ),
    Metric(
        "temperature", "Temperature", "°C", -40.0, 85.0, 1, True, 0.5,
        presets={"succulent": (10, 35), "tropical": (18, 30), "herbs": (12, 28), "fern": (15, 26),
                 "vegetables": (10, 32)},
    ),
    Metric(
        "humidity", "Humidity", "%", 0.0, 100.0, 1, True, 3.0, words="air humidity",
        presets={"succulent": (10, 50), "tropical": (50, 90), "herbs": (40, 70), "fern": (60, 95),
                 "vegetables": (40, 80)},
    ),
    # Light thresholds are daily light integrals (app.domain.daylight): 0 lux at night is no problem.
    Metric(
        "light", "Light", "lux", 0.0, 200_000.0, 0, True, 500.0,
        presets={"succulent": (10, 50), "tropical": (4, 20), "herbs": (12, 40), "fern": (2, 10),
                 "vegetables": (15, 60)},
        daily_unit="mol/m²/day", daily_range=(0.0, 80.0),
    ),
    Metric(
        "conductivity", "Conductivity", "µS/cm", 0.0, 10_000.0, 0, True, 50.0, words="soil fertility (conductivity)",
        presets={"succulent": (50, 1_000), "tropical": (350, 2_000), "herbs": (300, 1_500), "fern": (200, 1_200),
                 "vegetables": (500, 2_500)},
    ),
    Metric("battery", "Battery", "%", 0.0, 100.0, 0, False, 2.0, words="sensor battery"),
)  # fmt: skip

BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
KEYS: tuple[str, ...] = tuple(m.key for m in METRICS)
THRESHOLD_METRICS: tuple[Metric, ...] = tuple(m for m in METRICS if m.threshold)
THRESHOLD_KEYS: tuple[str, ...] = tuple(m.key for m in THRESHOLD_METRICS)
# Thresholds judged on each reading (alert rules, card status); the daily ones are judged per day.
READING_THRESHOLD_KEYS: tuple[str, ...] = tuple(m.key for m in THRESHOLD_METRICS if not m.daily)
DAILY_METRICS: tuple[Metric, ...] = tuple(m for m in THRESHOLD_METRICS if m.daily)
CHARTED: tuple[Metric, ...] = tuple(m for m in METRICS if m.charted)


def metric(key: str) -> Metric:
    return BY_KEY[key]

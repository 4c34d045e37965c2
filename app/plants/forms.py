import math

from flask_wtf import FlaskForm
from wtforms import FloatField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, StopValidation

from ..domain.devices import DEVICE_ID_MESSAGE, DEVICE_ID_PATTERN
from ..domain.metrics import PRESET_LABELS, THRESHOLD_METRICS, Metric
from ..domain.plants import STALE_MINUTES_RANGE, THRESHOLD_FIELDS
from ..domain.presets import preset_thresholds


def strip(value):
    return value.strip() if isinstance(value, str) else value


def blank_to_none(value):
    return value or None


def finite(_form, field):
    if field.data is not None and not math.isfinite(field.data):
        raise StopValidation("Enter a number.")


class PlainFloatField(FloatField):
    """Shows 30 rather than 30.0."""

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{self.data:.6f}".rstrip("0").rstrip(".")


def threshold_field(metric: Metric, bound: str) -> PlainFloatField:
    low, high = metric.range
    return PlainFloatField(
        f"{metric.label} {bound} ({metric.unit})",
        validators=[
            Optional(),
            finite,
            NumberRange(low, high, message=f"Use a value from {low:,g} to {high:,g} {metric.unit}.".replace("%", "%%")),
        ],
    )


def with_threshold_fields(form_class):
    """One min and one max field per registry threshold metric (WTForms binds fields set on the class)."""
    for metric in THRESHOLD_METRICS:
        for bound in ("min", "max"):
            setattr(form_class, f"{metric.key}_{bound}", threshold_field(metric, bound))
    return form_class


@with_threshold_fields
class PlantForm(FlaskForm):
    name = StringField("Name", filters=[strip], validators=[DataRequired(), Length(max=100)])
    species = StringField("Species", filters=[strip], validators=[Length(max=100)])
    location = StringField("Location", filters=[strip], validators=[Length(max=100)])
    notes = TextAreaField("Notes", filters=[strip], validators=[Length(max=5000)])
    device_id = StringField(
        "Sensor device id",
        filters=[strip, blank_to_none],
        validators=[
            Optional(),
            Regexp(DEVICE_ID_PATTERN, message=DEVICE_ID_MESSAGE),
        ],
    )
    preset = SelectField(
        "Preset",
        choices=[SelectChoice("", "No preset (your own ranges)")]
        + [SelectChoice(key, label) for key, label in PRESET_LABELS.items()],
        default="",
        validate_choice=True,
    )
    stale_after_minutes = IntegerField(
        "Stale after (minutes)",
        default=60,
        validators=[
            InputRequired(message="Enter a number of minutes."),
            NumberRange(*STALE_MINUTES_RANGE, message="Use 1 to 10080 minutes (one week)."),
        ],
    )

    def threshold_fields(self):
        """[(metric, min field, max field)] in display order."""
        return [(m.key, self[f"{m.key}_min"], self[f"{m.key}_max"]) for m in THRESHOLD_METRICS]

    def thresholds_blank(self):
        """True when the gardener typed no threshold at all (then a chosen preset fills them)."""
        return not any((self[name].raw_data or [""])[0].strip() for name in THRESHOLD_FIELDS)

    def apply_preset(self):
        for name, value in preset_thresholds(self.preset.data).items():
            self[name].data = value
            self[name].raw_data = [f"{value:g}"]
            self[name].process_errors = []

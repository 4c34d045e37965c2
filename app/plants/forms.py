from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from ..domain.devices import DEVICE_KEY_MESSAGE, DEVICE_KEY_PATTERN, KEY_MAX
from ..domain.metrics import METRICS, PRESET_LABELS, THRESHOLD_METRICS, Metric
from ..domain.plants import STALE_MINUTES_RANGE, THRESHOLD_FIELDS
from ..domain.presets import preset_thresholds
from ..fields import PlainFloatField, finite, strip


def blank_to_none(value):
    return value or None


def threshold_field(metric: Metric, bound: str) -> PlainFloatField:
    low, high = metric.threshold_range
    unit = metric.threshold_unit
    return PlainFloatField(
        _l("%(metric)s min (%(unit)s)", metric=_l(metric.label), unit=unit)
        if bound == "min"
        else _l("%(metric)s max (%(unit)s)", metric=_l(metric.label), unit=unit),
        validators=[
            Optional(),
            finite,
            NumberRange(
                low,
                high,
                message=_l(
                    "Use a value from %(low)s to %(high)s %(unit)s.",
                    low=f"{low:,g}",
                    high=f"{high:,g}",
                    unit=unit.replace("%", "%%"),
                ),
            ),
        ],
    )


SAME = ""  # a metric's select: fed by the sensor chosen for every metric
NO_SENSOR = "none"  # a metric's select: no sensor for this metric
NOT_YOURS = _l("Choose one of the devices listed.")


def sensor_field(metric: Metric) -> SelectField:
    return SelectField(_l(metric.label), choices=[], default=SAME, validate_choice=False)


def with_sensor_fields(form_class):
    """One device select per registry metric: `sensor_<metric>`."""
    for metric in METRICS:
        setattr(form_class, f"sensor_{metric.key}", sensor_field(metric))
    return form_class


def with_threshold_fields(form_class):
    """One min and one max field per registry threshold metric (WTForms binds fields set on the class)."""
    for metric in THRESHOLD_METRICS:
        for bound in ("min", "max"):
            setattr(form_class, f"{metric.key}_{bound}", threshold_field(metric, bound))
    return form_class


@with_sensor_fields
@with_threshold_fields
class PlantForm(FlaskForm):
    name = StringField(_l("Name"), filters=[strip], validators=[DataRequired(), Length(max=100)])
    species = StringField(_l("Species"), filters=[strip], validators=[Length(max=100)])
    location = StringField(_l("Location"), filters=[strip], validators=[Length(max=100)])
    notes = TextAreaField(_l("Notes"), filters=[strip], validators=[Length(max=5000)])
    device = SelectField(_l("Sensor"), choices=[], default="", validate_choice=False)
    device_id = StringField(
        _l("Or type a sensor's key"),
        filters=[strip, blank_to_none],
        validators=[
            Optional(),
            Length(max=KEY_MAX, message=DEVICE_KEY_MESSAGE),
            Regexp(DEVICE_KEY_PATTERN, message=DEVICE_KEY_MESSAGE),
        ],
    )
    preset = SelectField(
        _l("Preset"),
        choices=[SelectChoice("", _l("No preset (your own ranges)"))]
        + [SelectChoice(key, _l(label)) for key, label in PRESET_LABELS.items()],
        default="",
        validate_choice=True,
    )
    stale_after_minutes = IntegerField(
        _l("Stale after (minutes)"),
        default=60,
        validators=[
            InputRequired(message=_l("Enter a number of minutes.")),
            NumberRange(*STALE_MINUTES_RANGE, message=_l("Use 1 to 10080 minutes (one week).")),
        ],
    )

    def set_device_choices(self, devices, label):
        """The devices the gardener may pick (theirs; for administrators also discovered ones),
        as the choices of the "every metric" picker and of each metric's select."""
        options = [SelectChoice(str(device.id), label(device)) for device in devices]
        self.device.choices = [SelectChoice("", _l("No sensor")), *options]
        for metric in METRICS:
            self[f"sensor_{metric.key}"].choices = [
                SelectChoice(SAME, _l("Same as above")),
                SelectChoice(NO_SENSOR, _l("No sensor")),
                *options,
            ]

    def sensor_fields(self):
        return [(metric, self[f"sensor_{metric.key}"]) for metric in METRICS]

    def per_metric_chosen(self):
        """Whether some metric has its own choice (or an error): the disclosure opens then."""
        return any(select.data not in (SAME, None) or select.errors for _, select in self.sensor_fields())

    def check_devices(self):
        """Every chosen device is one listed; False (with the error on the field) otherwise."""
        ok = True
        allowed = {choice.value for choice in self.device.choices}
        for select in (self.device, *(f for _, f in self.sensor_fields())):
            if select.data not in allowed and select.data not in (SAME, NO_SENSOR):
                select.errors = [*select.errors, NOT_YOURS]
                ok = False
        if self.device.data and self.device_id.data:
            self.device_id.errors = [*self.device_id.errors, _l("Choose a sensor above or type a key, not both.")]
            ok = False
        return ok

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

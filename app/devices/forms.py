from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, NumberRange, Optional

from ..domain.device_settings import NAME_MAX, RAW_LIMIT, TEMPERATURE_OFFSET_LIMIT
from ..fields import PlainFloatField, finite, strip


def number_field(label, limit, unit=""):
    return PlainFloatField(
        label,
        validators=[
            Optional(),
            finite,
            NumberRange(
                -limit,
                limit,
                message=_l(
                    "Use a value from %(low)s to %(high)s%(unit)s.", low=f"{-limit:g}", high=f"{limit:g}", unit=unit
                ),
            ),
        ],
    )


class RenameForm(FlaskForm):
    name = StringField(_l("Name"), filters=[strip], validators=[Length(max=NAME_MAX)])


class CalibrationForm(FlaskForm):
    soil_dry_raw = number_field(_l("Raw value when dry"), RAW_LIMIT)
    soil_wet_raw = number_field(_l("Raw value in water"), RAW_LIMIT)
    temperature_offset = number_field(_l("Temperature offset (°C)"), TEMPERATURE_OFFSET_LIMIT, " °C")

    def values(self):
        return {name: self[name].data for name in ("soil_dry_raw", "soil_wet_raw", "temperature_offset")}

    def set_value(self, name, value):
        self[name].data = value
        self[name].raw_data = [f"{value:g}"]

"""Form pieces every blueprint's forms share: input filters, a finite-number check, a number field."""

import math

from wtforms import FloatField
from wtforms.validators import StopValidation


def strip(value):
    return value.strip() if isinstance(value, str) else value


def finite(_form, field):
    if field.data is not None and not math.isfinite(field.data):
        raise StopValidation("Enter a number.")


class PlainFloatField(FloatField):
    """Shows 30 rather than 30.0, and what was typed when it was not a number."""

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{self.data:.6f}".rstrip("0").rstrip(".")

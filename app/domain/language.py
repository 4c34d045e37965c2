"""Sentences the domain writes for a user to read later (the alert's "Water" task), in that
user's language. app.i18n installs `translate` (gettext in the user's locale); without it
(scripts, unit tests) the English source is used. `make translations` extracts the
`in_language_of` calls."""

from collections.abc import Callable, Mapping
from typing import Any

from babel.numbers import format_decimal

Translate = Callable[[Any, str, Mapping[str, object]], str]


def english(user: Any, text: str, values: Mapping[str, object]) -> str:
    return text % values if values else text


translate: Translate = english


def in_language_of(user: Any, text: str, **values: object) -> str:
    return translate(user, text, values)


def number_for(user: Any) -> Callable[[float, int], str]:
    """Digits as the user reads them: 9,100.5 in English, 9.100,5 in German."""
    code = getattr(user, "locale", None) or "en"

    def number(value: float, decimals: int) -> str:
        return format_decimal(value, format="#,##0" + ("." + "0" * decimals if decimals else ""), locale=code)

    return number

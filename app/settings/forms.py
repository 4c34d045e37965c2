from functools import cache
from zoneinfo import available_timezones

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField, StringField, URLField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..fields import strip
from ..i18n import LANGUAGES
from .validation import CredentialsInURL, InvalidURL, check_discord_webhook_url, check_llm_base_url


def production():
    return current_app.config["PLANTOPS_ENV"] == "production"


class DiscordForm(FlaskForm):
    # A plain URL field, so the gardener sees what was pasted and can fix it. The server never
    # sends it back (the template renders value=""); after an error, static/focus.js keeps what
    # was typed in the browser ([data-keep-typed]). Once saved only its last four characters show.
    webhook_url = URLField(
        _l("New webhook URL"),
        filters=[strip],
        validators=[DataRequired(message=_l("Paste the webhook URL that Discord shows.")), Length(max=500)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"},
    )

    def validate_webhook_url(self, field):
        try:
            field.data = check_discord_webhook_url(field.data, production())
        except InvalidURL as error:
            raise ValidationError(str(error)) from None


class LLMForm(FlaskForm):
    base_url = StringField(
        _l("Base URL"),
        filters=[strip],
        validators=[DataRequired(message=_l("Give the API's base URL.")), Length(max=500)],
        render_kw={"placeholder": "https://api.openai.com/v1", "inputmode": "url", "spellcheck": "false"},
    )
    model = StringField(
        _l("Model"),
        filters=[strip],
        validators=[DataRequired(message=_l("Give the model's name.")), Length(max=200)],
        render_kw={"placeholder": "gpt-4o-mini", "spellcheck": "false"},
    )
    api_key = PasswordField(
        _l("API key"),
        filters=[strip],
        validators=[Optional(), Length(max=500)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )

    def validate_base_url(self, field):
        try:
            field.data = check_llm_base_url(field.data, production(), current_app.config["LLM_ALLOWED_HOSTS"])
        except InvalidURL as error:
            if isinstance(error, CredentialsInURL):
                field.data = ""
            raise ValidationError(str(error)) from None

    def validate_model(self, field):
        if any(ord(ch) < 32 for ch in field.data):
            raise ValidationError(_l("A model name cannot contain control characters."))

    def validate_api_key(self, field):
        if field.data and any(ch.isspace() or ord(ch) < 32 for ch in field.data):
            raise ValidationError(_l("An API key cannot contain spaces or control characters."))


@cache
def timezone_choices():
    return sorted(name for name in available_timezones() if "/" in name or name == "UTC")


class TimezoneForm(FlaskForm):
    timezone = SelectField(_l("Timezone"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()


THEMES = [
    SelectChoice("system", _l("Same as this device")),
    SelectChoice("light", lazy_pgettext("colour theme", "Light")),
    SelectChoice("dark", lazy_pgettext("colour theme", "Dark")),
]
TEMPERATURE_UNITS = [SelectChoice("C", _l("°C (Celsius)")), SelectChoice("F", _l("°F (Fahrenheit)"))]


class PreferencesForm(FlaskForm):
    """How pages look and read: colour theme, language, temperature unit."""

    theme = SelectField(_l("Colours"), choices=THEMES)
    locale = SelectField(
        _l("Language"),
        choices=[SelectChoice("", _l("Same as this browser"))] + [SelectChoice(k, v) for k, v in LANGUAGES.items()],
    )
    temperature_unit = SelectField(_l("Temperatures in"), choices=TEMPERATURE_UNITS)

from functools import cache
from zoneinfo import available_timezones

from flask import current_app
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
        "New webhook URL",
        filters=[strip],
        validators=[DataRequired(message="Paste the webhook URL that Discord shows."), Length(max=500)],
        render_kw={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"},
    )

    def validate_webhook_url(self, field):
        try:
            field.data = check_discord_webhook_url(field.data, production())
        except InvalidURL as error:
            raise ValidationError(str(error)) from None


class LLMForm(FlaskForm):
    base_url = StringField(
        "Base URL",
        filters=[strip],
        validators=[DataRequired(message="Give the API's base URL."), Length(max=500)],
        render_kw={"placeholder": "https://api.openai.com/v1", "inputmode": "url", "spellcheck": "false"},
    )
    model = StringField(
        "Model",
        filters=[strip],
        validators=[DataRequired(message="Give the model's name."), Length(max=200)],
        render_kw={"placeholder": "gpt-4o-mini", "spellcheck": "false"},
    )
    api_key = PasswordField(
        "API key",
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
            raise ValidationError("A model name cannot contain control characters.")

    def validate_api_key(self, field):
        if field.data and any(ch.isspace() or ord(ch) < 32 for ch in field.data):
            raise ValidationError("An API key cannot contain spaces or control characters.")


@cache
def timezone_choices():
    return sorted(name for name in available_timezones() if "/" in name or name == "UTC")


class TimezoneForm(FlaskForm):
    timezone = SelectField("Timezone", choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_choices()


THEMES = [SelectChoice("system", "Same as this device"), SelectChoice("light", "Light"), SelectChoice("dark", "Dark")]
TEMPERATURE_UNITS = [SelectChoice("C", "°C (Celsius)"), SelectChoice("F", "°F (Fahrenheit)")]


class PreferencesForm(FlaskForm):
    """How pages look and read: colour theme, language, temperature unit."""

    theme = SelectField("Colours", choices=THEMES)
    locale = SelectField(
        "Language",
        choices=[SelectChoice("", "Same as this browser")] + [SelectChoice(k, v) for k, v in LANGUAGES.items()],
    )
    temperature_unit = SelectField("Temperatures in", choices=TEMPERATURE_UNITS)

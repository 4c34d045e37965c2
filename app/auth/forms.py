from functools import cache
from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField
from wtforms.validators import DataRequired, Email, Length, ValidationError

from .passwords import MAX_LENGTH, password_problem


def normalise_email(value):
    return (value or "").strip().lower()


def check_policy(password, email):
    problem = password_problem(password, email)
    if problem:
        raise ValidationError(problem)


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), filters=[normalise_email], validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    remember = BooleanField(_l("Keep me signed in on this device for 30 days"))


class RegisterForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        filters=[normalise_email],
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    # The browser's timezone (static/app.js fills it in from Intl); unknown or empty: UTC.
    timezone = HiddenField(default="")

    def validate_password(self, field):
        check_policy(field.data, self.email.data)

    def timezone_name(self):
        name = (self.timezone.data or "").strip()
        return name if name in known_zones() else "UTC"


@cache
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=MAX_LENGTH)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired()])

    def validate_new_password(self, field):
        check_policy(field.data, current_user.email)
        if field.data == self.current_password.data:
            raise ValidationError(_l("Choose a password different from your current one."))

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length


def normalise_email(value):
    return (value or "").strip().lower()


class LoginForm(FlaskForm):
    email = EmailField("Email", filters=[normalise_email], validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Keep me signed in on this device")


class RegisterForm(FlaskForm):
    email = EmailField(
        "Email",
        filters=[normalise_email],
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(min=10, max=1024, message="Use at least 10 characters.")],
    )

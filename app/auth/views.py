from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_login.utils import login_url
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from ..errors import wants_json
from ..extensions import db
from . import bp, throttling
from .forms import ChangePasswordForm, LoginForm, RegisterForm
from .users import authenticate, create_user, end_sessions, find_user, password_matches, set_password

LOGIN_FAILED = "That email and password do not match an account."
REGISTER_FAILED = "We could not create an account with these details. If you already have an account, sign in instead."


def safe_next(target):
    """Only a local path: no scheme, no host, no protocol-relative `//`, no backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if not target.isprintable():  # browsers drop tabs and newlines: "/\t/evil.com" is "//evil.com"
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def start_session(user, remember=False):
    """A fresh session for `user`: nothing from the previous session (or its CSRF token) survives."""
    session.clear()
    login_user(user, remember=remember)


def unauthorized():
    """Flask-Login's answer to an anonymous request: 401 JSON under /api, the sign-in page elsewhere."""
    if wants_json():
        raise Unauthorized("Sign in or send an API token.", www_authenticate=WWWAuthenticate("bearer"))
    flash("Please sign in to see that page.", "info")
    return redirect(login_url("auth.login", next_url=request.url))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("plants.list_plants"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data
        throttling.check_sign_in_allowed(email)
        user = authenticate(email, form.password.data)
        if user is not None:
            throttling.record_sign_in(email)
            db.session.commit()
            start_session(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("plants.list_plants"), code=303)
        throttling.record_failed_sign_in(email)
        db.session.commit()
        form.password.errors.append(LOGIN_FAILED)
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Create an account; an email that is taken gets the same answer as a failed sign-in.

    With no email channel, registration cannot hide entirely that an address is taken (a
    new one succeeds). So the taken path is made no more useful than the sign-in form: the
    right password signs in, a wrong one counts as a failed sign-in against the account and
    the address, and registrations per address are limited.
    """
    if not current_app.config["REGISTRATION_OPEN"]:
        return render_template("auth/register_closed.html"), 403
    if current_user.is_authenticated:
        return redirect(url_for("plants.list_plants"))
    form = RegisterForm()
    if form.validate_on_submit():
        email, password = form.email.data, form.password.data
        throttling.check_sign_in_allowed(email)
        throttling.count_registration()
        if find_user(email) is None:
            user = create_user(email, password)
            db.session.commit()
            start_session(user)
            flash("Welcome to PlantOps. Add your first plant to get started.", "success")
            return redirect(url_for("plants.list_plants"), code=303)
        user = authenticate(email, password)
        if user is not None:
            throttling.record_sign_in(email)
            db.session.commit()
            start_session(user)
            flash("You already had an account, so we signed you in.", "info")
            return redirect(url_for("plants.list_plants"), code=303)
        throttling.record_failed_sign_in(email)
        db.session.commit()
        form.email.errors.append(REGISTER_FAILED)
    status = 422 if form.errors else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password; every other session of this user ends, this one goes on."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        throttling.check_sign_in_allowed(user.email)
        if not password_matches(user, form.current_password.data):
            throttling.record_failed_sign_in(user.email)
            db.session.commit()
            form.current_password.errors.append("That is not your current password.")
        else:
            remembered = current_app.config["REMEMBER_COOKIE_NAME"] in request.cookies
            set_password(user, form.new_password.data)
            db.session.commit()
            start_session(user, remember=remembered)
            flash("Your password is changed. Your other sessions are signed out.", "success")
            return redirect(url_for("settings.show_settings"), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/password.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out everywhere: the session version moves on, so copies of any cookie stop working."""
    end_sessions(current_user)
    db.session.commit()
    session.clear()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), code=303)

from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_required, login_user, logout_user
from flask_login.utils import login_url
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from ..errors import wants_json
from ..extensions import db
from . import bp, sessions, throttling
from .forms import ChangePasswordForm, LoginForm, RegisterForm
from .users import authenticate, create_user, find_user, password_matches, set_password

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
    row, secret, remember_secret = sessions.open_session(user, remember)
    db.session.commit()
    session.clear()
    _sign_in(user, secret)
    if remember_secret:
        g.set_remember_cookie = (remember_secret, row.expires_at)


def _sign_in(user, secret, fresh=True):
    """Flask-Login's bookkeeping, with the session row's secret as the id the cookie carries."""
    login_user(user, fresh=fresh)
    session["_user_id"] = secret


def _sign_out_here():
    logout_user()
    session.clear()
    g.forget_remember_cookie = True


@bp.before_app_request
def resume_remembered_session():
    """A remember cookie and no live session: sign in again from it, with fresh secrets."""
    raw = request.cookies.get(current_app.config["REMEMBER_COOKIE_NAME"])
    if not raw or request.endpoint == "static" or (request.blueprint or "").startswith("api"):
        return
    if current_user.is_authenticated:
        return
    resumed = sessions.resume(raw)
    if resumed is None:
        g.forget_remember_cookie = True
        return
    user, secret, remember_secret, expires_at = resumed
    session.clear()
    _sign_in(user, secret, fresh=False)
    g.set_remember_cookie = (remember_secret, expires_at)


@bp.after_app_request
def write_remember_cookie(response):
    """Set or delete the remember cookie, always with the same name, path and attributes
    (a deletion without `Secure` would leave a `__Host-` cookie in place)."""
    config = current_app.config
    attributes = {
        "path": "/",
        "secure": config["REMEMBER_COOKIE_SECURE"],
        "httponly": True,
        "samesite": config["REMEMBER_COOKIE_SAMESITE"],
    }
    name = config["REMEMBER_COOKIE_NAME"]
    if "set_remember_cookie" in g:
        value, expires_at = g.set_remember_cookie
        response.set_cookie(name, value, expires=expires_at, **attributes)
    elif g.get("forget_remember_cookie") and name in request.cookies:
        response.delete_cookie(name, **attributes)
    return response


def unauthorized():
    """Flask-Login's answer to an anonymous request: 401 JSON under /api, the sign-in page elsewhere."""
    if wants_json():
        raise Unauthorized("Sign in or send an API token.", www_authenticate=WWWAuthenticate("bearer"))
    flash(gettext("Please sign in to see that page."), "info")
    return redirect(login_url("auth.login", next_url=request.url))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("care.show_today"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data
        throttling.count_sign_in_attempt(email)
        user = authenticate(email, form.password.data)
        if user is not None:
            throttling.record_sign_in(email)
            start_session(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("care.show_today"), code=303)
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
        throttling.count_registration()
        throttling.count_sign_in_attempt(email)
        if find_user(email) is None:
            user = create_user(email, password, timezone=form.timezone_name())
            throttling.record_sign_in(email)
            start_session(user)
            flash(gettext("Welcome to PlantOps. Add your first plant to get started."), "success")
            return redirect(safe_next(request.args.get("next")) or url_for("plants.list_plants"), code=303)
        user = authenticate(email, password)
        if user is not None:
            throttling.record_sign_in(email)
            start_session(user)
            flash(gettext("You already had an account, so we signed you in."), "info")
            return redirect(safe_next(request.args.get("next")) or url_for("plants.list_plants"), code=303)
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
        remembered = sessions.is_remembered(sessions.current_session_id())
        throttling.count_sign_in_attempt(user.email)
        if not password_matches(user, form.current_password.data):
            form.current_password.errors.append("That is not your current password.")
        else:
            throttling.record_sign_in(user.email)
            set_password(user, form.new_password.data)
            start_session(user, remember=remembered)
            flash(gettext("Your password is changed. Your other sessions are signed out."), "success")
            return redirect(url_for("settings.show_settings"), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/password.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out on this device; the user's other sessions go on."""
    sessions.end_session(current_user, sessions.current_session_id())
    db.session.commit()
    _sign_out_here()
    flash(gettext("You are signed out on this device. Your other devices stay signed in."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/logout/everywhere")
@login_required
def logout_everywhere():
    """Sign out on every device: every session row of the user ends, copies of any cookie too."""
    sessions.end_all_sessions(current_user)
    db.session.commit()
    _sign_out_here()
    flash(gettext("You are signed out on every device."), "info")
    return redirect(url_for("auth.login"), code=303)

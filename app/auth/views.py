from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..extensions import db
from . import bp
from .forms import LoginForm, RegisterForm
from .users import EmailTaken, authenticate, create_user, end_sessions

LOGIN_FAILED = "That email and password do not match an account."


def safe_next(target):
    """Only a local path: no scheme, no host, no protocol-relative `//`, no backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("plants.list_plants"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("plants.list_plants"), code=303)
        form.password.errors.append(LOGIN_FAILED)
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/register", methods=["GET", "POST"])
def register():
    if not current_app.config["REGISTRATION_OPEN"]:
        return render_template("auth/register_closed.html"), 403
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.password.data)
        except EmailTaken:
            db.session.rollback()
            form.email.errors.append("Registration failed. If you already have an account, sign in instead.")
        else:
            db.session.commit()
            login_user(user)
            flash("Welcome to PlantOps. Add your first plant to get started.", "success")
            return redirect(url_for("plants.list_plants"), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/register.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    end_sessions(current_user)
    db.session.commit()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), code=303)

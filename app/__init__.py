"""PlantOps: plant sensors, status, alerts and care tasks."""

import os
import sys

from flask import Flask, g, redirect, request, url_for

__version__ = "0.1.0"


def create_app(test_config=None):
    """Build the app from the environment and `.env`.

    With `test_config`, its "ENV" mapping stands in for the whole environment and
    its other keys override the resulting config, so tests never depend on the
    machine they run on.
    """
    from dotenv import load_dotenv

    from . import cli, database, errors, filters, i18n, logs, pwa, security, urls, web, workers
    from .auth.sessions import load_user
    from .auth.views import unauthorized
    from .config import load_settings
    from .extensions import compress, csrf, db, login_manager, migrate

    test_config = dict(test_config or {})
    instance_path = test_config.pop("INSTANCE_PATH", None) or os.environ.get("PLANTOPS_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_path=instance_path and os.path.abspath(instance_path),
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    if test_config:
        environ = {k: str(v) for k, v in test_config.pop("ENV", {}).items()}
    else:
        load_dotenv(os.path.join(os.getcwd(), ".env"))
        environ = os.environ
    app.config.from_mapping(load_settings(environ, app.instance_path))
    app.config.update(test_config)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = database.engine_options(app.config["SQLALCHEMY_DATABASE_URI"], app.config)
    app.config["VERSION"] = __version__

    logs.configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    logs.init_app(app)
    db.init_app(app)
    migrate.init_app(
        app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"), render_as_batch=True
    )
    csrf.init_app(app)
    i18n.init_app(app)
    compress.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    trust_proxies(app, app.config["TRUSTED_PROXY_HOPS"])
    with app.app_context():
        database.configure_engine(db.engine, app.config["DATABASE_BUSY_TIMEOUT"])

    workers.init_app(app)

    urls.register_converters(app)
    register_blueprints(app)
    errors.register_error_handlers(app)
    filters.register(app)
    pwa.register(app)
    web.register(app)
    cli.register(app)

    production = app.config["PLANTOPS_ENV"] == "production"

    @app.before_request
    def before_request():
        logs.assign_request_id()
        database.set_read_only(request.method in ("GET", "HEAD", "OPTIONS"))

    @app.teardown_request
    def teardown_request(_error):
        database.set_read_only(False)  # the next work on this thread may write

    @app.after_request
    def after_request(response):
        response.headers["X-Request-ID"] = g.get("request_id", "-")
        security.add_security_headers(response, production)
        return web.htmx_redirects(response)

    @app.get("/")
    def index():
        from flask_login import current_user

        if current_user.is_authenticated:
            return redirect(url_for("care.show_today"))
        return redirect(url_for("plants.list_plants"))

    return app


def trust_proxies(app, hops):
    """Take the client's address and scheme from the last `hops` proxies' X-Forwarded-For and
    X-Forwarded-Proto (docs/contracts.md, TRUSTED_PROXY_HOPS). Throttles key on that address.
    With 0 the headers are ignored: anyone can send them."""
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def register_blueprints(app):
    from . import care
    from .admin import bp as admin_bp
    from .alerts import bp as alerts_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .devices import bp as devices_bp
    from .gardens import bp as gardens_bp
    from .plants import bp as plants_bp
    from .settings import bp as settings_bp
    from .tasks import bp as tasks_bp

    for bp in (auth_bp, plants_bp, devices_bp, tasks_bp, alerts_bp, settings_bp, api_bp, admin_bp, care.bp, gardens_bp):
        app.register_blueprint(bp)
    care.init_app(app)


def run_or_exit(factory=create_app):
    """Create the app for a process entry point; a bad setting exits with one line."""
    from .config import ConfigError

    try:
        return factory()
    except ConfigError as error:
        sys.exit(f"plantops: configuration error: {error}")

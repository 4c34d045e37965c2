"""The one place that turns errors into responses; the exception family is app.domain.errors.

A browser gets a styled page, an htmx request a small fragment swapped into
the page's error area, anything under /api the contract's JSON.
"""

from flask import jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .domain.errors import AuthenticationError, ForbiddenError, NotFoundError, PlantOpsError, ValidationError
from .extensions import db
from .web import is_htmx

__all__ = ["AuthenticationError", "ForbiddenError", "NotFoundError", "PlantOpsError", "ValidationError"]


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def wants_json():
    return request.path == "/api" or request.path.startswith("/api/")


def error_response(status, code, detail, headers=None):
    if wants_json():
        response = jsonify(error=code, detail=detail)
    else:
        fragment = is_htmx()
        template = "_partials/_error.html" if fragment else "errors/error.html"
        message = detail if isinstance(detail, str) else "; ".join(d["message"] for d in detail)
        response = make_response(render_template(template, status=status, message=message))
        if fragment:
            response.headers["HX-Retarget"] = "#error-area"
            response.headers["HX-Reswap"] = "innerHTML"
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def csrf_message(reason):
    """Flask-WTF's reason in words a gardener can act on; the page is never silently stale."""
    if "expired" in reason:
        return "This page was open too long and has expired. Reload the page and try again."
    return "This form could not be verified. Reload the page and try again."


def register_error_handlers(app):
    @app.errorhandler(PlantOpsError)
    def handle_plantops_error(error):
        db.session.rollback()
        return error_response(error.status, error.code, error.detail)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error):
        db.session.rollback()
        return error_response(400, "csrf_failed", csrf_message(error.description))

    # No handler for Exception: an unhandled one propagates under `--debug` (and TESTING), so the
    # Werkzeug debugger shows it; otherwise Flask logs it and hands this handler its 500.
    @app.errorhandler(HTTPException)
    def handle_http_error(error):
        db.session.rollback()
        detail = error.description if error.code != 500 else PlantOpsError.message
        headers = {k: v for k, v in error.get_headers() if k.lower() in {"allow", "retry-after", "www-authenticate"}}
        return error_response(error.code, HTTP_CODES.get(error.code, "error"), detail, headers)

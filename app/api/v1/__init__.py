"""JSON API v1: bearer tokens only, the contract's errors, CORS for listed origins.

The session cookie never authenticates here (so no CSRF token is needed), and a
token never authenticates an HTML page: only this blueprint reads it.
"""

from flask import Blueprint, current_app, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from ...auth import tokens
from ...extensions import csrf
from . import ratelimit

bp = Blueprint("v1", __name__, url_prefix="/v1")
csrf.exempt(bp)

CORS_HEADERS = "Authorization, Content-Type"
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_MAX_AGE = "600"
# Client generators fetch the document without a token; the docs page only reads it.
PUBLIC_ENDPOINTS = {"api.v1.openapi_document", "api.v1.api_docs"}


@bp.record_once
def set_up_rate_limit(state):
    app = state.app
    app.extensions["plantops.api_rate_limit"] = ratelimit.make_counter(app.config["RATELIMIT_STORAGE_URI"])


@bp.before_request
def authenticate_request():
    if request.method == "OPTIONS":
        return
    ratelimit.refuse_failing_address()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if not header:
        ratelimit.count_failed_authentication()
        raise _unauthorized("Send `Authorization: Bearer <token>`; create a token on /settings.")
    if scheme.lower() != "bearer" or not raw.strip():
        ratelimit.count_failed_authentication()
        raise _unauthorized("The Authorization header must be `Bearer <token>`.", "invalid_request")
    try:
        user = tokens.authenticate(raw.strip())
    except tokens.InvalidToken as error:
        ratelimit.count_failed_authentication()
        raise _unauthorized(str(error), "invalid_token") from None
    ratelimit.count_request(user.id)
    current_app.login_manager._update_request_context_with_user(user)


@bp.after_request
def allow_listed_origins(response):
    origin = request.headers.get("Origin")
    response.vary.add("Origin")
    if origin and origin in current_app.config["CORS_ORIGINS"]:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After, WWW-Authenticate"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
            response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
            response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
    return response


def _unauthorized(detail, error=None):
    values = {"realm": "PlantOps API"}
    if error:
        values["error"] = error
    return Unauthorized(detail, www_authenticate=WWWAuthenticate("bearer", values))


from . import alerts, care, channels, devices, docs, gardens, plants, tasks  # noqa: E402,F401  (routes register on bp)

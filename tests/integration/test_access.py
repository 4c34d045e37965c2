"""Walks over EVERY route in the app's url_map, so routes added later are covered too.

- anonymous: pages send you to the sign-in page, /api answers 401 JSON;
- a second gardener gets 404 for the first gardener's objects on every route and
  method, full pages, htmx fragments and the JSON API alike, exactly as for an id that does not
  exist, sees nothing of them, and the database does not change (the one walk of this rule);
- every state-changing request without a valid CSRF token is refused (400) and
  changes nothing; no GET changes anything;
- every response carries the security headers, and no page has inline script.

Routes name their ids by the convention `<int:plant_id>`, `<int:task_id>`,
`<int:alert_id>`, `<int:token_id>`, `<int:device_id>`; the walk fills them with the first
gardener's objects.
"""

import hashlib
import json
import re
import tempfile
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from app import create_app
from app.domain.devices import bind_device
from app.extensions import db
from app.models import Alert, ApiToken, Device, Plant, Task, User
from app.ownership import personal_garden_id

from ..conftest import PASSWORD, make_user

# Reachable without signing in: the sign-in and registration forms, static files, health,
# the API's OpenAPI document with its docs page (client generators fetch it without a token),
# and the mute link a notification carries.
PUBLIC_ENDPOINTS = {
    "auth.login",
    "auth.register",
    "static",
    "api.health",
    "api.health_live",
    "api.v1.openapi_document",
    "api.v1.api_docs",
    # A message's mute link: its signed, expiring token is the credential (a bad one is 404).
    "plants.mute_from_link",
    "plants.mute_from_link_confirm",
    # The calendar feed and its done/skip links: the secret in the URL, or the signed,
    # single-purpose, expiring token, is the credential (a bad one is 404).
    "care.calendar_feed",
    "care.calendar_action",
    # A garden invitation's page: the secret in the URL is the credential (a bad one is 404);
    # it only shows the invitation, and accepting it (a POST) needs an account.
    "gardens.show_invitation",
    # The installable app (app/pwa.py): the same for everyone, no personal data.
    "pwa.manifest",
    "pwa.service_worker",
    "pwa.offline",
}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
ID_PARAMS = {"plant_id": "plant", "task_id": "task", "alert_id": "alert", "token_id": "token", "device_id": "device"}
# Rows that legitimately change on any request: throttle counters, a token's last use.
IGNORED_TABLES = {"throttles"}
IGNORED_COLUMNS = {"last_used_at"}


def route_map_app():
    """An app built only to read the routes at collection time (it never opens its database)."""
    folder = tempfile.mkdtemp(prefix="plantops-routes-")
    env = {
        "SECRET_KEY": "routes",
        "ENCRYPTION_KEY": "q0vJ2bO0m8m2cX8oVn3Q5q3wJYp9b7s4ZmQyQ1d3X2U=",
        "DATABASE_URL": f"sqlite:///{folder}/routes.db",
        "MQTT_ENABLED": "false",
    }
    return create_app({"ENV": env, "INSTANCE_PATH": folder, "TESTING": True})


def all_routes():
    """(endpoint, rule, method) for every route and method, HEAD and OPTIONS aside."""
    rules = sorted(route_map_app().url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))
    return [
        (rule.endpoint, rule.rule, method) for rule in rules for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]


ROUTES = all_routes()
PROTECTED = [r for r in ROUTES if r[0] not in PUBLIC_ENDPOINTS]
WITH_IDS = [r for r in ROUTES if any(f":{name}>" in r[1] for name in ID_PARAMS)]
# The mute and calendar links carry their own signed tokens, which a cross-site page cannot forge.
CSRF_EXEMPT = {"plants.mute_from_link_confirm", "care.calendar_action"}
UNSAFE = [r for r in ROUTES if r[2] in UNSAFE_METHODS and r[0] not in CSRF_EXEMPT]
SAFE_PAGES = [r for r in ROUTES if r[2] == "GET" and r[0] != "static" and not r[1].startswith("/api/")]


def ids(routes):
    return [f"{method} {rule}" for _, rule, method in routes]


def fill(rule, values=None):
    """The rule with its parameters filled: known ids from `values`, anything else a harmless value."""
    values = values or {}

    def replace(match):
        converter, name = match.group(1), match.group(2)
        if name in values:
            return str(values[name])
        if converter in ("int", "float"):
            return "1"
        return "static.txt" if converter == "path" else "x"

    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", replace, rule)


def is_api(rule):
    return rule.startswith("/api/")


def body_for(rule):
    return {"json": {}} if is_api(rule) else {"data": {}}


def snapshot(app):
    """Every user-data row in the database, to prove a request changed nothing."""
    with app.app_context():
        state = {}
        for table in db.metadata.sorted_tables:
            if table.name in IGNORED_TABLES:
                continue
            columns = [c for c in table.columns if c.name not in IGNORED_COLUMNS]
            rows = db.session.execute(select(*columns).order_by(*table.primary_key.columns)).all()
            state[table.name] = [tuple(row) for row in rows]
        return state


OWNERS_TEXTS = ("Owner's fern", "Water the fern", "Owner's soil sensor")


def seed_objects(app, user_id):
    """One object of every kind, owned by `user_id`; returns the ids by URL parameter name."""
    with app.app_context():
        plant = Plant(garden_id=personal_garden_id(user_id), name="Owner's fern")
        device = Device(
            namespace="",
            key=f"dev-{user_id}",
            source="native",
            owner_id=user_id,
            garden_id=personal_garden_id(user_id),
            name="Owner's soil sensor",
        )
        db.session.add_all([plant, device])
        db.session.flush()
        bind_device(db.session, plant, device)
        alert = Alert(
            garden_id=personal_garden_id(user_id),
            plant_id=plant.id,
            problem="soil_moisture_low",
            metric="soil_moisture",
        )
        db.session.add(alert)
        db.session.flush()
        task = Task(garden_id=personal_garden_id(user_id), plant_id=plant.id, title="Water the fern")
        secret = f"owner-token-{user_id}"
        token = ApiToken(
            user_id=user_id, name="script", prefix=secret[:8], token_hash=hashlib.sha256(secret.encode()).hexdigest()
        )
        db.session.add_all([task, token])
        db.session.commit()
        ids = {"plant_id": plant.id, "task_id": task.id, "alert_id": alert.id, "token_id": token.id}
        return {**ids, "device_id": device.id}


def api_token_for(app, email):
    """A bearer token made by `tokens create` when that command exists, else None."""
    result = app.test_cli_runner().invoke(args=["tokens", "create", email])
    if result.exit_code != 0:
        return None
    return result.output.strip().splitlines()[-1].strip()


def test_the_walk_sees_the_routes_it_must():
    endpoints = {endpoint for endpoint, _, _ in ROUTES}
    assert {"auth.login", "auth.logout", "auth.change_password", "plants.list_plants", "settings.show_settings"} <= (
        endpoints
    )


@pytest.mark.parametrize(("endpoint", "rule", "method"), PROTECTED, ids=ids(PROTECTED))
def test_anonymous_is_sent_to_sign_in_or_gets_401(client, endpoint, rule, method):
    path = fill(rule)
    if is_api(rule):
        response = client.open(path, method=method, json={})
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"
        assert "bearer" in response.headers["WWW-Authenticate"].lower()
    else:
        response = client.open(path, method=method, data={}, follow_redirects=True)
        assert response.request.path == "/auth/login"
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("endpoint", "rule", "method"),
    [r for r in PROTECTED if r[2] == "GET" and not is_api(r[1])],
    ids=ids([r for r in PROTECTED if r[2] == "GET" and not is_api(r[1])]),
)
def test_anonymous_htmx_request_is_told_to_navigate_to_sign_in(htmx, endpoint, rule, method):
    response = htmx.get(fill(rule))
    assert response.status_code == 204
    assert urlsplit(response.headers["HX-Redirect"]).path in ("/auth/login", "/plants")


@pytest.fixture
def owner_ids(app):
    return seed_objects(app, make_user(app, email="owner@example.com"))


def assert_other_user_gets_404(app, other_client, owner_ids, rule, method, as_htmx):
    headers = {"HX-Request": "true"} if as_htmx else {}
    token = api_token_for(app, "other@example.com") if is_api(rule) else None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    before = snapshot(app)

    response = other_client.open(fill(rule, owner_ids), method=method, headers=headers, **body_for(rule))

    assert response.status_code == 404, f"{method} {rule}: {response.status_code} {response.data[:300]!r}"
    for owners_text in OWNERS_TEXTS:
        assert owners_text.encode() not in response.data, f"{method} {rule} shows {owners_text!r}"
    assert snapshot(app) == before, f"{method} {rule} changed the database"
    # Someone else's id answers exactly like an id that does not exist.
    missing_ids = {name: value + 100_000 for name, value in owner_ids.items()}
    missing = other_client.open(fill(rule, missing_ids), method=method, headers=headers, **body_for(rule))
    assert missing.status_code == 404
    if is_api(rule):
        assert response.get_json() == missing.get_json() == {"error": "not_found", "detail": "Not found."}


@pytest.mark.parametrize("as_htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize(("endpoint", "rule", "method"), WITH_IDS, ids=ids(WITH_IDS))
def test_other_users_objects_are_404_on_every_route(app, other_client, owner_ids, endpoint, rule, method, as_htmx):
    assert_other_user_gets_404(app, other_client, owner_ids, rule, method, as_htmx)


@pytest.fixture
def app_with_canaries(make_app):
    """An app with one route that scopes by owner and one that forgets to."""
    from flask_login import login_required

    from app.ownership import get_visible_or_404

    app = make_app()

    @app.post("/canary/<int:plant_id>/rename")
    @login_required
    def rename_owned(plant_id):
        get_visible_or_404(Plant, plant_id).name = "renamed"
        db.session.commit()
        return "", 204

    @app.post("/leaky/<int:plant_id>/rename")
    @login_required
    def rename_leaky(plant_id):
        db.session.get(Plant, plant_id).name = "renamed"
        db.session.commit()
        return "", 204

    return app


def test_the_walk_passes_a_scoped_route_and_catches_a_leaky_one(app_with_canaries):
    app = app_with_canaries
    owner = seed_objects(app, make_user(app, email="owner@example.com"))
    make_user(app, email="other@example.com")
    other = app.test_client()
    other.post("/auth/login", data={"email": "other@example.com", "password": PASSWORD})

    assert_other_user_gets_404(app, other, owner, "/canary/<int:plant_id>/rename", "POST", as_htmx=True)
    with pytest.raises(AssertionError, match="leaky"):
        assert_other_user_gets_404(app, other, owner, "/leaky/<int:plant_id>/rename", "POST", as_htmx=False)


def without_tokens(response):
    return CSRF_HEADER.sub("", CSRF_INPUT.sub("", response.get_data(as_text=True)))


GET_WITH_IDS = [r for r in WITH_IDS if r[2] == "GET"]


@pytest.mark.parametrize(("endpoint", "rule", "method"), GET_WITH_IDS, ids=ids(GET_WITH_IDS))
def test_someone_elses_object_looks_exactly_like_a_missing_one(app, other_client, owner_ids, endpoint, rule, method):
    token = api_token_for(app, "other@example.com") if is_api(rule) else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    theirs = other_client.get(fill(rule, owner_ids), headers=headers)
    missing = other_client.get(fill(rule, dict.fromkeys(ID_PARAMS, 999_999)), headers=headers)
    assert theirs.status_code == missing.status_code == 404
    assert without_tokens(theirs) == without_tokens(missing)


@pytest.mark.parametrize(("endpoint", "rule", "method"), SAFE_PAGES, ids=ids(SAFE_PAGES))
def test_get_changes_nothing(app, client, user_id, endpoint, rule, method):
    values = seed_objects(app, user_id)
    before = snapshot(app)
    client.get(fill(rule, values))
    assert snapshot(app) == before


# --- numbers in URLs --------------------------------------------------------------------------

# Past INTEGER, past BIGINT, far past both, negative, zero, not a number.
BAD_NUMBERS = ["2147483648", "9223372036854775807", "9" * 40, "-1", "0", "abc", "1e3"]
QUERY_NUMBERS = ("page", "per_page", "plant_id", "limit")
WITH_INTS = [r for r in ROUTES if "<int:" in r[1]]
GET_ROUTES = [r for r in ROUTES if r[2] == "GET" and r[0] != "static"]


@pytest.fixture
def admin_client(app):
    """A signed-in administrator who owns one object of every kind, and their API token."""
    make_user(app, email="admin@example.com", is_admin=True)
    seed_objects(app, auth_id(app, "admin@example.com"))
    client = app.test_client()
    client.post("/auth/login", data={"email": "admin@example.com", "password": PASSWORD})
    return client, api_token_for(app, "admin@example.com")


def auth_id(app, email):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def assert_never_500(client, token, path, method, rule):
    headers = {"Authorization": f"Bearer {token}"} if token and is_api(rule) else {}
    response = client.open(path, method=method, headers=headers, **body_for(rule))
    assert response.status_code < 500, f"{method} {path}: {response.status_code}"


@pytest.mark.parametrize(("endpoint", "rule", "method"), WITH_INTS, ids=ids(WITH_INTS))
def test_out_of_range_and_malformed_ids_are_never_a_500(admin_client, endpoint, rule, method):
    client, token = admin_client
    for number in BAD_NUMBERS:
        assert_never_500(client, token, fill(re.sub(r"<int:\w+>", number, rule)), method, rule)


@pytest.mark.parametrize(("endpoint", "rule", "method"), GET_ROUTES, ids=ids(GET_ROUTES))
def test_out_of_range_and_malformed_page_numbers_are_never_a_500(admin_client, endpoint, rule, method):
    client, token = admin_client
    for name in QUERY_NUMBERS:
        for number in BAD_NUMBERS:
            assert_never_500(client, token, f"{fill(rule)}?{name}={number}", method, rule)


# --- CSRF -----------------------------------------------------------------------------------

CSRF_INPUT = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CSRF_HEADER = re.compile(r'"X-CSRFToken": "([^"]+)"')


def csrf_token_from(client, path="/auth/login"):
    html = client.get(path).get_data(as_text=True)
    match = CSRF_INPUT.search(html) or CSRF_HEADER.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def signed_in_with_csrf(app, email):
    """A client signed in through the real form, CSRF token and all; and the user's id."""
    uid = make_user(app, email=email)
    client = app.test_client()
    token = csrf_token_from(client)
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    return client, uid


@pytest.fixture
def csrf_app(make_app):
    return make_app(config={"WTF_CSRF_ENABLED": True})


@pytest.fixture
def later_by_an_hour_and_a_bit(monkeypatch):
    """Move the clock that CSRF tokens are checked against past their 3,600 s lifetime."""

    def switch_on():
        real = TimestampSigner.get_timestamp
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 3601)

    return switch_on


def csrf_headers_and_data(kind, app, client, rule):
    """Headers and form data for a request whose CSRF token is missing, someone else's, or expired."""
    if kind == "missing":
        return {}, {}
    if kind == "foreign":
        stranger, _ = signed_in_with_csrf(app, "stranger@example.com")
        token = csrf_token_from(stranger, "/settings")
    else:
        token = csrf_token_from(client, "/settings")
    return ({"X-CSRFToken": token}, {}) if is_api(rule) else ({}, {"csrf_token": token})


@pytest.mark.parametrize("kind", ["missing", "foreign", "expired"])
@pytest.mark.parametrize(("endpoint", "rule", "method"), UNSAFE, ids=ids(UNSAFE))
def test_state_change_without_a_valid_csrf_token_is_refused_and_changes_nothing(
    csrf_app, later_by_an_hour_and_a_bit, endpoint, rule, method, kind
):
    client, owner = signed_in_with_csrf(csrf_app, "owner@example.com")
    values = seed_objects(csrf_app, owner)
    headers, data = csrf_headers_and_data(kind, csrf_app, client, rule)
    before = snapshot(csrf_app)
    if kind == "expired":
        later_by_an_hour_and_a_bit()

    if is_api(rule):
        response = client.open(fill(rule, values), method=method, headers=headers, json={})
        assert response.status_code in (400, 401)
    else:
        response = client.open(fill(rule, values), method=method, headers=headers, data=data)
        assert response.status_code == 400
        assert b"Reload the page" in response.data
    assert snapshot(csrf_app) == before


def test_expired_csrf_token_asks_to_reload_on_a_page(csrf_app, later_by_an_hour_and_a_bit):
    client, _ = signed_in_with_csrf(csrf_app, "owner@example.com")
    token = csrf_token_from(client, "/settings")
    later_by_an_hour_and_a_bit()

    response = client.post("/auth/logout", data={"csrf_token": token})

    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "<html" in text
    assert "has expired. Reload the page and try again." in text


def test_expired_csrf_token_on_htmx_shows_the_message_in_the_error_area(csrf_app, later_by_an_hour_and_a_bit):
    client, _ = signed_in_with_csrf(csrf_app, "owner@example.com")
    token = csrf_token_from(client, "/settings")
    later_by_an_hour_and_a_bit()

    response = client.post("/auth/logout", headers={"HX-Request": "true", "X-CSRFToken": token})

    assert response.status_code == 400
    assert response.headers["HX-Retarget"] == "#error-area"
    text = response.get_data(as_text=True)
    assert "<html" not in text
    assert "has expired. Reload the page and try again." in text
    assert client.get("/settings").status_code == 200  # still signed in: the logout did not happen


def test_valid_csrf_token_in_the_htmx_header_is_accepted(csrf_app):
    client, _ = signed_in_with_csrf(csrf_app, "owner@example.com")
    token = csrf_token_from(client, "/settings")  # the token that base.html puts in hx-headers

    response = client.post("/auth/logout", headers={"HX-Request": "true", "X-CSRFToken": token})

    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/auth/login"


# --- headers and page hygiene -----------------------------------------------------------------

REQUIRED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def assert_security_headers(response, production=False):
    csp = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    for name, value in REQUIRED_HEADERS.items():
        assert response.headers[name] == value
    if production:
        hsts = response.headers["Strict-Transport-Security"]
        assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31_536_000
        assert "includeSubDomains" in hsts
    else:
        assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize(("endpoint", "rule", "method"), ROUTES, ids=ids(ROUTES))
def test_every_response_carries_the_security_headers(app, client, auth, signed_in, endpoint, rule, method):
    if signed_in:
        make_user(app)
        auth.login()
    with client.open(fill(rule), method=method, **body_for(rule)) as response:
        assert_security_headers(response)


@pytest.mark.parametrize("path", ["/auth/login", "/no-such-page", "/api/health", "/static/app.js", "/api/nothing"])
def test_production_adds_hsts(make_app, path):
    with make_app(PLANTOPS_ENV="production").test_client().get(path) as response:
        assert_security_headers(response, production=True)


def test_pages_with_personal_data_are_not_cached(client, user_id):
    assert client.get("/settings").headers["Cache-Control"] == "no-store"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\s(on[a-z]+|style)\s*=", re.IGNORECASE)


@pytest.mark.parametrize(("endpoint", "rule", "method"), SAFE_PAGES, ids=ids(SAFE_PAGES))
def test_pages_have_no_inline_script_style_or_handlers(app, client, user_id, endpoint, rule, method):
    values = seed_objects(app, user_id)
    html = client.get(fill(rule, values)).get_data(as_text=True)
    assert not INLINE_SCRIPT.search(html)
    assert not INLINE_HANDLER.search(html)
    assert "javascript:" not in html.lower()


def test_htmx_is_configured_to_match_the_policy(client):
    html = client.get("/auth/login").get_data(as_text=True)
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html).group(1))
    assert config["selfRequestsOnly"] is True
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["includeIndicatorStyles"] is False
    assert config["historyCacheSize"] == 0
    assert re.search(r"<body[^>]*\bhx-history=\"false\"", html)
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]+)\"", html)
    assert scripts == ["/static/htmx-2.0.11.min.js", "/static/app.js", "/static/focus.js"]

"""Every error of the contract, in the contract's shape."""

import pytest

from app.auth import tokens

from ...conftest import make_user
from .conftest import ApiClient, make_token

UNKNOWN_TOKEN = "po_" + "A" * 43


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "Send `Authorization: Bearer <token>`"),
        ("Basic dXNlcjpwYXNz", "must be `Bearer <token>`"),
        ("Bearer", "must be `Bearer <token>`"),
        ("Bearer ", "must be `Bearer <token>`"),
        ("Bearer not-a-token", "malformed"),
        ("Bearer po_short", "malformed"),
        (f"Bearer {UNKNOWN_TOKEN}", "not valid"),
        (f"Bearer {UNKNOWN_TOKEN}x", "malformed"),
    ],
)
def test_missing_or_bad_token_is_401_with_www_authenticate(client, header, detail):
    response = client.get("/api/v1/tasks", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    body = response.get_json()
    assert body["error"] == "unauthorized"
    assert detail in body["detail"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer realm=")


def test_scheme_is_case_insensitive(api):
    response = api.client.get("/api/v1/tasks", headers={"Authorization": f"bearer {api.token}"})
    assert response.status_code == 200


def test_session_cookie_does_not_authenticate_the_api(client, user_id):
    assert client.get("/plants").status_code == 200  # signed in for the HTML pages
    response = client.get("/api/v1/tasks")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ["/plants", "/tasks", "/alerts", "/settings"])
def test_token_does_not_open_html_pages(app, gardener, path):
    token = make_token(app, gardener)
    response = app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 302
    assert "/auth/login" in response.location


def test_api_needs_no_csrf_token(make_app):
    app = make_app(config={"WTF_CSRF_ENABLED": True})
    uid = make_user(app)
    api = ApiClient(app.test_client(), make_token(app, uid), uid)
    assert api.post("/api/v1/tasks", json={"title": "Water"}).status_code == 201


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ("{bad json", "The body is not valid JSON."),
        ("", "The body is not valid JSON."),
        ('{"title": NaN}', "The body is not valid JSON."),
        ('{"title": "x"', "The body is not valid JSON."),
        ("[1, 2]", "The body must be a JSON object."),
        ('"Water"', "The body must be a JSON object."),
        ("null", "The body must be a JSON object."),
        ("[" * 100_000, "The body is not valid JSON."),
    ],
)
@pytest.mark.parametrize(("method", "path"), [("post", "/api/v1/tasks"), ("post", "/api/v1/plants")])
def test_malformed_body_is_400(api, method, path, body, detail):
    response = getattr(api, method)(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"error": "bad_request", "detail": detail}


def test_malformed_body_on_put_is_400(api):
    task = api.post("/api/v1/tasks", json={"title": "Water"}).get_json()
    response = api.put(f"/api/v1/tasks/{task['id']}", data="{", content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("delete", "/api/v1/tasks", "POST"),
        ("post", "/api/v1/tasks/1", "PUT"),
        ("get", "/api/v1/tasks/1/complete", "PATCH"),
        ("patch", "/api/v1/plants", "GET"),
        ("post", "/api/v1/alerts", "GET"),
        ("put", "/api/v1/plants/1/readings", "GET"),
    ],
)
def test_wrong_method_is_json_405_with_allow(api, method, path, allowed):
    response = getattr(api, method)(path)
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert allowed in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/api/v1/tasks", "/api/v1/plants"])
def test_body_over_one_mebibyte_is_413(api, path):
    body = '{"title": "' + "x" * (1024 * 1024) + '"}'
    response = api.post(path, data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"


def test_field_errors_are_422_with_a_list(api):
    response = api.post("/api/v1/tasks", json={"title": "", "recurrence_days": "weekly"})
    assert response.status_code == 422
    assert response.get_json() == {
        "error": "validation_error",
        "detail": [
            {"field": "recurrence_days", "message": "Must be a whole number or null."},
            {"field": "title", "message": "Must not be empty."},
        ],
    }


def test_rate_limit_is_per_token_with_retry_after(make_app):
    app = make_app(API_RATE_LIMIT=3)
    first, second = make_user(app), make_user(app, email="second@example.com")
    api = ApiClient(app.test_client(), make_token(app, first), first)
    other = ApiClient(app.test_client(), make_token(app, second), second)
    assert [api.get("/api/v1/tasks").status_code for _ in range(3)] == [200, 200, 200]
    response = api.get("/api/v1/tasks")
    assert response.status_code == 429
    assert response.get_json()["error"] == "too_many_requests"
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert other.get("/api/v1/tasks").status_code == 200


def test_guessing_tokens_is_rate_limited_too(make_app):
    client = make_app(API_AUTH_FAILURE_LIMIT=2).test_client()
    codes = [client.get("/api/v1/tasks").status_code for _ in range(3)]
    assert codes == [401, 401, 429]


def test_unexpected_error_is_500_without_detail(api, monkeypatch):
    def explode(_task):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("app.api.v1.tasks.task_json", explode)
    api.client.application.config["PROPAGATE_EXCEPTIONS"] = False
    response = api.post("/api/v1/tasks", json={"title": "Water"})
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal_error", "detail": "Something went wrong on our side."}
    assert b"secret" not in response.data


def test_unknown_api_v1_path_is_json_404(api):
    response = api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_token_pattern_matches_what_create_makes():
    assert tokens.TOKEN_PATTERN.fullmatch(UNKNOWN_TOKEN)


class TestCors:
    ORIGIN = "https://dashboard.example.com"

    def test_no_origin_is_allowed_by_default(self, api):
        response = api.get("/api/v1/tasks", headers={"Origin": self.ORIGIN})
        assert response.status_code == 200
        assert "Access-Control-Allow-Origin" not in response.headers

    @pytest.fixture
    def cors_api(self, make_app):
        app = make_app(CORS_ORIGINS=f"{self.ORIGIN}, https://other.example.com")
        uid = make_user(app)
        return ApiClient(app.test_client(), make_token(app, uid), uid)

    def test_listed_origin_is_allowed_without_credentials(self, cors_api):
        response = cors_api.get("/api/v1/tasks", headers={"Origin": self.ORIGIN})
        assert response.headers["Access-Control-Allow-Origin"] == self.ORIGIN
        assert "Access-Control-Allow-Credentials" not in response.headers
        assert "Origin" in response.headers["Vary"]

    def test_unlisted_origin_gets_no_cors_headers(self, cors_api):
        response = cors_api.get("/api/v1/tasks", headers={"Origin": "https://evil.example.com"})
        assert "Access-Control-Allow-Origin" not in response.headers

    def test_preflight_is_answered_without_a_token(self, cors_api):
        response = cors_api.client.options(
            "/api/v1/tasks",
            headers={
                "Origin": self.ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == self.ORIGIN
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
        assert "Access-Control-Allow-Credentials" not in response.headers

    def test_errors_carry_cors_headers_so_scripts_can_read_them(self, cors_api):
        response = cors_api.client.get("/api/v1/tasks", headers={"Origin": self.ORIGIN})
        assert response.status_code == 401
        assert response.headers["Access-Control-Allow-Origin"] == self.ORIGIN

    @pytest.mark.parametrize("path", ["/api/health", "/auth/login"])
    def test_cors_is_only_for_api_v1(self, cors_api, path):
        response = cors_api.client.get(path, headers={"Origin": self.ORIGIN})
        assert "Access-Control-Allow-Origin" not in response.headers

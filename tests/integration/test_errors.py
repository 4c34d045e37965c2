import pytest
from flask import request

from app.errors import NotFoundError, ValidationError


@pytest.fixture
def app(make_app):
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    @app.get("/api/boom")
    def api_boom():
        raise RuntimeError("secret internal detail")

    @app.get("/api/invalid")
    def api_invalid():
        raise ValidationError([{"field": "title", "message": "Enter a title."}])

    @app.post("/api/echo")
    def api_echo():
        return {"size": len(request.get_data())}

    @app.get("/missing-thing")
    def missing_thing():
        raise NotFoundError("No such plant.")

    return app


def test_unknown_page_is_a_styled_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert b"<html" in response.data
    assert b"Back to your plants" in response.data


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_wrong_method_on_api_is_json_405_with_allow(client):
    response = client.delete("/api/health")
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_htmx_error_is_a_fragment_retargeted_to_the_error_area(htmx):
    response = htmx.get("/missing-thing")
    assert response.status_code == 404
    assert b"<html" not in response.data
    assert b"No such plant." in response.data
    assert response.headers["HX-Retarget"] == "#error-area"
    assert response.headers["HX-Reswap"] == "innerHTML"


@pytest.fixture
def production_client(app):
    """Errors handled as in production: TESTING (like --debug) lets them propagate."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app.test_client()


@pytest.mark.parametrize("path", ["/boom", "/api/boom"])
def test_unexpected_error_is_500_without_details(production_client, path, caplog):
    response = production_client.get(path)
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "secret internal detail" not in text
    assert "Traceback" not in text
    assert "secret internal detail" in caplog.text  # the log keeps it for the operator


def test_api_500_is_the_contract_shape(production_client):
    assert production_client.get("/api/boom").get_json() == {
        "error": "internal_error",
        "detail": "Something went wrong on our side.",
    }


def test_unexpected_page_error_is_a_styled_500_page_in_production(production_client):
    response = production_client.get("/boom")
    assert b"<html" in response.data
    assert b"Something went wrong on our side." in response.data


@pytest.mark.parametrize("path", ["/boom", "/api/boom"])
def test_with_debug_on_an_unexpected_error_reaches_the_debugger(app, path):
    """`flask run --debug` shows the Werkzeug debugger only for exceptions that propagate."""
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=None)
    app.debug = True
    with pytest.raises(RuntimeError, match="secret internal detail"):
        app.test_client().get(path)


def test_validation_error_lists_fields(client):
    response = client.get("/api/invalid")
    assert response.status_code == 422
    assert response.get_json() == {
        "error": "validation_error",
        "detail": [{"field": "title", "message": "Enter a title."}],
    }


def test_body_over_one_mebibyte_is_413(client):
    response = client.post("/api/echo", data=b"x" * (1024 * 1024 + 1), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"


def test_every_response_carries_security_headers(client):
    response = client.get("/auth/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"

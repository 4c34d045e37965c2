import re

import schemathesis

from app import __version__
from app.api.v1.spec import document

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def openapi_path(rule):
    """`/api/v1/tasks/<int:task_id>` -> `/api/v1/tasks/{task_id}`."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_served_document_is_openapi_3_1_behind_a_token(client, api):
    assert client.get("/api/v1/openapi.json").status_code == 401
    response = api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    served = response.get_json()
    assert served["openapi"] == "3.1.0"
    assert served == document(__version__)


def test_every_api_route_is_in_the_document_and_nothing_else(app):
    routes = {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - IGNORED_METHODS
    }
    documented = {
        (path, method) for path, operations in document(__version__)["paths"].items() for method in operations
    }
    assert routes == documented


def test_path_parameters_match_the_routes(app):
    for path, operations in document(__version__)["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for operation in operations.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


def test_document_is_valid_openapi():
    schema = schemathesis.openapi.from_dict(document(__version__))
    assert len(list(schema.get_all_operations())) == 14

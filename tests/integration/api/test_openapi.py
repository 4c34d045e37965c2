import re

import schemathesis

from app.api.v1.document import document
from app.security import CSP

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def openapi_path(rule):
    """`/api/v1/tasks/<int:task_id>` -> `/api/v1/tasks/{task_id}`."""
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule)


def test_served_document_is_openapi_3_1_and_public(app, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    served = response.get_json()
    assert served["openapi"] == "3.1.0"
    assert served == document(app)


def test_docs_page_is_public_and_loads_only_vendored_assets(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "/api/v1/openapi.json" in page
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources
    assert all(source.startswith("/static/") for source in sources)
    for source in sources:
        assert client.get(source).status_code == 200
    assert response.headers["Content-Security-Policy"] == CSP


def test_every_api_route_is_in_the_document_and_nothing_else(app):
    routes = {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - IGNORED_METHODS
    }
    documented = {(path, method) for path, operations in document(app)["paths"].items() for method in operations}
    assert routes == documented


def test_path_parameters_match_the_routes(app):
    for path, operations in document(app)["paths"].items():
        names = set(re.findall(r"{([a-z_]+)}", path))
        for operation in operations.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, path


def test_every_error_answer_is_the_error_model(app):
    for operations in document(app)["paths"].values():
        for operation in operations.values():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            if "401" in operation["responses"]:
                assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]


def test_threshold_and_reading_fields_follow_the_metrics_registry(app):
    from app.api.v1.schemas import RANGE_METRICS, READING_METRICS
    from app.domain.metrics import THRESHOLD_METRICS
    from app.models import Plant

    schemas = document(app)["components"]["schemas"]
    with_columns = [m.key for m in THRESHOLD_METRICS if hasattr(Plant, f"{m.key}_min")]
    assert [m.key for m in RANGE_METRICS] == with_columns
    assert list(schemas["ThresholdsInput"]["properties"]) == with_columns
    assert list(schemas["Thresholds"]["properties"]) == with_columns
    assert set(schemas["Reading"]["properties"]) == {"ts", *(m.key for m in READING_METRICS)}


def test_document_is_valid_openapi(app):
    schema = schemathesis.openapi.from_dict(document(app))
    assert len(list(schema.get_all_operations())) == 20

"""docs/contracts.md is what a newcomer wires a sensor from: its example messages must be what
the payload parser accepts, and every rejection reason the parser counts must be explained."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.domain.payload import REASONS, parse_message

CONTRACTS = (Path(__file__).resolve().parents[2] / "docs" / "contracts.md").read_text()
MQTT = CONTRACTS[CONTRACTS.index("## MQTT telemetry") : CONTRACTS.index("## Health")]
EXAMPLES = re.findall(r"```json\n(.*?)```", MQTT, re.DOTALL)
RECEIVED = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)


def test_the_mqtt_section_shows_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_message_is_stored_whole(example):
    result = parse_message("plantops/balcony-basil/telemetry", example.encode(), "plantops", RECEIVED)
    assert result.readings
    assert not result.rejections


def test_every_rejection_reason_is_explained():
    explained = set(re.findall(r"`([a-z0-9_]+)`", MQTT[MQTT.index("### What is dropped") :]))
    assert set(REASONS) <= explained


API = CONTRACTS[CONTRACTS.index("## JSON API v1") : CONTRACTS.index("## Browser routes")]


def top_level_fields(name):
    """The field names of the object the API section writes as `A <name>: `{...}``, at its
    top level only (nested objects such as thresholds skipped)."""
    text = re.search(rf"A {name}: `(\{{.*?\}})`", API, re.DOTALL).group(1)
    fields, depth = [], 0
    for token in re.finditer(r'[{}]|"(\w+)"', text):
        if token.group(0) == "{":
            depth += 1
        elif token.group(0) == "}":
            depth -= 1
        elif depth == 1:
            fields.append(token.group(1))
    return fields


def documented_operations():
    """{(METHOD, path)} of the API v1 table, paths with `{}` for each parameter."""
    operations = set()
    for line in API.splitlines():
        cell = line.split("|")[1] if line.startswith("| `") else ""
        path = re.search(r"(/api/v1/[^`?\s]*)", cell)
        if path:
            normalized = re.sub(r"<[^>]+>", "{}", path.group(1))
            operations |= {(method, normalized) for method in re.findall(r"`([A-Z]+)[` ]", cell)}
    return operations


@pytest.mark.parametrize(("name", "model"), [("device", "Device"), ("plant", "Plant")])
def test_the_api_section_names_every_field_of_a_device_and_a_plant(name, model):
    from app.api.v1 import schemas

    assert top_level_fields(name) == list(getattr(schemas, model).model_fields)


def test_the_api_table_lists_exactly_the_operations_of_the_openapi_document(app):
    from app.api.v1.document import document

    served = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for path, operations in document(app)["paths"].items()
        for method in operations
    }
    assert documented_operations() == served | {("GET", "/api/v1/docs")}

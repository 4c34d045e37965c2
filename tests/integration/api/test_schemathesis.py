"""Schemathesis over the whole OpenAPI document, against the WSGI app with a real token.

Every operation gets positive and negative data; every response must be one the
document describes (status, headers, body schema) and none may be a 5xx. The seed
is fixed, so a failure here fails the same way on the next run.
"""

import tempfile
import zlib

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config._checks import POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, PositiveDataAcceptanceConfig
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth

from app import create_app
from app.api.v1.document import document
from app.api.v1.schemas import RANGE_METRICS
from app.domain.devices import bind_device
from app.extensions import db
from app.models import Device, Plant, Task
from app.ownership import personal_garden_id

from ... import conftest
from .conftest import make_token

MAX_EXAMPLES = 15
SEED = 20261201
# What the document cannot say: your own plant, a device key free in your namespace, min <= max,
# one device per metric, a calibration's dry and wet values apart, one source field per metric,
# a channel URL of its kind, a care event's time not in the future, and a note event's text.
# An invitation's `expires_at` and `until` are checked against now and its role, its `email` by
# email-validator.
SEMANTIC_FIELDS = (
    {"plant_id", "garden_id", "device_id", "sensors", "url", "at", "note"}
    | {f"thresholds.{m.key}" for m in RANGE_METRICS}
    | {"expires_at", "until", "email"}
)
SEMANTIC_PREFIXES = ("sensors.", "calibration.", "field_map.")


def load(app):
    """The document the app serves, configured for these tests."""
    loaded = schemathesis.openapi.from_dict(document(app))
    loaded.config.seed = SEED
    # Unknown query parameters are ignored by design; the token is sent by the test, not generated.
    loaded.config.generation.update(allow_extra_parameters=False, with_security_parameters=False)
    loaded.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=[*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "422"]
    )
    loaded.app = app
    return loaded


# The cases are built at collection time, from an app that is never served: the
# document depends on the routes and models only (test_openapi checks it is the one served).
DOCUMENT_APP = {"ENV": conftest.test_env("sqlite://"), "INSTANCE_PATH": tempfile.gettempdir(), "TESTING": True}
schema = load(create_app(DOCUMENT_APP))


def refused_only_for_semantics(ctx, response, case):
    if case.meta and case.meta.generation.mode == GenerationMode.POSITIVE and response.status_code == 422:
        fields = {problem["field"] for problem in response.json()["detail"]}
        refused = {f for f in fields if f not in SEMANTIC_FIELDS and not f.startswith(SEMANTIC_PREFIXES)}
        assert not refused, f"schema-valid data refused for {refused}"


@pytest.fixture
def seeded(app, gardener):
    """One plant with its device and one task, so operations on an id also reach real objects."""
    with app.app_context():
        plant = Plant(garden_id=personal_garden_id(gardener), name="Fern")
        device = Device(
            namespace="",
            key="fern-1",
            source="native",
            owner_id=gardener,
            garden_id=personal_garden_id(gardener),
            metrics=[],
        )
        db.session.add_all([plant, device])
        db.session.flush()
        bind_device(db.session, plant, device)
        task = Task(garden_id=personal_garden_id(gardener), title="Water", plant_id=plant.id, recurrence_days=3)
        db.session.add(task)
        db.session.commit()
        return {"plant_id": plant.id, "task_id": task.id, "device_id": device.id}


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_document(case, app, gardener, seeded):
    token = make_token(app, gardener)
    schema.app = case.operation.schema.app = app
    if case.meta and case.meta.generation.mode == GenerationMode.POSITIVE:
        for name in case.path_parameters or {}:
            # Half the cases reach the seeded objects; crc32, unlike hash(), is the same in every run.
            if name in seeded and zlib.crc32(repr(case.body).encode()) % 2 == 0:
                case.path_parameters[name] = seeded[name]
    case.call_and_validate(
        app=app,
        headers={"Authorization": f"Bearer {token}"},
        additional_checks=[refused_only_for_semantics],
    )


def test_stateful_sequences_follow_the_documents_links(app, gardener):
    """Create, then read, change, toggle and delete what was created, following the links."""
    token = make_token(app, gardener)

    class Workflow(load(app).as_state_machine()):
        def get_call_kwargs(self, case):
            return {"app": app, "headers": {"Authorization": f"Bearer {token}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # Its probe would reuse our (valid) token; the parametrised run above covers auth.
            case.validate_response(
                response,
                additional_checks=[refused_only_for_semantics],
                excluded_checks=[ignored_auth],
                transport_kwargs=kwargs,
            )

    Workflow.run(
        settings=settings(max_examples=8, stateful_step_count=5, deadline=None, suppress_health_check=list(HealthCheck))
    )

"""Validation cost per request of the API's schema libraries, and what the plant list costs to build.

.venv/bin/python -m bench.api_schema [--repeat 2000] [--rounds 5] [--plants 500]

Part 1 validates the same three request bodies (a valid plant, a plant with five
field errors, a valid task) with each candidate and prints the median over
--rounds rounds of the time per validation, with the ratio to the baseline measured
in the same run:
- baseline: jsonschema's Draft 2020-12 validator over the same JSON Schema (what
  the hand-written OpenAPI document used to be checked with), collecting every error;
- pydantic v2 (the models behind spectree or flask-openapi3), through the API's own
  `validation._validated` (strict JSON types, the contract's field errors);
- marshmallow 4 (behind flask-smorest and APIFlask), the same rules written as a Schema.
Part 2 times `GET /api/v1/plants`'s parts for --plants plants (SQLite in memory):
building the body through the pydantic models, and the fingerprint query that
PlantListCache runs instead when nothing changed.
"""

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime

from app.database import MAX_ID
from app.domain.metrics import THRESHOLD_METRICS

RANGES = {metric.key: metric.range for metric in THRESHOLD_METRICS}
VALID_PLANT = {
    "name": "Fern",
    "species": "Nephrolepis",
    "location": "Bathroom",
    "device_id": "esp32-fern_1.a",
    "thresholds": {"soil_moisture": {"min": 30, "max": 70}, "temperature": {"min": 12, "max": None}},
    "stale_after_minutes": 30,
}
INVALID_PLANT = {
    "name": "",
    "device_id": "has space",
    "thresholds": {"light": {"min": "low"}, "temperature": {"max": 90}},
    "stale_after_minutes": 0,
}
VALID_TASK = {"title": "Water", "description": "Rain water", "due_date": "2026-12-01", "recurrence_days": 7}


def per_call(function, body, repeat, rounds):
    """Median seconds per call of function(body) over `rounds` rounds of `repeat` calls."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeat):
            function(body)
        times.append((time.perf_counter() - start) / repeat)
    return statistics.median(times)


def jsonschema_candidate():
    from jsonschema import Draft202012Validator, FormatChecker

    from app.api.v1.schemas import PlantInput, TaskInput

    validators = {
        "plant": Draft202012Validator(PlantInput.model_json_schema(), format_checker=FormatChecker()),
        "task": Draft202012Validator(TaskInput.model_json_schema(), format_checker=FormatChecker()),
    }

    def validate(kind):
        validator = validators[kind]
        return lambda body: list(validator.iter_errors(json.loads(json.dumps(body))))

    return validate


def pydantic_candidate():
    from app.api.v1.schemas import PlantInput, TaskInput
    from app.api.v1.validation import _validated
    from app.errors import ValidationError

    models = {"plant": PlantInput, "task": TaskInput}

    def validate(kind):
        model = models[kind]

        def run(body):
            try:
                return _validated(model, json.loads(json.dumps(body)))
            except ValidationError as error:
                return error.detail

        return run

    return validate


def marshmallow_candidate():
    from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

    def range_schema(low, high):
        class Range(Schema):
            class Meta:
                unknown = RAISE

            min = fields.Float(allow_none=True, validate=validate.Range(low, high))
            max = fields.Float(allow_none=True, validate=validate.Range(low, high))

            @validates_schema
            def min_not_above_max(self, data, **kwargs):
                if data.get("min") is not None and data.get("max") is not None and data["min"] > data["max"]:
                    raise ValidationError("The minimum must not exceed the maximum.")

        return Range

    thresholds_schema = Schema.from_dict(
        {key: fields.Nested(range_schema(*bounds), allow_none=True) for key, bounds in RANGES.items()}
    )

    class Plant(Schema):
        class Meta:
            unknown = RAISE

        name = fields.String(required=True, validate=[validate.Length(1, 100), validate.Regexp(r".*\S")])
        species = fields.String(load_default="", validate=validate.Length(max=100))
        location = fields.String(load_default="", validate=validate.Length(max=100))
        device_id = fields.String(allow_none=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
        thresholds = fields.Nested(thresholds_schema, allow_none=True)
        stale_after_minutes = fields.Integer(strict=True, load_default=60, validate=validate.Range(1, 10_080))

    class Task(Schema):
        class Meta:
            unknown = RAISE

        title = fields.String(required=True, validate=validate.Length(1, 200))
        description = fields.String(allow_none=True, load_default="", validate=validate.Length(max=1000))
        due_date = fields.Date(allow_none=True)
        plant_id = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, MAX_ID))
        recurrence_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(1, 365))
        completed = fields.Boolean(load_default=False)

    schemas = {"plant": Plant(), "task": Task()}

    def validate_with(kind):
        schema = schemas[kind]

        def run(body):
            try:
                return schema.loads(json.dumps(body))
            except ValidationError as error:
                return error.messages

        return run

    return validate_with


CANDIDATES = (
    ("jsonschema (baseline)", jsonschema_candidate),
    ("pydantic v2", pydantic_candidate),
    ("marshmallow 4", marshmallow_candidate),
)
BODIES = (
    ("valid plant", "plant", VALID_PLANT),
    ("invalid plant", "plant", INVALID_PLANT),
    ("valid task", "task", VALID_TASK),
)


def bench_validation(repeat, rounds):
    print("| library | " + " | ".join(label for label, _, _ in BODIES) + " |")
    print("| --- |" + " --- |" * len(BODIES))
    baseline = None
    for name, make in CANDIDATES:
        validate = make()
        costs = [per_call(validate(kind), body, repeat, rounds) for _, kind, body in BODIES]
        baseline = baseline or costs
        cells = [f"{cost * 1e6:,.1f} µs ({cost / base:.2f}x)" for cost, base in zip(costs, baseline, strict=True)]
        print(f"| {name} | " + " | ".join(cells) + " |")


def bench_plant_list(plants, rounds):
    from app import create_app
    from app.api.v1.plants import _build_list
    from app.auth.users import create_user
    from app.domain.devices import bind_device, device_for_key
    from app.extensions import db
    from app.models import Plant
    from app.ownership import personal_garden_id
    from app.plants.queries import plants_fingerprint
    from tests.conftest import test_env

    workdir = tempfile.mkdtemp()
    app = create_app({"ENV": test_env(f"sqlite:///{workdir}/bench.db"), "INSTANCE_PATH": workdir, "TESTING": True})
    with app.app_context():
        db.create_all()
        user = create_user("bench@example.com", "bench-password-1")
        garden_id = personal_garden_id(user.id)
        now = datetime.now(UTC)
        rows = [
            Plant(
                garden_id=garden_id,
                name=f"Plant {n:03d}",
                soil_moisture_min=30,
                soil_moisture_max=70,
                last_reading_at=now,
                latest_soil_moisture=40.0 + n % 30,
                latest_temperature=20.0,
            )
            for n in range(plants)
        ]
        db.session.add_all(rows)
        db.session.flush()
        for n, plant in enumerate(rows):
            bind_device(db.session, plant, device_for_key(db.session, user, f"bench-{n:03d}"))
        db.session.commit()
        with app.test_request_context():
            from flask_login import login_user

            login_user(user)
            build = per_call(lambda _: _build_list(datetime.now(UTC)), None, 5, rounds)
            fingerprint = per_call(lambda _: plants_fingerprint().token, None, 50, rounds)
    print(f"| build the body of {plants} plants | {build * 1e3:,.2f} ms |")
    print(f"| fingerprint query (PlantListCache hit) | {fingerprint * 1e3:,.2f} ms ({fingerprint / build:.2f}x) |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--plants", type=int, default=500)
    args = parser.parse_args()
    bench_validation(args.repeat, args.rounds)
    print()
    bench_plant_list(args.plants, args.rounds)


if __name__ == "__main__":
    main()

"""Request bodies and query strings, checked against the OpenAPI document's own schemas.

Anything that breaks the document is refused with the contract's errors: 400
for a body that is not a JSON object, 422 with `[{"field", "message"}]` for the
rest. Checks the document cannot express (your own plant, a free device id)
come after, in the views.
"""

import json
from functools import cache

from jsonschema import Draft202012Validator, FormatChecker
from werkzeug.exceptions import BadRequest

from ...domain.devices import DEVICE_ID_MESSAGE
from ...errors import NotFoundError, ValidationError
from ...ownership import get_owned_or_404
from .spec import DEVICE_ID_PATTERN, INT32_MAX, NAME_PATTERN, SCHEMAS, TEXT_PATTERN

FORMAT_HINTS = {"date": "a date (YYYY-MM-DD)", "date-time": "an ISO 8601 time"}
PATTERN_HINTS = {
    NAME_PATTERN: "Must not be empty or contain NUL characters.",
    TEXT_PATTERN: "Must not contain NUL characters.",
    DEVICE_ID_PATTERN: DEVICE_ID_MESSAGE,
}
TYPE_NAMES = {
    "integer": "a whole number",
    "number": "a number",
    "string": "text",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


@cache
def _validator(schema_json):
    schema = json.loads(schema_json)
    return Draft202012Validator({**schema, "components": {"schemas": SCHEMAS}}, format_checker=FormatChecker())


def check(value, schema, field=""):
    """Raise ValidationError with every way `value` breaks `schema`."""
    errors = sorted(_validator(json.dumps(schema, sort_keys=True)).iter_errors(value), key=lambda e: e.path)
    problems = {}
    for error in errors:
        problem = _field_error(error, field)
        problems.setdefault(problem["field"], problem)
    if problems:
        raise ValidationError(list(problems.values()))


def json_body(schema_name):
    """The request's JSON object, valid against components/schemas/<schema_name>."""
    from flask import request

    raw = request.get_data(cache=False)
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise BadRequest("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    known = SCHEMAS[schema_name]["properties"]
    problems = [
        {"field": name, "message": "Contains characters that are not valid Unicode."}
        for name, value in body.items()
        if name in known and isinstance(value, str) and not _encodable(value)
    ]
    if problems:
        raise ValidationError(problems)
    check(body, {"$ref": f"#/components/schemas/{schema_name}"})
    return {name: _whole(value, known.get(name)) for name, value in body.items()}


def owned_or_404(model, object_id):
    """`get_owned_or_404`, after refusing ids no database column can hold (also 404)."""
    if not 1 <= object_id <= INT32_MAX:
        raise NotFoundError()
    return get_owned_or_404(model, object_id)


def query(parameters):
    """The query parameters described by `parameters` (OpenAPI parameter objects), typed
    and checked; a missing one takes its schema's default (or None)."""
    from flask import request

    values, problems = {}, []
    for parameter in parameters:
        if parameter["in"] != "query":
            continue
        name, schema = parameter["name"], parameter["schema"]
        raw = request.args.get(name)
        if raw is None:
            values[name] = schema.get("default")
            continue
        try:
            value = int(raw) if schema.get("type") == "integer" else raw
        except ValueError:
            problems.append({"field": name, "message": "Must be a whole number."})
            continue
        try:
            check(value, schema, name)
        except ValidationError as error:
            problems.extend(error.detail)
            continue
        values[name] = value
    if problems:
        raise ValidationError(problems)
    return values


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def _whole(value, schema):
    """JSON Schema counts 3.0 as an integer; hand the services an int."""
    kinds = (schema or {}).get("type", ())
    if "integer" in kinds and isinstance(value, float):
        return int(value)
    return value


def _encodable(text):
    """False for lone surrogates (valid in JSON escapes, not storable as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _field_error(error, field):
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path.append(missing)
        return {"field": _join(field, path), "message": "This field is required."}
    if error.validator in ("anyOf", "oneOf") and error.context:
        specific = [e for e in error.context if e.schema.get("type") != "null"]
        if specific:
            error = min(specific, key=lambda e: len(e.schema_path))
    return {"field": _join(field, path), "message": _message(error)}


def _join(field, path):
    return ".".join(part for part in [field, *path] if part)


def _message(error):
    kind, limit = error.validator, error.validator_value
    if kind == "type":
        kinds = [limit] if isinstance(limit, str) else limit
        return "Must be " + " or ".join(TYPE_NAMES.get(k, k) for k in kinds) + "."
    if kind == "minLength":
        return "Must not be empty."
    if kind == "maxLength":
        return f"Must be at most {limit} characters."
    if kind == "minimum":
        return f"Must be at least {limit}."
    if kind == "maximum":
        return f"Must be at most {limit}."
    if kind == "enum":
        return "Must be one of: " + ", ".join(str(v) for v in limit) + "."
    if kind == "format":
        return f"Must be {FORMAT_HINTS.get(limit, limit)}."
    if kind == "pattern":
        return PATTERN_HINTS.get(limit, "Is not in the expected form.")
    return "Is not valid."

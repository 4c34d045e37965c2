"""Requests checked against the models of `schemas.py`, refused with the contract's errors.

400 for a body that is not a JSON object, 422 with `[{"field", "message"}]` for
everything a model refuses. Checks no model can make (your own plant, a free
device id) come after, in the services.
"""

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel
from pydantic import ValidationError as ModelError
from werkzeug.exceptions import BadRequest

from ...database import MAX_ID
from ...errors import NotFoundError, ValidationError
from ...ownership import get_own_or_404, get_visible_or_404, require
from .schemas import PATTERN_MESSAGES, Input

MESSAGES = {
    "missing": "This field is required.",
    "extra_forbidden": "Unknown field.",
    "string_type": "Must be text.",
    "bool_type": "Must be true or false.",
    "bool_parsing": "Must be true or false.",
    "int_type": "Must be a whole number.",
    "int_parsing": "Must be a whole number.",
    "int_from_float": "Must be a whole number.",
    "float_type": "Must be a number.",
    "float_parsing": "Must be a number.",
    "model_type": "Must be an object.",
    "model_attributes_type": "Must be an object.",
    "dict_type": "Must be an object.",
    "string_too_short": "Must not be empty.",
}

# Errors our models raise with their own words (PydanticCustomError).
OWN_MESSAGES = {"duplicate_metric"}

InputT = TypeVar("InputT", bound=Input)
ModelT = TypeVar("ModelT", bound=BaseModel)


def json_body(model: type[InputT]) -> InputT:
    """The request's JSON object as a valid `model`."""
    body = _json_object()
    return _validated(model, body)


def merge_patch(
    model: type[InputT],
    patch_model: type[Input],
    current: dict[str, Any],
    adjust: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None,
) -> InputT:
    """The request's JSON merge patch (RFC 7396) applied to `current` (the object's JSON),
    as a valid `model`.

    The patch itself must fit `patch_model` (known fields, right types); null
    removes a field, which then takes its default in `model`. `adjust(patch, current)`
    may drop fields of `current` that the patch's fields replace.
    """
    patch = _json_object()
    _validated(patch_model, patch)
    if adjust is not None:
        current = adjust(patch, current)
    fields = {name: value for name, value in current.items() if name in model.model_fields}
    return _validated(model, _merged(fields, patch))


def query(model: type[ModelT]) -> ModelT:
    """The query string as a valid `model` (unknown parameters are ignored)."""
    try:
        return model.model_validate(request.args.to_dict())
    except ModelError as error:
        raise ValidationError(field_errors(error)) from None


def visible_or_404(model: Any, object_id: int, action: str = "view") -> Any:
    """`get_visible_or_404` (ids no database column can hold are 404 too), then the role's
    check of `action` in its garden (403 when it does not allow it)."""
    if not 1 <= object_id <= MAX_ID:
        raise NotFoundError()
    obj = get_visible_or_404(model, object_id)
    if action != "view":
        require(obj, action)
    return obj


def field_errors(error: ModelError) -> list[dict[str, str]]:
    """pydantic's errors in the contract's words: one `{"field", "message"}` per field."""
    problems: dict[str, dict[str, str]] = {}
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"])
        problems.setdefault(field, {"field": field, "message": _message(item)})
    return sorted(problems.values(), key=lambda problem: problem["field"])


def _json_object() -> dict[str, Any]:
    try:
        body = json.loads(request.get_data(cache=False), parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise BadRequest("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    return body


def _validated(model: type[ModelT], body: dict[str, Any]) -> ModelT:
    unstorable = [
        {"field": name, "message": "Contains characters that are not valid Unicode."}
        for name, value in body.items()
        if isinstance(value, str) and not _encodable(value)
    ]
    if unstorable:
        raise ValidationError(unstorable)
    try:
        return model.model_validate_json(json.dumps(body), strict=True)
    except ModelError as error:
        raise ValidationError(field_errors(error)) from None


def _merged(target: Any, patch: Any) -> Any:
    """RFC 7396, section 2."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = _merged(result.get(name), value)
    return result


def _message(item: Any) -> str:
    kind, ctx = item["type"], item.get("ctx", {})
    if kind in MESSAGES:
        return MESSAGES[kind]
    if kind == "greater_than_equal":
        return f"Must be at least {_number(ctx['ge'])}."
    if kind == "less_than_equal":
        return f"Must be at most {_number(ctx['le'])}."
    if kind in OWN_MESSAGES:
        return item["msg"]
    if kind == "too_long":
        return f"At most {ctx['max_length']} items."
    if kind == "too_short":
        return f"At least {ctx['min_length']} item{'' if ctx['min_length'] == 1 else 's'}."
    if kind == "string_too_long":
        return f"Must be at most {ctx['max_length']} characters."
    if kind == "string_pattern_mismatch":
        return PATTERN_MESSAGES.get(ctx["pattern"], "Is not in the expected form.")
    if kind == "literal_error":
        return "Must be one of: " + ", ".join(re.findall(r"'([^']*)'", ctx["expected"])) + "."
    if "ctx" not in item or kind in ("value_error",):
        return item["msg"].removeprefix("Value error, ")  # our own validators' messages
    return "Is not valid."


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _encodable(text: str) -> bool:
    """False for lone surrogates (valid in JSON escapes, not storable as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def own_or_404(model: Any, object_id: int) -> Any:
    """A row of the user's own (a notification channel), else 404."""
    if not 1 <= object_id <= MAX_ID:
        raise NotFoundError()
    return get_own_or_404(model, object_id)

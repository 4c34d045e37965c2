"""The OpenAPI 3.1 document of API v1: the one description of every operation.

Request bodies and query parameters are checked against the schemas here
(`validation.py`), the tests check that every route appears here and every path
here is a route, and schemathesis checks every response against it. So the
document cannot drift from what the code does.
"""

from ...domain.devices import DEVICE_ID_PATTERN
from ...domain.metrics import KEYS, THRESHOLD_METRICS
from ...domain.plants import STALE_MINUTES_RANGE
from ...domain.tasks import DESCRIPTION_MAX, RECURRENCE_MAX, RECURRENCE_MIN, TITLE_MAX
from ...models import MAX_ID

INT32_MAX = MAX_ID
PER_PAGE_MAX = 100
READINGS_LIMIT_MAX = 10_000
READINGS_LIMIT_DEFAULT = 1_000
PLANT_TEXT_MAX = 100
STALE_MINUTES_MIN, STALE_MINUTES_MAX = STALE_MINUTES_RANGE
# Text the database can store (no NUL characters); a title or name also needs a visible character.
TEXT_PATTERN = r"^[^\u0000]*$"
NAME_PATTERN = r"^[^\u0000]*[^\u0000\s][^\u0000]*$"
# What a sensor can measure (docs/contracts.md, MQTT telemetry); thresholds must lie inside.
METRIC_RANGES = {
    metric.key: tuple(int(bound) if float(bound).is_integer() else bound for bound in metric.range)
    for metric in THRESHOLD_METRICS
}
ALERT_STATES = ("open", "acknowledged", "resolved")
TASK_STATUSES = ("all", "pending", "completed")
PLANT_STATUSES = ("ok", "alert", "stale", "no_data")


def _nullable(schema):
    return {"anyOf": [schema, {"type": "null"}]}


TIME = {"type": "string", "format": "date-time", "description": "ISO 8601 UTC, ending in Z."}
NUMBER_OR_NULL = {"type": ["number", "null"]}


def _range(metric):
    low, high = METRIC_RANGES[metric]
    bound = {"type": ["number", "null"], "minimum": low, "maximum": high}
    return {
        "type": "object",
        "properties": {"min": bound, "max": bound},
        "description": f"Acceptable range; null means no bound. Between {low} and {high}, min <= max.",
    }


SCHEMAS = {
    "FieldError": {
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
    "Error": {
        "type": "object",
        "required": ["error", "detail"],
        "properties": {
            "error": {"type": "string", "description": "A stable code such as `not_found`."},
            "detail": {
                "anyOf": [{"type": "string"}, {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}}]
            },
        },
    },
    "Task": {
        "type": "object",
        "required": [
            "id",
            "title",
            "description",
            "completed",
            "completed_at",
            "due_date",
            "plant_id",
            "recurrence_days",
            "created_at",
            "updated_at",
        ],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "completed": {"type": "boolean"},
            "completed_at": _nullable(TIME),
            "due_date": _nullable({"type": "string", "format": "date"}),
            "plant_id": {"type": ["integer", "null"]},
            "recurrence_days": {"type": ["integer", "null"]},
            "created_at": TIME,
            "updated_at": TIME,
        },
    },
    "TaskInput": {
        "type": "object",
        "description": "A task's editable fields. On PUT, a field left out takes its default.",
        "required": ["title"],
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": TITLE_MAX, "pattern": NAME_PATTERN},
            "description": {"type": "string", "maxLength": DESCRIPTION_MAX, "pattern": TEXT_PATTERN, "default": ""},
            "due_date": _nullable({"type": "string", "format": "date"}),
            "plant_id": {
                "type": ["integer", "null"],
                "minimum": 1,
                "maximum": INT32_MAX,
                "description": "One of your own plants.",
            },
            "recurrence_days": {
                "type": ["integer", "null"],
                "minimum": RECURRENCE_MIN,
                "maximum": RECURRENCE_MAX,
                "description": "Completing the task creates the next one this many days later.",
            },
        },
    },
    "TaskList": {
        "type": "object",
        "required": ["items", "total", "page", "per_page"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        },
    },
    "Reading": {
        "type": "object",
        "required": ["ts", *KEYS],
        "properties": {"ts": TIME, **dict.fromkeys(KEYS, NUMBER_OR_NULL)},
    },
    "ReadingList": {
        "type": "object",
        "required": ["items", "count"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Reading"}},
            "count": {"type": "integer"},
        },
    },
    "Thresholds": {
        "type": "object",
        "properties": {metric: _range(metric) for metric in METRIC_RANGES},
    },
    "Plant": {
        "type": "object",
        "required": [
            "id",
            "name",
            "species",
            "location",
            "device_id",
            "thresholds",
            "stale_after_minutes",
            "status",
            "problems",
            "latest",
            "created_at",
            "updated_at",
        ],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string"},
            "species": {"type": "string"},
            "location": {"type": "string"},
            "device_id": {"type": ["string", "null"]},
            "thresholds": {
                "type": "object",
                "required": list(METRIC_RANGES),
                "properties": {
                    metric: {
                        "type": "object",
                        "required": ["min", "max"],
                        "properties": {"min": NUMBER_OR_NULL, "max": NUMBER_OR_NULL},
                    }
                    for metric in METRIC_RANGES
                },
            },
            "stale_after_minutes": {"type": "integer"},
            "status": {"type": "string", "enum": list(PLANT_STATUSES)},
            "problems": {
                "type": "array",
                "items": {"type": "string"},
                "description": "What is wrong: `soil_moisture_low`, `temperature_high`, `battery_low`, `stale`, ...",
            },
            "latest": _nullable({"$ref": "#/components/schemas/Reading"}),
            "created_at": TIME,
            "updated_at": TIME,
        },
    },
    "PlantInput": {
        "type": "object",
        "description": "A plant's editable fields. On PUT, a field left out takes its default.",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": PLANT_TEXT_MAX, "pattern": NAME_PATTERN},
            "species": {"type": "string", "maxLength": PLANT_TEXT_MAX, "pattern": TEXT_PATTERN, "default": ""},
            "location": {"type": "string", "maxLength": PLANT_TEXT_MAX, "pattern": TEXT_PATTERN, "default": ""},
            "device_id": {
                "anyOf": [{"type": "string", "pattern": DEVICE_ID_PATTERN}, {"type": "null"}],
                "description": "The sensor's id (1 to 64 of A-Z a-z 0-9 _ . -); one plant per device.",
            },
            "thresholds": {"$ref": "#/components/schemas/Thresholds"},
            "stale_after_minutes": {
                "type": "integer",
                "minimum": STALE_MINUTES_MIN,
                "maximum": STALE_MINUTES_MAX,
                "default": 60,
            },
        },
    },
    "PlantList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Plant"}}},
    },
    "Alert": {
        "type": "object",
        "required": [
            "id",
            "plant_id",
            "problem",
            "metric",
            "value",
            "threshold",
            "state",
            "opened_at",
            "acknowledged_at",
            "resolved_at",
        ],
        "properties": {
            "id": {"type": "integer"},
            "plant_id": {"type": "integer"},
            "problem": {"type": "string"},
            "metric": {"type": ["string", "null"]},
            "value": NUMBER_OR_NULL,
            "threshold": NUMBER_OR_NULL,
            "state": {"type": "string", "enum": list(ALERT_STATES)},
            "opened_at": TIME,
            "acknowledged_at": _nullable(TIME),
            "resolved_at": _nullable(TIME),
        },
    },
    "AlertList": {
        "type": "object",
        "required": ["items", "total", "page", "per_page"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
        },
    },
}

# Query parameters, checked by `validation.query()` against these same schemas.
PAGE = {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": INT32_MAX, "default": 1}}
PER_PAGE = {
    "name": "per_page",
    "in": "query",
    "schema": {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX, "default": 50},
}
TASK_QUERY = [
    {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(TASK_STATUSES), "default": "all"}},
    {
        "name": "plant_id",
        "in": "query",
        "description": "Only tasks of this plant.",
        "schema": {"type": "integer", "minimum": 1, "maximum": INT32_MAX},
    },
    PAGE,
    PER_PAGE,
]
WHEN = {
    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "number"}],
    "description": "ISO 8601 (UTC when no offset is given) or Unix seconds; "
    "times outside years 1 to 9999 count as the first or last time there is.",
}
READING_QUERY = [
    {"name": "since", "in": "query", "description": "Default: 24 hours before `until`.", "schema": WHEN},
    {"name": "until", "in": "query", "description": "Default: now.", "schema": WHEN},
    {
        "name": "limit",
        "in": "query",
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": READINGS_LIMIT_MAX,
            "default": READINGS_LIMIT_DEFAULT,
        },
    },
]
ALERT_QUERY = [
    {"name": "state", "in": "query", "description": "Default: every state.", "schema": {"enum": list(ALERT_STATES)}},
    PAGE,
    PER_PAGE,
]


def _id_parameter(name):
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": INT32_MAX},
    }


def _error(description):
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


RESPONSES = {
    "BadRequest": _error("The body is not a JSON object."),
    "Unauthorized": {
        **_error("No token, or a malformed, unknown or revoked one."),
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer ...`"}},
    },
    "NotFound": _error("No such object, or it belongs to someone else."),
    "TooLarge": _error("The body is larger than 1 MiB."),
    "Invalid": _error("Validation failed; `detail` lists `{field, message}`."),
    "Throttled": {
        **_error("Too many requests with this token."),
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    },
    "ServerError": _error("Something went wrong on our side (no detail is given)."),
}


def _ok(status, schema_name, description):
    return {
        str(status): {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}},
        }
    }


def _operation(operation_id, summary, responses, parameters=(), body=None, tag=None):
    errors = {"401": "Unauthorized", "429": "Throttled", "500": "ServerError"}
    if any(p["in"] == "path" for p in parameters):
        errors["404"] = "NotFound"
    if any(p["in"] == "query" for p in parameters):
        errors["422"] = "Invalid"
    operation = {"operationId": operation_id, "summary": summary, "tags": [tag], "parameters": list(parameters)}
    if body:
        errors.update({"400": "BadRequest", "413": "TooLarge", "422": "Invalid"})
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    operation["responses"] = {
        **responses,
        **{code: {"$ref": f"#/components/responses/{name}"} for code, name in errors.items()},
    }
    return operation


def _links(status, responses, parameter, operation_ids):
    """OpenAPI links: the `id` in a response is the `parameter` of these operations."""
    responses[str(status)]["links"] = {
        operation_id: {"operationId": operation_id, "parameters": {parameter: "$response.body#/id"}}
        for operation_id in operation_ids
    }
    return responses


TASK_LINKS = ("getTask", "updateTask", "deleteTask", "toggleTaskCompleted")
PLANT_LINKS = ("getPlant", "updatePlant", "deletePlant", "listReadings")
TASK_ID = _id_parameter("task_id")
PLANT_ID = _id_parameter("plant_id")
NO_CONTENT = {"204": {"description": "Deleted."}}

PATHS = {
    "/api/v1/tasks": {
        "get": _operation(
            "listTasks", "Your tasks, due first", _ok(200, "TaskList", "A page of tasks."), TASK_QUERY, tag="tasks"
        ),
        "post": _operation(
            "createTask",
            "Create a task",
            _links(201, _ok(201, "Task", "Created."), "task_id", TASK_LINKS),
            body="TaskInput",
            tag="tasks",
        ),
    },
    "/api/v1/tasks/{task_id}": {
        "get": _operation("getTask", "One task", _ok(200, "Task", "The task."), [TASK_ID], tag="tasks"),
        "put": _operation(
            "updateTask", "Replace a task's fields", _ok(200, "Task", "Updated."), [TASK_ID], "TaskInput", "tasks"
        ),
        "delete": _operation("deleteTask", "Delete a task", NO_CONTENT, [TASK_ID], tag="tasks"),
    },
    "/api/v1/tasks/{task_id}/complete": {
        "patch": _operation(
            "toggleTaskCompleted",
            "Toggle `completed` (completing a recurring task creates the next one)",
            _ok(200, "Task", "The task after the toggle."),
            [TASK_ID],
            tag="tasks",
        ),
    },
    "/api/v1/plants": {
        "get": _operation(
            "listPlants", "Your plants with status and latest reading", _ok(200, "PlantList", "Plants."), tag="plants"
        ),
        "post": _operation(
            "createPlant",
            "Create a plant",
            _links(201, _ok(201, "Plant", "Created."), "plant_id", PLANT_LINKS),
            body="PlantInput",
            tag="plants",
        ),
    },
    "/api/v1/plants/{plant_id}": {
        "get": _operation("getPlant", "One plant", _ok(200, "Plant", "The plant."), [PLANT_ID], tag="plants"),
        "put": _operation(
            "updatePlant", "Replace a plant's fields", _ok(200, "Plant", "Updated."), [PLANT_ID], "PlantInput", "plants"
        ),
        "delete": _operation("deletePlant", "Delete a plant and its readings", NO_CONTENT, [PLANT_ID], tag="plants"),
    },
    "/api/v1/plants/{plant_id}/readings": {
        "get": _operation(
            "listReadings",
            "A plant's readings in a window, oldest first",
            _ok(200, "ReadingList", "Readings."),
            [PLANT_ID, *READING_QUERY],
            tag="plants",
        ),
    },
    "/api/v1/alerts": {
        "get": _operation(
            "listAlerts",
            "Your alerts, newest first",
            _ok(200, "AlertList", "A page of alerts."),
            ALERT_QUERY,
            tag="alerts",
        ),
    },
    "/api/v1/openapi.json": {
        "get": _operation(
            "getOpenApi",
            "This document",
            {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}},
            tag="meta",
        ),
    },
}


def document(version):
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PlantOps API",
            "version": version,
            "description": "Plants, readings, alerts and care tasks. Authenticate with "
            "`Authorization: Bearer <personal access token>` (create one on /settings). "
            'Errors are `{"error", "detail"}`; someone else\'s id answers 404 exactly like a missing one.',
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerToken": []}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "securitySchemes": {
                "bearerToken": {"type": "http", "scheme": "bearer", "description": "A personal access token (po_...)."}
            },
        },
    }

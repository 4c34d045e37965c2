"""The one description of API v1: every body, query and response as a pydantic model.

Requests are validated against these models (`validation.py`), responses are
built through them, and the OpenAPI 3.1 document is generated from them
(`document.py`). Metric fields come from the metrics registry, for the metrics
whose columns exist, so a new metric appears here once its migration does.
"""

import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ...database import MAX_ID
from ...domain import device_settings
from ...domain.care import AMOUNT_MAX, KINDS, NOTE_MAX
from ...domain.describe import problem_label, status_label
from ...domain.devices import DEVICE_KEY_MESSAGE, DEVICE_KEY_PATTERN, KEY_MAX
from ...domain.invitations import EMAIL_MAX
from ...domain.metrics import KEYS, METRICS, THRESHOLD_METRICS
from ...domain.plants import STALE_MINUTES_RANGE
from ...domain.status import plant_status
from ...domain.tasks import DESCRIPTION_MAX, RECURRENCE_MAX, RECURRENCE_MIN, TITLE_MAX
from ...i18n import N_
from ...models import Plant as PlantRow
from ...models import Reading as ReadingRow

PER_PAGE_MAX = 100
READINGS_LIMIT_MAX = 10_000
READINGS_LIMIT_DEFAULT = 1_000
PLANT_TEXT_MAX = 100
STALE_MINUTES_MIN, STALE_MINUTES_MAX = STALE_MINUTES_RANGE
DEFAULT_WINDOW = timedelta(hours=24)
# Text the database can store (no NUL characters); a title or name also needs a visible character.
TEXT_PATTERN = r"^[^\u0000]*$"
NAME_PATTERN = r"^[^\u0000]*[^\u0000\s][^\u0000]*$"
PATTERN_MESSAGES = {
    NAME_PATTERN: N_("Must not be empty or contain NUL characters."),
    TEXT_PATTERN: N_("Must not contain NUL characters."),
    DEVICE_KEY_PATTERN: DEVICE_KEY_MESSAGE,
}
READING_METRICS = tuple(m for m in METRICS if hasattr(ReadingRow, m.key) and hasattr(PlantRow, f"latest_{m.key}"))
RANGE_METRICS = tuple(m for m in THRESHOLD_METRICS if hasattr(PlantRow, f"{m.key}_min"))

FIRST_SECOND = datetime.min.replace(tzinfo=UTC).timestamp()
LAST_SECOND = datetime.max.replace(tzinfo=UTC).timestamp() - 1
LEAP_SECOND = re.compile(r"(?<=\d\d:\d\d):60(?=[.,zZ+-]|$)")


def utc(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC ending in Z, or None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _whole(nullable: bool):
    """JSON has one number type: 7.0 is the whole number 7; true is not a number."""
    message = "Must be a whole number or null." if nullable else "Must be a whole number."

    def check(value: Any) -> Any:
        if value is None and nullable:
            return None
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise PydanticCustomError("whole_number", message)
        return value

    return check


def _number_or_null(value: Any) -> Any:
    if value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
        return value
    raise PydanticCustomError("number", "Must be a number or null.")


def _iso_date(value: Any) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "Must be text or null.")
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("date", "Must be a date (YYYY-MM-DD).") from None


def _moment(raw: Any) -> datetime | None:
    """ISO 8601 (UTC without an offset) or Unix seconds, as an aware UTC datetime.

    Times beyond what a datetime holds are clamped to its range: a window "since
    year 1" simply starts at the beginning. A leap second counts as the next second.
    """
    if raw is None:
        return None
    raw = str(raw).strip()
    problem = PydanticCustomError("moment", "Must be an ISO 8601 time or Unix seconds.")
    try:
        if _is_number(raw):
            return datetime.fromtimestamp(min(max(float(raw), FIRST_SECOND), LAST_SECOND), UTC)
        leap = LEAP_SECOND.search(raw)
        moment = datetime.fromisoformat((LEAP_SECOND.sub(":59", raw) if leap else raw).upper())
    except ValueError:
        raise problem from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if moment.year == 1 else datetime.max.replace(tzinfo=UTC)
    return moment + timedelta(seconds=1) if leap and moment.year < 9999 else moment


def _is_number(raw: str) -> bool:
    try:
        return math.isfinite(float(raw))
    except ValueError:
        return False


def _bound(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


Id = Annotated[int, Field(ge=1, le=MAX_ID)]
WholeNumber = Annotated[int, BeforeValidator(_whole(nullable=False))]
WholeOrNull = Annotated[int | None, BeforeValidator(_whole(nullable=True))]
NumberOrNull = Annotated[float | None, BeforeValidator(_number_or_null)]
DateOrNull = Annotated[date | None, BeforeValidator(_iso_date)]
Time = Annotated[
    datetime,
    PlainSerializer(utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "ISO 8601 UTC, ending in Z."}),
]
TimeOrNull = Annotated[
    datetime | None,
    PlainSerializer(utc, return_type=str | None),
    WithJsonSchema({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}),
]
Moment = Annotated[
    datetime | None,
    BeforeValidator(_moment),
    WithJsonSchema(
        {
            "anyOf": [{"type": "string", "format": "date-time"}, {"type": "number"}],
            "description": "ISO 8601 (UTC when no offset is given) or Unix seconds; "
            "times outside years 1 to 9999 count as the first or last time there is.",
        }
    ),
]


class Input(BaseModel):
    """A request body: JSON types exactly (no "5" for 5), and an unknown field is an error."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Query(BaseModel):
    """A query string: every value arrives as text; unknown parameters are ignored."""

    model_config = ConfigDict(extra="ignore")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Errors -----------------------------------------------------------------------------


class FieldError(BaseModel):
    field: str = Field(description="Dotted path of the field, such as `thresholds.light.min`.")
    message: str


class Error(BaseModel):
    """Every error answer: 400, 401, 404, 405, 413, 422, 429 and 500."""

    error: str = Field(description="A stable code such as `not_found` or `validation_error`.")
    detail: str | list[FieldError] = Field(description="A sentence, or (422) one entry per field.")


# Tasks ------------------------------------------------------------------------------


class TaskInput(Input):
    """A task's fields. POST and PUT: a field left out takes the default shown (PUT replaces)."""

    title: str = Field(min_length=1, max_length=TITLE_MAX, pattern=NAME_PATTERN)
    description: str | None = Field("", max_length=DESCRIPTION_MAX, pattern=TEXT_PATTERN, description="null is empty.")
    due_date: DateOrNull = None
    plant_id: WholeOrNull = Field(
        None, ge=1, le=MAX_ID, description="A plant of one of your gardens; the task is in the plant's garden."
    )
    garden_id: WholeOrNull = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="One of your gardens where your role lets you edit (GET /api/v1/gardens); null or left out: "
        "your personal garden on create, unchanged on update (a task stays in its garden).",
    )
    recurrence_days: WholeOrNull = Field(
        None,
        ge=RECURRENCE_MIN,
        le=RECURRENCE_MAX,
        description="Completing the task creates the next one this many days later.",
    )
    repeat_from: Literal["due", "done"] | None = Field(
        None,
        description="The next occurrence is due `recurrence_days` after this one's due date (`due`: ticking "
        "early keeps the schedule) or after the day it was done (`done`). null: `done` for watering, else `due`.",
    )
    completed: bool = Field(
        False,
        description="Completing a repeating task creates its next occurrence; uncompleting it deletes that "
        "occurrence again while it is untouched.",
    )


class Task(Output):
    id: int
    garden_id: int
    title: str
    description: str
    completed: bool
    completed_at: TimeOrNull
    completed_by_id: int | None = Field(
        description="The member who completed it (null: not completed, or by a sensor)."
    )
    assignee_id: int | None = Field(description="The member it is assigned to; null: anyone in the garden.")
    due_date: date | None
    plant_id: int | None
    recurrence_days: int | None
    repeat_from: Literal["due", "done"]
    care_kind: str | None = Field(description="The care this task stands for (`watered`, ...), from its title.")
    created_at: Time
    updated_at: Time


class TaskList(BaseModel):
    items: list[Task]
    total: int
    page: int
    per_page: int


class TaskQuery(Query):
    status: Literal["all", "pending", "completed"] = "all"
    plant_id: Id | None = Field(None, description="Only tasks of this plant.")
    page: Id = 1
    per_page: int = Field(50, ge=1, le=PER_PAGE_MAX)


# Plants -----------------------------------------------------------------------------


class RangeInput(Input):
    """min <= max is the plant service's rule (app.domain.plants), checked when the plant is saved."""


def _range_model(metric) -> type[RangeInput]:
    low, high = (_bound(v) for v in metric.threshold_range)
    bound = Annotated[Annotated[float, Field(ge=low, le=high)] | None, BeforeValidator(_number_or_null)]
    fields: dict[str, Any] = {"min": (bound, None), "max": (bound, None)}
    return create_model(
        "".join(part.title() for part in metric.key.split("_")) + "Range",
        __base__=RangeInput,
        __doc__=f"{metric.label} in {metric.threshold_unit}"
        + (" (a daily total, judged once per local day)" if metric.daily else "")
        + f": null means no bound; between {low} and {high}, min <= max.",
        **fields,
    )


# The models below get one field per metric at runtime; mypy sees them as their base class.
if TYPE_CHECKING:
    ThresholdsInput: TypeAlias = Input
else:
    _RANGE_FIELDS: dict[str, Any] = {m.key: (_range_model(m) | None, None) for m in RANGE_METRICS}
    ThresholdsInput = create_model(
        "ThresholdsInput",
        __base__=Input,
        __doc__="Acceptable ranges; a metric left out has no bounds.",
        **_RANGE_FIELDS,
    )


if TYPE_CHECKING:
    MetricKey: TypeAlias = str
    MetricOrIgnore: TypeAlias = str
else:
    MetricKey = Literal[KEYS]
    MetricOrIgnore = Literal[(*KEYS, device_settings.IGNORE)]


class SensorInput(Input):
    """One device bound for some metrics of a plant."""

    device: str = Field(
        max_length=KEY_MAX,
        pattern=DEVICE_KEY_PATTERN,
        description="A device key of yours (a native id or `<source>:<id>`); a new key makes a device of yours.",
    )
    metrics: list[MetricKey] = Field(min_length=1, max_length=len(KEYS), description="Metric keys it feeds.")


class PlantInput(Input):
    """A plant's fields. POST and PUT: a field left out takes the default shown, so a PUT
    without `device_id` unlinks the sensor; use PATCH to change some fields only."""

    name: str = Field(min_length=1, max_length=PLANT_TEXT_MAX, pattern=NAME_PATTERN)
    species: str = Field("", max_length=PLANT_TEXT_MAX, pattern=TEXT_PATTERN)
    location: str = Field("", max_length=PLANT_TEXT_MAX, pattern=TEXT_PATTERN)
    device_id: str | None = Field(
        None,
        max_length=KEY_MAX,
        pattern=DEVICE_KEY_PATTERN,
        description="A device key of yours (a native id or `<source>:<id>`), bound for every metric; "
        "a device may serve several plants. null: no sensor.",
    )
    sensors: list[SensorInput] | None = Field(
        None,
        max_length=len(KEYS),
        description="Devices per metric; they override `device_id` for the metrics they list. "
        "One device per metric. null or left out: only `device_id` binds.",
    )
    thresholds: ThresholdsInput | None = Field(None, description="null: no bounds at all.")
    stale_after_minutes: WholeNumber = Field(60, ge=STALE_MINUTES_MIN, le=STALE_MINUTES_MAX)
    garden_id: WholeOrNull = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="One of your gardens where your role lets you edit (GET /api/v1/gardens); null or left out: "
        "your personal garden on create, unchanged on update (a plant stays in its garden).",
    )

    @field_validator("sensors")
    @classmethod
    def one_device_per_metric(cls, sensors: list[SensorInput] | None) -> list[SensorInput] | None:
        seen: set[str] = set()
        for sensor in sensors or ():
            twice = sorted(
                seen.intersection(sensor.metrics) | {m for m in sensor.metrics if sensor.metrics.count(m) > 1}
            )
            if twice:
                raise PydanticCustomError(
                    "duplicate_metric", "{metrics}: one device per metric.", {"metrics": ", ".join(twice)}
                )
            seen.update(sensor.metrics)
        return sensors


class ReadingFields(Output):
    @classmethod
    def json_of(cls, row: Any) -> dict[str, Any]:
        """This model's JSON for a Reading row, as a plain dict (a window holds up to 10,000)."""
        return {"ts": utc(row.ts)} | {m.key: getattr(row, m.key) for m in READING_METRICS}


if TYPE_CHECKING:
    Reading: TypeAlias = ReadingFields
else:
    Reading = create_model(
        "Reading",
        __base__=ReadingFields,
        ts=(Time, ...),
        **{m.key: (float | None, Field(description=f"{m.label} in {m.unit}")) for m in READING_METRICS},
    )


class Bounds(BaseModel):
    min: float | None
    max: float | None


if TYPE_CHECKING:
    Thresholds: TypeAlias = BaseModel
else:
    Thresholds = create_model("Thresholds", **{m.key: (Bounds, ...) for m in RANGE_METRICS})


class Sensor(BaseModel):
    device: str = Field(description="The device's key.")
    metrics: list[str]


class Plant(Output):
    id: int
    garden_id: int
    name: str
    species: str
    location: str
    device_id: str | None = Field(description="The key of the device bound for the most metrics (ties: lowest id).")
    sensors: list[Sensor] = Field(description="Which device feeds which metrics, the device of `device_id` first.")
    thresholds: Thresholds
    stale_after_minutes: int
    status: Literal["ok", "alert", "stale", "no_data"]
    status_label: str = Field(description="`status` in the words every page uses: `Needs care`, `Sensor silent`, ...")
    problems: list[str] = Field(
        description="What is wrong: `soil_moisture_low`, `temperature_high`, `battery_low`, `stale`, ..."
    )
    problem_labels: list[str] = Field(
        description="`problems` in the words every page uses: `Soil moisture low`, `Sensor silent`, ..."
    )
    latest: Reading | None
    created_at: Time
    updated_at: Time

    @classmethod
    def json_of(cls, row: Any, now: datetime, sensors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """This model's JSON for `row`, a Plant or any row with the same columns; `sensors`
        as `sensors_json` gives them (default: from the loaded `row.sensors` of a Plant).

        Built as a plain dict, not through the model: for the list of 500 plants that is
        3x cheaper (bench/api_schema.py). Tests validate it against the model, and
        schemathesis every answer against the document.
        """
        status = plant_status(row, now)
        latest = None
        if row.last_reading_at is not None:
            latest = {"ts": utc(row.last_reading_at)} | {
                m.key: getattr(row, f"latest_{m.key}") for m in READING_METRICS
            }
        if sensors is None:
            sensors = sensors_json((s.device_id, s.device.key, s.metric) for s in row.sensors)
        return {
            "id": row.id,
            "garden_id": row.garden_id,
            "name": row.name,
            "species": row.species,
            "location": row.location,
            "device_id": sensors[0]["device"] if sensors else None,
            "sensors": sensors,
            "thresholds": {
                m.key: {"min": getattr(row, f"{m.key}_min"), "max": getattr(row, f"{m.key}_max")} for m in RANGE_METRICS
            },
            "stale_after_minutes": row.stale_after_minutes,
            "status": status.status,
            "status_label": status_label(status.status),
            "problems": list(status.problems),
            "problem_labels": [problem_label(problem) for problem in status.problems],
            "latest": latest,
            "created_at": utc(row.created_at),
            "updated_at": utc(row.updated_at),
        }


def sensors_json(bindings: Any) -> list[dict[str, Any]]:
    """[{"device": key, "metrics": [...]}] of (device id, key, metric) rows: the device bound
    for the most metrics first (ties: lowest id), metrics in registry order."""
    order = {key: index for index, key in enumerate(KEYS)}
    grouped: dict[int, dict[str, Any]] = {}
    for device_id, key, metric in bindings:
        grouped.setdefault(device_id, {"device": key, "metrics": []})["metrics"].append(metric)
    for entry in grouped.values():
        entry["metrics"].sort(key=lambda m: order.get(m, len(order)))
    return [grouped[i] for i in sorted(grouped, key=lambda i: (-len(grouped[i]["metrics"]), i))]


class PlantList(BaseModel):
    items: list[Plant]


class ReadingList(BaseModel):
    items: list[Reading]
    count: int


class ReadingQuery(Query):
    since: Moment = Field(None, description="Default: 24 hours before `until`.")
    until: Moment = Field(None, description="Default: now.")
    limit: int = Field(READINGS_LIMIT_DEFAULT, ge=1, le=READINGS_LIMIT_MAX)

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        until = self.until or now
        if self.since is not None:
            return self.since, until
        try:
            return until - DEFAULT_WINDOW, until
        except OverflowError:
            return datetime.min.replace(tzinfo=UTC), until


# Alerts -----------------------------------------------------------------------------

AlertState = Literal["open", "acknowledged", "resolved"]


class Alert(Output):
    id: int
    plant_id: int
    problem: str
    metric: str | None
    value: float | None
    threshold: float | None
    state: AlertState
    opened_at: Time
    acknowledged_at: TimeOrNull
    resolved_at: TimeOrNull


class AlertList(BaseModel):
    items: list[Alert]
    total: int
    page: int
    per_page: int


class AlertQuery(Query):
    state: AlertState | None = Field(None, description="Default: every state.")
    page: Id = 1
    per_page: int = Field(50, ge=1, le=PER_PAGE_MAX)


# Devices ----------------------------------------------------------------------------


_RAW_LIMIT, _OFFSET_LIMIT = device_settings.RAW_LIMIT, device_settings.TEMPERATURE_OFFSET_LIMIT
Raw = Annotated[Annotated[float, Field(ge=-_RAW_LIMIT, le=_RAW_LIMIT)] | None, BeforeValidator(_number_or_null)]
Offset = Annotated[
    Annotated[float, Field(ge=-_OFFSET_LIMIT, le=_OFFSET_LIMIT)] | None, BeforeValidator(_number_or_null)
]


class CalibrationInput(Input):
    """Two-point soil calibration of raw values (dry -> 0 %, in water -> 100 %) and a
    temperature offset; null leaves a setting unset."""

    soil_dry_raw: Raw = Field(None, description="Raw value when dry.")
    soil_wet_raw: Raw = Field(None, description="Raw value in water.")
    temperature_offset: Offset = Field(None, description="°C added to every temperature.")


class DeviceInput(Input):
    """What a gardener sets on a device (PATCH only)."""

    name: str = Field("", max_length=device_settings.NAME_MAX, pattern=TEXT_PATTERN, description='"": its key.')
    calibration: CalibrationInput | None = None
    field_map: (
        dict[Annotated[str, Field(min_length=1, max_length=device_settings.FIELD_NAME_MAX)], MetricOrIgnore | None]
        | None
    ) = Field(
        None,
        max_length=device_settings.FIELD_MAP_MAX,
        description='Source field (ESPHome object id, generic JSON field) -> metric key, or "" to ignore it; '
        "in a PATCH, null removes a field.",
    )


class Calibration(BaseModel):
    soil_dry_raw: float | None
    soil_wet_raw: float | None
    temperature_offset: float | None


class LastRejection(BaseModel):
    reason: str = Field(description="A rejection reason such as `out_of_range`.")
    detail: str | None = Field(description="Such as `soil moisture out of range (145)`.")
    at: Time


class DeviceDiagnostics(BaseModel):
    state: Literal["receiving", "silent", "waiting"] = Field(description="waiting: never heard from.")
    last_rejection: LastRejection | None = Field(description="The last dropped message or field, when it was today.")
    rejections: dict[str, int] = Field(description="Dropped messages and fields today (UTC) per reason.")


class Device(BaseModel):
    id: int
    garden_id: int | None = Field(description="Its garden; null for a discovered one (administrators only).")
    key: str = Field(description="`<source>:<id>`, or the plain id of a native device.")
    source: str
    name: str
    model: str
    discovered: bool = Field(description="Seen on a shared topic and in no garden yet (administrators only).")
    last_seen: TimeOrNull = Field(description="The last message, stored or not.")
    battery: float | None
    linkquality: float | None
    metrics: list[str] = Field(description="The metric keys it has sent.")
    calibration: Calibration
    field_map: dict[str, str]
    diagnostics: DeviceDiagnostics

    @classmethod
    def json_of(cls, device: Any, diagnostics: Any) -> dict[str, Any]:
        calibration = device.calibration or {}
        last = None
        if diagnostics.last_rejection is not None:
            last = {
                "reason": diagnostics.last_rejection,
                "detail": diagnostics.last_rejection_detail,
                "at": utc(device.last_rejection_at),
            }
        return {
            "id": device.id,
            "garden_id": device.garden_id,
            "key": device.key,
            "source": device.source,
            "name": device.name,
            "model": device.model,
            "discovered": device.garden_id is None,
            "last_seen": utc(device.last_seen_at),
            "battery": device.battery,
            "linkquality": device.linkquality,
            "metrics": list(device.metrics or []),
            "calibration": {name: calibration.get(name) for name in device_settings.CALIBRATION_KEYS},
            "field_map": dict(device.field_map or {}),
            "diagnostics": {"state": diagnostics.state, "last_rejection": last, "rejections": diagnostics.rejections},
        }


class DeviceList(BaseModel):
    items: list[Device]


# Notification channels ----------------------------------------------------------------

ChannelKind = Literal["discord", "ntfy", "telegram", "gotify", "email", "matrix", "slack", "webhook"]
ChannelEvent = Literal["alert_opened", "alert_resolved", "sensor_silent", "battery_low", "task_due", "daily_digest"]
CLOCK_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
PATTERN_MESSAGES[CLOCK_TIME] = N_("Must be a time as HH:MM (24-hour clock).")


class QuietHours(Input):
    start: str = Field(pattern=CLOCK_TIME, description="Local time (the user's timezone), HH:MM.")
    end: str = Field(pattern=CLOCK_TIME, description="Local time, HH:MM; before `start` spans midnight.")
    mode: Literal["hold", "digest"] = Field(
        "hold", description="`hold`: send when quiet hours end; `digest`: fold into the next digest."
    )


class ChannelInput(Input):
    """A new channel. The URL is an Apprise URL (a Discord webhook URL for `discord`) and is
    never answered back."""

    kind: ChannelKind
    url: str = Field(min_length=1, max_length=1000, description="Write-only; kept encrypted.")
    events: list[ChannelEvent] = Field(
        ["alert_opened", "alert_resolved", "sensor_silent", "battery_low"], description="What this channel is sent."
    )
    quiet_hours: QuietHours | None = None
    digest_hour: WholeNumber = Field(8, ge=0, le=23, description="Local hour of the daily digest and task messages.")
    remind_after_hours: WholeOrNull = Field(
        None, ge=1, le=168, description="Send an alert again once if still unacknowledged after this long."
    )


class QuietHoursOut(BaseModel):
    start: str
    end: str
    mode: Literal["hold", "digest"]


class Channel(BaseModel):
    id: int
    kind: str
    url_hint: str | None = Field(description="The URL's last four characters (null: unreadable).")
    events: list[str]
    quiet_hours: QuietHoursOut | None
    digest_hour: int
    remind_after_hours: int | None
    last_error: str | None = Field(description="The last failed delivery, until one succeeds.")
    last_error_at: TimeOrNull
    last_sent_at: TimeOrNull
    created_at: Time


class ChannelList(BaseModel):
    items: list[Channel]


# Partial updates --------------------------------------------------------------------


# Care log ---------------------------------------------------------------------------

if TYPE_CHECKING:
    CareKind: TypeAlias = str
else:
    CareKind = Literal[tuple(KINDS)]


class CareEventInput(Input):
    """Care given to a plant. `at` defaults to now and may not be in the future."""

    kind: CareKind = Field(description="What was done: " + ", ".join(f"`{k}`" for k in KINDS) + ".")
    at: Moment = Field(None, description="When; ISO 8601 (UTC when no offset is given) or Unix seconds; null: now.")
    note: str = Field("", max_length=NOTE_MAX, pattern=TEXT_PATTERN, description="Required for `note`.")
    amount: Annotated[float, Field(ge=0, le=AMOUNT_MAX)] | None = Field(
        None, description="Millilitres of water (or grams of fertilizer); null: not given."
    )


class CareEvent(Output):
    id: int
    kind: str
    at: Time
    note: str
    amount: float | None
    detected: bool = Field(description="true: a watering detected from a rise in soil moisture.")
    by: str | None = Field(None, description="Who logged it (their email); null when detected.")


class CareEventList(BaseModel):
    items: list[CareEvent]


class CareEventQuery(Query):
    limit: int = Field(100, ge=1, le=1000, description="The newest this many events.")


class CalendarFeed(BaseModel):
    url: str = Field(description="The new secret iCal feed URL; the previous one stops working.")


# Gardens ----------------------------------------------------------------------------


class Garden(Output):
    id: int
    name: str
    role: Literal["owner", "caretaker", "sitter", "viewer"] = Field(description="Your role in this garden.")


class GardenList(BaseModel):
    items: list[Garden]


class InvitationInput(Input):
    """An invitation to the garden; only its owners may invite."""

    role: Literal["owner", "caretaker", "sitter", "viewer"]
    expires_at: Moment = Field(None, description="When the link stops working (default: in 7 days; at most 90).")
    until: Moment = Field(None, description="A plant-sitter's end of access (required for `sitter`, else absent).")
    email: str | None = Field(
        None,
        max_length=EMAIL_MAX,
        description="Sent there through your email channel when you have one (the answer says whether).",
    )


class Invitation(BaseModel):
    url: str = Field(description="`<PUBLIC_URL>/invitations/<secret>`: works once; shown only in this answer.")
    emailed: bool = Field(description="Whether the invitation was emailed to `email`.")


class AcceptInput(Input):
    url: str = Field(min_length=1, max_length=2000, description="The invitation URL (or its path).")


class Membership(BaseModel):
    garden_id: int
    name: str
    role: Literal["owner", "caretaker", "sitter", "viewer"]
    until: TimeOrNull = Field(description="A plant-sitter's end of access.")


def patch_of(model: type[Input]) -> type[Input]:
    """The JSON merge patch (RFC 7396) of `model`: the same fields, none required, none defaulted.

    The patch is applied to the object's current fields and the result must be a
    valid `model`, so a null removes a field (it takes its default: null, "" or none).
    """
    fields: dict[str, Any] = {
        name: (
            Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation,
            Field(None, description=info.description, json_schema_extra=_no_default),
        )
        for name, info in model.model_fields.items()
    }
    doc = f"Only the fields sent change; null clears a field ({model.__name__}'s default)."
    return create_model(model.__name__.replace("Input", "Patch"), __base__=Input, __doc__=doc, **fields)


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


TaskPatch = patch_of(TaskInput)
PlantPatch = patch_of(PlantInput)
DevicePatch = patch_of(DeviceInput)

import math
import re
from collections import namedtuple
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_login import current_user
from sqlalchemy import func, select

from ...domain import plants as plant_service
from ...domain.metrics import THRESHOLD_KEYS
from ...errors import ValidationError
from ...extensions import db
from ...models import Plant, Reading
from . import bp
from .shapes import plant_json, reading_json
from .spec import READING_QUERY
from .validation import json_body, owned_or_404, query

DEFAULT_WINDOW = timedelta(hours=24)
FIRST_SECOND = datetime.min.replace(tzinfo=UTC).timestamp()
LAST_SECOND = datetime.max.replace(tzinfo=UTC).timestamp() - 1
LEAP_SECOND = re.compile(r"(?<=\d\d:\d\d):60(?=[.,zZ+-]|$)")


# Plain tuples with fast attribute access, not ORM objects: hundreds of plants stay cheap.
PlantRow = namedtuple("PlantRow", [column.name for column in Plant.__table__.columns if column.name != "notes"])


LIST_CACHE_USERS = 256


@bp.get("/plants")
def list_plants():
    """The whole list, rebuilt only when a plant changed or one of them turns stale.

    Building 500 plants costs milliseconds; a fingerprint of the plants costs one
    aggregate query. The body is kept per process until the fingerprint changes or
    the next plant crosses its staleness limit, so the status is never late.
    """
    cache = current_app.extensions.setdefault("plantops.api_plant_lists", {})
    now = datetime.now(UTC)
    version = _list_version()
    cached = cache.get(current_user.id)
    if cached is None or cached[0] != version or now > cached[1]:
        columns = select(*(getattr(Plant, name) for name in PlantRow._fields)).where(Plant.user_id == current_user.id)
        rows = [PlantRow._make(row) for row in db.session.execute(columns.order_by(Plant.name, Plant.id))]
        body = current_app.json.dumps({"items": [plant_json(row, now) for row in rows]})
        if len(cache) >= LIST_CACHE_USERS:
            cache.clear()
        cached = cache[current_user.id] = (version, _next_status_change(rows, now), body)
    return current_app.response_class(cached[2], mimetype="application/json")


def _list_version():
    """Count and id sum catch additions and deletions, max(updated_at) edits, and the sum
    of the reading times any newer reading (even one older than another plant's)."""
    if db.session.get_bind().dialect.name == "sqlite":
        reading_seconds = func.julianday(Plant.last_reading_at) * 86400.0
    else:
        reading_seconds = func.extract("epoch", Plant.last_reading_at)
    query = select(
        func.count(Plant.id),
        func.coalesce(func.sum(Plant.id), 0),
        func.max(Plant.updated_at),
        func.sum(reading_seconds),
    ).where(Plant.user_id == current_user.id)
    return tuple(db.session.execute(query).one())


def _next_status_change(rows, now):
    """The moment the next plant becomes stale (its status changes with the clock alone)."""
    changes = [
        row.last_reading_at + timedelta(minutes=row.stale_after_minutes)
        for row in rows
        if row.last_reading_at is not None
    ]
    upcoming = [moment for moment in changes if moment >= now]
    return min(upcoming, default=datetime.max.replace(tzinfo=UTC))


@bp.post("/plants")
def create_plant():
    plant = Plant(user_id=current_user.id)
    _save(plant, json_body("PlantInput"))
    return plant_json(plant, datetime.now(UTC)), 201


@bp.get("/plants/<int:plant_id>")
def get_plant(plant_id):
    return plant_json(owned_or_404(Plant, plant_id), datetime.now(UTC))


@bp.put("/plants/<int:plant_id>")
def update_plant(plant_id):
    plant = owned_or_404(Plant, plant_id)
    _save(plant, json_body("PlantInput"))
    return plant_json(plant, datetime.now(UTC))


@bp.delete("/plants/<int:plant_id>")
def delete_plant(plant_id):
    plant_service.delete_plant(db.session, owned_or_404(Plant, plant_id))
    db.session.commit()
    return "", 204


@bp.get("/plants/<int:plant_id>/readings")
def list_readings(plant_id):
    plant = owned_or_404(Plant, plant_id)
    args = query([p for p in READING_QUERY if p["name"] == "limit"])
    until = _moment("until") or datetime.now(UTC)
    since = _moment("since") or _window_start(until)
    readings = db.session.scalars(
        select(Reading)
        .where(Reading.plant_id == plant.id, Reading.ts >= since, Reading.ts <= until)
        .order_by(Reading.ts)
        .limit(args["limit"])
    ).all()
    return {"items": [reading_json(r) for r in readings], "count": len(readings)}


def _window_start(until):
    """DEFAULT_WINDOW before `until`, or the calendar's first moment when that is earlier."""
    try:
        return until - DEFAULT_WINDOW
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


def _moment(name):
    """A query parameter as an aware UTC datetime: ISO 8601 (UTC without an offset) or Unix seconds.

    Times beyond what a datetime holds are clamped to its range: a window "since
    year 1" simply starts at the beginning. A leap second counts as the next second.
    """
    from flask import request

    raw = request.args.get(name)
    if raw is None:
        return None
    raw = raw.strip()
    try:
        if _is_number(raw):
            seconds = min(max(float(raw), FIRST_SECOND), LAST_SECOND)
            return datetime.fromtimestamp(seconds, UTC)
        leap = LEAP_SECOND.search(raw)
        moment = datetime.fromisoformat((LEAP_SECOND.sub(":59", raw) if leap else raw).upper())
    except ValueError:
        raise ValidationError([{"field": name, "message": "Must be an ISO 8601 time or Unix seconds."}]) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if moment.year == 1 else datetime.max.replace(tzinfo=UTC)
    return moment + timedelta(seconds=1) if leap and moment.year < 9999 else moment


def _is_number(raw):
    try:
        return math.isfinite(float(raw))
    except ValueError:
        return False


def _save(plant, body):
    """Apply a valid PlantInput (fields left out take defaults) through the plant service, then commit."""
    thresholds = body.get("thresholds") or {}
    fields = {
        "name": body["name"].strip(),
        "species": body.get("species", "").strip(),
        "location": body.get("location", "").strip(),
        "device_id": body.get("device_id"),
        "stale_after_minutes": body.get("stale_after_minutes", 60),
        **{
            f"{metric}_{bound}": (thresholds.get(metric) or {}).get(bound)
            for metric in THRESHOLD_KEYS
            for bound in ("min", "max")
        },
    }
    try:
        plant_service.save_plant(db.session, plant, fields)
    except ValidationError as invalid:
        db.session.rollback()
        raise ValidationError([_api_problem(problem) for problem in invalid.detail]) from None
    db.session.commit()


def _api_problem(problem):
    """The service names threshold fields as the form does ("light_max"); the API as "thresholds.light"."""
    metric, _, bound = problem["field"].rpartition("_")
    if metric in THRESHOLD_KEYS and bound in ("min", "max"):
        return {**problem, "field": f"thresholds.{metric}"}
    return problem

from datetime import UTC, datetime, timedelta

from flask_login import current_user
from sqlalchemy import select

from ...errors import ValidationError
from ...extensions import db
from ...models import Plant, Reading
from ...ownership import get_owned_or_404
from . import bp
from .shapes import plant_json, reading_json
from .spec import METRIC_RANGES, READING_QUERY
from .validation import json_body, query

DEFAULT_WINDOW = timedelta(hours=24)


@bp.get("/plants")
def list_plants():
    # Plain rows, not ORM objects: a gardener with hundreds of plants stays fast.
    columns = select(*Plant.__table__.columns).where(Plant.user_id == current_user.id)
    rows = db.session.execute(columns.order_by(Plant.name, Plant.id))
    now = datetime.now(UTC)
    return {"items": [plant_json(row, now) for row in rows]}


@bp.post("/plants")
def create_plant():
    plant = Plant(user_id=current_user.id)
    _apply(plant, json_body("PlantInput"))
    db.session.add(plant)
    db.session.commit()
    return plant_json(plant, datetime.now(UTC)), 201


@bp.get("/plants/<int:plant_id>")
def get_plant(plant_id):
    return plant_json(get_owned_or_404(Plant, plant_id), datetime.now(UTC))


@bp.put("/plants/<int:plant_id>")
def update_plant(plant_id):
    plant = get_owned_or_404(Plant, plant_id)
    _apply(plant, json_body("PlantInput"))
    db.session.commit()
    return plant_json(plant, datetime.now(UTC))


@bp.delete("/plants/<int:plant_id>")
def delete_plant(plant_id):
    db.session.delete(get_owned_or_404(Plant, plant_id))
    db.session.commit()
    return "", 204


@bp.get("/plants/<int:plant_id>/readings")
def list_readings(plant_id):
    plant = get_owned_or_404(Plant, plant_id)
    args = query([p for p in READING_QUERY if p["name"] == "limit"])
    until = _moment("until") or datetime.now(UTC)
    since = _moment("since") or until - DEFAULT_WINDOW
    readings = db.session.scalars(
        select(Reading)
        .where(Reading.plant_id == plant.id, Reading.ts >= since, Reading.ts <= until)
        .order_by(Reading.ts)
        .limit(args["limit"])
    ).all()
    return {"items": [reading_json(r) for r in readings], "count": len(readings)}


def _moment(name):
    """A query parameter as an aware UTC datetime: ISO 8601 (UTC without an offset) or Unix seconds."""
    from flask import request

    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        moment = datetime.fromtimestamp(float(raw), UTC) if _is_number(raw) else datetime.fromisoformat(raw.upper())
    except (ValueError, OverflowError, OSError):
        raise ValidationError([{"field": name, "message": "Must be an ISO 8601 time or Unix seconds."}]) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValidationError([{"field": name, "message": "Must be a time between years 1 and 9999."}]) from None


def _is_number(raw):
    try:
        float(raw)
    except ValueError:
        return False
    return True


def _apply(plant, body):
    """Set the plant's editable fields from a valid PlantInput; fields left out take defaults."""
    problems = []
    device_id = body.get("device_id")
    if device_id is not None:
        taken = db.session.scalar(select(Plant.id).where(Plant.device_id == device_id, Plant.id != plant.id))
        if taken is not None:
            problems.append({"field": "device_id", "message": "Another plant already uses this device."})
    thresholds = body.get("thresholds") or {}
    for metric in METRIC_RANGES:
        bounds = thresholds.get(metric) or {}
        low, high = bounds.get("min"), bounds.get("max")
        if low is not None and high is not None and low > high:
            problems.append({"field": f"thresholds.{metric}", "message": "The minimum must not exceed the maximum."})
        setattr(plant, f"{metric}_min", low)
        setattr(plant, f"{metric}_max", high)
    if problems:
        raise ValidationError(problems)
    plant.name = body["name"].strip()
    plant.species = body.get("species", "").strip()
    plant.location = body.get("location", "").strip()
    plant.device_id = device_id
    plant.stale_after_minutes = body.get("stale_after_minutes", 60)

"""Plants and their readings over JSON, behind the models of `schemas.py`."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import Response, current_app, request
from flask_login import current_user
from sqlalchemy import select

from ...clock import utcnow
from ...domain import plants as plant_service
from ...domain.devices import primary_device_key_of
from ...domain.readings import plant_readings
from ...errors import ValidationError
from ...extensions import db
from ...models import Plant as PlantRow
from . import bp
from .document import operation
from .plant_list import PLANT_COLUMNS, plant_list_cache
from .schemas import RANGE_METRICS, Plant, PlantInput, PlantList, PlantPatch, Reading, ReadingList, ReadingQuery
from .validation import json_body, merge_patch, owned_or_404, query

TAG = "plants"


def plant_json(plant: PlantRow) -> dict:
    return Plant.json_of(plant, utcnow())


@bp.get("/plants")
@operation(
    "listPlants",
    TAG,
    (200, PlantList, "Plants, with an ETag."),
    also=((304, "Unchanged since the ETag sent in If-None-Match."),),
)
def list_plants() -> Response:
    """Your plants with status and latest reading"""
    entry = plant_list_cache().get(current_user.id, _build_list)
    response = current_app.response_class(entry.body, mimetype="application/json")
    response.set_etag(entry.etag)
    response.make_conditional(request)
    return response


def _build_list(now: datetime) -> tuple[bytes, Sequence[Any]]:
    columns = select(
        *(getattr(PlantRow, name) for name in PLANT_COLUMNS), primary_device_key_of(PlantRow.id).label("device_id")
    ).where(PlantRow.user_id == current_user.id)
    rows = db.session.execute(columns.order_by(PlantRow.name, PlantRow.id)).all()
    return current_app.json.dumps({"items": [Plant.json_of(row, now) for row in rows]}).encode(), rows


@bp.post("/plants")
@operation("createPlant", TAG, (201, Plant, "Created."), body=PlantInput)
def create_plant() -> tuple[dict, int]:
    """Create a plant"""
    plant = PlantRow(user_id=current_user.id)
    _replace(plant, json_body(PlantInput))
    return plant_json(plant), 201


@bp.get("/plants/<int:plant_id>")
@operation("getPlant", TAG, (200, Plant, "The plant."), by_id=True)
def get_plant(plant_id: int) -> dict:
    """One plant"""
    return plant_json(owned_or_404(PlantRow, plant_id))


@bp.put("/plants/<int:plant_id>")
@operation("updatePlant", TAG, (200, Plant, "Replaced."), body=PlantInput, by_id=True)
def update_plant(plant_id: int) -> dict:
    """Replace a plant: a field left out takes its default (no `device_id` unlinks the sensor)"""
    plant = owned_or_404(PlantRow, plant_id)
    _replace(plant, json_body(PlantInput))
    return plant_json(plant)


@bp.patch("/plants/<int:plant_id>")
@operation("patchPlant", TAG, (200, Plant, "Updated."), body=PlantPatch, by_id=True)
def patch_plant(plant_id: int) -> dict:
    """Change some of a plant's fields (JSON merge patch)"""
    plant = owned_or_404(PlantRow, plant_id)
    _replace(plant, merge_patch(PlantInput, PlantPatch, plant_json(plant)))
    return plant_json(plant)


@bp.delete("/plants/<int:plant_id>")
@operation("deletePlant", TAG, (204, None, "Deleted."), by_id=True)
def delete_plant(plant_id: int) -> tuple[str, int]:
    """Delete a plant and its alerts (its sensors keep their readings)"""
    plant_service.delete_plant(db.session, owned_or_404(PlantRow, plant_id))
    db.session.commit()
    return "", 204


@bp.get("/plants/<int:plant_id>/readings")
@operation("listReadings", TAG, (200, ReadingList, "Readings."), query=ReadingQuery, by_id=True)
def list_readings(plant_id: int) -> dict:
    """A plant's readings in a window, oldest first"""
    plant = owned_or_404(PlantRow, plant_id)
    args = query(ReadingQuery)
    since, until = args.window(utcnow())
    series = plant_readings(db.session, plant.id)
    readings = db.session.execute(
        select(series).where(series.c.ts >= since, series.c.ts <= until).order_by(series.c.ts).limit(args.limit)
    ).all()
    items = [Reading.json_of(r) for r in readings]
    return {"items": items, "count": len(items)}


def _replace(plant: PlantRow, fields: PlantInput) -> None:
    """Set every editable field of `plant` from `fields` through the plant service, and commit.

    The service's rules (a device key that is not the user's to bind; a minimum above its
    maximum) are field errors named as the API names them.
    """
    values = {
        "name": fields.name.strip(),
        "species": fields.species.strip(),
        "location": fields.location.strip(),
        "device_id": fields.device_id,
        "stale_after_minutes": fields.stale_after_minutes,
    }
    for metric in RANGE_METRICS:
        bounds = getattr(fields.thresholds, metric.key, None)
        values[f"{metric.key}_min"] = bounds.min if bounds else None
        values[f"{metric.key}_max"] = bounds.max if bounds else None
    try:
        plant_service.save_plant(db.session, plant, values)
    except ValidationError as invalid:
        db.session.rollback()
        raise ValidationError([_api_problem(problem) for problem in invalid.detail]) from None
    db.session.commit()


def _api_problem(problem: dict) -> dict:
    """The service names threshold fields as the form does ("light_max"); the API as "thresholds.light"."""
    metric, _, bound = problem["field"].rpartition("_")
    if bound in ("min", "max") and any(m.key == metric for m in RANGE_METRICS):
        return {**problem, "field": f"thresholds.{metric}"}
    return problem

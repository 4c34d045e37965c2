"""Plants and their readings over JSON, behind the models of `schemas.py`."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import Response, current_app, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from ...clock import utcnow
from ...domain import device_settings
from ...domain import devices as device_service
from ...domain import plants as plant_service
from ...domain.gardens import STAYS_IN_GARDEN, garden_ids_of
from ...domain.metrics import KEYS
from ...domain.readings import plant_readings
from ...errors import ValidationError
from ...extensions import db
from ...models import Device as DeviceRow
from ...models import Plant as PlantRow
from ...models import PlantSensor
from ...ownership import choose_garden, visible
from . import bp
from .document import operation
from .plant_list import PLANT_COLUMNS, plant_list_cache
from .schemas import (
    RANGE_METRICS,
    READING_METRICS,
    Plant,
    PlantInput,
    PlantList,
    PlantPatch,
    Reading,
    ReadingList,
    ReadingQuery,
    sensors_json,
)
from .validation import json_body, merge_patch, query, visible_or_404

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
    columns = visible(PlantRow).with_only_columns(*(getattr(PlantRow, name) for name in PLANT_COLUMNS))
    rows = db.session.execute(columns.order_by(PlantRow.name, PlantRow.id)).all()
    bindings: dict[int, list[tuple[int, str, str]]] = {}
    for plant_id, device_id, key, metric in db.session.execute(
        select(PlantSensor.plant_id, PlantSensor.device_id, DeviceRow.key, PlantSensor.metric)
        .join(DeviceRow, DeviceRow.id == PlantSensor.device_id)
        .join(PlantRow, PlantRow.id == PlantSensor.plant_id)
        .where(PlantRow.garden_id.in_(garden_ids_of(current_user.id, utcnow())))
    ):
        bindings.setdefault(plant_id, []).append((device_id, key, metric))
    items = [Plant.json_of(row, now, sensors_json(bindings.get(row.id, ()))) for row in rows]
    return current_app.json.dumps({"items": items}).encode(), rows


@bp.post("/plants")
@operation("createPlant", TAG, (201, Plant, "Created."), body=PlantInput)
def create_plant() -> tuple[dict, int]:
    """Create a plant"""
    fields = json_body(PlantInput)
    plant = PlantRow(garden_id=choose_garden(fields.garden_id))
    _replace(plant, fields)
    return plant_json(plant), 201


@bp.get("/plants/<int:plant_id>")
@operation("getPlant", TAG, (200, Plant, "The plant."), by_id=True)
def get_plant(plant_id: int) -> dict:
    """One plant"""
    return plant_json(visible_or_404(PlantRow, plant_id))


@bp.put("/plants/<int:plant_id>")
@operation("updatePlant", TAG, (200, Plant, "Replaced."), body=PlantInput, by_id=True)
def update_plant(plant_id: int) -> dict:
    """Replace a plant: a field left out takes its default (no `device_id` unlinks the sensor)"""
    plant = visible_or_404(PlantRow, plant_id, "edit")
    _replace(plant, json_body(PlantInput))
    return plant_json(plant)


@bp.patch("/plants/<int:plant_id>")
@operation("patchPlant", TAG, (200, Plant, "Updated."), body=PlantPatch, by_id=True)
def patch_plant(plant_id: int) -> dict:
    """Change some of a plant's fields (JSON merge patch)"""
    plant = visible_or_404(PlantRow, plant_id, "edit")
    _replace(plant, merge_patch(PlantInput, PlantPatch, plant_json(plant), adjust=_one_binding_field))
    return plant_json(plant)


@bp.delete("/plants/<int:plant_id>")
@operation("deletePlant", TAG, (204, None, "Deleted."), by_id=True)
def delete_plant(plant_id: int) -> tuple[str, int]:
    """Delete a plant and its readings"""
    plant_service.delete_plant(db.session, visible_or_404(PlantRow, plant_id, "edit"))
    db.session.commit()
    return "", 204


@bp.get("/plants/<int:plant_id>/readings")
@operation("listReadings", TAG, (200, ReadingList, "Readings."), query=ReadingQuery, by_id=True)
def list_readings(plant_id: int) -> dict:
    """A plant's readings in a window, oldest first"""
    plant = visible_or_404(PlantRow, plant_id)
    args = query(ReadingQuery)
    since, until = args.window(utcnow())
    series = plant_readings(db.session, plant.id)
    readings = db.session.execute(
        select(series.c.ts, *(series.c[m.key] for m in READING_METRICS))
        .where(series.c.ts >= since, series.c.ts <= until)
        .order_by(series.c.ts)
        .limit(args.limit)
    ).all()
    items = [Reading.json_of(r) for r in readings]
    return {"items": items, "count": len(items)}


def _one_binding_field(patch: dict, current: dict) -> dict:
    """A patch that sends only `device_id` rebinds every metric to it (the current `sensors`
    would otherwise override it); one that sends only `sensors` binds exactly those."""
    current = dict(current)
    if "device_id" in patch and "sensors" not in patch:
        current.pop("sensors", None)
    elif "sensors" in patch and "device_id" not in patch:
        current.pop("device_id", None)
    return current


def _chosen_devices(fields: PlantInput, garden_id: int) -> dict[str, Any]:
    """{metric: device or None}: `device_id` for every metric, then each of `sensors` for its
    metrics. A key the user has no device for makes one of theirs (docs/security.md)."""
    every = None
    if fields.device_id is not None:
        every = device_service.device_for_key(db.session, current_user, fields.device_id, garden_id=garden_id)
    chosen: dict[str, Any] = dict.fromkeys(KEYS, every)
    for index, sensor in enumerate(fields.sensors or ()):
        device = device_service.device_for_key(
            db.session, current_user, sensor.device, field=f"sensors.{index}.device", garden_id=garden_id
        )
        chosen.update(dict.fromkeys(sensor.metrics, device))
    return chosen


def _replace(plant: PlantRow, fields: PlantInput) -> None:
    """Set every editable field of `plant` from `fields` through the plant service, and commit.

    The service's rules (a device key someone else holds, a minimum above its maximum) are
    field errors named as the API names them.
    """
    if fields.garden_id is not None and fields.garden_id != plant.garden_id:
        raise ValidationError([{"field": "garden_id", "message": gettext(STAYS_IN_GARDEN)}])
    values = {
        "name": fields.name.strip(),
        "species": fields.species.strip(),
        "location": fields.location.strip(),
        "stale_after_minutes": fields.stale_after_minutes,
    }
    for metric in RANGE_METRICS:
        bounds = getattr(fields.thresholds, metric.key, None)
        values[f"{metric.key}_min"] = bounds.min if bounds else None
        values[f"{metric.key}_max"] = bounds.max if bounds else None
    try:
        plant_service.save_plant(db.session, plant, values, current_user)
        device_settings.bind_chosen(db.session, current_user, plant, _chosen_devices(fields, plant.garden_id))
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

"""Plants without HTTP: the rules the HTML forms, the JSON API and the CLI share, and
create, update, claim a device and delete.

Every function takes the session it works in and flushes but never commits: the
request or the worker owns the transaction. A broken rule raises ValidationError
whose detail is a list of {"field", "message"} with the form's field names
("device_id", "light_max"); nothing is written then.
"""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..models import Plant, UnclaimedDevice, User
from .devices import DEVICE_ID, DEVICE_ID_MESSAGE
from .errors import ValidationError
from .metrics import THRESHOLD_METRICS
from .types import DbSession

DEVICE_TAKEN = "This device id is already claimed by another plant. Check the id on the sensor."
THRESHOLD_ORDER = "The maximum must be at least the minimum ({low:g})."
STALE_MINUTES_RANGE = (1, 10_080)  # one minute to one week
THRESHOLD_FIELDS = tuple(f"{metric.key}_{bound}" for metric in THRESHOLD_METRICS for bound in ("min", "max"))
FIELDS = ("name", "species", "location", "notes", "device_id", "stale_after_minutes", *THRESHOLD_FIELDS)


def threshold_problems(values: Mapping[str, Any]) -> list[dict[str, str]]:
    """A problem on `<metric>_max` for each metric whose minimum exceeds its maximum."""
    problems = []
    for metric in THRESHOLD_METRICS:
        low, high = values.get(f"{metric.key}_min"), values.get(f"{metric.key}_max")
        if low is not None and high is not None and low > high:
            problems.append({"field": f"{metric.key}_max", "message": THRESHOLD_ORDER.format(low=low)})
    return problems


def device_taken(session: DbSession, device_id: str, plant_id: int | None = None) -> bool:
    """Whether another plant, of any gardener, claims `device_id`. Deliberately not
    scoped to the user: a device belongs to at most one plant on the instance."""
    query = select(Plant.id).where(Plant.device_id == device_id)
    if plant_id is not None:
        query = query.where(Plant.id != plant_id)
    return session.scalar(query.limit(1)) is not None


def device_problems(session: DbSession, device_id: str | None, plant_id: int | None) -> list[dict[str, str]]:
    if device_id is None:
        return []
    if not DEVICE_ID.fullmatch(device_id):
        return [{"field": "device_id", "message": DEVICE_ID_MESSAGE}]
    if device_taken(session, device_id, plant_id):
        return [{"field": "device_id", "message": DEVICE_TAKEN}]
    return []


def claim_device(session: DbSession, plant: Plant, device_id: str | None) -> None:
    """Link `device_id` to `plant` (None unlinks); the device leaves the unclaimed list."""
    plant.device_id = device_id
    if device_id is not None:
        session.execute(UnclaimedDevice.__table__.delete().where(UnclaimedDevice.device_id == device_id))


def save_plant(session: DbSession, plant: Plant, fields: Mapping[str, Any]) -> Plant:
    """Check the shared rules on `fields` (FIELDS, as the forms and the API cleaned them), apply
    them and flush. A device another request claimed a moment ago is a field error too: the
    unique index refuses it at the flush, and the savepoint keeps the caller's transaction."""
    device_id = fields.get("device_id", plant.device_id)
    problems = device_problems(session, device_id, plant.id) + threshold_problems(fields)
    if problems:
        raise ValidationError(problems)
    for name in FIELDS:
        if name in fields and name != "device_id":
            setattr(plant, name, fields[name])
    claim_device(session, plant, device_id)
    try:
        with session.begin_nested():
            session.add(plant)
    except IntegrityError:
        raise ValidationError([{"field": "device_id", "message": DEVICE_TAKEN}]) from None
    return plant


def create_plant(session: DbSession, user: User, fields: Mapping[str, Any]) -> Plant:
    return save_plant(session, Plant(user_id=user.id), fields)


def update_plant(session: DbSession, plant: Plant, fields: Mapping[str, Any]) -> Plant:
    return save_plant(session, plant, fields)


def delete_plant(session: DbSession, plant: Plant) -> None:
    """The database cascades to the plant's readings and alerts."""
    session.delete(plant)
    session.flush()

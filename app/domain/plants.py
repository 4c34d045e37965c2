"""Plants without HTTP: the rules the HTML forms, the JSON API and the CLI share, and
create, update (binding devices through app.domain.devices) and delete.

Every function takes the session it works in and flushes but never commits: the
request or the worker owns the transaction. A broken rule raises ValidationError
whose detail is a list of {"field", "message"} with the form's field names
("device_id", "light_max"); nothing is written then.
"""

from collections.abc import Mapping
from typing import Any

from ..models import Plant, User
from . import devices, gardens
from .errors import ValidationError
from .metrics import THRESHOLD_METRICS
from .types import DbSession

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


def device_problems(session: DbSession, user: User, device_id: str | None) -> list[dict[str, str]]:
    """Problems with the device key typed for a plant of `user` (devices.key_problems)."""
    return devices.key_problems(session, user, device_id)


def save_plant(session: DbSession, plant: Plant, fields: Mapping[str, Any], user: User | None = None) -> Plant:
    """Check the shared rules on `fields` (FIELDS, as the forms and the API cleaned them), apply
    them and flush, recording `user` as the one who changed it. `device_id` is a device key
    `user` may bind (made in the plant's garden if new) bound for every metric; None unbinds
    every metric; the same key as now keeps per-metric bindings. A device serves any number
    of plants: the gardens, not another plant, decide."""
    problems = threshold_problems(fields)
    if problems:
        raise ValidationError(problems)
    device = None
    rebind = "device_id" in fields and fields["device_id"] != (
        devices.primary_device_key(plant) if plant.id is not None else None
    )
    if rebind and fields["device_id"] is not None:
        if user is None:
            raise ValueError("binding a device by its key needs the user who typed it")
        device = devices.device_for_key(session, user, fields["device_id"], garden_id=plant.garden_id)
    for name in FIELDS:
        if name in fields and name != "device_id":
            setattr(plant, name, fields[name])
    if user is not None:
        plant.updated_by_id = user.id
    session.add(plant)
    session.flush()
    if rebind:
        devices.bind_device(session, plant, device)
    return plant


def create_plant(session: DbSession, user: User, fields: Mapping[str, Any], garden_id: int | None = None) -> Plant:
    """A new plant in `garden_id` (default: the user's personal garden; the caller checked
    that `user` may edit there)."""
    garden_id = garden_id or gardens.personal_garden_id(session, user.id)
    return save_plant(session, Plant(garden_id=garden_id), fields, user)


def update_plant(session: DbSession, plant: Plant, fields: Mapping[str, Any], user: User | None = None) -> Plant:
    return save_plant(session, plant, fields, user)


def delete_plant(session: DbSession, plant: Plant) -> None:
    """The database cascades to the plant's sensor bindings and alerts; the readings stay
    with their devices."""
    session.delete(plant)
    session.flush()

"""Devices as records: their keys, who sees them, and binding them to plants.

A device key is the plain id for native devices (the one in MQTT telemetry topics,
docs/contracts.md) and `<source>:<id>` for adapter sources ("zigbee2mqtt:Fern soil").
Who sees a device (docs/security.md, "Devices"): the members of its garden (binding and
settings need "edit" there); administrators also see the discovered ones (namespace "", no
garden). Anything else is "not found".

Every function takes the session it works in and flushes but never commits.
"""

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError

from ..clock import utcnow
from ..models import BrokerAccount, Device, Plant, PlantSensor, Reading, User
from . import gardens
from .errors import NotFoundError, ValidationError
from .metrics import KEYS
from .types import DbSession

# The native id, as it appears in `<prefix>/<device_id>/telemetry`.
DEVICE_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
# Anchored by fullmatch: Python's `$` also matches before a final newline.
DEVICE_ID = re.compile(DEVICE_ID_PATTERN.removeprefix("^").removesuffix("$"))
DEVICE_ID_MESSAGE = "Use 1 to 64 letters, digits, dots, dashes or underscores."

# Any device key: a native id, or `<source>:<id>` whose id is printable text (spaces inside
# allowed, none at either end), 200 characters in all. The same pattern for the form and the
# API schema (with KEY_MAX as the length bound); valid_key also refuses the non-printable
# characters a character class cannot name.
KEY_MAX = 200
SOURCE_PATTERN = r"[a-z0-9][a-z0-9_-]{0,31}"
_PRINTABLE = r"[^\u0000-\u001f\u007f-\u009f]"
_VISIBLE = r"[^\s\u0000-\u001f\u007f-\u009f]"
DEVICE_KEY_PATTERN = (
    rf"^(?:[A-Za-z0-9_.-]{{1,64}}|{SOURCE_PATTERN}:(?:{_VISIBLE}|{_VISIBLE}{_PRINTABLE}{{0,196}}{_VISIBLE}))$"
)
_DEVICE_KEY = re.compile(DEVICE_KEY_PATTERN.removeprefix("^").removesuffix("$"))
DEVICE_KEY_MESSAGE = (
    "Use the sensor's id (1 to 64 letters, digits, dots, dashes or underscores) "
    "or a source's device key such as zigbee2mqtt:Fern soil (at most 200 characters)."
)
# Someone else's device, or one the user may not bind: the same words whether it exists or not.
DEVICE_UNAVAILABLE = "No device of yours has this key. Check the key on the sensor or its source."
NATIVE = "native"


def valid_key(key: object) -> bool:
    """Whether `key` is a device key (DEVICE_KEY_PATTERN, and printable throughout)."""
    return isinstance(key, str) and len(key) <= KEY_MAX and key.isprintable() and _DEVICE_KEY.fullmatch(key) is not None


def source_of(key: str) -> str:
    """ "zigbee2mqtt:Fern soil" -> "zigbee2mqtt"; a native id -> "native"."""
    source, colon, _ = key.partition(":")
    return source if colon else NATIVE


def namespace_for(session: DbSession, user: User) -> str:
    """Where a device this user types in is created: "" for administrators, else the user's
    broker account name, else the pseudo-namespace `user-<id>` (which no broker account can
    publish under, so nobody can pre-claim a key there)."""
    if user.is_admin:
        return ""
    username = session.scalar(select(BrokerAccount.username).where(BrokerAccount.user_id == user.id))
    return username or waiting_namespace(user.id)


def waiting_namespace(user_id: int) -> str:
    """Where a user's typed keys wait until the user has a broker account (then they move to
    the account's namespace: app.broker.accounts.claim_user_account)."""
    return f"user-{user_id}"


def visible_devices(session: DbSession, user: User, action: str = "view") -> Select[tuple[Device]]:
    """A select of the devices `user` may see (or, with `action="edit"`, bind and set up), by id."""
    condition: ColumnElement[bool] = Device.garden_id.in_(gardens.garden_ids_of(user.id, utcnow(), action))
    if user.is_admin:
        condition = or_(condition, discovered())
    return select(Device).where(condition).order_by(Device.id)


def discovered() -> ColumnElement[bool]:
    """A device heard on the shared topics that no garden has taken yet (administrators only)."""
    return and_(Device.namespace == "", Device.garden_id.is_(None))


def device_for(session: DbSession, user: User, device_id: int, action: str = "view") -> Device:
    """The device with this id if `user` may see it; NotFoundError otherwise."""
    device = session.scalar(visible_devices(session, user, action).where(Device.id == device_id))
    if device is None:
        raise NotFoundError()
    return device


def may_take(session: DbSession, user: User, device: Device) -> bool:
    """Whether `user` may bind `device`: in a garden where they may edit, or, for an
    administrator, a discovered one."""
    if device.garden_id is None:
        return user.is_admin and device.namespace == ""
    return gardens.allows(gardens.role_of(session, device.garden_id, user.id, utcnow()), "edit")


def settle(session: DbSession, user: User, device: Device, garden_id: int | None) -> None:
    """A discovered device someone binds joins the garden it is bound in (default: theirs)."""
    if device.garden_id is None:
        device.owner_id = user.id
        device.garden_id = garden_id or gardens.personal_garden_id(session, user.id)
        session.flush()


def key_problems(session: DbSession, user: User, key: str | None, field: str = "device_id") -> list[dict[str, str]]:
    """The problems device_for_key would raise for `key`, without making anything."""
    if key is None:
        return []
    if not valid_key(key):
        return [{"field": field, "message": DEVICE_KEY_MESSAGE}]
    if session.scalar(visible_devices(session, user, "edit").where(Device.key == key).limit(1)) is not None:
        return []
    namespace = namespace_for(session, user)
    if session.scalar(select(Device.id).where(Device.namespace == namespace, Device.key == key)) is not None:
        return [{"field": field, "message": DEVICE_UNAVAILABLE}]
    return []


def device_for_key(
    session: DbSession, user: User, key: str, field: str = "device_id", garden_id: int | None = None
) -> Device:
    """The device `user` means by `key` for a plant in `garden_id` (default: their personal
    garden), made there if there is none.

    Preference: a device with that key in that garden and their own namespace, then any they
    may bind with that key; for an administrator a discovered one (which joins the garden).
    Otherwise the device is created in `namespace_for(user)`. A key taken there by someone
    else raises ValidationError on `field` with a message that does not say whether it exists.
    """
    if not valid_key(key):
        raise ValidationError([{"field": field, "message": DEVICE_KEY_MESSAGE}])
    garden_id = garden_id or gardens.personal_garden_id(session, user.id)
    namespace = namespace_for(session, user)
    candidates = session.scalars(visible_devices(session, user, "edit").where(Device.key == key)).all()
    if candidates:
        device = min(candidates, key=lambda d: (d.garden_id != garden_id, d.namespace != namespace, d.id))
        settle(session, user, device, garden_id)
        return device
    taken = session.scalar(select(Device.id).where(Device.namespace == namespace, Device.key == key))
    if taken is not None:
        raise ValidationError([{"field": field, "message": DEVICE_UNAVAILABLE}])
    device = Device(
        namespace=namespace, key=key, source=source_of(key), owner_id=user.id, garden_id=garden_id, metrics=[]
    )
    try:
        with session.begin_nested():
            session.add(device)
    except IntegrityError:
        # Another request (or the ingest writer) made it a moment ago: look again once.
        existing = session.scalar(select(Device).where(Device.namespace == namespace, Device.key == key))
        if existing is None or not may_take(session, user, existing):
            raise ValidationError([{"field": field, "message": DEVICE_UNAVAILABLE}]) from None
        settle(session, user, existing, garden_id)
        return existing
    return device


def bind_device(session: DbSession, plant: Plant, device: Device | None) -> None:
    """Bind `device` for every registry metric of `plant` (None unbinds them all); the
    device feeds whichever of them it sends. The plant's latest state follows at once."""
    bind_sensors(session, plant, dict.fromkeys(KEYS, device))


def bind_sensors(session: DbSession, plant: Plant, sensors: Mapping[str, Device | None]) -> None:
    """Bind per metric: {metric: device or None}; metrics left out keep their binding.
    The plant's history and latest state show the new devices' readings at once."""
    unknown = set(sensors) - set(KEYS)
    if unknown:
        raise ValueError(f"not registry metrics: {sorted(unknown)}")
    if plant.id is None:
        session.add(plant)
        session.flush()
    current = {row.metric: row for row in session.scalars(select(PlantSensor).where(PlantSensor.plant_id == plant.id))}
    for metric, device in sensors.items():
        row = current.get(metric)
        if device is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(PlantSensor(plant_id=plant.id, metric=metric, device_id=device.id))
        else:
            row.device_id = device.id
    session.flush()
    session.expire(plant, ["sensors"])
    refresh_latest_state(session, plant)


def plant_bindings(session: DbSession, plant_id: int) -> dict[str, int]:
    """metric -> bound device id, for one plant."""
    rows = session.execute(select(PlantSensor.metric, PlantSensor.device_id).where(PlantSensor.plant_id == plant_id))
    return {row.metric: row.device_id for row in rows}


def refresh_latest_state(session: DbSession, plant: Plant) -> None:
    """Recompute the plant's latest_* and last_reading_at from its bound devices: each metric
    the newest value its device sent, last_reading_at the oldest of their newest readings
    (a device that never sent one does not count), so one silent sensor makes the plant stale."""
    bindings = plant_bindings(session, plant.id)
    for metric in KEYS:
        device_id = bindings.get(metric)
        value = None
        if device_id is not None:
            column = getattr(Reading, metric)
            value = session.scalar(
                select(column)
                .where(Reading.device_id == device_id, column.is_not(None))
                .order_by(Reading.ts.desc())
                .limit(1)
            )
        setattr(plant, f"latest_{metric}", value)
    plant.updated_at = utcnow()  # the plant list's fingerprint and cache see the new binding
    plant.last_reading_at = None
    if bindings:
        plant.last_reading_at = session.scalar(
            select(func.min(Device.last_reading_at)).where(Device.id.in_(set(bindings.values())))
        )
    session.flush()


def primary_device(session: DbSession, plant: Plant) -> Device | None:
    """The device bound for the most metrics of `plant` (ties: lowest id), or None."""
    query = (
        select(Device)
        .join(PlantSensor, PlantSensor.device_id == Device.id)
        .where(PlantSensor.plant_id == plant.id)
        .group_by(Device.id)
        .order_by(func.count().desc(), Device.id)
        .limit(1)
    )
    return session.scalar(query)


def primary_device_key(plant: Plant) -> str | None:
    """The key of the device bound for the most metrics of `plant` (ties: lowest id), or None:
    the plant's `device_id` in the API and the form. Reads the loaded `plant.sensors`."""
    counts: dict[int, int] = {}
    keys: dict[int, str] = {}
    for sensor in plant.sensors:
        counts[sensor.device_id] = counts.get(sensor.device_id, 0) + 1
        keys[sensor.device_id] = sensor.device.key
    if not counts:
        return None
    best = min(counts, key=lambda device_id: (-counts[device_id], device_id))
    return keys[best]


def unbind_all(session: DbSession, plant: Plant) -> None:
    session.execute(delete(PlantSensor).where(PlantSensor.plant_id == plant.id))
    session.expire(plant, ["sensors"])


def primary_device_key_of(plant_id: Any) -> Any:
    """primary_device_key as a correlated scalar subquery of a plant id column: the key of
    the device bound for the most metrics (ties: lowest id), or NULL."""
    return (
        select(Device.key)
        .join(PlantSensor, PlantSensor.device_id == Device.id)
        .where(PlantSensor.plant_id == plant_id)
        .group_by(Device.id, Device.key)
        .order_by(func.count().desc(), Device.id)
        .limit(1)
        .correlate_except(Device, PlantSensor)
        .scalar_subquery()
    )

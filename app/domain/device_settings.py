"""What a gardener sets and sees of a device: its name, calibration, field map, and the
diagnostics line ("receiving; last message 2 min ago; 3 rejected today: ...").

Who may see a device is `app.domain.devices` (visible_devices, device_for); these functions
take a device the caller already may see. Every function flushes and never commits. A broken
rule raises ValidationError whose detail is a list of {"field", "message"} with the names the
device form and the API use ("name", "soil_dry_raw", "field_map.temp_1").
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ..clock import utcnow
from ..models import Device, DeviceRejection, Plant, PlantSensor, User
from . import devices
from .errors import NotFoundError, ValidationError
from .metrics import BY_KEY, KEYS
from .types import DbSession

NAME_MAX = 100
# Raw readings of capacitive soil sensors (ADC counts, 0..65535 on most boards); a wide bound
# that still refuses nonsense such as 1e300.
RAW_LIMIT = 10_000_000.0
TEMPERATURE_OFFSET_LIMIT = 20.0  # °C either way
CALIBRATION_KEYS = ("soil_dry_raw", "soil_wet_raw", "temperature_offset")
FIELD_MAP_MAX = 50  # source fields of one device
FIELD_NAME_MAX = 100
IGNORE = ""  # a field_map value: drop this source field
# A device that sent nothing for this long is "silent" rather than "receiving".
QUIET_AFTER = timedelta(minutes=60)
NO_RAW_SOIL = "This sensor has not sent a raw soil value yet. Wait for its next message and try again."
SAME_DRY_WET = "The dry and the wet value must differ."
REASON_WORDS = {
    "bad_topic": "wrong topic",
    "too_large": "message too large",
    "not_utf8": "not UTF-8 text",
    "malformed_json": "malformed JSON",
    "wrong_shape": "unexpected message shape",
    "too_many_items": "too many items",
    "empty_batch": "empty batch",
    "wrong_type": "a value of the wrong type",
    "not_finite": "a value that is not a number",
    "out_of_range": "value out of range",
    "bad_ts": "unreadable time",
    "future_ts": "time in the future",
    "no_metric": "no known metric",
    "unclaimed_device": "no plant uses it",
    "unparseable": "could not be read",
    "retained": "retained copy ignored",
    "uncalibrated": "raw soil value, not calibrated yet",
}


def reason_words(reason: str | None) -> str:
    if not reason:
        return ""
    return REASON_WORDS.get(reason, reason.replace("_", " "))


def _problem(name: str, message: str) -> dict[str, str]:
    return {"field": name, "message": message}


# Name -------------------------------------------------------------------------------


def name_problems(name: object) -> list[dict[str, str]]:
    if not isinstance(name, str):
        return [_problem("name", "Must be text.")]
    if "\x00" in name:
        return [_problem("name", "Must not contain NUL characters.")]
    if len(name.strip()) > NAME_MAX:
        return [_problem("name", f"Use at most {NAME_MAX} characters.")]
    return []


def rename(session: DbSession, device: Device, name: str) -> None:
    """Set the name a gardener knows the device by ("" falls back to its key)."""
    problems = name_problems(name)
    if problems:
        raise ValidationError(problems)
    device.name = name.strip()
    session.flush()


def display_name(device: Device) -> str:
    return device.name or device.key


# Calibration ------------------------------------------------------------------------


def calibration_problems(values: Mapping[str, Any]) -> list[dict[str, str]]:
    """Problems of a calibration {soil_dry_raw, soil_wet_raw, temperature_offset} (each None = unset)."""
    problems = []
    for name in set(values) - set(CALIBRATION_KEYS):
        problems.append(_problem(name, "Unknown calibration setting."))
    for name in CALIBRATION_KEYS:
        value = values.get(name)
        if value is None:
            continue
        limit = TEMPERATURE_OFFSET_LIMIT if name == "temperature_offset" else RAW_LIMIT
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            problems.append(_problem(name, "Enter a number."))
        elif abs(value) > limit:
            problems.append(_problem(name, f"Use a value from {-limit:g} to {limit:g}."))
    if not problems:
        dry, wet = values.get("soil_dry_raw"), values.get("soil_wet_raw")
        if dry is not None and dry == wet:
            problems.append(_problem("soil_wet_raw", SAME_DRY_WET))
    return sorted(problems, key=lambda problem: problem["field"])


def set_calibration(session: DbSession, device: Device, values: Mapping[str, Any]) -> None:
    """Replace the device's calibration; a setting that is None is removed. The writer applies
    it to the readings that arrive from now on. One soil point alone may be stored (the dry
    one is taken before the sensor goes into water); until both are set, raw soil values
    are dropped as "uncalibrated"."""
    problems = calibration_problems(values)
    if problems:
        raise ValidationError(problems)
    device.calibration = {name: float(values[name]) for name in CALIBRATION_KEYS if values.get(name) is not None}
    session.flush()


def current_raw_soil(device: Device) -> float:
    """The raw soil value the device sent last, for "This is dry now" / "This is in water now"."""
    value = (device.last_raw or {}).get("soil_moisture")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError([_problem("soil_raw", NO_RAW_SOIL)])
    return float(value)


def calibrate_now(session: DbSession, device: Device, point: str) -> float:
    """Take the current raw soil value as the dry ("dry") or the in-water ("wet") point and
    keep the other point; returns the value taken. Until both points are set the calibration
    is incomplete and the writer keeps dropping raw soil values as "uncalibrated"."""
    if point not in ("dry", "wet"):
        raise ValueError(point)
    raw = current_raw_soil(device)
    calibration = dict(device.calibration or {})
    calibration[f"soil_{point}_raw"] = raw
    other = calibration.get("soil_wet_raw" if point == "dry" else "soil_dry_raw")
    if other is not None and other == raw:
        raise ValidationError([_problem(f"soil_{point}_raw", SAME_DRY_WET)])
    device.calibration = calibration
    session.flush()
    return raw


def soil_calibrated(device: Device) -> bool:
    calibration = device.calibration or {}
    return calibration.get("soil_dry_raw") is not None and calibration.get("soil_wet_raw") is not None


# Field map --------------------------------------------------------------------------


def field_map_problems(mapping: Mapping[str, Any]) -> list[dict[str, str]]:
    problems = []
    if len(mapping) > FIELD_MAP_MAX:
        return [_problem("field_map", f"At most {FIELD_MAP_MAX} fields.")]
    for name, metric in mapping.items():
        where = f"field_map.{name}"
        if not isinstance(name, str) or not name or len(name) > FIELD_NAME_MAX or not name.isprintable():
            problems.append(_problem("field_map", f"A field name must be 1 to {FIELD_NAME_MAX} printable characters."))
        elif not isinstance(metric, str) or (metric != IGNORE and metric not in BY_KEY):
            problems.append(_problem(where, "Choose a metric: " + ", ".join(KEYS) + ', or "" to ignore it.'))
    return sorted(problems, key=lambda problem: problem["field"])


def set_field_map(session: DbSession, device: Device, mapping: Mapping[str, Any], *, replace: bool = False) -> None:
    """Map source fields (ESPHome object ids, generic JSON fields) to metrics, "" to ignore.
    By default the fields sent are changed and the others kept; `replace` sets the whole map.
    Two fields may not feed one metric."""
    problems = field_map_problems(mapping)
    merged = dict(mapping) if replace else {**(device.field_map or {}), **mapping}
    if not problems:
        seen: dict[str, str] = {}
        for name, metric in merged.items():
            if metric == IGNORE:
                continue
            if metric in seen:
                first = seen[metric]
                where = name if name in mapping else first
                problems.append(
                    _problem(f"field_map.{where}", f"{first} already feeds {BY_KEY[metric].label.lower()}.")
                )
            else:
                seen[metric] = name
    if problems:
        raise ValidationError(sorted(problems, key=lambda problem: problem["field"]))
    device.field_map = merged
    session.flush()


# Diagnostics ------------------------------------------------------------------------


@dataclass(frozen=True)
class Diagnostics:
    """What a gardener needs to know about a device, now."""

    state: str  # "receiving", "silent" or "waiting" (never seen)
    last_seen_at: datetime | None
    rejected_today: int
    rejections: dict[str, int] = field(default_factory=dict)  # reason -> count, today (UTC)
    last_rejection: str | None = None  # a reason key, when it was today
    last_rejection_detail: str | None = None  # "soil moisture out of range (145)"

    @property
    def rejection_text(self) -> str:
        """ "soil moisture out of range (145)", or the reason in words."""
        return self.last_rejection_detail or reason_words(self.last_rejection)


def rejections_today(session: DbSession, device_ids: Iterable[int], now: datetime) -> dict[int, dict[str, int]]:
    """device id -> {reason: count} for today (UTC), one query for all of them."""
    ids = sorted(set(device_ids))
    counts: dict[int, dict[str, int]] = {device_id: {} for device_id in ids}
    if not ids:
        return counts
    rows = session.execute(
        select(DeviceRejection.device_id, DeviceRejection.reason, func.sum(DeviceRejection.count))
        .where(DeviceRejection.device_id.in_(ids), DeviceRejection.day == now.date())
        .group_by(DeviceRejection.device_id, DeviceRejection.reason)
        .order_by(DeviceRejection.device_id, DeviceRejection.reason)
    )
    for device_id, reason, count in rows:
        counts[device_id][reason] = int(count)
    return counts


def diagnostics(
    session: DbSession, devices: Iterable[Device], now: datetime, quiet_after: timedelta = QUIET_AFTER
) -> dict[int, Diagnostics]:
    """device id -> its Diagnostics, one query for all the devices."""
    devices = list(devices)
    counts = rejections_today(session, (d.id for d in devices), now)
    return {d.id: diagnose(d, counts.get(d.id, {}), now, quiet_after) for d in devices}


def diagnose(
    device: Device, rejections: Mapping[str, int], now: datetime, quiet_after: timedelta = QUIET_AFTER
) -> Diagnostics:
    if device.last_seen_at is None:
        state = "waiting"
    elif now - device.last_seen_at <= quiet_after:
        state = "receiving"
    else:
        state = "silent"
    today = device.last_rejection_at is not None and device.last_rejection_at.date() == now.date()
    return Diagnostics(
        state=state,
        last_seen_at=device.last_seen_at,
        rejected_today=sum(rejections.values()),
        rejections=dict(rejections),
        last_rejection=device.last_rejection if today else None,
        last_rejection_detail=device.last_rejection_detail if today else None,
    )


def plants_using(session: DbSession, device_ids: Iterable[int]) -> dict[int, list[tuple[int, str, list[str]]]]:
    """device id -> [(plant id, plant name, [metrics it feeds])], by plant name."""
    ids = sorted(set(device_ids))
    using: dict[int, dict[int, tuple[int, str, list[str]]]] = {device_id: {} for device_id in ids}
    if not ids:
        return {}
    rows = session.execute(
        select(PlantSensor.device_id, Plant.id, Plant.name, PlantSensor.metric)
        .join(Plant, Plant.id == PlantSensor.plant_id)
        .where(PlantSensor.device_id.in_(ids))
        .order_by(Plant.name, Plant.id)
    )
    order = {key: index for index, key in enumerate(KEYS)}
    for device_id, plant_id, name, metric in rows:
        entry = using[device_id].setdefault(plant_id, (plant_id, name, []))
        entry[2].append(metric)
    for plants in using.values():
        for entry in plants.values():
            entry[2].sort(key=lambda key: order.get(key, len(order)))
    return {device_id: list(plants.values()) for device_id, plants in using.items()}


# Binding chosen devices ---------------------------------------------------------------


def take(session: DbSession, user: User, device: Device, garden_id: int | None = None) -> Device:
    """A discovered device `user` binds (administrators only) joins the garden `garden_id`
    (default: theirs); anything they may not bind is NotFoundError, like a missing device."""
    if not devices.may_take(session, user, device):
        raise NotFoundError()
    devices.settle(session, user, device, garden_id)
    return device


def bind_chosen(session: DbSession, user: User, plant: Plant, chosen: Mapping[str, Device | None]) -> None:
    """Bind {metric: device or None} for `plant` of `user`, every device checked with take().
    A change of bindings is a change of the plant (its `updated_at`, which the dashboard's and
    the API list's fingerprints read), even when its latest values stay the same."""
    for device in {d.id: d for d in chosen.values() if d is not None}.values():
        take(session, user, device, plant.garden_id)
    before = devices.plant_bindings(session, plant.id) if plant.id is not None else {}
    devices.bind_sensors(session, plant, chosen)
    if devices.plant_bindings(session, plant.id) != before:
        plant.updated_at = utcnow()
        session.flush()


def bindings_by_device(plant: Plant) -> list[tuple[Device, list[str]]]:
    """[(device, [metrics it feeds])] of `plant`, the device bound for most metrics first
    (ties: lowest id), metrics in registry order. Reads the loaded `plant.sensors`."""
    order = {key: index for index, key in enumerate(KEYS)}
    grouped: dict[int, tuple[Device, list[str]]] = {}
    for sensor in plant.sensors:
        grouped.setdefault(sensor.device_id, (sensor.device, []))[1].append(sensor.metric)
    for _, metrics in grouped.values():
        metrics.sort(key=lambda key: order.get(key, len(order)))
    return sorted(grouped.values(), key=lambda item: (-len(item[1]), item[0].id))

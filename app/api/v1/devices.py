"""Devices over JSON: the user's devices (administrators: also the discovered ones), their
diagnostics, name, calibration and field map."""

from typing import Any

from flask_login import current_user

from ...clock import utcnow
from ...devices import queries
from ...domain import device_settings as settings
from ...errors import ValidationError
from ...extensions import db
from ...models import Device as DeviceRow
from . import bp
from .document import operation
from .schemas import Device, DeviceInput, DeviceList, DevicePatch
from .validation import merge_patch

TAG = "devices"


def device_json(device: DeviceRow) -> dict[str, Any]:
    return Device.json_of(device, settings.diagnostics(db.session, [device], utcnow())[device.id])


@bp.get("/devices")
@operation("listDevices", TAG, (200, DeviceList, "Your devices, then (administrators) discovered ones."))
def list_devices() -> dict:
    """Your devices with their diagnostics"""
    devices = [*queries.my_devices(current_user), *queries.discovered_devices(current_user)]
    diagnostics = settings.diagnostics(db.session, devices, utcnow())
    return {"items": [Device.json_of(device, diagnostics[device.id]) for device in devices]}


@bp.get("/devices/<int:device_id>")
@operation("getDevice", TAG, (200, Device, "The device."), by_id=True)
def get_device(device_id: int) -> dict:
    """One device"""
    return device_json(queries.device_or_404(current_user, device_id))


@bp.patch("/devices/<int:device_id>")
@operation("patchDevice", TAG, (200, Device, "Updated."), body=DevicePatch, by_id=True)
def patch_device(device_id: int) -> dict:
    """Rename a device, set its calibration or field map (JSON merge patch)"""
    device = queries.device_or_404(current_user, device_id, "edit")
    fields = merge_patch(DeviceInput, DevicePatch, device_json(device))
    calibration = fields.calibration.model_dump() if fields.calibration else {}
    try:
        settings.rename(db.session, device, fields.name)
        settings.set_calibration(db.session, device, calibration)
        settings.set_field_map(db.session, device, fields.field_map or {}, replace=True)
    except ValidationError as invalid:
        db.session.rollback()
        raise ValidationError([_api_problem(problem) for problem in invalid.detail]) from None
    db.session.commit()
    return device_json(device)


def _api_problem(problem: dict) -> dict:
    """The service names calibration settings as the form does; the API as `calibration.<name>`."""
    if problem["field"] in settings.CALIBRATION_KEYS:
        return {**problem, "field": f"calibration.{problem['field']}"}
    return problem

"""The devices area's selects. Who sees a device is app.domain.devices.visible_devices."""

from sqlalchemy import exists, func, select

from ..database import MAX_ID
from ..domain import devices as device_service
from ..domain.errors import NotFoundError
from ..domain.metrics import KEYS
from ..extensions import db
from ..models import Device, PlantSensor, Reading
from ..ownership import require

DISCOVERED_SHOWN = 100  # the newest discovered devices an administrator sees at once
UNUSED_SHOWN = 20


def device_or_404(user, device_id, action="view"):
    """The device if `user` may see it (one outside their gardens or a missing one is a 404),
    and their role in its garden allows `action` (else 403). Discovered devices are the
    administrators' alone, who may set them up."""
    if not 0 < device_id <= MAX_ID:
        raise NotFoundError()
    device = device_service.device_for(db.session, user, device_id)
    if device.garden_id is not None:
        require(device, action, user)
    return device


def in_gardens():
    return Device.garden_id.is_not(None)


def _by_name(query):
    return query.order_by(None).order_by(func.lower(func.coalesce(func.nullif(Device.name, ""), Device.key)), Device.id)


def my_devices(user):
    query = device_service.visible_devices(db.session, user).where(in_gardens())
    return db.session.scalars(_by_name(query)).all()


def discovered_devices(user, limit=DISCOVERED_SHOWN):
    """Devices on the sources' shared topics that no garden has: administrators only, newest first."""
    if not user.is_admin:
        return []
    query = (
        device_service.visible_devices(db.session, user)
        .where(device_service.discovered())
        .order_by(None)
        .order_by(Device.last_seen_at.desc().nulls_last(), Device.id.desc())
        .limit(limit)
    )
    return db.session.scalars(query).all()


def unused_devices(user, limit=UNUSED_SHOWN):
    """The devices of the user's gardens no plant uses, then (administrators) discovered ones, newest first."""
    used = exists().where(PlantSensor.device_id == Device.id)
    query = (
        device_service.visible_devices(db.session, user)
        .where(in_gardens(), ~used)
        .order_by(None)
        .order_by(Device.last_seen_at.desc().nulls_last(), Device.id.desc())
        .limit(limit)
    )
    return [*db.session.scalars(query).all(), *discovered_devices(user, limit)]


def latest_values(device):
    """metric -> (newest value, its time) for each metric the device has sent."""
    latest = {}
    for metric in (m for m in KEYS if m in (device.metrics or [])):
        column = getattr(Reading, metric)
        row = db.session.execute(
            select(column, Reading.ts)
            .where(Reading.device_id == device.id, column.is_not(None))
            .order_by(Reading.ts.desc())
            .limit(1)
        ).first()
        if row is not None:
            latest[metric] = (row[0], row[1])
    return latest

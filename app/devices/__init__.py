"""Devices as a gardener sees them: /devices (theirs, and for administrators the discovered
ones nobody owns) and /devices/<id> (diagnostics, name, calibration, field map).

Who sees a device is app.domain.devices; someone else's device is a 404 like a missing one.
"""

from flask import Blueprint

bp = Blueprint("devices", __name__, url_prefix="/devices")

from . import views  # noqa: E402,F401  (routes register on bp)

"""Operator view: accounts, ingestion counters, discovered devices, broker and notifier state.

Only administrators see it; to a signed-in gardener /admin does not exist (404).
"""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import views  # noqa: E402,F401  (routes register on bp)

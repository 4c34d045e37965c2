from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import health  # noqa: E402,F401  (routes register on bp)
from .v1 import bp as v1_bp  # noqa: E402

bp.register_blueprint(v1_bp)

from flask import Blueprint

bp = Blueprint("plants", __name__, url_prefix="/plants")

from . import views  # noqa: E402,F401

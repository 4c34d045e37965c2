from flask import Blueprint

bp = Blueprint("plants", __name__, url_prefix="/plants")

from . import advice, mute, views  # noqa: E402,F401

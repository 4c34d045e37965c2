from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from . import broker as broker_routes  # noqa: E402,F401
from . import channels as channel_routes  # noqa: E402,F401
from . import sessions as session_routes  # noqa: E402,F401
from . import tokens as token_routes  # noqa: E402,F401
from . import views  # noqa: E402,F401

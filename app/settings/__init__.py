from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")

from . import sessions as session_routes  # noqa: E402,F401
from . import tokens as token_routes  # noqa: E402,F401
from . import views  # noqa: E402,F401
from .providers import quiet_http_library_logs  # noqa: E402

bp.record_once(lambda _state: quiet_http_library_logs())

"""Care that follows the plant: the care log, watering detected from the soil, daily light,
the Today page and the calendar feed (docs/contracts.md, "Care")."""

from flask import Blueprint

bp = Blueprint("care", __name__)

from . import views  # noqa: E402,F401  (routes)


def init_app(app) -> None:
    """Watering detection after each stored batch, daily light in the periodic check."""
    from ..alerts.evaluation import AFTER_BATCH, PERIODIC
    from .detection import detect_waterings
    from .light import judge_daily_light, light_pending

    app.extensions.setdefault(AFTER_BATCH, []).append(detect_waterings)
    app.extensions.setdefault(PERIODIC, []).append((light_pending, judge_daily_light))

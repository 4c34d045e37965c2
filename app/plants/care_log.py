"""What the plant page shows of the care log: the timeline, the form, yesterday's light and
the chart markers (app.domain.care holds the rules; app.care the routes)."""

from datetime import datetime, timedelta

from flask_login import current_user

from ..domain import care
from ..extensions import db
from ..filters import _, day, localtime, translated, user_zone
from ..models import Plant

TIMELINE_LIMIT = 20


def care_log_context(plant: Plant, now: datetime, errors=None, values=None, logged=None) -> dict:
    zone = user_zone()
    light_day = care.latest_light_day(db.session, plant.id)
    yesterday = now.astimezone(zone).date() - timedelta(days=1)
    return {
        "plant": plant,
        "now": now,
        "care_events": care.plant_events(db.session, plant.id, limit=TIMELINE_LIMIT),
        "care_kinds": care.KINDS,
        "care_errors": errors or {},
        "care_values": values or {},
        "care_logged": logged,
        "care_by_me": current_user.id,
        "light_day": light_day,
        "light_day_label": None
        if light_day is None
        else (_("yesterday") if light_day.day == yesterday else day(light_day.day)),
        "care_now_local": now.astimezone(zone).strftime("%Y-%m-%dT%H:%M"),
    }


MAX_MARKERS = 200


def chart_markers(plant_id: int, start: datetime, end: datetime) -> list[tuple[float, str, str]]:
    """[(x, kind, label)] of the care events inside a chart's window, for the vertical markers
    every chart of the page draws (the same x on each: they share the time axis)."""
    from .charts import BOX

    zone = user_zone()
    markers = []
    for event in reversed(care.plant_events(db.session, plant_id, limit=MAX_MARKERS, since=start)):
        if event.at > end:
            continue
        x = round(BOX["left"] + (event.at - start) / (end - start) * BOX["plot_w"], 1)
        label = translated(care.KINDS.get(event.kind, (event.kind, ""))[0])
        if event.detected:
            label += f" ({_('detected')})"
        markers.append((x, event.kind, f"{label} {localtime(event.at, '%a %-d %b %H:%M', zone)}"))
    return markers

"""The care log and the calendar feed over JSON (app.domain.care, app.domain.calendar)."""

from flask_login import current_user

from ...clock import utcnow
from ...domain import calendar as feeds
from ...domain import care as service
from ...extensions import db
from ...models import CareEvent as CareEventRow
from ...models import Plant as PlantRow
from ...models import User
from ...web import public_url
from . import bp
from .document import operation
from .schemas import CalendarFeed, CareEvent, CareEventInput, CareEventList, CareEventQuery
from .validation import json_body, query, visible_or_404

TAG = "care"


def event_json(event: CareEventRow, emails: dict[int, str]) -> dict:
    return CareEvent(
        id=event.id,
        kind=event.kind,
        at=event.at,
        note=event.note,
        amount=event.amount,
        detected=event.detected,
        by=emails.get(event.by_user_id) if event.by_user_id else None,
    ).model_dump(mode="json")


def emails_of(events: list[CareEventRow]) -> dict[int, str]:
    ids = {e.by_user_id for e in events if e.by_user_id}
    if not ids:
        return {}
    return {user.id: user.email for user in db.session.query(User).filter(User.id.in_(ids))}


@bp.get("/plants/<int:plant_id>/events")
@operation("listCareEvents", TAG, (200, CareEventList, "Care events, newest first."), query=CareEventQuery, by_id=True)
def list_care_events(plant_id: int) -> dict:
    """A plant's care log, newest first"""
    plant = visible_or_404(PlantRow, plant_id)
    events = service.plant_events(db.session, plant.id, limit=query(CareEventQuery).limit)
    emails = emails_of(events)
    return {"items": [event_json(e, emails) for e in events]}


@bp.post("/plants/<int:plant_id>/events")
@operation("createCareEvent", TAG, (201, CareEvent, "Logged."), body=CareEventInput, by_id=True)
def create_care_event(plant_id: int) -> tuple[dict, int]:
    """Log care given to a plant (a watering completes its due watering tasks)"""
    plant = visible_or_404(PlantRow, plant_id, "care")
    body = json_body(CareEventInput)
    now = utcnow()
    fields = service.clean_event(body.model_dump(), now)
    event = service.log_event(db.session, plant, fields, current_user, now)
    db.session.commit()
    return event_json(event, {current_user.id: current_user.email}), 201


@bp.post("/calendar-feed")
@operation("createCalendarFeed", TAG, (201, CalendarFeed, "A new feed URL; the old one is revoked."))
def create_calendar_feed() -> tuple[dict, int]:
    """A new secret iCal feed URL of your care tasks (revokes the previous one)"""
    _feed, secret = feeds.create_feed(db.session, current_user, utcnow())
    db.session.commit()
    return {"url": public_url("care.calendar_feed", secret=secret)}, 201

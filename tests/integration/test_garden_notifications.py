"""An alert of a shared garden reaches every current member who may see it, on each of their
channels (one outbox row per recipient channel), narrowed by their per-garden choice
(GardenMember.notify); a plant-sitter whose time is up hears nothing."""

from datetime import timedelta

from sqlalchemy import select

from app.clock import utcnow
from app.extensions import db
from app.models import GardenMember, Notification, NotificationChannel
from app.ownership import personal_garden_id

from ..conftest import make_user
from .alerting import add_plant, store


def channel(app, user_id, events=("alert_opened", "alert_resolved")):
    with app.app_context():
        row = NotificationChannel(user_id=user_id, kind="webhook", url=None, events=list(events))
        db.session.add(row)
        db.session.commit()
        return row.id


def member(app, garden_id, user_id, role, until=None, notify=None):
    with app.app_context():
        db.session.add(GardenMember(garden_id=garden_id, user_id=user_id, role=role, until=until, notify=notify))
        db.session.commit()


def queued(app, event="alert_opened"):
    """{channel id: number of rows} of the queued messages of `event` ("opened" rows carry it)."""
    with app.app_context():
        rows = db.session.execute(select(Notification.channel_id, Notification.payload)).all()
        counts = {}
        for channel_id, payload in rows:
            if payload.get("event") == event.removeprefix("alert_"):
                counts[channel_id] = counts.get(channel_id, 0) + 1
        return counts


def test_an_alert_reaches_every_current_member_once_per_channel(app):
    owner, carer, viewer, gone, chooser, outsider = (
        make_user(app, email=f"{name}@example.com") for name in ("ana", "ben", "cy", "dee", "eve", "finn")
    )
    with app.app_context():
        garden_id = personal_garden_id(owner)
    mine = [channel(app, owner), channel(app, owner)]
    carers = channel(app, carer)
    viewers = channel(app, viewer)
    gones = channel(app, gone)
    eves_first, eves_second = channel(app, chooser), channel(app, chooser)
    outsiders = channel(app, outsider)
    member(app, garden_id, carer, "caretaker")
    member(app, garden_id, viewer, "viewer")
    member(app, garden_id, gone, "sitter", until=utcnow() - timedelta(hours=1))  # sat until an hour ago
    # Eve hears this garden on her second channel only, and only of resolved alerts
    member(app, garden_id, chooser, "sitter", notify={str(eves_second): ["alert_resolved"]})
    plant_id = add_plant(app, owner, soil_moisture_min=30.0)

    store(app, plant_id, 45.0, 25.0, 24.0, 22.0)

    counts = queued(app, "alert_opened")
    assert counts == {mine[0]: 1, mine[1]: 1, carers: 1, viewers: 1}
    assert gones not in counts
    assert outsiders not in counts
    assert eves_first not in counts

    store(app, plant_id, 50.0, 55.0, 60.0, 60.0)
    resolved = queued(app, "alert_resolved")
    assert resolved == {mine[0]: 1, mine[1]: 1, carers: 1, viewers: 1, eves_second: 1}

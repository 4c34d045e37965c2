"""The demo garden starts with seven days of history: readings, waterings, logged care."""

from sqlalchemy import func, select

from app.extensions import db
from app.ingest.cli import DEMO_EMAIL, ensure_demo_garden
from app.models import CareEvent, Plant, Reading, Task, User
from app.ownership import personal_garden_id


def test_the_demo_starts_with_a_week_of_history_once(app, client):
    with app.app_context():
        ensure_demo_garden(2)
        ensure_demo_garden(2)  # run again: nothing twice
        user = db.session.scalar(select(User).where(User.email == DEMO_EMAIL))
        plants = db.session.scalars(select(Plant).where(Plant.garden_id == personal_garden_id(user.id))).all()
        assert len(plants) == 2
        readings = db.session.scalar(select(func.count(Reading.id)))
        assert 2 * 7 * 24 * 6 - 10 <= readings <= 2 * 7 * 24 * 6
        assert db.session.scalar(select(func.count(CareEvent.id)).where(CareEvent.kind == "watered")) >= 2
        assert db.session.scalar(select(func.count(Task.id))) == 2  # a watering task each
        assert all(p.last_reading_at is not None and p.latest_soil_moisture is not None for p in plants)

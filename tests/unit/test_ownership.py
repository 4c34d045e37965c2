from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.exc import StatementError

from app.extensions import db
from app.models import Garden, GardenMember, Plant, User
from app.ownership import visible_statement

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def connection():
    engine = create_engine("sqlite://")
    tables = [User.__table__, Garden.__table__, GardenMember.__table__, Plant.__table__]
    db.metadata.create_all(engine, tables=tables)
    with engine.connect() as connection:
        for uid in (1, 2, 3):
            connection.execute(insert(User).values(id=uid, email=f"{uid}@example.com", password_hash="x"))
            connection.execute(insert(Garden).values(id=uid, name=f"garden {uid}", personal_of_id=uid, created_at=NOW))
            connection.execute(insert(GardenMember).values(garden_id=uid, user_id=uid, role="owner", joined_at=NOW))
            connection.execute(insert(Plant).values(garden_id=uid, name=f"plant of {uid}"))
        # 3 sits for 2 until tomorrow; 1 sat for 2 until yesterday (ended by itself)
        sitters = ((3, NOW + timedelta(days=1)), (1, NOW - timedelta(days=1)))
        for uid, until in sitters:
            connection.execute(
                insert(GardenMember).values(garden_id=2, user_id=uid, role="sitter", until=until, joined_at=NOW)
            )
        yield connection


def names(connection, viewer):
    statement = visible_statement(Plant).with_only_columns(Plant.name).order_by(Plant.name)
    return connection.execute(statement, {"viewer_id": viewer, "viewed_at": NOW}).scalars().all()


def test_a_kept_statement_returns_the_rows_of_the_viewers_current_gardens_only(connection):
    assert names(connection, 2) == ["plant of 2"]
    assert names(connection, 3) == ["plant of 2", "plant of 3"]
    assert names(connection, 1) == ["plant of 1"]  # the sitting ended yesterday


def test_a_kept_statement_refuses_to_run_without_a_viewer(connection):
    with pytest.raises(StatementError, match="viewer_id"):
        connection.execute(visible_statement(Plant))

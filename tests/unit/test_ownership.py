import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.exc import StatementError

from app.extensions import db
from app.models import Plant, User
from app.ownership import owned_statement


@pytest.fixture
def connection():
    engine = create_engine("sqlite://")
    db.metadata.create_all(engine, tables=[User.__table__, Plant.__table__])
    with engine.connect() as connection:
        for uid in (1, 2):
            connection.execute(insert(User).values(id=uid, email=f"{uid}@example.com", password_hash="x"))
            connection.execute(insert(Plant).values(user_id=uid, name=f"plant of {uid}"))
        yield connection


def test_a_kept_owned_statement_returns_only_the_given_owners_rows(connection):
    statement = owned_statement(Plant).with_only_columns(Plant.name)
    assert connection.execute(statement, {"owner_id": 2}).scalars().all() == ["plant of 2"]


def test_a_kept_owned_statement_refuses_to_run_without_an_owner(connection):
    with pytest.raises(StatementError, match="owner_id"):
        connection.execute(owned_statement(Plant))

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.database import read_only, without_statement_timeout
from app.domain.gardens import create_personal_garden
from app.extensions import db
from app.models import Plant, User

ROOT = Path(__file__).resolve().parents[2]


def test_models_match_the_migrations(app):
    with app.app_context(), db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
    assert diff == []


def test_migrations_downgrade_and_upgrade_again(make_app, tmp_path):
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'roundtrip.db'}")
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert "plants" not in db.inspect(db.engine).get_table_names()
        upgrade()
        assert "plants" in db.inspect(db.engine).get_table_names()


def test_sqlite_connections_use_wal_and_a_busy_timeout(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_concurrent_read_then_write_transactions_never_hit_database_locked(app):
    """Each thread reads a row, then writes it: deferred SQLite transactions fail here
    with "database is locked" on the lock upgrade; ours must all succeed."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite locking only")
        user = User(email="a@example.com", password_hash="x")
        db.session.add(user)
        db.session.flush()
        db.session.add(Plant(garden_id=create_personal_garden(db.session, user).id, name="Fern", stale_after_minutes=0))
        db.session.commit()

    errors = []

    def bump(rounds=25):
        try:
            with app.app_context():
                for _ in range(rounds):
                    plant = db.session.scalar(db.select(Plant))
                    plant.stale_after_minutes += 1
                    db.session.commit()
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with app.app_context():
        assert db.session.scalar(db.select(Plant.stale_after_minutes)) == 150


def test_read_only_context_reads(app):
    with app.app_context(), read_only():
        assert db.session.execute(text("SELECT 1")).scalar() == 1


def test_production_without_keys_exits_with_one_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PLANTOPS_ENV": "production", "PLANTOPS_INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "plantops: configuration error: PLANTOPS_ENV=production needs SECRET_KEY and ENCRYPTION_KEY to be set"
    ]


def test_a_database_that_accepts_and_never_answers_fails_a_request_within_the_connect_timeout(make_app, silent_server):
    app = make_app(
        DATABASE_URL=f"postgresql://plantops@127.0.0.1:{silent_server.port}/plantops", DATABASE_CONNECT_TIMEOUT=2
    )
    started = time.monotonic()
    with app.app_context(), pytest.raises(OperationalError):
        db.session.execute(text("SELECT 1"))
    assert time.monotonic() - started < 4


def test_postgresql_statements_end_at_the_statement_timeout(make_app):
    app = make_app(DATABASE_STATEMENT_TIMEOUT=1)
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"):
            db.session.execute(text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 3
        db.session.rollback()
        assert db.engine.pool.timeout() == 5


def test_migrations_run_without_the_statement_timeout(make_app):
    app = make_app(DATABASE_STATEMENT_TIMEOUT=1)
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only")
        without_statement_timeout(connection)
        connection.execute(text("SELECT pg_sleep(1.5)"))


def test_sqlite_busy_timeout_follows_its_setting(make_app):
    app = make_app(DATABASE_BUSY_TIMEOUT=3)
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 3000

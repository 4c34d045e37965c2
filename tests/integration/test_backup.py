"""`flask backup PATH`: a consistent online copy of SQLite while ingestion writes."""

import shutil
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.backup import BackupError, backup_sqlite, integrity_check
from app.extensions import db
from app.models import Reading
from tests.fixtures.readings import device_ref, new_plant

from ..conftest import make_user

BATCH = 10


def sqlite_only(app):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite only")


def write_batches(app, plant_id, stop, written):
    """Insert BATCH readings per transaction until `stop` is set, like the ingest writer."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with app.app_context():
        device = device_ref(db.session, "dev-1")
        db.session.rollback()
        while not stop.is_set():
            n = written[0]
            db.session.add_all(
                Reading(device_id=device, ts=start + timedelta(seconds=n + i), light=float(n + i)) for i in range(BATCH)
            )
            db.session.commit()
            written[0] += BATCH


def reading_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Reading))


def test_backup_while_writing_restores_whole_transactions_and_passes_integrity_check(app, make_app, tmp_path):
    sqlite_only(app)
    user_id = make_user(app)
    with app.app_context():
        plant = new_plant(db.session, user_id, name="Fern", device_id="dev-1")
        db.session.commit()
        plant_id = plant.id
    stop, written = threading.Event(), [0]
    writer = threading.Thread(target=write_batches, args=(app, plant_id, stop, written))
    writer.start()
    try:
        while written[0] < 500:
            threading.Event().wait(0.01)
        before = written[0]
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "plantops-backup.db")])
        after = written[0]
    finally:
        stop.set()
        writer.join(timeout=30)

    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output
    restored = tmp_path / "restored" / "plantops.db"
    restored.parent.mkdir()
    shutil.copy(tmp_path / "plantops-backup.db", restored)
    assert integrity_check(restored) == "ok"
    restored_app = make_app(DATABASE_URL=f"sqlite:///{restored}")
    count = reading_count(restored_app)
    assert before <= count <= after + BATCH
    assert count % BATCH == 0
    assert reading_count(app) == written[0]
    assert not list(tmp_path.glob(".*partial"))


def test_backup_refuses_to_overwrite_the_database(app):
    sqlite_only(app)
    with app.app_context():
        path = db.engine.url.database
    result = app.test_cli_runner().invoke(args=["backup", path])
    assert result.exit_code == 1
    assert "must not overwrite" in result.output


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ("missing.db", "copy.db", "no SQLite database"),
        ("real.db", "no-such-dir/copy.db", "does not exist"),
    ],
)
def test_backup_of_bad_paths_says_what_is_wrong(tmp_path, source, target, message):
    import sqlite3

    sqlite3.connect(tmp_path / "real.db").close()
    with pytest.raises(BackupError, match=message):
        backup_sqlite(tmp_path / source, tmp_path / target)


def test_backup_on_postgresql_explains_pg_dump(app, tmp_path):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "x.db")])
    assert result.exit_code == 1
    assert "pg_dump" in result.output
    assert not (tmp_path / "x.db").exists()

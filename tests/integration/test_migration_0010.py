"""Migration 0010 partitions a populated readings table by month on PostgreSQL and turns it
back into one plain table on downgrade, every reading, id and key kept; on SQLite it
changes nothing."""

from datetime import UTC, datetime

from flask_migrate import downgrade, upgrade

from app import partitions
from app.extensions import db

from .test_migration_0005 import fresh_uri, rows, run  # noqa: F401  (fixture)

TIMES = [datetime(2026, 8, 31, 23, 59), datetime(2026, 9, 1, 0, 0), datetime(2026, 10, 15, 12), datetime(2009, 3, 1)]


def seed_0008():
    run(
        "INSERT INTO users (email, password_hash, session_version, is_admin, disabled, timezone, created_at) "
        "VALUES ('ana@example.com', 'x', 1, false, false, 'UTC', :t)",
        t=TIMES[0],
    )
    run(
        "INSERT INTO devices (namespace, key, source, owner_id, name, model, first_seen_at, message_count, "
        "metrics, calibration, field_map, last_raw) "
        "VALUES ('', 'flora-1', 'native', 1, '', '', :t, 0, '[]', '{}', '{}', '{}')",
        t=TIMES[0],
    )
    for n, ts in enumerate(TIMES):
        run("INSERT INTO readings (device_id, ts, soil_moisture) VALUES (1, :ts, :v)", ts=ts, v=float(n))


def readings():
    return rows("SELECT id, device_id, ts, soil_moisture FROM readings ORDER BY id")


def constraints():
    return rows(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'readings'::regclass ORDER BY conname"
    )


def test_0010_partitions_a_populated_readings_table_by_month_and_back(make_app, fresh_uri):  # noqa: F811
    app = make_app(DATABASE_URL=fresh_uri)
    with app.app_context():
        upgrade(revision="0008")
        seed_0008()
        before = readings()
        postgresql = db.engine.dialect.name == "postgresql"
        plain_constraints = constraints() if postgresql else None
        db.session.remove()

        upgrade(revision="0010")
        assert readings() == before
        if postgresql:
            assert partitions.is_partitioned(db.session)
            by_partition = rows("SELECT tableoid::regclass::text, soil_moisture FROM readings ORDER BY id")
            assert by_partition == [
                ("readings_p2026_08", 0.0),
                ("readings_p2026_09", 1.0),
                ("readings_p2026_10", 2.0),
                ("readings_p2009_03", 3.0),
            ]
            months = set(partitions.monthly_partitions(db.session))
            current = partitions.month_start(datetime.now(UTC))
            assert {current, partitions.add_months(current, 1), partitions.add_months(current, 2)} <= months
            assert ("readings_pkey", "PRIMARY KEY (id, ts)") in constraints()
            assert ("uq_readings_device_ts", "UNIQUE (device_id, ts)") in constraints()
            # The sequence goes on where the old table left it.
            run("INSERT INTO readings (device_id, ts) VALUES (1, :ts)", ts=datetime(2026, 10, 16))
            assert rows("SELECT max(id) FROM readings") == [(len(TIMES) + 1,)]
            run("DELETE FROM readings WHERE ts = :ts", ts=datetime(2026, 10, 16))
        db.session.remove()

        downgrade(revision="0008")
        assert readings() == before
        if postgresql:
            assert not partitions.is_partitioned(db.session)
            assert constraints() == plain_constraints
            assert rows("SELECT count(*) FROM pg_class WHERE relname ~ '^readings_(p[0-9]|default)'") == [(0,)]
        db.session.remove()
        upgrade(revision="0010")
        assert readings() == before
        run("DELETE FROM devices")  # the foreign key cascades into every partition
        assert readings() == []
        db.session.remove()

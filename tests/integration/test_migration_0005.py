"""Migration 0005 (devices) moves every affected table's data up and back down, on the
database the suite runs on (SQLite, or PostgreSQL with DATABASE_URL)."""

import json
import os
import uuid
from datetime import datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.config import database_url
from app.extensions import db

T0 = datetime(2026, 11, 30, 10, 0)
T1 = datetime(2026, 11, 30, 11, 0)


@pytest.fixture
def fresh_uri(tmp_path):
    base = os.environ.get("DATABASE_URL")
    if not base or not base.startswith(("postgres://", "postgresql")):
        yield f"sqlite:///{tmp_path / 'migration.db'}"
        return
    server = make_url(database_url(base))
    name = f"plantops_mig_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def rows(sql, **params):
    return [tuple(row) for row in db.session.execute(text(sql), params)]


def run(sql, **params):
    db.session.execute(text(sql), params)
    db.session.commit()


def seed_0004():
    for uid, email in ((1, "ana@example.com"), (2, "ben@example.com")):
        run(
            "INSERT INTO users (id, email, password_hash, session_version, is_admin, disabled, timezone, created_at) "
            "VALUES (:id, :email, 'x', 1, false, false, 'UTC', :t)",
            id=uid,
            email=email,
            t=T0,
        )
    plants = ((1, 1, "Fern", "flora-1", 41.0), (2, 2, "Palm", "palm-1", 55.0), (3, 1, "Cactus", None, None))
    for pid, uid, name, device, latest in plants:
        run(
            "INSERT INTO plants (id, user_id, name, species, location, notes, device_id, stale_after_minutes, "
            "created_at, updated_at, last_reading_at, latest_soil_moisture, latest_battery) "
            "VALUES (:id, :uid, :name, '', '', '', :device, 60, :t, :t, :last, :latest, 90)",
            id=pid,
            uid=uid,
            name=name,
            device=device,
            t=T0,
            last=T1 if device else None,
            latest=latest,
        )
    for plant_id, device, ts, soil in ((1, "flora-1", T0, 40.0), (1, "flora-1", T1, 41.0), (2, "palm-1", T1, 55.0)):
        run(
            "INSERT INTO readings (plant_id, device_id, ts, soil_moisture, temperature) VALUES (:p, :d, :ts, :s, 20)",
            p=plant_id,
            d=device,
            ts=ts,
            s=soil,
        )
    run(
        "INSERT INTO readings_hourly (plant_id, hour, count, stats) VALUES (1, :h, 2, :stats)",
        h=T0,
        stats=json.dumps({"soil_moisture": {"min": 40, "max": 41, "mean": 40.5}}),
    )
    run(
        "INSERT INTO alerts (user_id, plant_id, problem, metric, state, opened_at) "
        "VALUES (1, 1, 'soil_moisture_low', 'soil_moisture', 'open', :t)",
        t=T1,
    )
    run(
        "INSERT INTO unclaimed_devices (device_id, first_seen_at, last_seen_at, message_count) "
        "VALUES ('stray-9', :t, :t, 7)",
        t=T0,
    )


def test_0005_moves_plants_readings_rollups_and_unclaimed_devices_to_devices_and_back(make_app, fresh_uri):
    app = make_app(DATABASE_URL=fresh_uri)
    with app.app_context():
        upgrade(revision="0004")
        seed_0004()
        upgrade(revision="0005")
        devices = {
            key: (owner, count)
            for key, owner, count in rows("SELECT key, owner_id, message_count FROM devices WHERE namespace = ''")
        }
        assert devices == {"flora-1": (1, 2), "palm-1": (2, 1), "stray-9": (None, 7)}
        assert rows("SELECT metrics FROM devices WHERE key = 'flora-1'") in (
            [(["soil_moisture", "temperature"],)],
            [('["soil_moisture", "temperature"]',)],
        )
        sensors = rows(
            "SELECT s.plant_id, COUNT(*), MIN(d.key) FROM plant_sensors s JOIN devices d ON d.id = s.device_id "
            "GROUP BY s.plant_id ORDER BY s.plant_id"
        )
        assert sensors == [(1, 6, "flora-1"), (2, 6, "palm-1")], sensors
        readings = rows(
            "SELECT d.key, r.soil_moisture FROM readings r JOIN devices d ON d.id = r.device_id ORDER BY r.id"
        )
        assert readings == [("flora-1", 40.0), ("flora-1", 41.0), ("palm-1", 55.0)]
        assert rows("SELECT d.key, h.count FROM readings_hourly h JOIN devices d ON d.id = h.device_id") == [
            ("flora-1", 2)
        ]
        assert rows("SELECT plant_id, problem FROM alerts") == [(1, "soil_moisture_low")]  # rebuilt plants keep them
        db.session.remove()

        downgrade(revision="0004")
        assert rows("SELECT plant_id, problem FROM alerts") == [(1, "soil_moisture_low")]
        assert rows("SELECT id, device_id FROM plants ORDER BY id") == [(1, "flora-1"), (2, "palm-1"), (3, None)]
        assert rows("SELECT plant_id, device_id, soil_moisture FROM readings ORDER BY id") == [
            (1, "flora-1", 40.0),
            (1, "flora-1", 41.0),
            (2, "palm-1", 55.0),
        ]
        assert rows("SELECT plant_id, count FROM readings_hourly") == [(1, 2)]
        assert rows("SELECT device_id, message_count FROM unclaimed_devices") == [("stray-9", 7)]
        db.session.remove()
        upgrade()
        assert len(rows("SELECT id FROM devices")) == 3
        db.session.remove()

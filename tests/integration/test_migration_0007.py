"""Migration 0007 (care): light thresholds become daily light integrals and back; the alert's
water tasks become watering tasks. On the suite's database (SQLite, or PostgreSQL)."""

from datetime import datetime

from flask_migrate import downgrade, upgrade

from app.extensions import db

from .test_migration_0005 import fresh_uri, rows, run  # noqa: F401  (fixture)

T0 = datetime(2026, 11, 30, 10, 0)


def test_0007_converts_light_thresholds_and_marks_water_tasks(make_app, fresh_uri):  # noqa: F811
    app = make_app(DATABASE_URL=fresh_uri)
    with app.app_context():
        upgrade(revision="0006")
        run(
            "INSERT INTO users (id, email, password_hash, session_version, is_admin, disabled, timezone, created_at) "
            "VALUES (1, 'ana@example.com', 'x', 1, false, false, 'UTC', :t)",
            t=T0,
        )
        run(
            "INSERT INTO plants (id, user_id, name, species, location, notes, stale_after_minutes, light_min, "
            "light_max, created_at, updated_at) VALUES (1, 1, 'Fern', '', '', '', 60, 5000, 20000, :t, :t)",
            t=T0,
        )
        run(
            "INSERT INTO tasks (id, user_id, plant_id, source, title, description, completed, created_at, updated_at) "
            "VALUES (1, 1, 1, 'alert', 'Water Fern', '', false, :t, :t), (2, 1, 1, 'user', 'Dust', '', false, :t, :t)",
            t=T0,
        )
        db.session.remove()
        upgrade(revision="0007")
        assert rows("SELECT light_min, light_max FROM plants") == [(4.0, 16.0)]
        assert rows("SELECT id, care_kind, repeat_from FROM tasks ORDER BY id") == [
            (1, "watered", "done"),
            (2, None, "due"),
        ]
        db.session.remove()
        downgrade(revision="0006")
        low, high = rows("SELECT light_min, light_max FROM plants")[0]
        assert abs(low - 5000) < 60
        assert abs(high - 20000) < 60
        db.session.remove()
        upgrade()

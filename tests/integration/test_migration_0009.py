"""Migration 0009 (gardens): every user gets a personal garden holding their plants, devices,
tasks, alerts and care entries; down again, every row goes back to its garden's owner. On
the suite's database (SQLite, or PostgreSQL with DATABASE_URL)."""

from datetime import datetime

from flask_migrate import downgrade, upgrade

from app.extensions import db

from .test_migration_0005 import fresh_uri, rows, run  # noqa: F401  (fixture)

T0 = datetime(2026, 12, 1, 10, 0)


def seed_0008():
    for uid, email in ((1, "ana@example.com"), (2, "ben.k@example.org")):
        run(
            "INSERT INTO users (id, email, password_hash, session_version, is_admin, disabled, timezone, created_at) "
            "VALUES (:id, :email, 'x', 1, false, false, 'UTC', :t)",
            id=uid,
            email=email,
            t=T0,
        )
    for pid, uid, name in ((1, 1, "Fern"), (2, 2, "Palm"), (3, 1, "Cactus")):
        run(
            "INSERT INTO plants (id, user_id, name, species, location, notes, stale_after_minutes, created_at, "
            "updated_at) VALUES (:id, :uid, :name, '', '', '', 60, :t, :t)",
            id=pid,
            uid=uid,
            name=name,
            t=T0,
        )
    run(
        "INSERT INTO devices (id, namespace, key, source, owner_id, name, model, first_seen_at, message_count, "
        "metrics, calibration, field_map, last_raw) VALUES "
        "(1, '', 'flora-1', 'native', 1, '', '', :t, 0, '[]', '{}', '{}', '{}'), "
        "(2, '', 'stray', 'native', NULL, '', '', :t, 0, '[]', '{}', '{}', '{}')",
        t=T0,
    )
    run("INSERT INTO plant_sensors (plant_id, metric, device_id) VALUES (1, 'soil_moisture', 1)")
    run(
        "INSERT INTO alerts (id, user_id, plant_id, problem, state, opened_at) "
        "VALUES (1, 1, 1, 'soil_moisture_low', 'open', :t), (2, 2, 2, 'stale', 'open', :t)",
        t=T0,
    )
    run(
        "INSERT INTO tasks (id, user_id, plant_id, alert_id, source, title, description, completed, repeat_from, "
        "created_at, updated_at) VALUES (1, 1, 1, 1, 'alert', 'Water Fern', '', false, 'done', :t, :t), "
        "(2, 2, NULL, NULL, 'user', 'Dust', '', false, 'due', :t, :t)",
        t=T0,
    )
    run(
        "INSERT INTO care_events (id, user_id, plant_id, kind, at, note, detected, by_user_id, created_at) "
        "VALUES (1, 1, 1, 'watered', :t, '', false, 1, :t), (2, 2, 2, 'misted', :t, '', false, 2, :t)",
        t=T0,
    )


def test_0009_gives_every_user_a_personal_garden_with_their_records_and_back(make_app, fresh_uri):  # noqa: F811
    app = make_app(DATABASE_URL=fresh_uri)
    with app.app_context():
        upgrade(revision="0008")
        seed_0008()
        db.session.remove()
        upgrade(revision="0009")
        assert rows("SELECT id, name, personal_of_id FROM gardens ORDER BY id") == [
            (1, "ana's garden", 1),
            (2, "ben.k's garden", 2),
        ]
        assert rows("SELECT garden_id, user_id, role, until FROM garden_members ORDER BY id") == [
            (1, 1, "owner", None),
            (2, 2, "owner", None),
        ]
        assert rows("SELECT id, garden_id FROM plants ORDER BY id") == [(1, 1), (2, 2), (3, 1)]
        assert rows("SELECT id, garden_id FROM devices ORDER BY id") == [(1, 1), (2, None)]
        assert rows("SELECT id, garden_id FROM alerts ORDER BY id") == [(1, 1), (2, 2)]
        assert rows("SELECT id, garden_id, completed_by_id, assignee_id FROM tasks ORDER BY id") == [
            (1, 1, None, None),
            (2, 2, None, None),
        ]
        assert rows("SELECT id, garden_id, by_user_id FROM care_events ORDER BY id") == [(1, 1, 1), (2, 2, 2)]
        # a new garden and member get fresh ids after the copied ones (PostgreSQL's sequences)
        run("INSERT INTO gardens (name, created_at) VALUES ('Club', :t)", t=T0)
        run("INSERT INTO garden_members (garden_id, user_id, role, joined_at) VALUES (3, 2, 'owner', :t)", t=T0)
        run("INSERT INTO garden_members (garden_id, user_id, role, joined_at) VALUES (3, 1, 'sitter', :t)", t=T0)
        run("UPDATE plants SET garden_id = 3 WHERE id = 3")
        run(
            "INSERT INTO tasks (id, garden_id, plant_id, source, title, description, completed, repeat_from, "
            "created_at, updated_at) VALUES (3, 3, 3, 'user', 'Turn', '', false, 'due', :t, :t)",
            t=T0,
        )
        db.session.remove()

        downgrade(revision="0008")
        # the club's cactus goes to the club's first owner (ben), the rest to whose garden it was
        assert rows("SELECT id, user_id FROM plants ORDER BY id") == [(1, 1), (2, 2), (3, 2)]
        assert rows("SELECT id, user_id FROM tasks ORDER BY id") == [(1, 1), (2, 2), (3, 2)]
        assert rows("SELECT id, user_id FROM alerts ORDER BY id") == [(1, 1), (2, 2)]
        assert rows("SELECT id, user_id, by_user_id FROM care_events ORDER BY id") == [(1, 1, 1), (2, 2, 2)]
        assert rows("SELECT id, owner_id FROM devices ORDER BY id") == [(1, 1), (2, None)]
        assert rows("SELECT plant_id, device_id FROM plant_sensors") == [(1, 1)]
        db.session.remove()
        upgrade()
        assert rows("SELECT count(*) FROM gardens") == [(2,)]

"""devices: sensors as records; readings and hourly rollups belong to a device

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 00:45:00.000000

Upgrade moves the data (docs/contracts.md, "Devices"):
- one Device (namespace "", source "native", key = the id) per distinct device id of a
  plant, of the stored readings and of the unclaimed list; owned by the plant's gardener
  (a plant claiming it now first, else the plant its readings were stored for); an
  unclaimed one has no owner ("discovered");
- a PlantSensor row for every metric of each plant that claimed a device;
- readings.device_id becomes the device's id (plant_id goes), readings_hourly is re-keyed
  by the plant's device (the rollups of a plant without a device go);
- unclaimed_devices and plants.device_id go.

Downgrade reverses it: each plant gets the native key of the device bound for most of its
metrics (ties: lowest id) unless an earlier plant took that key; a reading stays with the
first plant whose device it is and goes otherwise (the old model kept no reading without a
plant); devices no plant uses become unclaimed devices when their key is a valid old id.
"""

import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

METRICS = ("soil_moisture", "temperature", "humidity", "light", "conductivity", "battery")
OLD_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def upgrade():
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.String(length=64), server_default="", nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), server_default="", nullable=False),
        sa.Column("model", sa.String(length=100), server_default="", nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=True),
        sa.Column("last_reading_at", sa.DateTime(), nullable=True),
        sa.Column("message_count", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("battery", sa.Float(), nullable=True),
        sa.Column("linkquality", sa.Float(), nullable=True),
        sa.Column("calibration", sa.JSON(), nullable=False),
        sa.Column("field_map", sa.JSON(), nullable=False),
        sa.Column("last_raw", sa.JSON(), nullable=False),
        sa.Column("last_payload", sa.Text(), nullable=True),
        sa.Column("last_topic", sa.String(length=300), nullable=True),
        sa.Column("last_rejection", sa.String(length=64), nullable=True),
        sa.Column("last_rejection_detail", sa.String(length=200), nullable=True),
        sa.Column("last_rejection_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("namespace", "key", name="uq_devices_namespace_key"),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_owner_id"), ["owner_id"], unique=False)
    op.create_table(
        "device_rejections",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_id", "day", "reason"),
    )
    op.create_table(
        "plant_sensors",
        sa.Column("plant_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=20), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["plant_id"], ["plants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plant_id", "metric"),
    )
    with op.batch_alter_table("plant_sensors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plant_sensors_device_id"), ["device_id"], unique=False)
    op.create_table(
        "broker_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "ingest_sources",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("base_topic", sa.String(length=200), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )

    move_devices_up()

    # readings: the device's id instead of its string id and the plant.
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_ref", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE readings SET device_ref = (SELECT devices.id FROM devices "
        "WHERE devices.namespace = '' AND devices.key = readings.device_id)"
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_index("ix_readings_plant_ts")
        batch_op.drop_column("plant_id")  # its foreign key goes with it
        batch_op.drop_column("device_id")  # and uq_readings_device_ts with this one
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.alter_column("device_ref", new_column_name="device_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_readings_device_ts", ["device_id", "ts"])
        batch_op.create_foreign_key("readings_device_id_fkey", "devices", ["device_id"], ["id"], ondelete="CASCADE")

    # readings_hourly: keyed by the plant's device.
    op.create_table(
        "readings_hourly_v5",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("device_id", "hour", name="readings_hourly_v5_pkey"),
    )
    op.execute(
        "INSERT INTO readings_hourly_v5 (device_id, hour, count, stats) "
        "SELECT devices.id, h.hour, h.count, h.stats FROM readings_hourly h "
        "JOIN plants ON plants.id = h.plant_id "
        "JOIN devices ON devices.namespace = '' AND devices.key = plants.device_id"
    )
    op.drop_table("readings_hourly")
    rename_with_primary_key("readings_hourly_v5", "readings_hourly")

    with op.batch_alter_table("plants", schema=None) as batch_op:
        if op.get_bind().dialect.name == "postgresql":  # SQLite's is unnamed and goes with the column
            batch_op.drop_constraint("plants_device_id_key", type_="unique")
        batch_op.drop_column("device_id")
    op.drop_table("unclaimed_devices")


def move_devices_up():
    bind = op.get_bind()
    now = bind.execute(sa.text("SELECT CURRENT_TIMESTAMP")).scalar()
    counts = ", ".join(f"COUNT({m})" for m in METRICS)
    sent = {row[0]: [m for m, n in zip(METRICS, row[1:], strict=True) if n] for row in bind.execute(
        sa.text(f"SELECT device_id, {counts} FROM readings GROUP BY device_id")
    )}  # fmt: skip
    devices = {}  # key -> row

    def add(key, **row):
        if key not in devices:
            devices[key] = {"key": key, "owner_id": None, "first_seen_at": None, "last_seen_at": None,
                            "last_reading_at": None, "message_count": 0, "battery": None} | row  # fmt: skip

    for plant in bind.execute(
        sa.text(
            "SELECT device_id, user_id, created_at, last_reading_at, latest_battery FROM plants "
            "WHERE device_id IS NOT NULL ORDER BY id"
        )
    ):
        add(plant[0], owner_id=plant[1], first_seen_at=plant[2], last_seen_at=plant[3], last_reading_at=plant[3],
            battery=plant[4])  # fmt: skip
    for row in bind.execute(
        sa.text(
            "SELECT r.device_id, MIN(p.user_id), MIN(r.ts), MAX(r.ts), COUNT(*) FROM readings r "
            "JOIN plants p ON p.id = r.plant_id GROUP BY r.device_id"
        )
    ):
        add(row[0], owner_id=row[1], first_seen_at=row[2], last_seen_at=row[3], last_reading_at=row[3])
        devices[row[0]]["message_count"] = row[4]
        devices[row[0]]["first_seen_at"] = min(filter(None, (devices[row[0]]["first_seen_at"], row[2])))
    for row in bind.execute(
        sa.text("SELECT device_id, first_seen_at, last_seen_at, message_count FROM unclaimed_devices")
    ):
        add(row[0], first_seen_at=row[1], last_seen_at=row[2], message_count=row[3])
    table = sa.table(
        "devices",
        *(
            sa.column(name)
            for name in (
                "namespace",
                "key",
                "source",
                "owner_id",
                "first_seen_at",
                "last_seen_at",
                "last_reading_at",
                "message_count",
                "battery",
            )
        ),  # fmt: skip
        sa.column("metrics", sa.JSON()),
        sa.column("calibration", sa.JSON()),
        sa.column("field_map", sa.JSON()),
        sa.column("last_raw", sa.JSON()),
    )
    rows = [
        row | {"namespace": "", "source": "native", "first_seen_at": row["first_seen_at"] or now,
               "metrics": sent.get(row["key"], []), "calibration": {}, "field_map": {}, "last_raw": {}}
        for row in devices.values()
    ]  # fmt: skip
    if rows:
        op.bulk_insert(table, rows)
    for metric in METRICS:
        op.execute(
            "INSERT INTO plant_sensors (plant_id, metric, device_id) "
            f"SELECT plants.id, '{metric}', devices.id FROM plants "
            "JOIN devices ON devices.namespace = '' AND devices.key = plants.device_id"
        )


def rename_with_primary_key(old, new):
    op.rename_table(old, new)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER INDEX {old}_pkey RENAME TO {new}_pkey")


def downgrade():
    bind = op.get_bind()
    # Which plant each device's readings go to, and each plant's old device id.
    primary = {}  # plant id -> device id
    for plant_id, device_id, _count in bind.execute(
        sa.text(
            "SELECT plant_id, device_id, COUNT(*) FROM plant_sensors GROUP BY plant_id, device_id "
            "ORDER BY plant_id, COUNT(*) DESC, device_id"
        )
    ):
        primary.setdefault(plant_id, device_id)
    keys = {row[0]: (row[1], row[2]) for row in bind.execute(sa.text("SELECT id, key, namespace FROM devices"))}
    taken, plant_key, device_plant = set(), {}, {}
    for plant_id in sorted(primary):
        device_id = primary[plant_id]
        key = keys[device_id][0]
        if OLD_ID.fullmatch(key) and key not in taken:
            taken.add(key)
            plant_key[plant_id] = key
            device_plant[device_id] = plant_id

    op.create_table(
        "unclaimed_devices",
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("message_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("device_id"),
    )
    unclaimed = []
    used = set(bind.execute(sa.text("SELECT DISTINCT device_id FROM plant_sensors")).scalars())
    for row in bind.execute(
        sa.text("SELECT id, key, first_seen_at, last_seen_at, message_count FROM devices ORDER BY id")
    ):
        if row[0] not in used and OLD_ID.fullmatch(row[1]) and row[1] not in taken:
            taken.add(row[1])
            unclaimed.append({"device_id": row[1], "first_seen_at": row[2], "last_seen_at": row[3] or row[2],
                              "message_count": row[4]})  # fmt: skip
    if unclaimed:
        op.bulk_insert(
            sa.table("unclaimed_devices", *(sa.column(c) for c in unclaimed[0])),
            unclaimed,
        )

    op.create_table(
        "device_plant_v4",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("plant_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("device_id"),
    )
    mapping = [{"device_id": d, "plant_id": p, "key": plant_key[p]} for d, p in device_plant.items()]
    if mapping:
        op.bulk_insert(sa.table("device_plant_v4", *(sa.column(c) for c in mapping[0])), mapping)

    with op.batch_alter_table("plants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_id", sa.String(length=64), nullable=True))
    op.execute("UPDATE plants SET device_id = (SELECT m.key FROM device_plant_v4 m WHERE m.plant_id = plants.id)")
    with op.batch_alter_table("plants", schema=None) as batch_op:
        batch_op.create_unique_constraint("plants_device_id_key", ["device_id"])

    op.create_table(
        "readings_hourly_v4",
        sa.Column("plant_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["plant_id"], ["plants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plant_id", "hour", name="readings_hourly_v4_pkey"),
    )
    op.execute(
        "INSERT INTO readings_hourly_v4 (plant_id, hour, count, stats) "
        "SELECT m.plant_id, h.hour, h.count, h.stats FROM readings_hourly h "
        "JOIN device_plant_v4 m ON m.device_id = h.device_id"
    )
    op.drop_table("readings_hourly")
    rename_with_primary_key("readings_hourly_v4", "readings_hourly")

    op.execute("DELETE FROM readings WHERE device_id NOT IN (SELECT device_id FROM device_plant_v4)")
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plant_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("device_key", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE readings SET plant_id = (SELECT m.plant_id FROM device_plant_v4 m WHERE m.device_id = readings.device_id), "
        "device_key = (SELECT m.key FROM device_plant_v4 m WHERE m.device_id = readings.device_id)"
    )
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.drop_column("device_id")  # its unique constraint and foreign key go with it
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.alter_column("device_key", new_column_name="device_id", existing_type=sa.String(64), nullable=False)
        batch_op.alter_column("plant_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("readings", schema=None) as batch_op:
        batch_op.create_foreign_key("readings_plant_id_fkey", "plants", ["plant_id"], ["id"], ondelete="CASCADE")
        batch_op.create_unique_constraint("uq_readings_device_ts", ["device_id", "ts"])
        batch_op.create_index("ix_readings_plant_ts", ["plant_id", "ts"], unique=False)

    op.drop_table("device_plant_v4")
    op.drop_table("ingest_sources")
    op.drop_table("broker_accounts")
    with op.batch_alter_table("plant_sensors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plant_sensors_device_id"))
    op.drop_table("plant_sensors")
    op.drop_table("device_rejections")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_owner_id"))
    op.drop_table("devices")

"""readings partitioned by month on PostgreSQL (a no-op on SQLite)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:00:00.000000

`readings` becomes a table partitioned by range of `ts`: a partition per UTC month
(`readings_pYYYY_MM`) for every month that holds readings and for the current month and the
next two, and a default partition (`readings_default`) for any other time. Retention then
drops a month's partition instead of deleting its rows (app/partitions.py).

The primary key becomes (id, ts): a unique constraint of a partitioned table must contain
the partition key. `uq_readings_device_ts` (device_id, ts), the ingest writer's
ON CONFLICT target, already does. `id` keeps its sequence, so ids stay unique.

The rows move in one INSERT ... SELECT into the partitioned table, which routes each row to
its month: the old table has no index led by `ts`, so a statement per month would scan it
once per month. The keys and the foreign key are added after the copy (one index build per
partition instead of index inserts row by row). Downgrade copies the rows back into a
plain table the same way.
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

MONTHS_AHEAD = 2
COLUMNS = """
    id bigint NOT NULL DEFAULT nextval('readings_id_seq'::regclass),
    ts timestamp without time zone NOT NULL,
    soil_moisture double precision,
    temperature double precision,
    humidity double precision,
    light double precision,
    battery double precision,
    conductivity double precision,
    device_id integer NOT NULL
"""
FOREIGN_KEY = "FOREIGN KEY (device_id) REFERENCES devices (id) ON DELETE CASCADE"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    set_aside("readings", "readings_unpartitioned")
    op.execute(f"CREATE TABLE readings ({COLUMNS}) PARTITION BY RANGE (ts)")
    op.execute("ALTER SEQUENCE readings_id_seq OWNED BY readings.id")
    op.execute("CREATE TABLE readings_default PARTITION OF readings DEFAULT")
    stored = op.get_bind().execute(sa.text("SELECT DISTINCT date_trunc('month', ts) FROM readings_unpartitioned"))
    now = datetime.now(UTC).replace(tzinfo=None)
    current = datetime(now.year, now.month, 1)
    months = {month for (month,) in stored} | {add_months(current, i) for i in range(MONTHS_AHEAD + 1)}
    for month in sorted(months):
        op.execute(
            f"CREATE TABLE readings_p{month:%Y_%m} PARTITION OF readings "
            f"FOR VALUES FROM ('{month}') TO ('{add_months(month, 1)}')"
        )
    op.execute("INSERT INTO readings SELECT * FROM readings_unpartitioned")
    op.execute(
        "ALTER TABLE readings ADD CONSTRAINT readings_pkey PRIMARY KEY (id, ts), "
        "ADD CONSTRAINT uq_readings_device_ts UNIQUE (device_id, ts), "
        f"ADD CONSTRAINT readings_device_id_fkey {FOREIGN_KEY}"
    )
    op.execute("DROP TABLE readings_unpartitioned")
    op.execute("ANALYZE readings")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    set_aside("readings", "readings_partitioned")
    op.execute(f"CREATE TABLE readings ({COLUMNS})")
    op.execute("ALTER SEQUENCE readings_id_seq OWNED BY readings.id")
    op.execute("INSERT INTO readings SELECT * FROM readings_partitioned")
    op.execute(
        "ALTER TABLE readings ADD CONSTRAINT readings_pkey PRIMARY KEY (id), "
        "ADD CONSTRAINT uq_readings_device_ts UNIQUE (device_id, ts), "
        f"ADD CONSTRAINT readings_device_id_fkey {FOREIGN_KEY}"
    )
    op.execute("DROP TABLE readings_partitioned")  # and its partitions
    op.execute("ANALYZE readings")


def set_aside(table, new_name):
    """Rename the table and its constraints (index names are unique per schema)."""
    op.execute(f"ALTER TABLE {table} RENAME TO {new_name}")
    for constraint in ("readings_pkey", "uq_readings_device_ts", "readings_device_id_fkey"):
        renamed = constraint.replace("readings", new_name, 1)
        op.execute(f"ALTER TABLE {new_name} RENAME CONSTRAINT {constraint} TO {renamed}")


def add_months(month, count):
    index = month.year * 12 + month.month - 1 + count
    return month.replace(year=index // 12, month=index % 12 + 1)

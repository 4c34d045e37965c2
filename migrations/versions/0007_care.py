"""care: the care log, watering detection settings, recurrence mode, daily light, calendar feeds

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:00:00.000000

Light thresholds become daily light integrals (mol/m²/day, app.domain.daylight): a
threshold typed in lux is converted as if that light lasted 12 hours a day
(lux × 0.0185 µmol/m²/s per lux × 43,200 s / 10⁶), rounded to 0.1. The downgrade
converts back. The alert's "Water" tasks become watering tasks (care_kind), so a
detected watering completes them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

LUX_TO_DLI = 0.0185 * 12 * 3600 / 1_000_000


def upgrade():
    with op.batch_alter_table('plants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('watering_rise_points', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('watering_rise_minutes', sa.Integer(), nullable=True))
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repeat_from', sa.String(length=8), server_default='due', nullable=False))
        batch_op.add_column(sa.Column('care_kind', sa.String(length=16), nullable=True))
    op.execute("UPDATE tasks SET care_kind = 'watered', repeat_from = 'done' WHERE source = 'alert'")
    op.execute(
        f"UPDATE plants SET light_min = ROUND(CAST(light_min * {LUX_TO_DLI!r} AS NUMERIC), 1), "
        f"light_max = ROUND(CAST(light_max * {LUX_TO_DLI!r} AS NUMERIC), 1)"
    )

    op.create_table(
        'care_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('plant_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('note', sa.String(length=500), server_default='', nullable=False),
        sa.Column('amount', sa.Float(), nullable=True),
        sa.Column('detected', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('by_user_id', sa.Integer(), nullable=True),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['plant_id'], ['plants.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_care_events_plant_at', 'care_events', ['plant_id', 'at'])
    op.create_index('ix_care_events_user_id', 'care_events', ['user_id'])

    op.create_table(
        'plant_light_days',
        sa.Column('plant_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('dli', sa.Float(), nullable=False),
        sa.Column('complete', sa.Boolean(), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['plant_id'], ['plants.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('plant_id', 'day'),
    )

    op.create_table(
        'calendar_feeds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_calendar_feeds_user_id', 'calendar_feeds', ['user_id'])


def downgrade():
    op.drop_index('ix_calendar_feeds_user_id', table_name='calendar_feeds')
    op.drop_table('calendar_feeds')
    op.drop_table('plant_light_days')
    op.drop_index('ix_care_events_user_id', table_name='care_events')
    op.drop_index('ix_care_events_plant_at', table_name='care_events')
    op.drop_table('care_events')
    op.execute(
        f"UPDATE plants SET light_min = ROUND(CAST(light_min / {LUX_TO_DLI!r} AS NUMERIC), 0), "
        f"light_max = ROUND(CAST(light_max / {LUX_TO_DLI!r} AS NUMERIC), 0)"
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_column('care_kind')
        batch_op.drop_column('repeat_from')
    with op.batch_alter_table('plants', schema=None) as batch_op:
        batch_op.drop_column('watering_rise_minutes')
        batch_op.drop_column('watering_rise_points')

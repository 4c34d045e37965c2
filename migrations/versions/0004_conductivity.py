"""conductivity: soil fertility in µS/cm (what Mi Flora sensors report)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:30:00.000000

A reading column, the plant's latest value and its threshold range, all nullable:
existing rows simply have no conductivity.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('readings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conductivity', sa.Float(), nullable=True))
    with op.batch_alter_table('plants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conductivity_min', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('conductivity_max', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('latest_conductivity', sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table('plants', schema=None) as batch_op:
        batch_op.drop_column('latest_conductivity')
        batch_op.drop_column('conductivity_max')
        batch_op.drop_column('conductivity_min')
    with op.batch_alter_table('readings', schema=None) as batch_op:
        batch_op.drop_column('conductivity')

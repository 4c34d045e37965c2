"""user preferences: colour theme, language and temperature unit

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:00:00.000000

Three columns on users with server defaults, so existing accounts keep today's behaviour:
the theme follows the device ("system"), the language follows the browser (NULL), and
temperatures are shown in °C (readings stay stored in °C whatever is chosen).

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('theme', sa.String(length=8), nullable=False, server_default='system'))
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('temperature_unit', sa.String(length=1), nullable=False, server_default='C'))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('temperature_unit')
        batch_op.drop_column('locale')
        batch_op.drop_column('theme')

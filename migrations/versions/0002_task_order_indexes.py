"""task list order indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 06:50:00.000000

The task list's order (due date, undated last, then created_at and id) as two
indexes, one for the "all" tab and one for each status tab, so a page of 50 is
read off an index instead of sorting every task of the user.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_user_due')
        batch_op.create_index('ix_tasks_user_order', ['user_id', 'due_date', 'created_at', 'id'], unique=False)
        batch_op.create_index(
            'ix_tasks_user_completed_order', ['user_id', 'completed', 'due_date', 'created_at', 'id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_user_completed_order')
        batch_op.drop_index('ix_tasks_user_order')
        batch_op.create_index('ix_tasks_user_due', ['user_id', 'completed', 'due_date', 'created_at'], unique=False)

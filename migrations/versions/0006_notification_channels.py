"""notification channels: several per user (ntfy, Telegram, Gotify, email, Matrix, Slack,
webhooks, Discord), quiet hours, digests, reminders, muted plants

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notification_channels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('url', sa.Text(), nullable=True),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('quiet_start', sa.Integer(), nullable=True),
        sa.Column('quiet_end', sa.Integer(), nullable=True),
        sa.Column('quiet_mode', sa.String(length=8), server_default='hold', nullable=False),
        sa.Column('digest_hour', sa.Integer(), server_default='8', nullable=False),
        sa.Column('remind_after_hours', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('last_error_at', sa.DateTime(), nullable=True),
        sa.Column('last_sent_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_notification_channels_user_id', 'notification_channels', ['user_id'])
    op.create_table(
        'plant_mutes',
        sa.Column('plant_id', sa.Integer(), nullable=False),
        sa.Column('until', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['plant_id'], ['plants.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('plant_id'),
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('key', sa.String(length=100), nullable=True))
        batch_op.create_foreign_key(
            'fk_notifications_channel_id', 'notification_channels', ['channel_id'], ['id'], ondelete='CASCADE'
        )
        batch_op.create_index('ix_notifications_channel_id', ['channel_id'])
        batch_op.create_index('uq_notifications_channel_key', ['channel_id', 'key'], unique=True)


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('uq_notifications_channel_key')
        batch_op.drop_index('ix_notifications_channel_id')
        batch_op.drop_constraint('fk_notifications_channel_id', type_='foreignkey')
        batch_op.drop_column('key')
        batch_op.drop_column('channel_id')
    op.drop_table('plant_mutes')
    op.drop_index('ix_notification_channels_user_id', table_name='notification_channels')
    op.drop_table('notification_channels')

"""gardens: shared gardens with roles; plants, devices, tasks, alerts and care belong to one

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 05:00:00.000000

Every existing user gets a personal garden ("<local part>'s garden") with an owner membership;
their plants, tasks, alerts and care entries move into it, and so do the devices they own
(shared-topic devices nobody claimed keep garden_id NULL: administrators only). `user_id` on
plants, tasks, alerts and care_events only meant scope and is dropped; who did what is kept
in care_events.by_user_id, tasks.completed_by_id, alerts.acknowledged_by_id and
plants.updated_by_id. Downgrade gives every row back to its garden's owner (the person the
garden is personal to, else its first owner member) and drops what 0009 added.

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

SCOPED = ('plants', 'tasks', 'alerts', 'care_events')


def upgrade():
    op.create_table(
        'gardens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('personal_of_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['personal_of_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('personal_of_id'),
    )
    op.create_table(
        'garden_members',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('garden_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('until', sa.DateTime(), nullable=True),
        sa.Column('notify', sa.JSON(), nullable=True),
        sa.Column('joined_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['garden_id'], ['gardens.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('garden_id', 'user_id', name='uq_garden_members_garden_user'),
    )
    op.create_index('ix_garden_members_user_id', 'garden_members', ['user_id'])
    op.create_table(
        'garden_invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('garden_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('until', sa.DateTime(), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('accepted_by_id', sa.Integer(), nullable=True),
        sa.Column('accepted_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['garden_id'], ['gardens.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_garden_invitations_garden_id', 'garden_invitations', ['garden_id'])

    # One personal garden per user, with an owner membership (ids follow the users').
    op.execute(
        "INSERT INTO gardens (id, name, personal_of_id, created_at) "
        "SELECT id, substr(substr(email, 1, instr(email, '@') - 1), 1, 85) || '''s garden', id, created_at FROM users"
        if op.get_bind().dialect.name == 'sqlite'
        else "INSERT INTO gardens (id, name, personal_of_id, created_at) "
        "SELECT id, left(split_part(email, '@', 1), 85) || '''s garden', id, created_at FROM users"
    )
    op.execute(
        "INSERT INTO garden_members (garden_id, user_id, role, joined_at) "
        "SELECT id, id, 'owner', created_at FROM users"
    )
    if op.get_bind().dialect.name == 'postgresql':
        for table in ('gardens', 'garden_members'):
            op.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )

    for table in SCOPED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('garden_id', sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET garden_id = (SELECT g.id FROM gardens g WHERE g.personal_of_id = {table}.user_id)")
    with op.batch_alter_table('devices') as batch_op:
        batch_op.add_column(sa.Column('garden_id', sa.Integer(), nullable=True))
    op.execute("UPDATE devices SET garden_id = (SELECT g.id FROM gardens g WHERE g.personal_of_id = devices.owner_id)")

    with op.batch_alter_table('plants') as batch_op:
        batch_op.add_column(sa.Column('updated_by_id', sa.Integer(), nullable=True))
        batch_op.drop_index('ix_plants_user_id')
        batch_op.drop_column('user_id')
        batch_op.alter_column('garden_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_plants_garden_id', 'gardens', ['garden_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key('fk_plants_updated_by_id', 'users', ['updated_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_plants_garden_id', ['garden_id'])
    with op.batch_alter_table('tasks') as batch_op:
        batch_op.add_column(sa.Column('completed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('assignee_id', sa.Integer(), nullable=True))
        batch_op.drop_index('ix_tasks_user_order')
        batch_op.drop_index('ix_tasks_user_completed_order')
        batch_op.drop_column('user_id')
        batch_op.alter_column('garden_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_tasks_garden_id', 'gardens', ['garden_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key('fk_tasks_completed_by_id', 'users', ['completed_by_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key('fk_tasks_assignee_id', 'users', ['assignee_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_tasks_garden_order', ['garden_id', 'due_date', 'created_at', 'id'])
        batch_op.create_index('ix_tasks_garden_completed_order', ['garden_id', 'completed', 'due_date', 'created_at', 'id'])
        batch_op.create_index('ix_tasks_assignee_id', ['assignee_id'])
    with op.batch_alter_table('alerts') as batch_op:
        batch_op.add_column(sa.Column('acknowledged_by_id', sa.Integer(), nullable=True))
        batch_op.drop_index('ix_alerts_user_id')
        batch_op.drop_column('user_id')
        batch_op.alter_column('garden_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_alerts_garden_id', 'gardens', ['garden_id'], ['id'], ondelete='CASCADE')
        batch_op.create_foreign_key(
            'fk_alerts_acknowledged_by_id', 'users', ['acknowledged_by_id'], ['id'], ondelete='SET NULL'
        )
        batch_op.create_index('ix_alerts_garden_id', ['garden_id'])
    with op.batch_alter_table('care_events') as batch_op:
        batch_op.drop_index('ix_care_events_user_id')
        batch_op.drop_column('user_id')
        batch_op.alter_column('garden_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_care_events_garden_id', 'gardens', ['garden_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_care_events_garden_id', ['garden_id'])
    with op.batch_alter_table('devices') as batch_op:
        batch_op.create_foreign_key('fk_devices_garden_id', 'gardens', ['garden_id'], ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_devices_garden_id', ['garden_id'])


# The person a garden's rows go back to: the one it is personal to, else its first owner.
GARDEN_OWNER = (
    "(SELECT COALESCE(g.personal_of_id, (SELECT m.user_id FROM garden_members m WHERE m.garden_id = g.id "
    "AND m.role = 'owner' ORDER BY m.id LIMIT 1)) FROM gardens g WHERE g.id = {table}.garden_id)"
)


def downgrade():
    for table in SCOPED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET user_id = {GARDEN_OWNER.format(table=table)}")
        # A garden without any owner left has nobody to give its rows back to.
        op.execute(f"DELETE FROM {table} WHERE user_id IS NULL")
    op.execute(
        "UPDATE devices SET owner_id = COALESCE(owner_id, " + GARDEN_OWNER.format(table='devices') + ") "
        "WHERE garden_id IS NOT NULL"
    )

    with op.batch_alter_table('care_events') as batch_op:
        batch_op.drop_index('ix_care_events_garden_id')
        batch_op.drop_constraint('fk_care_events_garden_id', type_='foreignkey')
        batch_op.drop_column('garden_id')
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_care_events_user_id', 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_care_events_user_id', ['user_id'])
    with op.batch_alter_table('alerts') as batch_op:
        batch_op.drop_index('ix_alerts_garden_id')
        batch_op.drop_constraint('fk_alerts_acknowledged_by_id', type_='foreignkey')
        batch_op.drop_constraint('fk_alerts_garden_id', type_='foreignkey')
        batch_op.drop_column('acknowledged_by_id')
        batch_op.drop_column('garden_id')
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_alerts_user_id', 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_alerts_user_id', ['user_id'])
    with op.batch_alter_table('tasks') as batch_op:
        batch_op.drop_index('ix_tasks_assignee_id')
        batch_op.drop_index('ix_tasks_garden_completed_order')
        batch_op.drop_index('ix_tasks_garden_order')
        batch_op.drop_constraint('fk_tasks_assignee_id', type_='foreignkey')
        batch_op.drop_constraint('fk_tasks_completed_by_id', type_='foreignkey')
        batch_op.drop_constraint('fk_tasks_garden_id', type_='foreignkey')
        batch_op.drop_column('assignee_id')
        batch_op.drop_column('completed_by_id')
        batch_op.drop_column('garden_id')
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_tasks_user_id', 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_tasks_user_order', ['user_id', 'due_date', 'created_at', 'id'])
        batch_op.create_index('ix_tasks_user_completed_order', ['user_id', 'completed', 'due_date', 'created_at', 'id'])
    with op.batch_alter_table('plants') as batch_op:
        batch_op.drop_index('ix_plants_garden_id')
        batch_op.drop_constraint('fk_plants_updated_by_id', type_='foreignkey')
        batch_op.drop_constraint('fk_plants_garden_id', type_='foreignkey')
        batch_op.drop_column('updated_by_id')
        batch_op.drop_column('garden_id')
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key('fk_plants_user_id', 'users', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_plants_user_id', ['user_id'])
    with op.batch_alter_table('devices') as batch_op:
        batch_op.drop_index('ix_devices_garden_id')
        batch_op.drop_constraint('fk_devices_garden_id', type_='foreignkey')
        batch_op.drop_column('garden_id')

    op.drop_index('ix_garden_invitations_garden_id', table_name='garden_invitations')
    op.drop_table('garden_invitations')
    op.drop_index('ix_garden_members_user_id', table_name='garden_members')
    op.drop_table('garden_members')
    op.drop_table('gardens')

"""destruction: retention rules, holds, destruction batches with items, steps and tombstones

The forms' data keys move out of the database into the key store (instance/keys.sqlite) when `guichet migrate`
runs after this revision (it needs the instance folder and the master key, which a migration does not have).

Revision ID: i16_destruction
Revises: i18_login_security
Create Date: 2026-11-28 18:31:56.739359
"""
from alembic import op
import sqlalchemy as sa
import engine.db


revision = 'i16_destruction'
down_revision = 'i18_login_security'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('retention_rule',
    sa.Column('business_type', sa.String(length=100), nullable=False),
    sa.Column('retention', sa.String(length=10), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.Column('updated_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('business_type', name=op.f('pk_retention_rule'))
    )
    op.create_table('destruction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('process_instance_id', sa.Integer(), nullable=True),
    sa.Column('approved_form_ids', sa.JSON(), nullable=True),
    sa.Column('approved_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('executed_by', sa.String(length=100), nullable=True),
    sa.Column('executed_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('supervisors', sa.JSON(), nullable=False),
    sa.Column('paper', sa.JSON(), nullable=False),
    sa.Column('key_backups_expire_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('register_sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_destruction_department_id_department')),
    sa.ForeignKeyConstraint(['process_instance_id'], ['process_instance.id'], name=op.f('fk_destruction_process_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_destruction'))
    )
    with op.batch_alter_table('destruction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_destruction_status'), ['status'], unique=False)

    op.create_table('destruction_step',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('destruction_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=40), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=False),
    sa.Column('decided_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['destruction_id'], ['destruction.id'], name=op.f('fk_destruction_step_destruction_id_destruction')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_destruction_step'))
    )
    with op.batch_alter_table('destruction_step', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_destruction_step_destruction_id'), ['destruction_id'], unique=False)

    op.create_table('destruction_hold',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=True),
    sa.Column('volume_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('placed_by', sa.String(length=100), nullable=False),
    sa.Column('placed_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('released_by', sa.String(length=100), nullable=True),
    sa.Column('released_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('release_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['form_id'], ['form.id'], name=op.f('fk_destruction_hold_form_id_form')),
    sa.ForeignKeyConstraint(['volume_id'], ['archive_volume.id'], name=op.f('fk_destruction_hold_volume_id_archive_volume')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_destruction_hold'))
    )
    with op.batch_alter_table('destruction_hold', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_destruction_hold_form_id'), ['form_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_destruction_hold_volume_id'), ['volume_id'], unique=False)

    op.create_table('destruction_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('destruction_id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('archival_code', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('business_type', sa.String(length=100), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('retention', sa.String(length=10), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=False),
    sa.Column('volume_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_destruction_item_department_id_department')),
    sa.ForeignKeyConstraint(['destruction_id'], ['destruction.id'], name=op.f('fk_destruction_item_destruction_id_destruction')),
    sa.ForeignKeyConstraint(['form_id'], ['form.id'], name=op.f('fk_destruction_item_form_id_form')),
    sa.ForeignKeyConstraint(['volume_id'], ['archive_volume.id'], name=op.f('fk_destruction_item_volume_id_archive_volume')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_destruction_item'))
    )
    with op.batch_alter_table('destruction_item', schema=None) as batch_op:
        batch_op.create_index('ix_destruction_item_batch', ['destruction_id', 'form_id'], unique=True)
        batch_op.create_index(batch_op.f('ix_destruction_item_form_id'), ['form_id'], unique=False)

    op.create_table('form_tombstone',
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('archival_code', sa.String(length=80), nullable=False),
    sa.Column('business_type', sa.String(length=100), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('destruction_id', sa.Integer(), nullable=False),
    sa.Column('destroyed_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['destruction_id'], ['destruction.id'], name=op.f('fk_form_tombstone_destruction_id_destruction')),
    sa.ForeignKeyConstraint(['form_id'], ['form.id'], name=op.f('fk_form_tombstone_form_id_form')),
    sa.PrimaryKeyConstraint('form_id', name=op.f('pk_form_tombstone'))
    )


def downgrade() -> None:
    op.drop_table('form_tombstone')
    with op.batch_alter_table('destruction_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_destruction_item_form_id'))
        batch_op.drop_index('ix_destruction_item_batch')

    op.drop_table('destruction_item')
    with op.batch_alter_table('destruction_hold', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_destruction_hold_volume_id'))
        batch_op.drop_index(batch_op.f('ix_destruction_hold_form_id'))

    op.drop_table('destruction_hold')
    with op.batch_alter_table('destruction_step', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_destruction_step_destruction_id'))

    op.drop_table('destruction_step')
    with op.batch_alter_table('destruction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_destruction_status'))

    op.drop_table('destruction')
    op.drop_table('retention_rule')

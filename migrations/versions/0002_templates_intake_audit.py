"""templates, intake and audit: template approval records, encrypted sensitive values, corrections, audit chain

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 20:24:18.355962
"""
from alembic import op
import sqlalchemy as sa
import engine.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('object_type', sa.String(length=50), nullable=False),
    sa.Column('object_id', sa.String(length=100), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_event_seq'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('template_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=100), nullable=False),
    sa.Column('decided_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['template_version.id'], name=op.f('fk_template_review_version_id_template_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_template_review'))
    )
    with op.batch_alter_table('template_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_template_review_version_id'), ['version_id'], unique=False)

    op.create_table('correction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=50), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('corrected_by', sa.String(length=100), nullable=False),
    sa.Column('corrected_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('signature', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['form_id'], ['form.id'], name=op.f('fk_correction_form_id_form')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_correction')),
    sa.UniqueConstraint('form_id', 'seq', name=op.f('uq_correction_form_id'))
    )
    with op.batch_alter_table('correction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_correction_form_id'), ['form_id'], unique=False)

    op.create_table('sensitive_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=50), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('ciphertext', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['form_id'], ['form.id'], name=op.f('fk_sensitive_value_form_id_form')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sensitive_value')),
    sa.UniqueConstraint('form_id', 'field', 'seq', name=op.f('uq_sensitive_value_form_id'))
    )
    with op.batch_alter_table('sensitive_value', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sensitive_value_form_id'), ['form_id'], unique=False)

    with op.batch_alter_table('form', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wrapped_key', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))

    with op.batch_alter_table('template_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submitted_at', engine.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('process_instance_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_template_version_process_instance_id_process_instance'), 'process_instance', ['process_instance_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('template_version', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_template_version_process_instance_id_process_instance'), type_='foreignkey')
        batch_op.drop_column('process_instance_id')
        batch_op.drop_column('note')
        batch_op.drop_column('submitted_at')

    with op.batch_alter_table('form', schema=None) as batch_op:
        batch_op.drop_column('key_id')
        batch_op.drop_column('wrapped_key')

    with op.batch_alter_table('sensitive_value', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sensitive_value_form_id'))

    op.drop_table('sensitive_value')
    with op.batch_alter_table('correction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_correction_form_id'))

    op.drop_table('correction')
    with op.batch_alter_table('template_review', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_template_review_version_id'))

    op.drop_table('template_review')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))
        batch_op.drop_index(batch_op.f('ix_audit_event_actor'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))

    op.drop_table('audit_event')
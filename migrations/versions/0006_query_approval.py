"""query approval: applications, grants, access log, external requests

Revision ID: i15_query_approval
Revises: 0005
Create Date: 2026-11-28 18:00:00
"""
from alembic import op
import sqlalchemy as sa
import engine.db


revision = 'i15_query_approval'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('query_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('applicant', sa.String(length=100), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('form_ids', sa.JSON(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=True),
    sa.Column('copy', sa.Boolean(), nullable=False),
    sa.Column('special', sa.Boolean(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('process_instance_id', sa.Integer(), nullable=True),
    sa.Column('authority', sa.String(length=200), nullable=True),
    sa.Column('legal_basis', sa.Text(), nullable=True),
    sa.Column('document_number', sa.String(length=100), nullable=True),
    sa.Column('due_date', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('wrapped_key', sa.Text(), nullable=True),
    sa.Column('key_id', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_query_request_department_id_department')),
    sa.ForeignKeyConstraint(['process_instance_id'], ['process_instance.id'], name=op.f('fk_query_request_process_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_query_request')),
    sa.UniqueConstraint('number', name=op.f('uq_query_request_number'))
    )
    with op.batch_alter_table('query_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_query_request_applicant'), ['applicant'], unique=False)
        batch_op.create_index(batch_op.f('ix_query_request_status'), ['status'], unique=False)

    op.create_table('access_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('grantee', sa.String(length=100), nullable=False),
    sa.Column('form_ids', sa.JSON(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('copy', sa.Boolean(), nullable=False),
    sa.Column('starts_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['query_request.id'], name=op.f('fk_access_grant_request_id_query_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_grant')),
    sa.UniqueConstraint('request_id', name=op.f('uq_access_grant_request_id'))
    )
    op.create_table('disclosure_handover',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('package_sha256', sa.String(length=64), nullable=False),
    sa.Column('received_by', sa.String(length=100), nullable=False),
    sa.Column('handed_by', sa.String(length=100), nullable=False),
    sa.Column('handed_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['query_request.id'], name=op.f('fk_disclosure_handover_request_id_query_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disclosure_handover'))
    )
    with op.batch_alter_table('disclosure_handover', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disclosure_handover_request_id'), ['request_id'], unique=False)

    op.create_table('query_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=40), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=False),
    sa.Column('decided_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['query_request.id'], name=op.f('fk_query_decision_request_id_query_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_query_decision'))
    )
    with op.batch_alter_table('query_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_query_decision_request_id'), ['request_id'], unique=False)

    op.create_table('query_official',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('id_number_masked', sa.String(length=60), nullable=False),
    sa.Column('id_number_sealed', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['query_request.id'], name=op.f('fk_query_official_request_id_query_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_query_official'))
    )
    with op.batch_alter_table('query_official', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_query_official_request_id'), ['request_id'], unique=False)

    op.create_table('access_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('viewer', sa.String(length=100), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('viewed_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['form_id'], ['form.id'], name=op.f('fk_access_log_form_id_form')),
    sa.ForeignKeyConstraint(['grant_id'], ['access_grant.id'], name=op.f('fk_access_log_grant_id_access_grant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log'))
    )
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_log_grant_id'), ['grant_id'], unique=False)

    op.create_table('granted_form',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('grantee', sa.String(length=100), nullable=False),
    sa.Column('expires_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['form_id'], ['form.id'], name=op.f('fk_granted_form_form_id_form')),
    sa.ForeignKeyConstraint(['grant_id'], ['access_grant.id'], name=op.f('fk_granted_form_grant_id_access_grant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_granted_form'))
    )
    with op.batch_alter_table('granted_form', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_granted_form_grant_id'), ['grant_id'], unique=False)
        batch_op.create_index('ix_granted_form_lookup', ['grantee', 'form_id', 'expires_at'], unique=False)


    op.create_table('query_scan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=100), nullable=False),
    sa.Column('uploaded_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['query_request.id'], name=op.f('fk_query_scan_request_id_query_request')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_query_scan'))
    )
    with op.batch_alter_table('query_scan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_query_scan_request_id'), ['request_id'], unique=False)

def downgrade() -> None:
    with op.batch_alter_table('query_scan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_query_scan_request_id'))
    op.drop_table('query_scan')
    with op.batch_alter_table('granted_form', schema=None) as batch_op:
        batch_op.drop_index('ix_granted_form_lookup')
        batch_op.drop_index(batch_op.f('ix_granted_form_grant_id'))

    op.drop_table('granted_form')
    with op.batch_alter_table('access_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_log_grant_id'))

    op.drop_table('access_log')
    with op.batch_alter_table('query_official', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_query_official_request_id'))

    op.drop_table('query_official')
    with op.batch_alter_table('query_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_query_decision_request_id'))

    op.drop_table('query_decision')
    with op.batch_alter_table('disclosure_handover', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disclosure_handover_request_id'))

    op.drop_table('disclosure_handover')
    op.drop_table('access_grant')
    with op.batch_alter_table('query_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_query_request_status'))
        batch_op.drop_index(batch_op.f('ix_query_request_applicant'))

    op.drop_table('query_request')

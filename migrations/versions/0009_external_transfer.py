"""external transfer: requests, sealed snapshots, receipt links and receipts

Revision ID: i13_external_transfer
Revises: i14_archive
Create Date: 2026-11-28 17:35:47.845637
"""
from alembic import op
import sqlalchemy as sa
import engine.db


revision = 'i13_external_transfer'
down_revision = 'i14_archive'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('external_transfer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('form_number', sa.String(length=40), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('started_by', sa.String(length=100), nullable=False),
    sa.Column('started_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recipient_unit', sa.String(length=200), nullable=False),
    sa.Column('recipient_name', sa.String(length=100), nullable=False),
    sa.Column('recipient_contact', sa.String(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=True),
    sa.Column('full_fields', sa.JSON(), nullable=False),
    sa.Column('full_reason', sa.Text(), nullable=True),
    sa.Column('receipt_days', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('checked_by', sa.String(length=100), nullable=True),
    sa.Column('approved_by', sa.String(length=100), nullable=True),
    sa.Column('returned_comment', sa.Text(), nullable=True),
    sa.Column('sent_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('snapshot_sha256', sa.String(length=64), nullable=True),
    sa.Column('wrapped_key', sa.Text(), nullable=True),
    sa.Column('key_id', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['form_id'], ['form.id'], name=op.f('fk_external_transfer_form_id_form')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_external_transfer_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_transfer'))
    )
    with op.batch_alter_table('external_transfer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_transfer_form_id'), ['form_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_external_transfer_snapshot_sha256'), ['snapshot_sha256'], unique=False)

    op.create_table('external_receipt_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    sa.Column('issued_by', sa.String(length=100), nullable=False),
    sa.Column('issued_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['transfer_id'], ['external_transfer.id'], name=op.f('fk_external_receipt_link_transfer_id_external_transfer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_receipt_link')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_external_receipt_link_token_sha256'))
    )
    with op.batch_alter_table('external_receipt_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_receipt_link_transfer_id'), ['transfer_id'], unique=False)

    op.create_table('external_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('sealed_sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['transfer_id'], ['external_transfer.id'], name=op.f('fk_external_snapshot_transfer_id_external_transfer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_snapshot')),
    sa.UniqueConstraint('transfer_id', name=op.f('uq_external_snapshot_transfer_id'))
    )
    with op.batch_alter_table('external_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_snapshot_sha256'), ['sha256'], unique=False)

    op.create_table('external_receipt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('snapshot_sha256', sa.String(length=64), nullable=False),
    sa.Column('signer_name', sa.String(length=100), nullable=True),
    sa.Column('signer_position', sa.String(length=100), nullable=True),
    sa.Column('signer_unit', sa.String(length=200), nullable=True),
    sa.Column('client_address', sa.String(length=64), nullable=True),
    sa.Column('link_id', sa.Integer(), nullable=True),
    sa.Column('signed_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=True),
    sa.Column('scan_filename', sa.String(length=200), nullable=True),
    sa.Column('scan_content_type', sa.String(length=100), nullable=True),
    sa.Column('scan_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('scan_sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['link_id'], ['external_receipt_link.id'], name=op.f('fk_external_receipt_link_id_external_receipt_link')),
    sa.ForeignKeyConstraint(['transfer_id'], ['external_transfer.id'], name=op.f('fk_external_receipt_transfer_id_external_transfer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_receipt')),
    sa.UniqueConstraint('transfer_id', name=op.f('uq_external_receipt_transfer_id'))
    )


def downgrade() -> None:
    op.drop_table('external_receipt')
    with op.batch_alter_table('external_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_snapshot_sha256'))

    op.drop_table('external_snapshot')
    with op.batch_alter_table('external_receipt_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_receipt_link_transfer_id'))

    op.drop_table('external_receipt_link')
    with op.batch_alter_table('external_transfer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_transfer_snapshot_sha256'))
        batch_op.drop_index(batch_op.f('ix_external_transfer_form_id'))

    op.drop_table('external_transfer')

"""deployment requests

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 20:47:38.986896
"""
from alembic import op
import sqlalchemy as sa
import engine.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deployment_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_key', sa.String(length=100), nullable=False),
    sa.Column('xml', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('requested_by', sa.String(length=100), nullable=False),
    sa.Column('requested_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decided_by', sa.String(length=100), nullable=True),
    sa.Column('decided_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('definition_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['definition_id'], ['process_definition.id'], name=op.f('fk_deployment_request_definition_id_process_definition')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_deployment_request_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployment_request'))
    )
    with op.batch_alter_table('deployment_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployment_request_process_key'), ['process_key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('deployment_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployment_request_process_key'))

    op.drop_table('deployment_request')

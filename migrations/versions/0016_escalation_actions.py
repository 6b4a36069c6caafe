"""escalation actions: 催办 / 改派 / 接办 on the escalation items of every stage

Revision ID: esc_actions
Revises: i12_note_calendar
"""
from alembic import op
import sqlalchemy as sa
import engine.db


revision = 'esc_actions'
down_revision = 'i12_note_calendar'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('escalation_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('escalation_item_id', sa.String(length=36), nullable=False),
    sa.Column('step_item_id', sa.String(length=36), nullable=False),
    sa.Column('process_key', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('target', sa.String(length=100), nullable=True),
    sa.Column('at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['escalation_item_id'], ['work_item.id'], name=op.f('fk_escalation_action_escalation_item_id_work_item')),
    sa.ForeignKeyConstraint(['step_item_id'], ['work_item.id'], name=op.f('fk_escalation_action_step_item_id_work_item')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_escalation_action'))
    )
    with op.batch_alter_table('escalation_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escalation_action_escalation_item_id'), ['escalation_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_escalation_action_step_item_id'), ['step_item_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('escalation_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escalation_action_step_item_id'))
        batch_op.drop_index(batch_op.f('ix_escalation_action_escalation_item_id'))
    op.drop_table('escalation_action')

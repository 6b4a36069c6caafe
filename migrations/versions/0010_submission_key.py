"""forms: a submission key per filling, so a repeated submission finds the form it made

Revision ID: i12_submission_key
Revises: i13_external_transfer
"""
from alembic import op
import sqlalchemy as sa


revision = 'i12_submission_key'
down_revision = 'i13_external_transfer'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('form', schema=None) as batch_op:
        batch_op.add_column(sa.Column('submission_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_form_created_by'), ['created_by', 'submission_key'])


def downgrade() -> None:
    with op.batch_alter_table('form', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_form_created_by'), type_='unique')
        batch_op.drop_column('submission_key')

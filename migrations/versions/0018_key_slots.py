"""key slots: a new form takes a data key made ahead (`form.key_slot`) instead of writing one to the key store

Revision ID: key_slots
Revises: i16_sealed_values

Forms from before keep their keys under their ids in the key store; the key store makes its own `key_slot` table.
"""
from alembic import op
import sqlalchemy as sa


revision = 'key_slots'
down_revision = 'i16_sealed_values'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('form', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_slot', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('form', schema=None) as batch_op:
        batch_op.drop_column('key_slot')

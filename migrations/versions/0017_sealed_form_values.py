"""sealed form values: every value of a form under its data key, a blind search index, sealed attachment names

Revision ID: i16_sealed_values
Revises: esc_actions

The values themselves are sealed by `guichet migrate` after this revision (it needs the master key, which the
database never holds): personal.seal_existing.
"""
from alembic import op
import sqlalchemy as sa


revision = 'i16_sealed_values'
down_revision = 'esc_actions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('form', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_data', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('search', sa.Text(), nullable=True))
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.alter_column('filename', existing_type=sa.String(length=200), type_=sa.Text(),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('attachment', schema=None) as batch_op:
        batch_op.alter_column('filename', existing_type=sa.Text(), type_=sa.String(length=200),
                              existing_nullable=False)
    with op.batch_alter_table('form', schema=None) as batch_op:
        batch_op.drop_column('search')
        batch_op.drop_column('sealed_data')

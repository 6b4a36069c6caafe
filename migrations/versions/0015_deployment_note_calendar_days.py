"""deployment requests keep their change note and trial run; the office calendar's listed days

Revision ID: i12_note_calendar
Revises: i16_retention_scan
"""
from alembic import op
import sqlalchemy as sa
import engine.db


revision = 'i12_note_calendar'
down_revision = 'i16_retention_scan'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('deployment_request', sa.Column('note', sa.Text(), nullable=True))
    op.add_column('deployment_request', sa.Column('trial', sa.JSON(), nullable=True))
    op.create_table('calendar_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('changed_by', sa.String(length=100), nullable=False),
    sa.Column('changed_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )


def downgrade() -> None:
    op.drop_table('calendar_day')
    with op.batch_alter_table('deployment_request') as batch:
        batch.drop_column('trial')
        batch.drop_column('note')

"""retention scan on an index: archive_filing.retention_ends_on (the last day a filed form is kept)

Backfilled from each filing's retention and year (31 December of year + the retention's years; permanent and
unknown codes stay NULL, never proposed).

Revision ID: i16_retention_scan
Revises: i19_incidents
"""
import re
from datetime import date

from alembic import op
import sqlalchemy as sa


revision = 'i16_retention_scan'
down_revision = 'i19_incidents'
branch_labels = None
depends_on = None

_CODE = re.compile(r"^D(\d{1,3})$")


def upgrade() -> None:
    with op.batch_alter_table('archive_filing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retention_ends_on', sa.Date(), nullable=True))
    filing = sa.table('archive_filing', sa.column('retention', sa.String), sa.column('year', sa.Integer),
                      sa.column('retention_ends_on', sa.Date))
    bind = op.get_bind()
    for code, year in bind.execute(sa.select(filing.c.retention, filing.c.year).distinct()).all():
        match = _CODE.match(code or "")
        if match:
            bind.execute(filing.update().where(filing.c.retention == code, filing.c.year == year)
                         .values(retention_ends_on=date(year + int(match.group(1)), 12, 31)))
    with op.batch_alter_table('archive_filing', schema=None) as batch_op:
        batch_op.create_index('ix_archive_filing_retention_ends_on', ['retention_ends_on', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('archive_filing', schema=None) as batch_op:
        batch_op.drop_index('ix_archive_filing_retention_ends_on')
        batch_op.drop_column('retention_ends_on')

"""login sessions, login throttle, user auth epoch

Revision ID: i18_login_security
Revises: i12_submission_key
Create Date: 2026-11-28 17:45:00
"""
from alembic import op
import sqlalchemy as sa
import engine.db


revision = 'i18_login_security'
down_revision = 'i12_submission_key'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_session',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seen_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=30), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_login_session_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_session'))
    )
    op.create_index(op.f('ix_login_session_user_id'), 'login_session', ['user_id'], unique=False)
    op.create_table('login_throttle',
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', engine.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', engine.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('username', name=op.f('pk_login_throttle'))
    )
    with op.batch_alter_table('app_user') as batch:
        batch.add_column(sa.Column('auth_epoch', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('app_user') as batch:
        batch.drop_column('auth_epoch')
    op.drop_table('login_throttle')
    op.drop_index(op.f('ix_login_session_user_id'), table_name='login_session')
    op.drop_table('login_session')

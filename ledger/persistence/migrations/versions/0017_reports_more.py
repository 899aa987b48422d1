"""Reporting additions: forecast known changes, the intercompany flag of the account mapping.

Revision ID: 0017_reports_more
Revises: 0016_spot_runs
Create Date: 2026-11-28
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_reports_more'
down_revision = '0016_spot_runs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_known_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=False),
    sa.Column('from_period', sa.String(length=7), nullable=False),
    sa.Column('to_period', sa.String(length=7), nullable=True),
    sa.Column('pool', sa.String(length=64), nullable=False),
    sa.Column('service', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('amount', sa.String(length=64), nullable=True),
    sa.Column('percent', sa.String(length=64), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_known_changes')),
    sa.UniqueConstraint('cost_centre', 'from_period', 'pool', 'service', 'reason',
                        name=op.f('uq_report_known_changes_cost_centre')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('report_known_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_known_changes_cost_centre'), ['cost_centre'],
                              unique=False)
    op.create_table('account_reporting',
    sa.Column('account', sa.String(length=40), nullable=False),
    sa.Column('intercompany', sa.Boolean(), nullable=False),
    sa.Column('counterparty', sa.String(length=40), nullable=True),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('account', name=op.f('pk_account_reporting'))
    )


def downgrade() -> None:
    op.drop_table('account_reporting')
    with op.batch_alter_table('report_known_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_known_changes_cost_centre'))
    op.drop_table('report_known_changes')

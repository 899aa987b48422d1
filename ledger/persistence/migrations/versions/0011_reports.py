"""Reports: disputes, forecasts, benchmarks.

Revision ID: 0011_reports
Revises: 0010_governance
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_reports'
down_revision = '0010_governance'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=False),
    sa.Column('pool', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=128), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('raised_by', sa.String(length=200), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by', sa.String(length=200), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('correction', sa.String(length=64), nullable=True),
    sa.Column('journal_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_disputes')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('report_disputes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_disputes_period'), ['period'], unique=False)
    op.create_table('report_forecasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=32), nullable=False),
    sa.Column('made_in', sa.String(length=7), nullable=False),
    sa.Column('made_by', sa.String(length=200), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_forecasts')),
    sa.UniqueConstraint('cost_centre', 'period', 'currency', 'made_in',
                        name=op.f('uq_report_forecasts_cost_centre')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('report_forecasts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_forecasts_period'), ['period'], unique=False)
    op.create_table('report_benchmarks',
    sa.Column('kpi', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('source', sa.Text(), nullable=True),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kpi', name=op.f('pk_report_benchmarks'))
    )


def downgrade() -> None:
    op.drop_table('report_benchmarks')
    with op.batch_alter_table('report_forecasts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_forecasts_period'))
    op.drop_table('report_forecasts')
    with op.batch_alter_table('report_disputes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_disputes_period'))
    op.drop_table('report_disputes')

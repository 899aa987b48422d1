"""Scheduled job runs: the history, and the claim that makes each fire run once.

Revision ID: 0005_job_runs
Revises: 0004_audit_chain
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_job_runs'
down_revision = '0004_audit_chain'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=60), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('job', 'scheduled_for', 'attempt', name=op.f('uq_job_runs_job')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_runs_job'), ['job'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_runs_outcome'), ['outcome'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_runs_outcome'))
        batch_op.drop_index(batch_op.f('ix_job_runs_job'))

    op.drop_table('job_runs')

"""Findings (anomalies, missing tags): their review and their tickets.

Revision ID: 0006_findings
Revises: 0005_job_runs
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_findings'
down_revision = '0005_job_runs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=400), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=True),
    sa.Column('owner_email', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by', sa.String(length=200), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('ticket_system', sa.String(length=20), nullable=True),
    sa.Column('ticket_id', sa.String(length=60), nullable=True),
    sa.Column('ticket_url', sa.String(length=400), nullable=True),
    sa.Column('ticket_evidence', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_findings')),
    sa.UniqueConstraint('key', name=op.f('uq_findings_key')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_findings_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_findings_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_findings_status'))
        batch_op.drop_index(batch_op.f('ix_findings_kind'))

    op.drop_table('findings')

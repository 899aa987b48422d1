"""Runs of workloads on spot and burstable resources.

Revision ID: 0016_spot_runs
Revises: 0015_policy
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0016_spot_runs'
down_revision = '0015_policy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('spot_run_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=1000), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_run_imports')),
    sa.UniqueConstraint('sha256', name=op.f('uq_spot_run_imports_sha256')),
    sqlite_autoincrement=True
    )
    op.create_table('spot_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.String(length=500), nullable=False),
    sa.Column('workload', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('interrupted', sa.Boolean(), nullable=False),
    sa.Column('cpu_credits', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['spot_run_imports.id'],
                            name=op.f('fk_spot_runs_import_id_spot_run_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_spot_runs')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('spot_runs', schema=None) as batch_op:
        batch_op.create_index('ix_spot_runs_resource_started', ['resource_id', 'started_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_spot_runs_import_id'), ['import_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('spot_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_spot_runs_import_id'))
        batch_op.drop_index('ix_spot_runs_resource_started')
    op.drop_table('spot_runs')
    op.drop_table('spot_run_imports')

"""Cloud-native: data-transfer aggregates from flow logs.

Revision ID: 0014_flow_logs
Revises: 0013_kubernetes
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = '0014_flow_logs'
down_revision = '0013_kubernetes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flow_log_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file', sa.String(length=500), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('records', sa.BigInteger(), nullable=False),
    sa.Column('counted', sa.BigInteger(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_log_imports')),
    sa.UniqueConstraint('sha256', name=op.f('uq_flow_log_imports_sha256')),
    sqlite_autoincrement=True
    )
    op.create_table('flow_log_aggregates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('resource_id', sa.String(length=400), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=True),
    sa.Column('source_zone', sa.String(length=60), nullable=True),
    sa.Column('source_region', sa.String(length=60), nullable=True),
    sa.Column('destination', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=True),
    sa.Column('bytes', sa.BigInteger(), nullable=False),
    sa.Column('records', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['flow_log_imports.id'],
                            name=op.f('fk_flow_log_aggregates_import_id_flow_log_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_log_aggregates')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('flow_log_aggregates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flow_log_aggregates_import_id'), ['import_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_flow_log_aggregates_period'), ['period'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('flow_log_aggregates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flow_log_aggregates_period'))
        batch_op.drop_index(batch_op.f('ix_flow_log_aggregates_import_id'))
    op.drop_table('flow_log_aggregates')
    op.drop_table('flow_log_imports')

"""Cloud-native: Kubernetes usage, serverless and spot usage.

Revision ID: 0013_kubernetes
Revises: 0012_catalogue
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_kubernetes'
down_revision = '0012_catalogue'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('k8s_usage_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=1000), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=100), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_k8s_usage_imports')),
    sa.UniqueConstraint('sha256', name=op.f('uq_k8s_usage_imports_sha256')),
    sqlite_autoincrement=True
    )
    op.create_table('k8s_usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('cluster', sa.String(length=200), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('namespace', sa.String(length=253), nullable=False),
    sa.Column('controller', sa.String(length=253), nullable=False),
    sa.Column('pod', sa.String(length=253), nullable=False),
    sa.Column('labels', sa.JSON(), nullable=False),
    sa.Column('cpu_request', sa.String(length=64), nullable=False),
    sa.Column('cpu_usage', sa.String(length=64), nullable=False),
    sa.Column('ram_request', sa.String(length=64), nullable=False),
    sa.Column('ram_usage', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['k8s_usage_imports.id'],
                            name=op.f('fk_k8s_usage_import_id_k8s_usage_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_k8s_usage')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('k8s_usage', schema=None) as batch_op:
        batch_op.create_index('ix_k8s_usage_cluster_period', ['cluster', 'period'], unique=False)
        batch_op.create_index(batch_op.f('ix_k8s_usage_import_id'), ['import_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('k8s_usage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_k8s_usage_import_id'))
        batch_op.drop_index('ix_k8s_usage_cluster_period')
    op.drop_table('k8s_usage')
    op.drop_table('k8s_usage_imports')

"""Licences and data quality: entitlements, seat assignments, quality rules.

Revision ID: 0009_licences
Revises: 0008_inventory
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_licences'
down_revision = '0008_inventory'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('licence_entitlements',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('publisher', sa.String(length=200), nullable=True),
    sa.Column('product', sa.String(length=300), nullable=False),
    sa.Column('metric', sa.String(length=30), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_cost', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('cost_basis', sa.String(length=20), nullable=False),
    sa.Column('term_start', sa.Date(), nullable=True),
    sa.Column('term_end', sa.Date(), nullable=True),
    sa.Column('version_from', sa.String(length=60), nullable=True),
    sa.Column('version_to', sa.String(length=60), nullable=True),
    sa.Column('source', sa.String(length=400), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_licence_entitlements'))
    )
    op.create_table('licence_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entitlement_key', sa.String(length=200), nullable=False),
    sa.Column('assignee_kind', sa.String(length=10), nullable=False),
    sa.Column('assignee', sa.String(length=200), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=True),
    sa.Column('since', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['cost_centre'], ['cost_centres.code'],
                            name=op.f('fk_licence_assignments_cost_centre_cost_centres')),
    sa.ForeignKeyConstraint(['entitlement_key'], ['licence_entitlements.key'],
                            name=op.f('fk_licence_assignments_entitlement_key_licence_entitlements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licence_assignments')),
    sa.UniqueConstraint('entitlement_key', 'assignee_kind', 'assignee',
                        name=op.f('uq_licence_assignments_entitlement_key')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('licence_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licence_assignments_entitlement_key'),
                              ['entitlement_key'], unique=False)
    op.create_table('software_installations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.String(length=200), nullable=False),
    sa.Column('product', sa.String(length=300), nullable=False),
    sa.Column('publisher', sa.String(length=200), nullable=True),
    sa.Column('version', sa.String(length=100), nullable=True),
    sa.Column('hostname', sa.String(length=255), nullable=True),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('asset_tag', sa.String(length=100), nullable=True),
    sa.Column('cores', sa.Integer(), nullable=True),
    sa.Column('processors', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_software_installations')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('software_installations', schema=None) as batch_op:
        batch_op.create_index('ix_software_installations_device', ['source', 'record_id'],
                              unique=False)
    op.create_table('quality_rule_sets',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_quality_rule_sets'))
    )
    op.create_table('asset_mappings',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('defaults', sa.JSON(), nullable=False),
    sa.Column('sheet', sa.String(length=100), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_asset_mappings'))
    )


def downgrade() -> None:
    op.drop_table('asset_mappings')
    op.drop_table('quality_rule_sets')
    with op.batch_alter_table('software_installations', schema=None) as batch_op:
        batch_op.drop_index('ix_software_installations_device')
    op.drop_table('software_installations')
    with op.batch_alter_table('licence_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_licence_assignments_entitlement_key'))
    op.drop_table('licence_assignments')
    op.drop_table('licence_entitlements')

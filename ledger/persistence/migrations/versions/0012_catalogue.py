"""The service catalogue (services, subscriptions) and savings initiatives.

Revision ID: 0012_catalogue
Revises: 0011_reports
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_catalogue'
down_revision = '0011_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('catalogue_services',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('owner', sa.String(length=40), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('driver', sa.String(length=64), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('tiers', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_catalogue_services'))
    )
    op.create_table('catalogue_subscriptions',
    sa.Column('service', sa.String(length=40), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=False),
    sa.Column('tier', sa.String(length=60), nullable=False),
    sa.Column('quantity', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('service', 'cost_centre', name=op.f('pk_catalogue_subscriptions'))
    )
    op.create_table('savings_initiatives',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('service', sa.String(length=200), nullable=True),
    sa.Column('provider', sa.String(length=100), nullable=True),
    sa.Column('cost_centre', sa.String(length=40), nullable=True),
    sa.Column('effective_period', sa.String(length=7), nullable=False),
    sa.Column('baseline_months', sa.Integer(), nullable=False),
    sa.Column('expected_monthly', sa.String(length=64), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_savings_initiatives'))
    )
    with op.batch_alter_table('savings_initiatives', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_savings_initiatives_kind'), ['kind'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('savings_initiatives', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_savings_initiatives_kind'))
    op.drop_table('savings_initiatives')
    op.drop_table('catalogue_subscriptions')
    op.drop_table('catalogue_services')

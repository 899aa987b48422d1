"""Allocation policy: scope, ownership, granularity, charging modes, reviews.

Revision ID: 0015_policy
Revises: 0014_flow_logs
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_policy'
down_revision = '0014_flow_logs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('policy_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('parent_version', sa.Integer(), nullable=True),
    sa.Column('author', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('activated_by', sa.String(length=200), nullable=True),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_policy_versions'))
    )
    op.create_table('policy_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=False),
    sa.Column('reviewer', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('checklist', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_reviews')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_policy_reviews_subject'), 'policy_reviews', ['subject'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_policy_reviews_subject'), table_name='policy_reviews')
    op.drop_table('policy_reviews')
    op.drop_table('policy_versions')

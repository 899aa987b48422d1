"""Allocation policy: scope, ownership, granularity, charging modes, reviews.

Revision ID: 0015_policy
Revises: 0014_flow_logs
Create Date: 2026-11-27
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0015_policy'
down_revision = '0014_flow_logs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

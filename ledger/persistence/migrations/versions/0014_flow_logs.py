"""Cloud-native: data-transfer aggregates from flow logs.

Revision ID: 0014_flow_logs
Revises: 0013_kubernetes
Create Date: 2026-11-27
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0014_flow_logs'
down_revision = '0013_kubernetes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

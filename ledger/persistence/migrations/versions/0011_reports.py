"""Reports: disputes, forecasts, benchmarks.

Revision ID: 0011_reports
Revises: 0010_governance
Create Date: 2026-11-27
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0011_reports'
down_revision = '0010_governance'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

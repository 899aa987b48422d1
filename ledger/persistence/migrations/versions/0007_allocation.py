"""Allocation: rule-set versions, runs, lines and lineage.

Revision ID: 0007_allocation
Revises: 0006_findings
Create Date: 2026-11-27
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0007_allocation'
down_revision = '0006_findings'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

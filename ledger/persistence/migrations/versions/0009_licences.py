"""Licences and data quality: entitlements, seat assignments, quality rules.

Revision ID: 0009_licences
Revises: 0008_inventory
Create Date: 2026-11-27
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0009_licences'
down_revision = '0008_inventory'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

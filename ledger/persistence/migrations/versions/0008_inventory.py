"""Inventory: register identifiers, discovery records, reconciliation decisions.

Revision ID: 0008_inventory
Revises: 0007_allocation
Create Date: 2026-11-27
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0008_inventory'
down_revision = '0007_allocation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

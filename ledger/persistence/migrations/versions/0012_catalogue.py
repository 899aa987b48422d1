"""Savings, the service catalogue, account mapping, allocation running cost.

Revision ID: 0012_catalogue
Revises: 0011_reports
Create Date: 2026-11-27
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0012_catalogue'
down_revision = '0011_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

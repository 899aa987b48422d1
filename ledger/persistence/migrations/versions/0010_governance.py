"""Governance: role scopes, provisioning, budgets, exceptions, contracts.

Revision ID: 0010_governance
Revises: 0009_licences
Create Date: 2026-11-27
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0010_governance'
down_revision = '0009_licences'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

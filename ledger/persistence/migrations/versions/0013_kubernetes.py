"""Cloud-native: Kubernetes usage, serverless and spot usage.

Revision ID: 0013_kubernetes
Revises: 0012_catalogue
Create Date: 2026-11-27
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0013_kubernetes'
down_revision = '0012_catalogue'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

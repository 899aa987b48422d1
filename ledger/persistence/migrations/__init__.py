"""Alembic migrations for the Apportion schema."""

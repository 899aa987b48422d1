"""Licences and data quality: entitlements, the position, quality rules."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""

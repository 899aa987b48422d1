"""More reports: methodology, savings, accounting alignment, the service catalogue."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""

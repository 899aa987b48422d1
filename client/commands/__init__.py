"""The ``apportion`` subcommands, one module per domain.

Each module defines ``register(cli)`` that adds its commands or groups to the top-level group;
:func:`register_all` calls them in a fixed order. Shared plumbing is in :mod:`.common`.
"""

from __future__ import annotations

import importlib

import click

# The groups that others extend come first: ``import`` (billing) and ``scheduler``.
MODULES = ("database", "reference", "periods", "billing", "depreciation", "assets",
           "journals", "erp", "anomalies", "scheduler", "audit",
           "allocation", "inventory", "licences", "governance", "gui", "automation",
           "reports", "reports_more", "cloud", "flow_logs", "policy")


def register_all(cli: click.Group) -> None:
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        module.register(cli)

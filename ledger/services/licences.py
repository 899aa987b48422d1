"""Licences: entitlements, installations seen by discovery, seat assignments and the position.

The discovery import (``ledger.services.inventory``) calls :func:`record_installations` with the
devices it stored, in the same unit of work, so installations follow every import.
"""

from __future__ import annotations

from collections.abc import Sequence

from ledger.discovery import DiscoveredDevice
from ledger.ports import UnitOfWork
from ledger.services.base import Changes


def record_installations(uow: UnitOfWork, *, source: str,
                         devices: Sequence[DiscoveredDevice]) -> Changes:
    """Replace the installations ``source`` reported for ``devices`` with their software lists."""
    return Changes()

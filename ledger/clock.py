"""The system clock (the :class:`ledger.ports.Clock` the application uses)."""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

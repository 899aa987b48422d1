"""Records of reports: disputes, forecasts, benchmarks.

Declared on the one :class:`~ledger.persistence.records.Base`; imported by
:mod:`ledger.persistence.schema` so that Alembic and the repositories see every table.
"""

from __future__ import annotations

from ledger.persistence.records import Base  # noqa: F401

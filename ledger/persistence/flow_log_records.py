"""Records of data-transfer aggregates from flow logs.

Declared on the one :class:`~ledger.persistence.records.Base`; imported by
:mod:`ledger.persistence.schema` so that Alembic and the repositories see every table.

Only aggregates are stored: a month of flow logs is hundreds of millions of records, its
aggregate (bytes per period, originating resource and destination) a few thousand rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.persistence.records import Base
from ledger.persistence.types import UtcDateTime


class FlowLogImportRecord(Base):
    """One imported flow-log file; its content hash makes a re-import a no-op."""

    __tablename__ = "flow_log_imports"
    __table_args__ = (UniqueConstraint("sha256"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    file: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(20))
    records: Mapped[int] = mapped_column(BigInteger)
    counted: Mapped[int] = mapped_column(BigInteger)
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    imported_by: Mapped[str] = mapped_column(String(200))


class FlowLogAggregateRecord(Base):
    """Bytes one resource sent to one destination in a period, per import."""

    __tablename__ = "flow_log_aggregates"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("flow_log_imports.id"), index=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    resource_id: Mapped[str] = mapped_column(String(400))
    owner: Mapped[str | None] = mapped_column(String(100))
    source_zone: Mapped[str | None] = mapped_column(String(60))
    source_region: Mapped[str | None] = mapped_column(String(60))
    destination: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str | None] = mapped_column(String(20))
    bytes: Mapped[int] = mapped_column(BigInteger)
    records: Mapped[int] = mapped_column(BigInteger)

"""Records of Kubernetes, serverless and spot usage.

Declared on the one :class:`~ledger.persistence.records.Base`; imported by
:mod:`ledger.persistence.schema` so that Alembic and the repositories see every table.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.persistence.records import Base
from ledger.persistence.types import ExactDecimal, UtcDateTime


class K8sUsageImportRecord(Base):
    """One imported usage file or OpenCost pull: what it was, so the same content is taken once."""

    __tablename__ = "k8s_usage_imports"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(20))
    records: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    imported_by: Mapped[str] = mapped_column(String(100))


class K8sUsageRecord(Base):
    """One workload's usage in one period (``ledger.kubernetes.UsageRecord``)."""

    __tablename__ = "k8s_usage"
    __table_args__ = (Index("ix_k8s_usage_cluster_period", "cluster", "period"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("k8s_usage_imports.id"), index=True)
    cluster: Mapped[str] = mapped_column(String(200))
    period: Mapped[str] = mapped_column(String(7))
    namespace: Mapped[str] = mapped_column(String(253))
    controller: Mapped[str] = mapped_column(String(253))
    pod: Mapped[str] = mapped_column(String(253))
    labels: Mapped[list] = mapped_column(JSON)
    cpu_request: Mapped[Decimal] = mapped_column(ExactDecimal)
    cpu_usage: Mapped[Decimal] = mapped_column(ExactDecimal)
    ram_request: Mapped[Decimal] = mapped_column(ExactDecimal)
    ram_usage: Mapped[Decimal] = mapped_column(ExactDecimal)

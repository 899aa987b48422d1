"""Records of Kubernetes, serverless and spot usage.

Declared on the one :class:`~ledger.persistence.records.Base`; imported by
:mod:`ledger.persistence.schema` so that Alembic and the repositories see every table.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
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


class SpotRunImportRecord(Base):
    """One imported spot-runs file: what it was, so the same content is taken once."""

    __tablename__ = "spot_run_imports"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(1000))
    records: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    imported_by: Mapped[str] = mapped_column(String(100))


class SpotRunRecord(Base):
    """One workload's run on a spot or burstable resource (``ledger.cloud_usage.SpotRunRecord``)."""

    __tablename__ = "spot_runs"
    __table_args__ = (Index("ix_spot_runs_resource_started", "resource_id", "started_at"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("spot_run_imports.id"), index=True)
    resource_id: Mapped[str] = mapped_column(String(500))
    workload: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    interrupted: Mapped[bool] = mapped_column(Boolean)
    cpu_credits: Mapped[Decimal] = mapped_column(ExactDecimal)

"""Records of reports: disputes, forecasts, benchmarks.

Declared on the one :class:`~ledger.persistence.records.Base`; imported by
:mod:`ledger.persistence.schema` so that Alembic and the repositories see every table.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.persistence.records import Base
from ledger.persistence.types import ExactDecimal, UtcDateTime


class DisputeRecord(Base):
    """A disputed charge line and where it went (see :mod:`ledger.reports.disputes`)."""

    __tablename__ = "report_disputes"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    run_id: Mapped[int] = mapped_column(Integer)
    cost_centre: Mapped[str] = mapped_column(String(40))
    pool: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(128))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    raised_by: Mapped[str] = mapped_column(String(200))
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    answer: Mapped[str | None] = mapped_column(Text)
    correction: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    journal_id: Mapped[int | None] = mapped_column(Integer)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ForecastRecord(Base):
    """A forecast as it was made (kept so its accuracy can be measured once the period is
    allocated); a new forecast of the same period made in the same period replaces it."""

    __tablename__ = "report_forecasts"
    __table_args__ = (UniqueConstraint("cost_centre", "period", "currency", "made_in"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    cost_centre: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(7), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    method: Mapped[str] = mapped_column(String(32))
    made_in: Mapped[str] = mapped_column(String(7))
    made_by: Mapped[str] = mapped_column(String(200))
    made_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BenchmarkRecord(Base):
    """A benchmark value of one KPI, entered or imported by a user."""

    __tablename__ = "report_benchmarks"

    kpi: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Decimal] = mapped_column(ExactDecimal)
    source: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class KnownChangeRecord(Base):
    """A known change to a cost centre's forecast (an amount or a percentage from a period on,
    optionally of one pool or service), applied on top of the seasonal baseline.

    One change per (cost centre, from period, pool, service, reason); pool and service are ""
    when the change is of the whole cost centre (so that the key holds on every database)."""

    __tablename__ = "report_known_changes"
    __table_args__ = (UniqueConstraint("cost_centre", "from_period", "pool", "service",
                                       "reason"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    cost_centre: Mapped[str] = mapped_column(String(40), index=True)
    from_period: Mapped[str] = mapped_column(String(7))
    to_period: Mapped[str | None] = mapped_column(String(7))
    pool: Mapped[str] = mapped_column(String(64), default="")
    service: Mapped[str] = mapped_column(String(40), default="")
    reason: Mapped[str] = mapped_column(String(300))
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    percent: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    currency: Mapped[str | None] = mapped_column(String(3))
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

"""Records of allocation: rule-set versions, runs, lines, lineage, drivers' revisions,
vendor invoices and the exceptions register.

Declared on the one :class:`~ledger.persistence.records.Base`; imported by
:mod:`ledger.persistence.schema` so that Alembic and the repositories see every table.

Amounts are :class:`~ledger.persistence.types.ExactDecimal` (exact text): run totals keep the
source precision (up to 18 decimals), lines are quantised to the minor unit already.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.persistence.records import Base
from ledger.persistence.types import ExactDecimal, UtcDateTime


class RuleSetVersionRecord(Base):
    """One saved version of a rule set. Its text, hash, dates and author never change; only
    ``status`` moves (draft -> active -> retired) and the activation is stamped."""

    __tablename__ = "allocation_rulesets"
    __table_args__ = (UniqueConstraint("name", "version"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    parent_version: Mapped[int | None] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    activated_by: Mapped[str | None] = mapped_column(String(200))
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AllocationRunRecord(Base):
    __tablename__ = "allocation_runs"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    ruleset_name: Mapped[str] = mapped_column(String(64))
    ruleset_version: Mapped[int] = mapped_column(Integer)
    cost_basis: Mapped[str] = mapped_column(String(20))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    conserved: Mapped[bool] = mapped_column(Boolean)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    journal_ids: Mapped[list[Any]] = mapped_column(JSON)
    exceptions: Mapped[list[Any]] = mapped_column(JSON)


class AllocationRunTotalRecord(Base):
    """Per run and currency: the exact source total and the quantised allocated and
    unallocated totals (their sum is the source total rounded to the minor unit)."""

    __tablename__ = "allocation_run_totals"

    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_runs.id"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    source_total: Mapped[Decimal] = mapped_column(ExactDecimal)
    allocated_total: Mapped[Decimal] = mapped_column(ExactDecimal)
    unallocated_total: Mapped[Decimal] = mapped_column(ExactDecimal)


class AllocationLineRecord(Base):
    __tablename__ = "allocation_lines"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_runs.id"), index=True)
    cost_centre: Mapped[str] = mapped_column(String(40))
    account: Mapped[str] = mapped_column(String(40))
    pool: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    charged: Mapped[bool] = mapped_column(Boolean)


class AllocationGapRecord(Base):
    """An unallocated amount of a run, with the reason and what to fix."""

    __tablename__ = "allocation_unallocated"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_runs.id"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
    pool: Mapped[str | None] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)


class AllocationLineageRecord(Base):
    """One input cost line of a run (a billing cost group, a charge, a manual entry) and where
    the mapping sent it: distinct keys (thousands), never the billing rows themselves."""

    __tablename__ = "allocation_lineage"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_runs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    origin: Mapped[str] = mapped_column(String(40))
    pool: Mapped[str | None] = mapped_column(String(64))
    cost_centre: Mapped[str | None] = mapped_column(String(40))
    rule: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    key: Mapped[str] = mapped_column(Text)
    rows: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)


class DriverRevisionRecord(Base):
    """Each save of a driver table (one driver name): the token of optimistic concurrency."""

    __tablename__ = "allocation_driver_revisions"

    driver: Mapped[str] = mapped_column(String(60), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    saved_by: Mapped[str] = mapped_column(String(200))
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[list[Any]] = mapped_column(JSON)


class InvoiceFileRecord(Base):
    __tablename__ = "allocation_invoice_files"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    file_name: Mapped[str] = mapped_column(String(400))
    lines: Mapped[int] = mapped_column(Integer)
    imported_by: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)


class InvoiceLineRecord(Base):
    __tablename__ = "allocation_invoice_lines"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    file_sha256: Mapped[str] = mapped_column(ForeignKey("allocation_invoice_files.sha256"),
                                             index=True)
    row: Mapped[int] = mapped_column(Integer)
    invoice_id: Mapped[str] = mapped_column(String(100), index=True)
    billing_account_id: Mapped[str] = mapped_column(String(100))
    billing_period: Mapped[str] = mapped_column(String(7))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)


class AllocationExceptionRecord(Base):
    """The exceptions register: an approved, scoped, expiring change to allocation."""

    __tablename__ = "allocation_exceptions"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(200))
    cost_centre: Mapped[str] = mapped_column(String(40))
    service: Mapped[str | None] = mapped_column(String(200))
    pool: Mapped[str | None] = mapped_column(String(64))
    period_from: Mapped[str] = mapped_column(String(7))
    period_to: Mapped[str] = mapped_column(String(7))
    expires_on: Mapped[date] = mapped_column(Date)
    share_percent: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    target_cost_centre: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)


class ManualCostRecord(Base):
    """A cost entered by hand (data-centre power, service-desk salaries) for one pool."""

    __tablename__ = "allocation_manual_costs"

    entry_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    pool: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(Text)
    cost_centre: Mapped[str | None] = mapped_column(String(40))
    saved_by: Mapped[str] = mapped_column(String(200))
    saved_at: Mapped[datetime] = mapped_column(UtcDateTime)

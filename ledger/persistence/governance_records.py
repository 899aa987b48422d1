"""Records of governance: scopes, provisioning, budgets, exceptions, contracts.

Declared on the one :class:`~ledger.persistence.records.Base`; imported by
:mod:`ledger.persistence.schema` so that Alembic and the repositories see every table.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.persistence.records import Base
from ledger.persistence.types import ExactDecimal, UtcDateTime


class RoleScopeRecord(Base):
    """One business unit a login's role is limited to; a role without rows here is global."""

    __tablename__ = "user_role_scopes"
    __table_args__ = (UniqueConstraint("login", "role", "business_unit"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(40))
    business_unit: Mapped[str] = mapped_column(String(100))


class PeriodCloseHeadRecord(Base):
    """The audit chain's head at each close of a period (a reopened period closes again)."""

    __tablename__ = "period_close_heads"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(7), index=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_by: Mapped[str] = mapped_column(String(200))


class PostingAnchorRecord(Base):
    """The close head a journal's ERP document carries (short form there, in full here)."""

    __tablename__ = "posting_audit_anchors"

    journal_id: Mapped[int] = mapped_column(ForeignKey("journals.id"), primary_key=True)
    period: Mapped[str] = mapped_column(String(7))
    sequence: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    short: Mapped[str] = mapped_column(String(40))


class ProvisioningRequestRecord(Base):
    """A request for a new asset or cloud resource, its policy checks and its decision."""

    __tablename__ = "provisioning_requests"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    cost_centre: Mapped[str] = mapped_column(ForeignKey("cost_centres.code"), index=True)
    owner: Mapped[str] = mapped_column(String(200))
    environment: Mapped[str] = mapped_column(String(20))
    monthly_cost: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    period: Mapped[str] = mapped_column(String(7))
    tags: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)
    checks: Mapped[list] = mapped_column(JSON)
    escalation: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(Text)


class BudgetRecord(Base):
    """A cost centre's budget for one period, and how its quota acts (warn or block)."""

    __tablename__ = "budgets"

    cost_centre: Mapped[str] = mapped_column(ForeignKey("cost_centres.code"), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    quota_mode: Mapped[str] = mapped_column(String(10))
    quota_margin: Mapped[Decimal] = mapped_column(ExactDecimal)


class ContractRecord(Base):
    """A procurement contract and the allocation-relevant clauses it holds."""

    __tablename__ = "contracts"

    number: Mapped[str] = mapped_column(String(60), primary_key=True)
    vendor: Mapped[str] = mapped_column(String(200), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    value: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    usage_reporting: Mapped[bool] = mapped_column()
    tagging: Mapped[bool] = mapped_column()
    metering: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")


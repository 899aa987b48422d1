"""Records of the service catalogue (services, subscriptions) and of savings initiatives.

Declared on the one :class:`~ledger.persistence.records.Base`; imported by
:mod:`ledger.persistence.schema` so that Alembic and the repositories see every table.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.persistence.records import Base
from ledger.persistence.types import ExactDecimal, UtcDateTime


class CatalogueServiceRecord(Base):
    """An IT service; its tiers (rate and service level each) as JSON, amounts as text."""

    __tablename__ = "catalogue_services"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    unit: Mapped[str] = mapped_column(String(40))
    driver: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    tiers: Mapped[list] = mapped_column(JSON)


class CatalogueSubscriptionRecord(Base):
    """A cost centre's subscription to a service at a tier (quantity None: from the driver)."""

    __tablename__ = "catalogue_subscriptions"

    service: Mapped[str] = mapped_column(String(40), primary_key=True)
    cost_centre: Mapped[str] = mapped_column(String(40), primary_key=True)
    tier: Mapped[str] = mapped_column(String(60))
    quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal)


class SavingRecord(Base):
    """An optimisation with its expected monthly saving and the billing scope it is measured on.
    """

    __tablename__ = "savings_initiatives"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    title: Mapped[str] = mapped_column(String(200))
    service: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(100))
    cost_centre: Mapped[str | None] = mapped_column(String(40))
    effective_period: Mapped[str] = mapped_column(String(7))
    baseline_months: Mapped[int] = mapped_column()
    expected_monthly: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(Text)


class AccountReportingRecord(Base):
    """How a GL account reports beyond what its use and type say: an explicit intercompany
    flag and the counterparty entity (the account mapping for IFRS and US GAAP)."""

    __tablename__ = "account_reporting"

    account: Mapped[str] = mapped_column(String(40), primary_key=True)
    intercompany: Mapped[bool] = mapped_column(Boolean, default=False)
    counterparty: Mapped[str | None] = mapped_column(String(40))
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)

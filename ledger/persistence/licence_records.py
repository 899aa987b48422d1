"""Records of licences and data quality.

Declared on the one :class:`~ledger.persistence.records.Base`; imported by
:mod:`ledger.persistence.schema` so that Alembic and the repositories see every table.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ledger.persistence.records import Base
from ledger.persistence.types import ExactDecimal, UtcDateTime


class LicenceEntitlementRecord(Base):
    """One licence purchase (``ledger.licence.Entitlement``)."""

    __tablename__ = "licence_entitlements"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    publisher: Mapped[str | None] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(300))
    metric: Mapped[str] = mapped_column(String(30))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_cost: Mapped[Decimal] = mapped_column(ExactDecimal)
    currency: Mapped[str] = mapped_column(String(3))
    cost_basis: Mapped[str] = mapped_column(String(20))
    term_start: Mapped[date | None] = mapped_column(Date)
    term_end: Mapped[date | None] = mapped_column(Date)
    version_from: Mapped[str | None] = mapped_column(String(60))
    version_to: Mapped[str | None] = mapped_column(String(60))
    source: Mapped[str | None] = mapped_column(String(400))


class LicenceAssignmentRecord(Base):
    """One seat of an entitlement held by a user or a device."""

    __tablename__ = "licence_assignments"
    __table_args__ = (UniqueConstraint("entitlement_key", "assignee_kind", "assignee"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    entitlement_key: Mapped[str] = mapped_column(ForeignKey("licence_entitlements.key"),
                                                 index=True)
    assignee_kind: Mapped[str] = mapped_column(String(10))
    assignee: Mapped[str] = mapped_column(String(200))
    cost_centre: Mapped[str | None] = mapped_column(ForeignKey("cost_centres.code"))
    since: Mapped[date | None] = mapped_column(Date)


class SoftwareInstallationRecord(Base):
    """One product on one discovered device, as the discovery source reported it."""

    __tablename__ = "software_installations"
    __table_args__ = (Index("ix_software_installations_device", "source", "record_id"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(300))
    publisher: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[str | None] = mapped_column(String(100))
    hostname: Mapped[str | None] = mapped_column(String(255))
    owner: Mapped[str | None] = mapped_column(String(200))
    asset_tag: Mapped[str | None] = mapped_column(String(100))
    cores: Mapped[int | None] = mapped_column(Integer)
    processors: Mapped[int | None] = mapped_column(Integer)


class QualityRuleSetRecord(Base):
    """The data-quality rules in force (one row per named rule set; ``default`` is used)."""

    __tablename__ = "quality_rule_sets"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    rules: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))


class AssetMappingRecord(Base):
    """A saved, named column mapping for register loads from CSV or XLSX files."""

    __tablename__ = "asset_mappings"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    columns: Mapped[dict] = mapped_column(JSON)
    defaults: Mapped[dict] = mapped_column(JSON)
    sheet: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(200))

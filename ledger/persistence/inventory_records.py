"""Records of inventory: discovery imports and records, decisions, lifecycle events.

Declared on the one :class:`~ledger.persistence.records.Base`; imported by
:mod:`ledger.persistence.schema` so that Alembic and the repositories see every table. The
register's own identifiers and keys are columns of ``assets`` (:class:`AssetRecord`).

Every identifier is stored twice: as the source wrote it (for people) and as the normalised
key of :mod:`ledger.discovery` (for matching), so that reconciliation is a join on indexed
columns and never re-normalises a million rows.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.persistence.records import Base
from ledger.persistence.types import UtcDateTime


class DiscoveryImportRecord(Base):
    """One imported file (or API pull): what, whose, and its content hash (re-import no-op)."""

    __tablename__ = "discovery_imports"
    __table_args__ = (UniqueConstraint("source", "sha256"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(30))
    file: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    records: Mapped[int] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    imported_by: Mapped[str] = mapped_column(String(200))


class DiscoveryRecordRecord(Base):
    """One device as one source last reported it; (source, record_id) is unique."""

    __tablename__ = "discovery_records"
    __table_args__ = (UniqueConstraint("source", "record_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    record_id: Mapped[str] = mapped_column(String(400))
    seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("discovery_imports.id"), index=True)
    hostname: Mapped[str | None] = mapped_column(String(255))
    fqdn: Mapped[str | None] = mapped_column(String(255))
    serial: Mapped[str | None] = mapped_column(String(100))
    hardware_uuid: Mapped[str | None] = mapped_column(String(64))
    cloud_resource_id: Mapped[str | None] = mapped_column(String(400))
    asset_tag: Mapped[str | None] = mapped_column(String(100))
    manufacturer: Mapped[str | None] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    os: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(String(200))
    cost_centre: Mapped[str | None] = mapped_column(String(100))
    partial: Mapped[bool] = mapped_column(Boolean)
    # When the source reported the device deleted (AWS Config ``ResourceDeleted``): the record
    # is kept, so that reconciliation can say which register asset is gone from the source.
    gone_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    macs: Mapped[str | None] = mapped_column(String(400))
    serial_key: Mapped[str | None] = mapped_column(String(100), index=True)
    tag_key: Mapped[str | None] = mapped_column(String(100), index=True)
    hostname_key: Mapped[str | None] = mapped_column(String(255), index=True)
    uuid_key: Mapped[str | None] = mapped_column(String(36), index=True)
    cloud_key: Mapped[str | None] = mapped_column(String(400), index=True)
    owner_key: Mapped[str | None] = mapped_column(String(200))
    location_key: Mapped[str | None] = mapped_column(String(200))
    model_key: Mapped[str | None] = mapped_column(String(200))
    cost_centre_key: Mapped[str | None] = mapped_column(String(100))
    # The record's full content, for reading back and for change detection on re-import.
    raw: Mapped[dict] = mapped_column(JSON)
    software: Mapped[list] = mapped_column(JSON)


class ReconciliationDecisionRecord(Base):
    """A person's ruling on a reconciliation finding; honoured by every later run."""

    __tablename__ = "reconciliation_decisions"
    __table_args__ = (Index("ix_reconciliation_decisions_device", "device_source",
                            "device_record_id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    asset_tag: Mapped[str] = mapped_column(ForeignKey("assets.tag"), index=True)
    device_source: Mapped[str | None] = mapped_column(String(20))
    device_record_id: Mapped[str | None] = mapped_column(String(400))
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)
    conflicts: Mapped[list] = mapped_column(JSON)
    value: Mapped[str | None] = mapped_column(String(400))


class AssetLifecycleEventRecord(Base):
    """A dated step in an asset's life (deployment, reassignment, upgrade, decommission ...)."""

    __tablename__ = "asset_lifecycle_events"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_tag: Mapped[str] = mapped_column(ForeignKey("assets.tag"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    occurred: Mapped[date] = mapped_column(Date)
    attribute: Mapped[str | None] = mapped_column(String(40))
    before: Mapped[str | None] = mapped_column(String(400))
    after: Mapped[str | None] = mapped_column(String(400))
    note: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(200))

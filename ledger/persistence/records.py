"""SQLAlchemy 2.x records: the tables, typed and declarative.

Records are a storage detail. Repositories convert them to and from the plain domain values in
``ledger``; nothing outside ``ledger.persistence`` sees a record. Every schema change here needs
an Alembic migration in ``migrations/versions``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ledger.persistence.types import ExactDecimal, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class CompanyRecord(Base):
    __tablename__ = "company"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    functional_currency: Mapped[str] = mapped_column(String(3))
    fiscal_year_start_month: Mapped[int] = mapped_column(Integer)


class CostCentreRecord(Base):
    __tablename__ = "cost_centres"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_code: Mapped[str | None] = mapped_column(String(40), index=True)
    business_unit: Mapped[str | None] = mapped_column(String(100), index=True)
    owner: Mapped[str | None] = mapped_column(String(200))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class GlAccountRecord(Base):
    __tablename__ = "gl_accounts"

    number: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40))


class PeriodRecord(Base):
    __tablename__ = "periods"

    key: Mapped[str] = mapped_column(String(7), primary_key=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    fiscal_year: Mapped[int] = mapped_column(Integer, index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))


class FxRateRecord(Base):
    __tablename__ = "fx_rates"

    base: Mapped[str] = mapped_column(String(3), primary_key=True)
    quote: Mapped[str] = mapped_column(String(3), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rate: Mapped[Decimal] = mapped_column(ExactDecimal)


class DriverQuantityRecord(Base):
    __tablename__ = "driver_quantities"

    driver: Mapped[str] = mapped_column(String(60), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    cost_centre: Mapped[str] = mapped_column(ForeignKey("cost_centres.code"), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)


class JournalRecord(Base):
    __tablename__ = "journals"
    # AUTOINCREMENT: a deleted draft's id is never handed to another journal on SQLite.
    __table_args__ = (Index("ix_journals_source_reference", "source", "reference"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_date: Mapped[date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(ForeignKey("periods.key"), index=True)
    description: Mapped[str] = mapped_column(String(400))
    source: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    submitted_by: Mapped[str | None] = mapped_column(String(200))
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Fixed at approval, committed with it, reused on every send (the outbox's keys).
    external_reference: Mapped[str | None] = mapped_column(String(60), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(60))
    erp_profile: Mapped[str | None] = mapped_column(String(60))
    erp_document: Mapped[str | None] = mapped_column(String(60), index=True)
    posted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reversal_of: Mapped[int | None] = mapped_column(ForeignKey("journals.id"))
    message: Mapped[str | None] = mapped_column(Text)
    lines: Mapped[list[JournalLineRecord]] = relationship(
        back_populates="journal", order_by="JournalLineRecord.line_no",
        cascade="all, delete-orphan",
    )


class JournalLineRecord(Base):
    __tablename__ = "journal_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    journal_id: Mapped[int] = mapped_column(ForeignKey("journals.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(ForeignKey("gl_accounts.number"))
    cost_centre: Mapped[str | None] = mapped_column(ForeignKey("cost_centres.code"))
    side: Mapped[str] = mapped_column(String(6))
    # Exact integer count of the currency's minor units (cents for USD, yen for JPY).
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    memo: Mapped[str] = mapped_column(String(400), default="")
    source_ref: Mapped[str] = mapped_column(String(400), default="")
    journal: Mapped[JournalRecord] = relationship(back_populates="lines")


class UserRoleRecord(Base):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("login", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[str] = mapped_column(String(40))


class AuditEventRecord(Base):
    __tablename__ = "audit_events"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80))
    entity: Mapped[str] = mapped_column(String(60))
    entity_key: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    # The hash chain (ledger.audit): place in the chain and the links.
    sequence: Mapped[int] = mapped_column(BigInteger, unique=True)
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditChainHeadRecord(Base):
    """The chain's last link, one row: appending locks it, so writers chain one at a time."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AssetRecord(Base):
    __tablename__ = "assets"

    tag: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), index=True)
    cost_centre: Mapped[str | None] = mapped_column(ForeignKey("cost_centres.code"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    purchase_cost: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    purchase_date: Mapped[date | None] = mapped_column(Date)
    in_service_date: Mapped[date | None] = mapped_column(Date)
    serial_number: Mapped[str | None] = mapped_column(String(100), index=True)
    manufacturer: Mapped[str | None] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(100))
    location: Mapped[str | None] = mapped_column(String(100))
    # Inventory (0008): identifiers as written, the keys reconciliation matches on, and more.
    hostname: Mapped[str | None] = mapped_column(String(255))
    macs: Mapped[str | None] = mapped_column(String(400))
    hardware_uuid: Mapped[str | None] = mapped_column(String(64))
    cloud_resource_id: Mapped[str | None] = mapped_column(String(400))
    owner: Mapped[str | None] = mapped_column(String(200))
    environment: Mapped[str | None] = mapped_column(String(20))
    purchase_order: Mapped[str | None] = mapped_column(String(100))
    contract: Mapped[str | None] = mapped_column(String(100))
    serial_key: Mapped[str | None] = mapped_column(String(100), index=True)
    tag_key: Mapped[str | None] = mapped_column(String(40), index=True)
    hostname_key: Mapped[str | None] = mapped_column(String(255), index=True)
    uuid_key: Mapped[str | None] = mapped_column(String(36), index=True)
    cloud_key: Mapped[str | None] = mapped_column(String(400), index=True)
    owner_key: Mapped[str | None] = mapped_column(String(200))
    location_key: Mapped[str | None] = mapped_column(String(100))
    model_key: Mapped[str | None] = mapped_column(String(100))


class DepreciationBookRecord(Base):
    __tablename__ = "depreciation_books"

    asset_tag: Mapped[str] = mapped_column(ForeignKey("assets.tag"), primary_key=True)
    book: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The depreciation terms as JSON with amounts as exact decimal strings.
    terms: Mapped[dict] = mapped_column(JSON)
    expense_account: Mapped[str] = mapped_column(ForeignKey("gl_accounts.number"))
    accumulated_account: Mapped[str] = mapped_column(ForeignKey("gl_accounts.number"))
    posts_to_ledger: Mapped[bool] = mapped_column(Boolean)


class AssetEventRecord(Base):
    __tablename__ = "asset_events"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_tag: Mapped[str] = mapped_column(ForeignKey("assets.tag"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    effective: Mapped[date] = mapped_column(Date)
    book: Mapped[str | None] = mapped_column(String(40))
    to_cost_centre: Mapped[str | None] = mapped_column(ForeignKey("cost_centres.code"))
    from_cost_centre: Mapped[str | None] = mapped_column(String(40))
    remaining_life_months: Mapped[int | None] = mapped_column(Integer)
    salvage: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    amount: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    proceeds: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    note: Mapped[str] = mapped_column(Text, default="")


class DepreciationChargeRecord(Base):
    """One asset's depreciation in one book and period for one cost centre: the cost facts
    that the allocation engine picks up as the depreciation cost pool."""

    __tablename__ = "depreciation_charges"
    __table_args__ = (Index("ix_depreciation_charges_period_book", "period", "book"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(ForeignKey("periods.key"))
    book: Mapped[str] = mapped_column(String(40))
    asset_tag: Mapped[str] = mapped_column(ForeignKey("assets.tag"))
    cost_centre: Mapped[str] = mapped_column(ForeignKey("cost_centres.code"))
    expense_account: Mapped[str] = mapped_column(String(40))
    accumulated_account: Mapped[str] = mapped_column(String(40))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))


class LeaseRecord(Base):
    """Who may act alone (the poster, the scheduler) until when."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PostingAttemptRecord(Base):
    """One send of a journal to the ERP: the outbox's log."""

    __tablename__ = "posting_attempts"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    journal_id: Mapped[int] = mapped_column(ForeignKey("journals.id"), index=True)
    erp_profile: Mapped[str] = mapped_column(String(60))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)


class ErpProfileRecord(Base):
    """How to reach one ERP. Holds no secret: that lives in the OS keyring."""

    __tablename__ = "erp_profiles"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(400))
    company_code: Mapped[str] = mapped_column(String(40))
    username: Mapped[str | None] = mapped_column(String(200))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)


class JobRunRecord(Base):
    """One run of a scheduled job. A due time is claimed once: (job, scheduled_for, attempt)
    is unique, so two schedulers never run the same fire of a job twice."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "scheduled_for", "attempt"),
                      {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60), index=True)
    scheduled_for: Mapped[datetime] = mapped_column(UtcDateTime)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    holder: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    message: Mapped[str | None] = mapped_column(Text)


class FindingRecord(Base):
    """An anomaly or another finding, its review, and the ticket that tracks it."""

    __tablename__ = "findings"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(400))
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))
    evidence: Mapped[dict] = mapped_column(JSON)
    cost_centre: Mapped[str | None] = mapped_column(String(40))
    owner_email: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    ticket_system: Mapped[str | None] = mapped_column(String(20))
    ticket_id: Mapped[str | None] = mapped_column(String(60))
    ticket_url: Mapped[str | None] = mapped_column(String(400))
    ticket_evidence: Mapped[dict | None] = mapped_column(JSON)

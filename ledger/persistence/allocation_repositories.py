"""Repositories of allocation: rule-set versions, runs, driver revisions, invoices, exceptions.

They convert between the records of :mod:`ledger.persistence.allocation_records` and the values
of :mod:`ledger.allocation.stored`; nothing outside ``ledger.persistence`` sees a record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.allocation.engine import ManualCost
from ledger.allocation.exceptions import AllocationException
from ledger.allocation.stored import (
    DriverRevision,
    ExceptionStatus,
    InvoiceFile,
    InvoiceLine,
    RegisteredException,
    RuleSetStatus,
    RuleSetVersion,
    RunStatus,
    RunTotal,
    StoredGap,
    StoredLine,
    StoredLineage,
    StoredRun,
)
from ledger.errors import ConflictError
from ledger.persistence.allocation_records import (
    AllocationExceptionRecord,
    AllocationGapRecord,
    AllocationLineageRecord,
    AllocationLineRecord,
    AllocationRunRecord,
    AllocationRunTotalRecord,
    DriverRevisionRecord,
    InvoiceFileRecord,
    InvoiceLineRecord,
    ManualCostRecord,
    RuleSetVersionRecord,
)
from ledger.persistence.records import DriverQuantityRecord
from ledger.reference import DriverQuantity


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session


def _version(record: RuleSetVersionRecord) -> RuleSetVersion:
    return RuleSetVersion(
        name=record.name, version=record.version, status=RuleSetStatus(record.status),
        effective_from=record.effective_from, effective_to=record.effective_to,
        text=record.text, content_hash=record.content_hash, author=record.author,
        created_at=record.created_at, reason=record.reason,
        parent_version=record.parent_version, activated_by=record.activated_by,
        activated_at=record.activated_at)


class SqlAlchemyRuleSetRepository(_Repository):
    """Rule-set versions. :meth:`add` inserts; content is never updated afterwards."""

    def names(self) -> list[str]:
        return list(self.session.scalars(
            select(RuleSetVersionRecord.name).distinct().order_by(RuleSetVersionRecord.name)))

    def versions(self, name: str | None = None) -> list[RuleSetVersion]:
        query = select(RuleSetVersionRecord).order_by(RuleSetVersionRecord.name,
                                                      RuleSetVersionRecord.version)
        if name is not None:
            query = query.filter_by(name=name)
        return [_version(r) for r in self.session.scalars(query)]

    def get(self, name: str, version: int) -> RuleSetVersion | None:
        record = self._record(name, version)
        return None if record is None else _version(record)

    def latest(self, name: str) -> RuleSetVersion | None:
        record = self.session.scalars(
            select(RuleSetVersionRecord).filter_by(name=name)
            .order_by(RuleSetVersionRecord.version.desc()).limit(1)).first()
        return None if record is None else _version(record)

    def active(self, name: str | None = None) -> list[RuleSetVersion]:
        query = select(RuleSetVersionRecord).filter_by(status=RuleSetStatus.ACTIVE.value)
        if name is not None:
            query = query.filter_by(name=name)
        return [_version(r) for r in self.session.scalars(
            query.order_by(RuleSetVersionRecord.name))]

    def add(self, version: RuleSetVersion) -> None:
        self.session.add(RuleSetVersionRecord(
            name=version.name, version=version.version, status=version.status.value,
            effective_from=version.effective_from, effective_to=version.effective_to,
            text=version.text, content_hash=version.content_hash,
            parent_version=version.parent_version, author=version.author,
            created_at=version.created_at, reason=version.reason))
        try:
            self.session.flush()
        except IntegrityError:
            raise ConflictError(f"{version.label} was saved by someone else meanwhile; "
                                "reload and try again") from None

    def set_status(self, name: str, version: int, *, expected: RuleSetStatus,
                   status: RuleSetStatus, by: str | None = None,
                   at: datetime | None = None) -> None:
        """Move a version's status, refusing when someone moved it meanwhile."""
        record = self._record(name, version)
        if record is None or record.status != expected.value:
            raise ConflictError(f"{name}@{version} is no longer {expected.value}; reload it")
        record.status = status.value
        if status is RuleSetStatus.ACTIVE:
            record.activated_by, record.activated_at = by, at
        self.session.flush()

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(RuleSetVersionRecord)) or 0

    def _record(self, name: str, version: int) -> RuleSetVersionRecord | None:
        return self.session.scalars(
            select(RuleSetVersionRecord).filter_by(name=name, version=version)).first()


def _run(record: AllocationRunRecord, totals: Sequence[AllocationRunTotalRecord]) -> StoredRun:
    return StoredRun(
        id=record.id, period=record.period, ruleset_name=record.ruleset_name,
        ruleset_version=record.ruleset_version, cost_basis=record.cost_basis,
        fingerprint=record.fingerprint, status=RunStatus(record.status),
        conserved=record.conserved, created_by=record.created_by, created_at=record.created_at,
        totals=tuple(RunTotal(t.currency, t.source_total, t.allocated_total,
                              t.unallocated_total) for t in totals),
        journal_ids=tuple(record.journal_ids or ()), exceptions=tuple(record.exceptions or ()))


class SqlAlchemyAllocationRunRepository(_Repository):
    """Allocation runs with their lines, unallocated amounts and lineage."""

    def add(self, run: StoredRun, lines: Sequence[StoredLine], gaps: Sequence[StoredGap],
            lineage: Sequence[StoredLineage]) -> int:
        record = AllocationRunRecord(
            period=run.period, ruleset_name=run.ruleset_name,
            ruleset_version=run.ruleset_version, cost_basis=run.cost_basis,
            fingerprint=run.fingerprint, status=run.status.value, conserved=run.conserved,
            created_by=run.created_by, created_at=run.created_at,
            journal_ids=list(run.journal_ids), exceptions=list(run.exceptions))
        self.session.add(record)
        self.session.flush()
        self.session.add_all(AllocationRunTotalRecord(
            run_id=record.id, currency=t.currency, source_total=t.source_total,
            allocated_total=t.allocated_total, unallocated_total=t.unallocated_total)
            for t in run.totals)
        self.session.add_all(AllocationLineRecord(
            run_id=record.id, cost_centre=li.cost_centre, account=li.account, pool=li.pool,
            rule=li.rule, kind=li.kind, currency=li.currency, amount=li.amount,
            charged=li.charged) for li in lines)
        self.session.add_all(AllocationGapRecord(
            run_id=record.id, reason=g.reason, detail=g.detail, pool=g.pool, rule=g.rule,
            currency=g.currency, amount=g.amount) for g in gaps)
        self.session.add_all(AllocationLineageRecord(
            run_id=record.id, kind=s.kind, origin=s.origin, pool=s.pool,
            cost_centre=s.cost_centre, rule=s.rule, reason=s.reason, currency=s.currency,
            key=s.key, rows=s.rows, amount=s.amount) for s in lineage)
        self.session.flush()
        return record.id

    def set_journals(self, run_id: int, journal_ids: Sequence[int]) -> None:
        record = self.session.get(AllocationRunRecord, run_id)
        assert record is not None
        record.journal_ids = list(journal_ids)
        self.session.flush()

    def get(self, run_id: int) -> StoredRun | None:
        record = self.session.get(AllocationRunRecord, run_id)
        return None if record is None else _run(record, self._totals(run_id))

    def list(self, *, period: str | None = None, status: RunStatus | None = None
             ) -> list[StoredRun]:
        query = select(AllocationRunRecord).order_by(AllocationRunRecord.id)
        if period is not None:
            query = query.filter_by(period=period)
        if status is not None:
            query = query.filter_by(status=status.value)
        return [_run(r, self._totals(r.id)) for r in self.session.scalars(query)]

    def supersede(self, run_id: int) -> None:
        record = self.session.get(AllocationRunRecord, run_id)
        assert record is not None
        record.status = RunStatus.SUPERSEDED.value
        self.session.flush()

    def lines(self, run_id: int) -> list[StoredLine]:
        return [StoredLine(r.cost_centre, r.account, r.pool, r.rule, r.kind, r.currency,
                           r.amount, r.charged)
                for r in self.session.scalars(select(AllocationLineRecord).filter_by(
                    run_id=run_id).order_by(AllocationLineRecord.id))]

    def gaps(self, run_id: int) -> list[StoredGap]:
        return [StoredGap(r.reason, r.detail, r.pool, r.rule, r.currency, r.amount)
                for r in self.session.scalars(select(AllocationGapRecord).filter_by(
                    run_id=run_id).order_by(AllocationGapRecord.id))]

    def lineage(self, run_id: int) -> list[StoredLineage]:
        return [StoredLineage(r.kind, r.origin, r.pool, r.cost_centre, r.rule, r.reason,
                              r.currency, r.key, r.rows, r.amount)
                for r in self.session.scalars(select(AllocationLineageRecord).filter_by(
                    run_id=run_id).order_by(AllocationLineageRecord.id))]

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(AllocationRunRecord)) or 0

    def _totals(self, run_id: int) -> list[AllocationRunTotalRecord]:
        return list(self.session.scalars(select(AllocationRunTotalRecord).filter_by(
            run_id=run_id).order_by(AllocationRunTotalRecord.currency)))


class SqlAlchemyDriverRevisionRepository(_Repository):
    def latest(self, driver: str) -> DriverRevision | None:
        record = self.session.scalars(
            select(DriverRevisionRecord).filter_by(driver=driver)
            .order_by(DriverRevisionRecord.revision.desc()).limit(1)).first()
        return None if record is None else self._value(record)

    def history(self, driver: str) -> list[DriverRevision]:
        return [self._value(r) for r in self.session.scalars(
            select(DriverRevisionRecord).filter_by(driver=driver)
            .order_by(DriverRevisionRecord.revision))]

    def add(self, revision: DriverRevision) -> None:
        self.session.add(DriverRevisionRecord(
            driver=revision.driver, revision=revision.revision,
            content_hash=revision.content_hash, saved_by=revision.saved_by,
            saved_at=revision.saved_at, reason=revision.reason,
            changes=list(revision.changes)))
        self.session.flush()

    def quantities(self, *, driver: str | None = None, period: str | None = None
                   ) -> list[DriverQuantity]:
        """Driver quantities of every (or one) driver and period."""
        query = select(DriverQuantityRecord).order_by(
            DriverQuantityRecord.driver, DriverQuantityRecord.period,
            DriverQuantityRecord.cost_centre)
        if driver is not None:
            query = query.filter_by(driver=driver)
        if period is not None:
            query = query.filter_by(period=period)
        return [DriverQuantity(r.driver, r.cost_centre, r.period, r.quantity)
                for r in self.session.scalars(query)]

    @staticmethod
    def _value(record: DriverRevisionRecord) -> DriverRevision:
        return DriverRevision(record.driver, record.revision, record.content_hash,
                              record.saved_by, record.saved_at, record.reason,
                              tuple(record.changes or ()))


class SqlAlchemyInvoiceRepository(_Repository):
    def file(self, sha256: str) -> InvoiceFile | None:
        record = self.session.get(InvoiceFileRecord, sha256)
        return None if record is None else InvoiceFile(
            record.sha256, record.file_name, record.lines, record.imported_by,
            record.imported_at)

    def add_file(self, file: InvoiceFile, lines: Sequence[InvoiceLine]) -> None:
        self.session.add(InvoiceFileRecord(
            sha256=file.sha256, file_name=file.file_name, lines=file.lines,
            imported_by=file.imported_by, imported_at=file.imported_at))
        self.session.flush()
        self.session.add_all(InvoiceLineRecord(
            file_sha256=file.sha256, row=li.row, invoice_id=li.invoice_id,
            billing_account_id=li.billing_account_id, billing_period=li.billing_period,
            currency=li.currency, amount=li.amount) for li in lines)
        self.session.flush()

    def lines(self, *, periods: Sequence[str] = ()) -> list[InvoiceLine]:
        query = select(InvoiceLineRecord).order_by(InvoiceLineRecord.id)
        if periods:
            query = query.where(InvoiceLineRecord.billing_period.in_(list(periods)))
        return [InvoiceLine(r.invoice_id, r.billing_account_id, r.billing_period, r.currency,
                            r.amount, r.row) for r in self.session.scalars(query)]

    def remove_file(self, sha256: str) -> None:
        self.session.execute(delete(InvoiceLineRecord).filter_by(file_sha256=sha256))
        self.session.execute(delete(InvoiceFileRecord).filter_by(sha256=sha256))


def _exception(r: AllocationExceptionRecord) -> RegisteredException:
    return RegisteredException(
        exception=AllocationException(
            id=r.id, title=r.title, owner=r.owner, cost_centre=r.cost_centre,
            period_from=r.period_from, period_to=r.period_to, expires_on=r.expires_on,
            service=r.service, pool=r.pool, share_percent=r.share_percent, amount=r.amount,
            target_cost_centre=r.target_cost_centre, approved_by=r.approved_by,
            revoked=r.status == ExceptionStatus.REVOKED.value),
        status=ExceptionStatus(r.status), created_by=r.created_by, created_at=r.created_at,
        reason=r.reason, approved_at=r.approved_at)


class SqlAlchemyExceptionRepository(_Repository):
    """The exceptions register."""

    def add(self, entry: RegisteredException) -> int:
        e = entry.exception
        record = AllocationExceptionRecord(
            title=e.title, owner=e.owner, cost_centre=e.cost_centre, service=e.service,
            pool=e.pool, period_from=e.period_from, period_to=e.period_to,
            expires_on=e.expires_on, share_percent=e.share_percent, amount=e.amount,
            target_cost_centre=e.target_cost_centre, status=entry.status.value,
            created_by=entry.created_by, created_at=entry.created_at, reason=entry.reason)
        self.session.add(record)
        self.session.flush()
        return record.id

    def get(self, exception_id: int) -> RegisteredException | None:
        record = self.session.get(AllocationExceptionRecord, exception_id)
        return None if record is None else _exception(record)

    def list(self) -> list[RegisteredException]:
        return [_exception(r) for r in self.session.scalars(
            select(AllocationExceptionRecord).order_by(AllocationExceptionRecord.id))]

    def set_status(self, exception_id: int, *, expected: ExceptionStatus,
                   status: ExceptionStatus, by: str | None = None,
                   at: datetime | None = None) -> None:
        record = self.session.get(AllocationExceptionRecord, exception_id)
        if record is None or record.status != expected.value:
            raise ConflictError(f"exception {exception_id} is no longer {expected.value}")
        record.status = status.value
        if status is ExceptionStatus.APPROVED:
            record.approved_by, record.approved_at = by, at
        self.session.flush()


class SqlAlchemyManualCostRepository(_Repository):
    """Manual costs by entry id; saving an entry again replaces its values."""

    def get(self, entry_id: str) -> ManualCost | None:
        record = self.session.get(ManualCostRecord, entry_id)
        return None if record is None else self._value(record)

    def for_period(self, period: str) -> list[ManualCost]:
        return [self._value(r) for r in self.session.scalars(
            select(ManualCostRecord).filter_by(period=period)
            .order_by(ManualCostRecord.entry_id))]

    def save(self, cost: ManualCost, *, by: str, at: datetime) -> None:
        record = self.session.get(ManualCostRecord, cost.id)
        if record is None:
            record = ManualCostRecord(entry_id=cost.id)
            self.session.add(record)
        record.period, record.pool, record.amount = cost.period, cost.pool, cost.amount
        record.currency, record.description = cost.currency, cost.description
        record.cost_centre, record.saved_by, record.saved_at = cost.cost_centre, by, at
        self.session.flush()

    @staticmethod
    def _value(record: ManualCostRecord) -> ManualCost:
        return ManualCost(record.entry_id, record.period, record.pool, record.amount,
                          record.currency, record.description, record.cost_centre)

"""Repositories: convert between records and domain values; nothing else.

Each repository works inside the session of the unit of work that owns it and never commits.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.util import identity_key

from ledger.access import Role
from ledger.asset import (
    Asset,
    AssetEvent,
    AssetEventKind,
    AssetKind,
    DepreciationBook,
    Environment,
    LifecycleStatus,
)
from ledger.audit import GENESIS, AuditEvent, ChainedEvent, ChainHead, chain_hash
from ledger.books import PeriodCharge
from ledger.calendar import Period, PeriodStatus
from ledger.depreciation import DepreciationTerms, FiscalYearStart
from ledger.discovery import (
    cloud_resource_key,
    fold,
    hostname_key,
    normalise_asset_tag,
    normalise_serial,
    owner_key,
    uuid_key,
)
from ledger.erp import ErpProfile
from ledger.errors import ConflictError
from ledger.finding import Finding, FindingStatus, Severity, StoredFinding, TicketRef
from ledger.journal import Journal, JournalEntry, JournalLine, JournalStatus, Side
from ledger.money import from_minor_units, to_minor_units
from ledger.persistence.records import (
    AssetEventRecord,
    AssetRecord,
    AuditChainHeadRecord,
    AuditEventRecord,
    CompanyRecord,
    CostCentreRecord,
    DepreciationBookRecord,
    DepreciationChargeRecord,
    DriverQuantityRecord,
    ErpProfileRecord,
    FindingRecord,
    FxRateRecord,
    GlAccountRecord,
    JobRunRecord,
    JournalLineRecord,
    JournalRecord,
    LeaseRecord,
    PeriodRecord,
    PostingAttemptRecord,
    UserRoleRecord,
)
from ledger.reference import AccountType, Company, CostCentre, DriverQuantity, FxRate, GlAccount
from ledger.scheduling import JobRun, RunOutcome


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _count(self, record: type) -> int:
        return self.session.scalar(select(func.count()).select_from(record)) or 0


class SqlAlchemyCompanyRepository(_Repository):
    def get(self) -> Company | None:
        record = self.session.scalars(select(CompanyRecord).limit(1)).first()
        if record is None:
            return None
        return Company(record.code, record.name, record.functional_currency,
                       record.fiscal_year_start_month)

    def save(self, company: Company) -> None:
        record = self.session.scalars(select(CompanyRecord).limit(1)).first()
        if record is None:
            record = CompanyRecord()
            self.session.add(record)
        record.code = company.code
        record.name = company.name
        record.functional_currency = company.functional_currency
        record.fiscal_year_start_month = company.fiscal_year_start_month


def _cost_centre(record: CostCentreRecord) -> CostCentre:
    return CostCentre(record.code, record.name, record.parent_code, record.business_unit,
                      record.owner, record.valid_from, record.valid_to)


class SqlAlchemyCostCentreRepository(_Repository):
    def get(self, code: str) -> CostCentre | None:
        record = self.session.get(CostCentreRecord, code)
        return None if record is None else _cost_centre(record)

    def list(self) -> list[CostCentre]:
        records = self.session.scalars(select(CostCentreRecord).order_by(CostCentreRecord.code))
        return [_cost_centre(r) for r in records]

    def save(self, cost_centre: CostCentre) -> None:
        record = self.session.get(CostCentreRecord, cost_centre.code)
        if record is None:
            record = CostCentreRecord(code=cost_centre.code)
            self.session.add(record)
        record.name = cost_centre.name
        record.parent_code = cost_centre.parent
        record.business_unit = cost_centre.business_unit
        record.owner = cost_centre.owner
        record.valid_from = cost_centre.valid_from
        record.valid_to = cost_centre.valid_to

    def count(self) -> int:
        return self._count(CostCentreRecord)


class SqlAlchemyGlAccountRepository(_Repository):
    def get(self, number: str) -> GlAccount | None:
        record = self.session.get(GlAccountRecord, number)
        return None if record is None else GlAccount(record.number, record.name,
                                                      AccountType(record.type))

    def list(self) -> list[GlAccount]:
        records = self.session.scalars(select(GlAccountRecord).order_by(GlAccountRecord.number))
        return [GlAccount(r.number, r.name, AccountType(r.type)) for r in records]

    def save(self, account: GlAccount) -> None:
        record = self.session.get(GlAccountRecord, account.number)
        if record is None:
            record = GlAccountRecord(number=account.number)
            self.session.add(record)
        record.name = account.name
        record.type = account.type.value

    def count(self) -> int:
        return self._count(GlAccountRecord)


def _period(record: PeriodRecord) -> Period:
    return Period(record.key, record.start, record.end, record.fiscal_year, record.number,
                  PeriodStatus(record.status))


class SqlAlchemyPeriodRepository(_Repository):
    def get(self, key: str) -> Period | None:
        record = self.session.get(PeriodRecord, key)
        return None if record is None else _period(record)

    def list(self) -> list[Period]:
        return [_period(r) for r in self.session.scalars(select(PeriodRecord)
                                                         .order_by(PeriodRecord.key))]

    def add(self, period: Period) -> None:
        self.session.add(PeriodRecord(key=period.key, start=period.start, end=period.end,
                                      fiscal_year=period.fiscal_year, number=period.number,
                                      status=period.status.value))

    def set_status(self, key: str, status: PeriodStatus) -> None:
        record = self.session.get(PeriodRecord, key, with_for_update=True)
        if record is None:
            raise KeyError(key)
        record.status = status.value


class SqlAlchemyFxRateRepository(_Repository):
    def save(self, rate: FxRate) -> None:
        record = self.session.get(FxRateRecord, (rate.base, rate.quote, rate.day))
        if record is None:
            record = FxRateRecord(base=rate.base, quote=rate.quote, day=rate.day)
            self.session.add(record)
        record.rate = rate.rate

    def rate_on(self, base: str, quote: str, day: date) -> FxRate | None:
        record = self.session.scalars(
            select(FxRateRecord)
            .where(FxRateRecord.base == base, FxRateRecord.quote == quote,
                   FxRateRecord.day <= day)
            .order_by(FxRateRecord.day.desc()).limit(1)
        ).first()
        return None if record is None else FxRate(record.base, record.quote, record.day,
                                                  record.rate)

    def count(self) -> int:
        return self._count(FxRateRecord)


class SqlAlchemyDriverRepository(_Repository):
    def _record(self, driver: str, cost_centre: str, period: str) -> DriverQuantityRecord | None:
        # By primary key: answered from the session's identity map once a period is loaded.
        return self.session.get(DriverQuantityRecord, (driver, period, cost_centre))

    def get(self, driver: str, cost_centre: str, period: str) -> DriverQuantity | None:
        record = self._record(driver, cost_centre, period)
        return None if record is None else DriverQuantity(
            record.driver, record.cost_centre, record.period, record.quantity)

    def add(self, quantity: DriverQuantity) -> None:
        """Insert a quantity the caller knows is new (no look-up, so bulk loads stay fast)."""
        self.session.add(DriverQuantityRecord(driver=quantity.driver,
                                              cost_centre=quantity.cost_centre,
                                              period=quantity.period,
                                              quantity=quantity.quantity))

    def save(self, quantity: DriverQuantity) -> None:
        record = self._record(quantity.driver, quantity.cost_centre, quantity.period)
        if record is None:
            record = DriverQuantityRecord(driver=quantity.driver,
                                          cost_centre=quantity.cost_centre,
                                          period=quantity.period)
            self.session.add(record)
        record.quantity = quantity.quantity

    def for_period(self, driver: str, period: str) -> list[DriverQuantity]:
        records = self.session.scalars(
            select(DriverQuantityRecord).filter_by(driver=driver, period=period)
            .order_by(DriverQuantityRecord.cost_centre))
        return [DriverQuantity(r.driver, r.cost_centre, r.period, r.quantity) for r in records]

    def count(self) -> int:
        return self._count(DriverQuantityRecord)


class SqlAlchemyJournalRepository(_Repository):
    def add(self, entry: JournalEntry, *, status: str, created_by: str,
            created_at: datetime) -> int:
        record = JournalRecord(
            entry_date=entry.entry_date,
            period=f"{entry.entry_date.year:04d}-{entry.entry_date.month:02d}",
            description=entry.description, source=entry.source, reference=entry.reference,
            status=status, created_by=created_by, created_at=created_at,
        )
        for line_no, line in enumerate(entry.lines, start=1):
            record.lines.append(JournalLineRecord(
                line_no=line_no, account=line.account, cost_centre=line.cost_centre,
                side=line.side.value, amount_minor=to_minor_units(line.amount, line.currency),
                currency=line.currency, memo=line.memo, source_ref=line.source_ref,
            ))
        self.session.add(record)
        self.session.flush()
        return record.id

    def get(self, journal_id: int) -> JournalEntry | None:
        journal = self.load(journal_id)
        return None if journal is None else journal.entry

    def load(self, journal_id: int) -> Journal | None:
        record = self.session.scalars(
            select(JournalRecord).options(selectinload(JournalRecord.lines))
            .where(JournalRecord.id == journal_id)).first()
        return None if record is None else _journal(record)

    def list(self, *, statuses: Sequence[str] = (), period: str | None = None,
             limit: int | None = None) -> list[Journal]:
        query = select(JournalRecord).options(selectinload(JournalRecord.lines)).order_by(
            JournalRecord.id)
        if statuses:
            query = query.where(JournalRecord.status.in_([str(s) for s in statuses]))
        if period is not None:
            query = query.where(JournalRecord.period == period)
        if limit is not None:
            query = query.limit(limit)
        return [_journal(r) for r in self.session.scalars(query)]

    def ids(self, *, statuses: Sequence[str]) -> list[int]:
        return list(self.session.scalars(select(JournalRecord.id).where(
            JournalRecord.status.in_([str(s) for s in statuses])).order_by(JournalRecord.id)))

    def reversals_of(self, journal_id: int) -> list[Journal]:
        records = self.session.scalars(select(JournalRecord).options(
            selectinload(JournalRecord.lines)).where(JournalRecord.reversal_of == journal_id))
        return [_journal(r) for r in records]

    def by_reference(self, external_reference: str) -> Journal | None:
        record = self.session.scalars(select(JournalRecord).options(
            selectinload(JournalRecord.lines)).where(
            JournalRecord.external_reference == external_reference)).first()
        return None if record is None else _journal(record)

    def set_reversal_of(self, journal_id: int, original_id: int) -> None:
        self.session.execute(update(JournalRecord).where(JournalRecord.id == journal_id)
                             .values(reversal_of=original_id))

    def transition(self, journal_id: int, *, expected: str, to: str, **fields: Any) -> None:
        """Move a journal from ``expected`` to ``to`` status, setting ``fields``, atomically.

        Raises :class:`ConflictError` when the journal is no longer in ``expected`` (someone
        else approved or posted it meanwhile): the second writer must reload, nothing is lost.
        """
        result = self.session.execute(
            update(JournalRecord)
            .where(JournalRecord.id == journal_id, JournalRecord.status == str(expected))
            .values(status=str(to), **fields))
        if result.rowcount != 1:
            current = self.session.scalar(select(JournalRecord.status).where(
                JournalRecord.id == journal_id))
            raise ConflictError(
                f"journal {journal_id} is {current or 'gone'}, no longer {expected}; "
                "someone else changed it: reload and try again")

    def drafts_for(self, source: str, reference: str) -> list[int]:
        return list(self.session.scalars(
            select(JournalRecord.id).where(JournalRecord.source == source,
                                           JournalRecord.reference == reference,
                                           JournalRecord.status == "draft")
            .order_by(JournalRecord.id)))

    def statuses_for(self, source: str, reference: str) -> dict[int, str]:
        rows = self.session.execute(
            select(JournalRecord.id, JournalRecord.status).where(
                JournalRecord.source == source, JournalRecord.reference == reference))
        return {journal_id: status for journal_id, status in rows}

    def delete_draft(self, journal_id: int) -> None:
        record = self.session.get(JournalRecord, journal_id)
        if record is None or record.status != "draft":
            raise ValueError(f"journal {journal_id} is not a draft and cannot be deleted")
        self.session.delete(record)

    def count_by_status(self) -> dict[str, int]:
        rows = self.session.execute(
            select(JournalRecord.status, func.count()).group_by(JournalRecord.status))
        return {status: count for status, count in rows}


def _journal(record: JournalRecord) -> Journal:
    lines = tuple(
        JournalLine(line.account, Side(line.side),
                    from_minor_units(line.amount_minor, line.currency), line.currency,
                    cost_centre=line.cost_centre, memo=line.memo, source_ref=line.source_ref)
        for line in record.lines
    )
    entry = JournalEntry(record.entry_date, record.description, lines, record.source,
                         record.reference)
    return Journal(
        id=record.id, entry=entry, status=JournalStatus(record.status), period=record.period,
        created_by=record.created_by, created_at=record.created_at,
        submitted_by=record.submitted_by, approved_by=record.approved_by,
        approved_at=record.approved_at, external_reference=record.external_reference,
        idempotency_key=record.idempotency_key, erp_document=record.erp_document,
        posted_at=record.posted_at, reversal_of=record.reversal_of, message=record.message,
        erp_profile=record.erp_profile)


class SqlAlchemyLeaseRepository(_Repository):
    def acquire(self, name: str, holder: str, now: datetime, seconds: float) -> str | None:
        """Take or renew the lease ``name`` for ``holder`` until ``now + seconds``.

        Returns None when taken, else the other holder (whose lease has not expired). The row
        is locked for the rest of the transaction (FOR UPDATE; BEGIN IMMEDIATE on SQLite).
        """
        record = self.session.get(LeaseRecord, name, with_for_update=True)
        until = now + timedelta(seconds=seconds)
        if record is None:
            try:
                with self.session.begin_nested():
                    self.session.add(LeaseRecord(name=name, holder=holder, expires_at=until))
            except IntegrityError:
                # Another process inserted it first; read theirs.
                record = self.session.get(LeaseRecord, name, with_for_update=True,
                                          populate_existing=True)
                assert record is not None
            else:
                return None
        if record.holder != holder and record.expires_at > now:
            return record.holder
        record.holder, record.expires_at = holder, until
        return None

    def release(self, name: str, holder: str) -> None:
        self.session.execute(delete(LeaseRecord).where(LeaseRecord.name == name,
                                                       LeaseRecord.holder == holder))


class SqlAlchemyPostingLog(_Repository):
    def start(self, journal_id: int, erp_profile: str, now: datetime) -> int:
        record = PostingAttemptRecord(journal_id=journal_id, erp_profile=erp_profile,
                                      started_at=now, outcome="sending")
        self.session.add(record)
        self.session.flush()
        return record.id

    def finish(self, attempt_id: int, outcome: str, message: str | None,
               now: datetime) -> None:
        record = self.session.get(PostingAttemptRecord, attempt_id)
        assert record is not None
        record.outcome, record.message, record.finished_at = outcome, message, now

    def attempts(self, journal_id: int) -> list[tuple[str, str | None]]:
        rows = self.session.execute(
            select(PostingAttemptRecord.outcome, PostingAttemptRecord.message)
            .where(PostingAttemptRecord.journal_id == journal_id)
            .order_by(PostingAttemptRecord.id))
        return [(outcome, message) for outcome, message in rows]


class SqlAlchemyErpProfileRepository(_Repository):
    def get(self, name: str) -> ErpProfile | None:
        record = self.session.get(ErpProfileRecord, name)
        return None if record is None else ErpProfile(record.name, record.kind, record.url,
                                                      record.company_code, record.username,
                                                      dict(record.settings or {}))

    def list(self) -> list[ErpProfile]:
        names = self.session.scalars(select(ErpProfileRecord.name).order_by(
            ErpProfileRecord.name))
        return [p for p in (self.get(n) for n in names) if p is not None]

    def save(self, profile: ErpProfile) -> None:
        record = self.session.get(ErpProfileRecord, profile.name)
        if record is None:
            record = ErpProfileRecord(name=profile.name)
            self.session.add(record)
        record.kind, record.url = profile.kind, profile.url
        record.company_code, record.username = profile.company_code, profile.username
        record.settings = dict(profile.settings)


def _stored_finding(r: FindingRecord) -> StoredFinding:
    finding = Finding(r.key, r.title, r.description, Severity(r.severity), dict(r.evidence),
                      r.cost_centre, r.owner_email)
    ticket = (TicketRef(r.ticket_system, r.ticket_id, r.ticket_url)
              if r.ticket_system and r.ticket_id else None)
    return StoredFinding(r.id, finding, r.kind, FindingStatus(r.status), r.first_seen_at,
                         r.last_seen_at, r.reviewed_by, r.reason, ticket, r.ticket_evidence)


class SqlAlchemyFindingRepository(_Repository):
    def by_key(self, key: str) -> StoredFinding | None:
        record = self.session.scalars(select(FindingRecord).where(FindingRecord.key == key)
                                      ).first()
        return None if record is None else _stored_finding(record)

    def get(self, finding_id: int) -> StoredFinding | None:
        record = self.session.get(FindingRecord, finding_id)
        return None if record is None else _stored_finding(record)

    def list(self, *, statuses: Sequence[str] = (), kind: str | None = None) -> list[StoredFinding]:
        query = select(FindingRecord).order_by(FindingRecord.id)
        if statuses:
            query = query.where(FindingRecord.status.in_([str(s) for s in statuses]))
        if kind is not None:
            query = query.where(FindingRecord.kind == kind)
        return [_stored_finding(r) for r in self.session.scalars(query)]

    def save(self, finding: Finding, *, kind: str, now: datetime) -> tuple[int, bool]:
        """Insert the finding or refresh its evidence; returns (id, created)."""
        record = self.session.scalars(select(FindingRecord).where(
            FindingRecord.key == finding.key)).first()
        created = record is None
        if record is None:
            record = FindingRecord(key=finding.key, kind=kind, first_seen_at=now,
                                   status=FindingStatus.OPEN.value)
            self.session.add(record)
        record.title, record.description = finding.title, finding.description
        record.severity, record.evidence = finding.severity.value, dict(finding.evidence)
        record.cost_centre, record.owner_email = finding.cost_centre, finding.owner_email
        record.last_seen_at = now
        self.session.flush()
        return record.id, created

    def set_status(self, finding_id: int, status: FindingStatus, *, by: str | None,
                   reason: str | None) -> None:
        record = self.session.get(FindingRecord, finding_id)
        assert record is not None
        record.status, record.reviewed_by, record.reason = status.value, by, reason

    def set_ticket(self, finding_id: int, ticket: TicketRef | None,
                   evidence: dict[str, Any] | None) -> None:
        record = self.session.get(FindingRecord, finding_id)
        assert record is not None
        record.ticket_system = ticket.system if ticket else None
        record.ticket_id = ticket.id if ticket else None
        record.ticket_url = ticket.url if ticket else None
        record.ticket_evidence = evidence


def _job_run(r: JobRunRecord) -> JobRun:
    return JobRun(r.id, r.job, r.scheduled_for, r.attempt, r.holder, r.started_at,
                  r.finished_at, RunOutcome(r.outcome), dict(r.counts or {}), r.message)


class SqlAlchemyJobRunRepository(_Repository):
    def claim(self, job: str, scheduled_for: datetime, holder: str, now: datetime,
              attempt: int = 1) -> int | None:
        """Insert the run of ``job`` for ``scheduled_for``; None when another scheduler has
        already claimed that fire (the unique constraint decides, even across processes)."""
        record = JobRunRecord(job=job, scheduled_for=scheduled_for, attempt=attempt,
                              holder=holder, started_at=now, outcome=RunOutcome.RUNNING.value,
                              counts={})
        try:
            with self.session.begin_nested():
                self.session.add(record)
        except IntegrityError:
            return None
        return record.id

    def finish(self, run_id: int, outcome: RunOutcome, now: datetime,
               counts: dict[str, Any] | None = None, message: str | None = None) -> None:
        record = self.session.get(JobRunRecord, run_id)
        assert record is not None
        record.outcome, record.finished_at = outcome.value, now
        record.counts, record.message = dict(counts or {}), message

    def running(self) -> list[JobRun]:
        return [_job_run(r) for r in self.session.scalars(
            select(JobRunRecord).where(JobRunRecord.outcome == RunOutcome.RUNNING.value))]

    def last(self, job: str) -> JobRun | None:
        record = self.session.scalars(select(JobRunRecord).where(JobRunRecord.job == job)
                                      .order_by(JobRunRecord.scheduled_for.desc(),
                                                JobRunRecord.attempt.desc()).limit(1)).first()
        return None if record is None else _job_run(record)

    def history(self, job: str | None = None, limit: int = 100) -> list[JobRun]:
        query = select(JobRunRecord).order_by(JobRunRecord.id.desc()).limit(limit)
        if job is not None:
            query = query.where(JobRunRecord.job == job)
        return [_job_run(r) for r in self.session.scalars(query)]


class SqlAlchemyUserRepository(_Repository):
    def roles_of(self, login: str) -> frozenset[Role]:
        roles = self.session.scalars(select(UserRoleRecord.role).filter_by(login=login))
        return frozenset(Role(r) for r in roles)

    def grant(self, login: str, role: Role) -> None:
        if role not in self.roles_of(login):
            self.session.add(UserRoleRecord(login=login, role=role.value))

    def revoke(self, login: str, role: Role) -> None:
        self.session.execute(delete(UserRoleRecord).filter_by(login=login, role=role.value))

    def list(self) -> dict[str, frozenset[Role]]:
        users: dict[str, set[Role]] = defaultdict(set)
        for record in self.session.scalars(select(UserRoleRecord).order_by(UserRoleRecord.login)):
            users[record.login].add(Role(record.role))
        return {login: frozenset(roles) for login, roles in users.items()}


class SqlAlchemyAuditTrail(_Repository):
    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._head: AuditChainHeadRecord | None = None

    def _locked_head(self) -> AuditChainHeadRecord:
        """The head row, locked for this transaction (FOR UPDATE; BEGIN IMMEDIATE on SQLite),
        so concurrent writers append one after the other and the chain never forks."""
        if self._head is None:
            head = self.session.get(AuditChainHeadRecord, 1, with_for_update=True)
            if head is None:
                try:
                    with self.session.begin_nested():
                        head = AuditChainHeadRecord(id=1, sequence=0, hash=GENESIS)
                        self.session.add(head)
                except IntegrityError:
                    head = self.session.get(AuditChainHeadRecord, 1, with_for_update=True,
                                            populate_existing=True)
                    assert head is not None
            self._head = head
        return self._head

    def append(self, event: AuditEvent) -> None:
        head = self._locked_head()
        sequence = head.sequence + 1
        # Hash exactly what is stored (the timestamp as the database keeps it: microseconds).
        digest = chain_hash(head.hash, event, sequence)
        self.session.add(AuditEventRecord(
            occurred_at=event.occurred_at, actor=event.actor, action=event.action,
            entity=event.entity, entity_key=event.key, before=event.before, after=event.after,
            reason=event.reason, sequence=sequence, previous_hash=head.hash, hash=digest,
        ))
        head.sequence, head.hash = sequence, digest

    def head(self) -> ChainHead:
        record = self.session.get(AuditChainHeadRecord, 1)
        return ChainHead(0, GENESIS) if record is None else ChainHead(record.sequence,
                                                                      record.hash)

    def chain(self, *, batch: int = 5000) -> Iterator[ChainedEvent]:
        """Every event in storage order (by id), streamed."""
        query = select(AuditEventRecord).order_by(AuditEventRecord.id).execution_options(
            yield_per=batch)
        for r in self.session.scalars(query):
            yield ChainedEvent(r.id, r.sequence, _audit_event(r), r.previous_hash, r.hash)

    def since(self, when: datetime | None, limit: int | None = None) -> list[ChainedEvent]:
        query = select(AuditEventRecord).order_by(AuditEventRecord.id)
        if when is not None:
            query = query.where(AuditEventRecord.occurred_at >= when)
        if limit is not None:
            query = query.limit(limit)
        return [ChainedEvent(r.id, r.sequence, _audit_event(r), r.previous_hash, r.hash)
                for r in self.session.scalars(query)]

    def count(self) -> int:
        return self._count(AuditEventRecord)

    def has(self, action: str, key: str) -> bool:
        return self.session.scalar(select(AuditEventRecord.id).where(
            AuditEventRecord.action == action, AuditEventRecord.entity_key == key).limit(1)
        ) is not None

    def latest(self, limit: int) -> Sequence[AuditEvent]:
        records = self.session.scalars(
            select(AuditEventRecord).order_by(AuditEventRecord.id.desc()).limit(limit))
        return [_audit_event(r) for r in records]


def _audit_event(r: AuditEventRecord) -> AuditEvent:
    return AuditEvent(r.occurred_at, r.actor, r.action, r.entity, r.entity_key, r.before,
                      r.after, r.reason)


def terms_to_json(terms: DepreciationTerms) -> dict[str, Any]:
    """Depreciation terms as JSON: amounts as exact strings, dates ISO, enums by value."""
    data: dict[str, Any] = {}
    for f in dataclasses.fields(terms):
        value = getattr(terms, f.name)
        if isinstance(value, Decimal):
            value = format(value, "f")
        elif isinstance(value, tuple):
            value = [format(v, "f") for v in value]
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, FiscalYearStart):
            value = f"{value.month:02d}-{value.day:02d}"
        elif isinstance(value, enum.Enum):
            value = value.value
        data[f.name] = value
    return data


def terms_from_json(data: dict[str, Any]) -> DepreciationTerms:
    decimals = {f.name for f in dataclasses.fields(DepreciationTerms)
                if "Decimal" in str(f.type) and "tuple" not in str(f.type)}
    values: dict[str, Any] = {}
    for name, value in data.items():
        if value is None:
            values[name] = None
        elif name in decimals:
            values[name] = Decimal(value)
        elif name in ("units_per_period", "manual_amounts"):
            values[name] = tuple(Decimal(v) for v in value)
        elif name == "placed_in_service":
            values[name] = date.fromisoformat(value)
        else:
            values[name] = value
    return DepreciationTerms(**values)


def _asset(record: AssetRecord) -> Asset:
    return Asset(record.tag, record.name, AssetKind(record.kind), record.cost_centre,
                 LifecycleStatus(record.status), record.currency, record.purchase_cost,
                 record.purchase_date, record.in_service_date, record.serial_number,
                 record.manufacturer, record.model, record.location, record.hostname,
                 tuple(record.macs.split(";")) if record.macs else (), record.hardware_uuid,
                 record.cloud_resource_id, record.owner,
                 Environment(record.environment) if record.environment else None,
                 record.purchase_order, record.contract)


def asset_keys(asset: Asset) -> dict[str, str | None]:
    """The normalised keys reconciliation matches an asset on (columns of ``assets``)."""
    return {"serial_key": normalise_serial(asset.serial_number),
            "tag_key": normalise_asset_tag(asset.tag),
            "hostname_key": hostname_key(asset.hostname),
            "uuid_key": uuid_key(asset.hardware_uuid),
            "cloud_key": cloud_resource_key(asset.cloud_resource_id),
            "owner_key": owner_key(asset.owner), "location_key": fold(asset.location),
            "model_key": fold(asset.model)}


def _asset_event(record: AssetEventRecord) -> AssetEvent:
    return AssetEvent(record.asset_tag, AssetEventKind(record.kind), record.effective,
                      record.book, record.to_cost_centre, record.from_cost_centre,
                      record.remaining_life_months, record.salvage, record.amount,
                      record.proceeds, record.note)


class SqlAlchemyAssetRepository(_Repository):
    _ASSET_FIELDS = ("name", "kind", "cost_centre", "status", "currency", "purchase_cost",
                     "purchase_date", "in_service_date", "serial_number", "manufacturer",
                     "model", "location", "hostname", "hardware_uuid", "cloud_resource_id",
                     "owner", "environment", "purchase_order", "contract")

    def get(self, tag: str) -> Asset | None:
        record = self.session.get(AssetRecord, tag)
        return None if record is None else _asset(record)

    def list(self) -> list[Asset]:
        return [_asset(r) for r in self.session.scalars(select(AssetRecord)
                                                        .order_by(AssetRecord.tag))]

    def save(self, asset: Asset, *, new: bool = False) -> None:
        """Insert or update; ``new`` says the caller knows it is absent (no look-up)."""
        record = None if new else self.session.get(AssetRecord, asset.tag)
        if record is None:
            record = AssetRecord(tag=asset.tag)
            self.session.add(record)
        for name in self._ASSET_FIELDS:
            value = getattr(asset, name)
            setattr(record, name, value.value if isinstance(value, enum.Enum) else value)
        record.macs = ";".join(asset.macs) or None
        for name, key in asset_keys(asset).items():
            setattr(record, name, key)

    def count(self) -> int:
        return self._count(AssetRecord)

    def books(self, tag: str | None = None, book: str | None = None) -> list[DepreciationBook]:
        query = select(DepreciationBookRecord).order_by(DepreciationBookRecord.asset_tag,
                                                        DepreciationBookRecord.book)
        if tag is not None:
            query = query.where(DepreciationBookRecord.asset_tag == tag)
        if book is not None:
            query = query.where(DepreciationBookRecord.book == book)
        return [DepreciationBook(r.asset_tag, r.book, terms_from_json(r.terms),
                                 r.expense_account, r.accumulated_account, r.posts_to_ledger)
                for r in self.session.scalars(query)]

    def book_names(self) -> list[str]:
        return list(self.session.scalars(select(DepreciationBookRecord.book).distinct()
                                         .order_by(DepreciationBookRecord.book)))

    def save_book(self, book: DepreciationBook, *, new: bool = False) -> None:
        record = None if new else self.session.get(DepreciationBookRecord,
                                                   (book.asset_tag, book.book))
        if record is None:
            record = DepreciationBookRecord(asset_tag=book.asset_tag, book=book.book)
            self.session.add(record)
        record.terms = terms_to_json(book.terms)
        record.expense_account = book.expense_account
        record.accumulated_account = book.accumulated_account
        record.posts_to_ledger = book.posts_to_ledger

    def events(self, tag: str | None = None) -> list[AssetEvent]:
        query = select(AssetEventRecord).order_by(AssetEventRecord.effective,
                                                  AssetEventRecord.id)
        if tag is not None:
            query = query.where(AssetEventRecord.asset_tag == tag)
        return [_asset_event(r) for r in self.session.scalars(query)]

    def add_event(self, event: AssetEvent) -> int:
        record = AssetEventRecord(
            asset_tag=event.asset_tag, kind=event.kind.value, effective=event.effective,
            book=event.book, to_cost_centre=event.to_cost_centre,
            from_cost_centre=event.from_cost_centre,
            remaining_life_months=event.remaining_life_months, salvage=event.salvage,
            amount=event.amount, proceeds=event.proceeds, note=event.note)
        self.session.add(record)
        self.session.flush()
        return record.id

    # --- the bulk path of register loads (ledger.services.assets.register_assets) ----------

    #: Keys per ``IN (...)`` list: far under every backend's limit on bound parameters.
    KEY_CHUNK = 1000

    def get_many(self, tags: Iterable[str]) -> dict[str, Asset]:
        """The assets among ``tags`` that exist, by tag: read by key, a chunk at a time, so a
        save of a few assets never reads the whole register. Rows, not ORM objects: nothing
        of a large load stays in the session's identity map."""
        table = AssetRecord.__table__
        found: dict[str, Asset] = {}
        keys = sorted(set(tags))
        for start in range(0, len(keys), self.KEY_CHUNK):
            chunk = keys[start:start + self.KEY_CHUNK]
            for row in self.session.execute(select(table).where(table.c.tag.in_(chunk))):
                found[row.tag] = _asset(row)  # type: ignore[arg-type]
        return found

    def save_many(self, assets: Sequence[Asset], *, new: Collection[str]) -> None:
        """Insert the assets whose tag is in ``new`` and update the others, by primary key, in
        two executemany statements (no ORM object per asset)."""
        rows = [self._row(a) for a in assets]
        inserts = [r for r in rows if r["tag"] in new]
        updates = [r for r in rows if r["tag"] not in new]
        if inserts:
            self.session.execute(insert(AssetRecord), inserts)
        if updates:
            self.session.execute(update(AssetRecord), updates)
            # An asset loaded earlier in this transaction must not show its old values.
            for row in updates:
                record = self.session.identity_map.get(identity_key(AssetRecord, row["tag"]))
                if record is not None:
                    self.session.expire(record)

    def books_of(self, tags: Iterable[str]) -> list[DepreciationBook]:
        """The books of the assets among ``tags``, read by key a chunk at a time."""
        keys = sorted(set(tags))
        found: list[DepreciationBook] = []
        for start in range(0, len(keys), self.KEY_CHUNK):
            query = select(DepreciationBookRecord).where(
                DepreciationBookRecord.asset_tag.in_(keys[start:start + self.KEY_CHUNK]))
            found.extend(DepreciationBook(r.asset_tag, r.book, terms_from_json(r.terms),
                                          r.expense_account, r.accumulated_account,
                                          r.posts_to_ledger)
                         for r in self.session.scalars(query))
        return found

    def _row(self, asset: Asset) -> dict[str, Any]:
        row: dict[str, Any] = {"tag": asset.tag}
        for name in self._ASSET_FIELDS:
            value = getattr(asset, name)
            row[name] = value.value if isinstance(value, enum.Enum) else value
        row["macs"] = ";".join(asset.macs) or None
        row.update(asset_keys(asset))
        return row


class SqlAlchemyDepreciationChargeRepository(_Repository):
    def replace(self, period: str, book: str, charges: Sequence[PeriodCharge]) -> int:
        """Replace the stored charges of ``(period, book)``; returns how many were removed."""
        removed = self.session.execute(delete(DepreciationChargeRecord).where(
            DepreciationChargeRecord.period == period, DepreciationChargeRecord.book == book))
        self.session.add_all(DepreciationChargeRecord(
            period=c.period, book=c.book, asset_tag=c.asset_tag, cost_centre=c.cost_centre,
            expense_account=c.expense_account, accumulated_account=c.accumulated_account,
            amount_minor=to_minor_units(c.amount, c.currency), currency=c.currency)
            for c in charges)
        return removed.rowcount or 0

    def for_period(self, period: str, book: str | None = None) -> list[PeriodCharge]:
        query = select(DepreciationChargeRecord).where(DepreciationChargeRecord.period == period)
        if book is not None:
            query = query.where(DepreciationChargeRecord.book == book)
        query = query.order_by(DepreciationChargeRecord.book, DepreciationChargeRecord.asset_tag,
                               DepreciationChargeRecord.cost_centre)
        return [PeriodCharge(r.asset_tag, r.book, r.period, r.cost_centre, r.expense_account,
                             r.accumulated_account, from_minor_units(r.amount_minor, r.currency),
                             r.currency) for r in self.session.scalars(query)]

"""Repositories of governance: role scopes, close heads and posting anchors, provisioning,
budgets and contracts. Each converts records to domain values and never commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, select

from ledger.access import Role
from ledger.audit import ChainHead
from ledger.budget import Budget, QuotaMode
from ledger.contracts import Contract, Granularity
from ledger.persistence.governance_records import (
    BudgetRecord,
    ContractRecord,
    PeriodCloseHeadRecord,
    PostingAnchorRecord,
    ProvisioningRequestRecord,
    RoleScopeRecord,
)
from ledger.persistence.repositories import _Repository
from ledger.provisioning import (
    Check,
    Environment,
    Kind,
    ProvisioningRequest,
    RequestStatus,
    StoredRequest,
)


class SqlAlchemyRoleScopeRepository(_Repository):
    def scopes_of(self, login: str) -> dict[Role, frozenset[str]]:
        """The login's scoped roles and their business units; a role absent is global."""
        scopes: dict[Role, set[str]] = defaultdict(set)
        for record in self.session.scalars(select(RoleScopeRecord).filter_by(login=login)):
            scopes[Role(record.role)].add(record.business_unit)
        return {role: frozenset(units) for role, units in scopes.items()}

    def set_scope(self, login: str, role: Role, business_units: frozenset[str]) -> None:
        """Limit ``login``'s ``role`` to ``business_units`` (empty: global)."""
        self.session.execute(delete(RoleScopeRecord).filter_by(login=login, role=role.value))
        for unit in sorted(business_units):
            self.session.add(RoleScopeRecord(login=login, role=role.value, business_unit=unit))

    def all(self) -> dict[str, dict[Role, frozenset[str]]]:
        found: dict[str, dict[Role, set[str]]] = defaultdict(lambda: defaultdict(set))
        for record in self.session.scalars(select(RoleScopeRecord)):
            found[record.login][Role(record.role)].add(record.business_unit)
        return {login: {role: frozenset(units) for role, units in roles.items()}
                for login, roles in found.items()}


class SqlAlchemyCloseHeadRepository(_Repository):
    def record(self, period: str, head: ChainHead, at: datetime, by: str) -> None:
        self.session.add(PeriodCloseHeadRecord(period=period, sequence=head.sequence,
                                               hash=head.hash, closed_at=at, closed_by=by))

    def latest(self) -> tuple[str, ChainHead] | None:
        record = self.session.scalars(select(PeriodCloseHeadRecord).order_by(
            PeriodCloseHeadRecord.id.desc()).limit(1)).first()
        return None if record is None else (record.period,
                                            ChainHead(record.sequence, record.hash))

    def list(self, period: str | None = None) -> list[tuple[str, ChainHead, datetime, str]]:
        query = select(PeriodCloseHeadRecord).order_by(PeriodCloseHeadRecord.id)
        if period is not None:
            query = query.where(PeriodCloseHeadRecord.period == period)
        return [(r.period, ChainHead(r.sequence, r.hash), r.closed_at, r.closed_by)
                for r in self.session.scalars(query)]


class SqlAlchemyPostingAnchorRepository(_Repository):
    def get(self, journal_id: int) -> tuple[str, ChainHead, str] | None:
        record = self.session.get(PostingAnchorRecord, journal_id)
        return None if record is None else (record.period,
                                            ChainHead(record.sequence, record.hash),
                                            record.short)

    def set(self, journal_id: int, period: str, head: ChainHead, short: str) -> None:
        self.session.add(PostingAnchorRecord(journal_id=journal_id, period=period,
                                             sequence=head.sequence, hash=head.hash,
                                             short=short))


def _stored_request(r: ProvisioningRequestRecord) -> StoredRequest:
    request = ProvisioningRequest(Kind(r.kind), r.name, r.cost_centre, r.owner,
                                  Environment(r.environment), r.monthly_cost, r.currency,
                                  r.period, tuple(sorted(r.tags.items())))
    return StoredRequest(r.id, request, RequestStatus(r.status), r.requested_by, r.requested_at,
                         tuple(Check(c["name"], c["outcome"], c["message"]) for c in r.checks),
                         r.escalation, r.decided_by, r.decided_at, r.reason)


class SqlAlchemyProvisioningRepository(_Repository):
    def add(self, request: ProvisioningRequest, *, status: RequestStatus,
            checks: Sequence[Check], escalation: str | None, by: str, at: datetime) -> int:
        record = ProvisioningRequestRecord(
            kind=request.kind.value, name=request.name, cost_centre=request.cost_centre,
            owner=request.owner, environment=request.environment.value,
            monthly_cost=request.monthly_cost, currency=request.currency,
            period=request.period, tags=request.tag_map, status=status.value,
            checks=[{"name": c.name, "outcome": c.outcome, "message": c.message}
                    for c in checks],
            escalation=escalation, requested_by=by, requested_at=at)
        self.session.add(record)
        self.session.flush()
        return record.id

    def get(self, request_id: int) -> StoredRequest | None:
        record = self.session.get(ProvisioningRequestRecord, request_id)
        return None if record is None else _stored_request(record)

    def list(self, *, statuses: Sequence[str] = (), cost_centre: str | None = None
             ) -> list[StoredRequest]:
        query = select(ProvisioningRequestRecord).order_by(ProvisioningRequestRecord.id)
        if statuses:
            query = query.where(ProvisioningRequestRecord.status.in_(list(statuses)))
        if cost_centre is not None:
            query = query.where(ProvisioningRequestRecord.cost_centre == cost_centre)
        return [_stored_request(r) for r in self.session.scalars(query)]

    def decide(self, request_id: int, *, expected: RequestStatus, to: RequestStatus, by: str,
               at: datetime, reason: str | None) -> bool:
        """Record the decision unless someone decided first (False then)."""
        record = self.session.get(ProvisioningRequestRecord, request_id, with_for_update=True)
        if record is None or record.status != expected.value:
            return False
        record.status, record.decided_by, record.decided_at, record.reason = (
            to.value, by, at, reason)
        return True

    def committed(self, cost_centre: str, period: str, currency: str) -> Decimal:
        """Monthly cost of the approved requests of a cost centre starting in ``period``."""
        total = Decimal(0)
        for r in self.session.scalars(select(ProvisioningRequestRecord).where(
                ProvisioningRequestRecord.cost_centre == cost_centre,
                ProvisioningRequestRecord.period == period,
                ProvisioningRequestRecord.currency == currency,
                ProvisioningRequestRecord.status == RequestStatus.APPROVED.value)):
            total += r.monthly_cost
        return total


def _budget(r: BudgetRecord) -> Budget:
    return Budget(r.cost_centre, r.period, r.amount, r.currency, QuotaMode(r.quota_mode),
                  r.quota_margin)


class SqlAlchemyBudgetRepository(_Repository):
    def get(self, cost_centre: str, period: str) -> Budget | None:
        record = self.session.get(BudgetRecord, (cost_centre, period))
        return None if record is None else _budget(record)

    def list(self, period: str | None = None) -> list[Budget]:
        query = select(BudgetRecord).order_by(BudgetRecord.period, BudgetRecord.cost_centre)
        if period is not None:
            query = query.where(BudgetRecord.period == period)
        return [_budget(r) for r in self.session.scalars(query)]

    def save(self, budget: Budget) -> None:
        record = self.session.get(BudgetRecord, (budget.cost_centre, budget.period))
        if record is None:
            record = BudgetRecord(cost_centre=budget.cost_centre, period=budget.period)
            self.session.add(record)
        record.amount, record.currency = budget.amount, budget.currency
        record.quota_mode, record.quota_margin = budget.quota_mode.value, budget.quota_margin


def _contract(r: ContractRecord) -> Contract:
    return Contract(r.number, r.vendor, r.start, r.end, r.value, r.currency, r.usage_reporting,
                    r.tagging, Granularity(r.metering) if r.metering else None, r.notes)


class SqlAlchemyContractRepository(_Repository):
    def get(self, number: str) -> Contract | None:
        record = self.session.get(ContractRecord, number)
        return None if record is None else _contract(record)

    def list(self) -> list[Contract]:
        return [_contract(r) for r in self.session.scalars(
            select(ContractRecord).order_by(ContractRecord.vendor, ContractRecord.number))]

    def save(self, contract: Contract) -> None:
        record = self.session.get(ContractRecord, contract.number)
        if record is None:
            record = ContractRecord(number=contract.number)
            self.session.add(record)
        record.vendor, record.start, record.end = contract.vendor, contract.start, contract.end
        record.value, record.currency = contract.value, contract.currency
        record.usage_reporting, record.tagging = contract.usage_reporting, contract.tagging
        record.metering = contract.metering.value if contract.metering else None
        record.notes = contract.notes

"""Use cases for the contract register and its checklist of allocation-relevant clauses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ledger.access import Permission
from ledger.contracts import REQUIRED_GRANULARITY, Clause, Contract, Granularity
from ledger.errors import InputError, InputErrors
from ledger.ports import UnitOfWork
from ledger.services.base import Changes, authorize, record_change
from ledger.staging import Staged, index_unique


def import_contracts(*, uow: UnitOfWork, contracts: Sequence[Staged[Contract]],
                     reason: str | None = None) -> Changes:
    """Add or update contracts by number, all or none; the same file again changes nothing."""
    authorize(uow, Permission.MANAGE_CONTRACTS, doing="register contracts")
    errors: list[InputError] = []
    index_unique(contracts, lambda c: c.number, what="contract", field="number", errors=errors)
    if errors:
        raise InputErrors(errors, source=contracts[0].source if contracts else None)
    created = updated = unchanged = 0
    for item in contracts:
        contract = item.value
        before = uow.contracts.get(contract.number)
        if before == contract:
            unchanged += 1
            continue
        uow.contracts.save(contract)
        record_change(uow, action="contract.save", entity="contract", key=contract.number,
                      before=before, after=contract, reason=reason)
        created, updated = (created + 1, updated) if before is None else (created, updated + 1)
    return Changes(frozenset({"contract"}), created=created, updated=updated,
                   unchanged=unchanged)


def list_contracts(*, uow: UnitOfWork) -> list[Contract]:
    authorize(uow, Permission.READ, doing="list contracts")
    return uow.contracts.list()


@dataclass(frozen=True, slots=True)
class ChecklistRow:
    """One contract against the clauses allocation needs."""

    contract: Contract
    missing: tuple[Clause, ...]
    active: bool

    @property
    def complete(self) -> bool:
        return not self.missing


def contract_checklist(*, uow: UnitOfWork, required: Granularity = REQUIRED_GRANULARITY,
                       only_missing: bool = False) -> list[ChecklistRow]:
    """Every contract with the clauses it lacks, incomplete active contracts first."""
    authorize(uow, Permission.READ, doing="read the contract checklist")
    today: date = uow.clock.now().date()
    rows = [ChecklistRow(c, c.missing(required), c.is_active_on(today))
            for c in uow.contracts.list()]
    if only_missing:
        rows = [r for r in rows if r.missing]
    return sorted(rows, key=lambda r: (r.complete, not r.active, r.contract.vendor,
                                       r.contract.number))

"""Use cases for the company, cost centres, GL accounts, FX rates and driver quantities."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ledger.access import Permission
from ledger.calendar import FiscalCalendar
from ledger.errors import InputError, InputErrors, NotFoundError
from ledger.ports import UnitOfWork
from ledger.reference import Company, CostCentre, DriverQuantity, FxRate, GlAccount
from ledger.services.base import Changes, authorize, record_change
from ledger.staging import Staged, index_unique

T = TypeVar("T")


def get_company(*, uow: UnitOfWork) -> Company:
    authorize(uow, Permission.READ, doing="read the company")
    company = uow.company.get()
    if company is None:
        raise NotFoundError("the database has no company yet; run: apportion init")
    return company


def fiscal_calendar(*, uow: UnitOfWork) -> FiscalCalendar:
    company = uow.company.get()
    return FiscalCalendar(company.fiscal_year_start_month if company else 1)


def set_company(*, uow: UnitOfWork, company: Company, reason: str | None = None) -> Changes:
    authorize(uow, Permission.MANAGE_REFERENCE_DATA, doing="change the company")
    before = uow.company.get()
    if before == company:
        return Changes(frozenset({"company"}), unchanged=1)
    if before is not None and before.fiscal_year_start_month != company.fiscal_year_start_month \
            and uow.periods.list():
        raise InputError(
            "the fiscal-year start cannot change once periods exist",
            field="fiscal_year_start_month", value=company.fiscal_year_start_month,
        )
    uow.company.save(company)
    record_change(uow, action="company.create" if before is None else "company.update",
                  entity="company", key=company.code, before=before, after=company,
                  reason=reason)
    return Changes(frozenset({"company"}), created=int(before is None),
                   updated=int(before is not None))


def list_cost_centres(*, uow: UnitOfWork) -> list[CostCentre]:
    authorize(uow, Permission.READ, doing="list cost centres")
    return uow.cost_centres.list()


def import_cost_centres(
    *, uow: UnitOfWork, cost_centres: Sequence[Staged[CostCentre]], reason: str | None = None,
) -> Changes:
    """Create or update cost centres, all or none.

    Every parent must exist (in the database or in the same import) and the hierarchy must stay
    a tree. Importing the same data again changes nothing. Raises :class:`InputErrors` naming
    source, row and field of every problem; nothing is written then.
    """
    authorize(uow, Permission.MANAGE_REFERENCE_DATA, doing="import cost centres")
    errors: list[InputError] = []
    incoming = index_unique(cost_centres, lambda cc: cc.code, what="cost centre", field="code",
                            errors=errors)
    existing = {cc.code: cc for cc in uow.cost_centres.list()}
    parents = {code: cc.parent for code, cc in existing.items()}
    parents.update({code: item.value.parent for code, item in incoming.items()})
    for code, item in incoming.items():
        parent = item.value.parent
        if parent is not None and parent not in parents:
            errors.append(item.error(f"parent cost centre {parent} does not exist",
                                     field="parent", value=parent))
            continue
        seen = {code}
        while parent is not None:
            if parent in seen:
                errors.append(item.error(f"parent {item.value.parent} makes a cycle in the "
                                         "hierarchy", field="parent", value=item.value.parent))
                break
            seen.add(parent)
            parent = parents.get(parent)
    if errors:
        raise InputErrors(errors, source=next((i.source for i in cost_centres), None))

    # Parents first, so that an audit reader sees the tree built top-down.
    return _apply(uow, [(code, existing.get(code), incoming[code].value)
                        for code in _top_down(incoming, existing)],
                  entity="cost_centre", save=uow.cost_centres.save, reason=reason)


def _apply(uow: UnitOfWork, changes: Sequence[tuple[str, T | None, T]], *, entity: str,
           save: Callable[[T], None], reason: str | None,
           add: Callable[[T], None] | None = None) -> Changes:
    """Store each ``(key, before, after)`` that differs, with its audit event; count the rest.

    ``add`` (when given) stores a value known to be new without looking it up first.
    """
    created = updated = unchanged = 0
    for key, before, after in changes:
        if before == after:
            unchanged += 1
            continue
        if before is None:
            (add or save)(after)
        else:
            save(after)
        record_change(uow, action=f"{entity}.{'create' if before is None else 'update'}",
                      entity=entity, key=key, before=before, after=after, reason=reason)
        created += before is None
        updated += before is not None
    return Changes(frozenset({entity}), created=created, updated=updated, unchanged=unchanged)


def _top_down(incoming: dict[str, Staged[CostCentre]],
              existing: dict[str, CostCentre]) -> list[str]:
    depth: dict[str, int] = {}

    def depth_of(code: str) -> int:
        if code not in depth:
            item = incoming.get(code)
            parent = item.value.parent if item else (existing[code].parent
                                                     if code in existing else None)
            depth[code] = 0 if parent is None else depth_of(parent) + 1
        return depth[code]

    return sorted(incoming, key=lambda code: (depth_of(code), code))


def list_accounts(*, uow: UnitOfWork) -> list[GlAccount]:
    authorize(uow, Permission.READ, doing="list GL accounts")
    return uow.accounts.list()


def import_accounts(
    *, uow: UnitOfWork, accounts: Sequence[Staged[GlAccount]], reason: str | None = None,
) -> Changes:
    """Create or update GL accounts, all or none; the same data again changes nothing."""
    authorize(uow, Permission.MANAGE_REFERENCE_DATA, doing="import GL accounts")
    errors: list[InputError] = []
    incoming = index_unique(accounts, lambda a: a.number, what="account", field="number",
                            errors=errors)
    if errors:
        raise InputErrors(errors, source=next((i.source for i in accounts), None))
    existing = {a.number: a for a in uow.accounts.list()}
    return _apply(uow, [(number, existing.get(number), incoming[number].value)
                        for number in sorted(incoming)],
                  entity="gl_account", save=uow.accounts.save, reason=reason)


def set_fx_rates(*, uow: UnitOfWork, rates: Sequence[FxRate],
                 reason: str | None = None) -> Changes:
    """Record FX rates by date; a rate already recorded with the same value changes nothing."""
    authorize(uow, Permission.MANAGE_REFERENCE_DATA, doing="record FX rates")
    changes = []
    for rate in rates:
        before = uow.fx_rates.rate_on(rate.base, rate.quote, rate.day)
        if before is not None and before.day != rate.day:
            before = None  # an earlier day's rate: this one is new
        changes.append((f"{rate.base}/{rate.quote}@{rate.day.isoformat()}", before, rate))
    return _apply(uow, changes, entity="fx_rate", save=uow.fx_rates.save, reason=reason)


def set_driver_quantities(*, uow: UnitOfWork, quantities: Sequence[Staged[DriverQuantity]],
                          reason: str | None = None) -> Changes:
    """Record driver quantities (headcount, usage ...) per cost centre and period."""
    authorize(uow, Permission.MANAGE_DRIVERS, doing="record driver quantities")
    known = {cc.code for cc in uow.cost_centres.list()}
    errors = [item.error(f"cost centre {item.value.cost_centre} does not exist",
                         field="cost_centre", value=item.value.cost_centre)
              for item in quantities if item.value.cost_centre not in known]
    if errors:
        raise InputErrors(errors, source=next((i.source for i in quantities), None))
    # One query per driver and period loads what exists; the lookups below are then in memory.
    existing = {(q.driver, q.cost_centre, q.period): q
                for driver, period in {(i.value.driver, i.value.period) for i in quantities}
                for q in uow.drivers.for_period(driver, period)}
    return _apply(uow, [(f"{q.driver}/{q.cost_centre}/{q.period}",
                         existing.get((q.driver, q.cost_centre, q.period)), q)
                        for q in (item.value for item in quantities)],
                  entity="driver_quantity", save=uow.drivers.save, add=uow.drivers.add,
                  reason=reason)

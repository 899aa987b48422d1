"""Use cases of savings: record an optimisation, and measure what it realised from billing."""

from __future__ import annotations

from typing import Any

from ledger.access import Permission
from ledger.errors import InputError
from ledger.ports import UnitOfWork
from ledger.savings import Saving, SavingMeasure, measure
from ledger.services.base import Changes, authorize, record_change


def record_saving(*, uow: UnitOfWork, saving: Saving, reason: str | None = None) -> Changes:
    """Record (or correct) an optimisation; recording the same values again changes nothing."""
    authorize(uow, Permission.RECORD_SAVINGS, doing="record a saving")
    if saving.cost_centre is not None and uow.cost_centres.get(saving.cost_centre) is None:
        raise InputError("cost centre does not exist", field="cost_centre",
                         value=saving.cost_centre)
    before = uow.savings.get(saving.id)
    if before == saving:
        return Changes(frozenset({"saving"}), unchanged=1)
    uow.savings.save(saving, by=uow.actor.login, at=uow.clock.now(), reason=reason)
    record_change(uow, action="saving." + ("update" if before else "record"), entity="saving",
                  key=saving.id, before=before, after=saving, reason=reason)
    return Changes(frozenset({"saving"}), created=int(before is None),
                   updated=int(before is not None), ids=(saving.id,))


def list_savings(*, uow: UnitOfWork) -> list[Saving]:
    authorize(uow, Permission.READ, doing="list savings")
    return uow.savings.list()


def measure_savings(*, uow: UnitOfWork, store: Any) -> list[SavingMeasure]:
    """Every recorded saving measured against the billing in the cost fact store (amortised
    cost per period, provider, service and currency)."""
    authorize(uow, Permission.READ, doing="report savings")
    savings = uow.savings.list()
    if not savings:
        return []
    billed = store.periods()
    totals = [(t.billing_period, t.provider, t.service_name, t.billing_currency,
               t.effective_cost) for t in store.totals()]
    return [measure(s, totals, billed) for s in savings]

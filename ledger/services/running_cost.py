"""Use case: what running the allocation costs per period and per allocated unit, and how many
manual decisions each period took (from the audit trail)."""

from __future__ import annotations

from collections.abc import Sequence

from ledger.access import Permission
from ledger.allocation.stored import RunStatus
from ledger.ports import UnitOfWork
from ledger.running_cost import RUNNING_COST_POOL, PeriodRunningCost, running_costs
from ledger.services.base import authorize
from ledger.services.reference_data import fiscal_calendar


def running_cost_report(*, uow: UnitOfWork, periods: Sequence[str] = (),
                        pool: str = RUNNING_COST_POOL) -> list[PeriodRunningCost]:
    """Per period (``periods``, else every period with a running cost, a run or a decision):
    the manual costs of ``pool``, the allocated totals of the period's current run, and the
    count of manual decisions recorded in it."""
    authorize(uow, Permission.READ, doing="report the cost of running the allocation")
    calendar = fiscal_calendar(uow=uow)
    decisions = [(calendar.period_containing(e.event.occurred_at.date()).key, e.event.action)
                 for e in uow.audit.chain()]
    keys = list(periods) or sorted(
        {p for p, _ in decisions} | {r.period for r in uow.allocation_runs.list()})
    costs = [(c.period, c.currency, c.amount) for p in keys
             for c in uow.manual_costs.for_period(p) if c.pool == pool]
    allocated = [(run.period, t.currency, t.allocated_total) for p in keys
                 for run in uow.allocation_runs.list(period=p, status=RunStatus.DRAFT)
                 for t in run.totals]
    return running_costs(keys, costs, allocated, decisions)

"""Use cases for budgets and quotas: import budgets, see where each cost centre stands, and
raise alerts (findings, which the ticketing picks up) when actuals or forecasts cross a limit.

Actual cost per cost centre and period comes from the billing cost facts, attributed by the
cost-centre tag (``cost-centre`` unless told otherwise), in the budget's currency. Allocation
results, once stored, are a second source the status can grow to include.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ledger.access import Permission
from ledger.budget import (
    ALERT_KINDS,
    QUOTA_MONTHS,
    Budget,
    BudgetStatus,
    alert_findings,
    assess,
    run_rate,
)
from ledger.calendar import parse_period_key
from ledger.costfacts import CostFactStore
from ledger.errors import InputError, InputErrors
from ledger.finding import FindingStatus
from ledger.ports import UnitOfWork
from ledger.services.base import Changes, authorize, business_units_of, record_change
from ledger.staging import Staged, index_unique

COST_CENTRE_TAG = "cost-centre"


def import_budgets(*, uow: UnitOfWork, budgets: Sequence[Staged[Budget]],
                   reason: str | None = None) -> Changes:
    """Store budgets (one per cost centre and period), all or none; the same file again changes
    nothing. A grant scoped to business units may set only its units' budgets."""
    authorize(uow, Permission.MANAGE_BUDGETS, doing="set budgets")
    errors: list[InputError] = []
    index_unique(budgets, lambda b: f"{b.cost_centre} {b.period}", what="budget",
                 field="cost_centre", errors=errors)
    for item in budgets:
        if uow.cost_centres.get(item.value.cost_centre) is None:
            errors.append(item.error(f"cost centre {item.value.cost_centre} does not exist",
                                     field="cost_centre", value=item.value.cost_centre))
    if errors:
        raise InputErrors(errors, source=budgets[0].source if budgets else None)
    authorize(uow, Permission.MANAGE_BUDGETS, doing="set budgets",
              business_units=business_units_of(uow, (b.value.cost_centre for b in budgets)))
    created = updated = unchanged = 0
    for item in budgets:
        budget = item.value
        before = uow.budgets.get(budget.cost_centre, budget.period)
        if before == budget:
            unchanged += 1
            continue
        uow.budgets.save(budget)
        record_change(uow, action="budget.set", entity="budget",
                      key=f"{budget.cost_centre}/{budget.period}", before=before, after=budget,
                      reason=reason)
        created, updated = (created + 1, updated) if before is None else (created, updated + 1)
    return Changes(frozenset({"budget"}), created=created, updated=updated, unchanged=unchanged)


def list_budgets(*, uow: UnitOfWork, period: str | None = None) -> list[Budget]:
    authorize(uow, Permission.READ, doing="list budgets")
    return uow.budgets.list(_period(period) if period else None)


def _period(key: str) -> str:
    year, month = parse_period_key(key)
    return f"{year:04d}-{month:02d}"


def _shift(period: str, months: int) -> str:
    year, month = parse_period_key(period)
    index = year * 12 + month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _bounds(period: str) -> tuple[date, date]:
    year, month = parse_period_key(period)
    first = date(year, month, 1)
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return first, date.fromordinal(nxt.toordinal() - 1)


def actual_costs(store: CostFactStore | None, periods: Sequence[str], *, tag: str
                 ) -> dict[tuple[str, str, str], Decimal]:
    """Effective cost per (cost centre, period, currency) from the cost facts, by ``tag``."""
    if store is None:
        return {}
    present = [p for p in periods if p in store.periods()]
    if not present:
        return {}
    with store.connect(periods=present) as con:
        rows = con.execute(
            "SELECT element_at(tags, ?)[1] AS centre, billing_period, billing_currency, "
            "sum(effective_cost) FROM cost_facts WHERE element_at(tags, ?)[1] IS NOT NULL "
            "GROUP BY ALL", [tag, tag]).fetchall()
    return {(centre, period, currency): Decimal(total)
            for centre, period, currency, total in rows}


@dataclass
class _Position:
    actual: Decimal
    forecast: Decimal
    history: list[Decimal] = field(default_factory=list)


def _positions(uow: UnitOfWork, store: CostFactStore | None, period: str, currency: str,
               tag: str) -> dict[str, _Position]:
    history_periods = [_shift(period, -n) for n in range(QUOTA_MONTHS, 0, -1)]
    costs = actual_costs(store, [*history_periods, period], tag=tag)
    with_data = set(store.periods()) if store is not None else set()
    first, last = _bounds(period)
    today = uow.clock.now().date()
    positions: dict[str, _Position] = {}
    centres = {c for c, _, cur in costs if cur == currency}
    for centre in sorted(centres):
        actual = costs.get((centre, period, currency), Decimal(0))
        history = [costs.get((centre, p, currency), Decimal(0)) for p in history_periods
                   if p in with_data]
        positions[centre] = _Position(actual, run_rate(actual, first, last, today, currency),
                                      history)
    return positions


def _currency(uow: UnitOfWork) -> str:
    company = uow.company.get()
    return company.functional_currency if company else "USD"


def position_of(uow: UnitOfWork, store: CostFactStore | None, cost_centre: str, period: str,
                *, tag: str = COST_CENTRE_TAG) -> BudgetStatus:
    """Where one cost centre stands in ``period`` (no permission check: callers check)."""
    budget = uow.budgets.get(cost_centre, period)
    currency = budget.currency if budget else _currency(uow)
    position = _positions(uow, store, period, currency, tag).get(
        cost_centre, _Position(Decimal(0), Decimal(0)))
    return assess(cost_centre=cost_centre, period=period, currency=currency, budget=budget,
                  actual=position.actual, forecast=position.forecast,
                  history=position.history,
                  committed=uow.provisioning.committed(cost_centre, period, currency))


def budget_status(*, uow: UnitOfWork, store: CostFactStore | None, period: str,
                  tag: str = COST_CENTRE_TAG) -> list[BudgetStatus]:
    """Every cost centre with a budget or with cost in ``period``: budget, actual, run-rate
    forecast, derived quota and the limits crossed."""
    authorize(uow, Permission.READ, doing="read budgets")
    period = _period(period)
    budgets = {b.cost_centre: b for b in uow.budgets.list(period)}
    by_currency: dict[str, set[str]] = defaultdict(set)
    for budget in budgets.values():
        by_currency[budget.currency].add(budget.cost_centre)
    default = _currency(uow)
    statuses = []
    positions = {cur: _positions(uow, store, period, cur, tag)
                 for cur in {default, *by_currency}}
    centres = set(budgets) | set(positions[default])
    for centre in sorted(centres):
        budget = budgets.get(centre)
        currency = budget.currency if budget else default
        position = positions[currency].get(centre, _Position(Decimal(0), Decimal(0)))
        statuses.append(assess(
            cost_centre=centre, period=period, currency=currency, budget=budget,
            actual=position.actual, forecast=position.forecast, history=position.history,
            committed=uow.provisioning.committed(centre, period, currency)))
    return statuses


@dataclass
class AlertReport:
    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)


def check_budgets(*, uow: UnitOfWork, store: CostFactStore | None, period: str,
                  tag: str = COST_CENTRE_TAG) -> AlertReport:
    """Record a finding for each limit crossed in ``period`` (the ticket sync then opens one
    ticket each), and clear this period's budget findings whose condition no longer holds."""
    # Alerts cover every cost centre: a grant scoped to some business units cannot raise them.
    authorize(uow, Permission.MANAGE_BUDGETS, doing="raise budget alerts",
              business_units=business_units_of(uow, (c.code for c in uow.cost_centres.list())))
    period = _period(period)
    owners = {cc.code: cc.owner for cc in uow.cost_centres.list()}
    report = AlertReport()
    live: set[str] = set()
    now = uow.clock.now()
    for status in budget_status(uow=uow, store=store, period=period, tag=tag):
        for kind, finding in alert_findings(status, owners.get(status.cost_centre)):
            live.add(finding.key)
            before = uow.findings.by_key(finding.key)
            finding_id, created = uow.findings.save(finding, kind=kind, now=now)
            if created:
                report.opened.append(finding_id)
                record_change(uow, action="finding.open", entity="finding", key=finding.key,
                              after={"severity": finding.severity,
                                     "evidence": finding.evidence})
            else:
                report.updated.append(finding_id)
                if before is not None and before.status is FindingStatus.CLEARED:
                    uow.findings.set_status(finding_id, FindingStatus.OPEN, by=None,
                                            reason="the condition is back")
    for kind in ALERT_KINDS:
        for stored in uow.findings.list(statuses=[FindingStatus.OPEN,
                                                  FindingStatus.ACKNOWLEDGED], kind=kind):
            key = stored.finding.key
            if key.endswith(f":{period}") and key not in live:
                uow.findings.set_status(stored.id, FindingStatus.CLEARED, by=None,
                                        reason="no longer crossed")
                record_change(uow, action="finding.clear", entity="finding", key=key,
                              reason="no longer crossed")
                report.cleared.append(stored.id)
    return report


"""Use cases of the reports: the cost-centre statement, forecasts and their accuracy, KPIs and
their benchmarks.

Reports read the current (draft, not superseded) allocation run of each period: the run whose
journals are the period's allocation. The figures are computed by :mod:`ledger.reports`; this
module gathers them and renders nothing (the client writes XLSX, PDF and HTML).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ledger.access import Permission
from ledger.allocation.stored import RunStatus, StoredLine, StoredRun
from ledger.asset import LifecycleStatus
from ledger.catalogue_targets import service_of, service_pools
from ledger.errors import InputError, InputErrors, NotFoundError
from ledger.money import round_to_currency
from ledger.ports import UnitOfWork
from ledger.reports.disputes import dispute_rates
from ledger.reports.forecast import (
    RECENT,
    ForecastPoint,
    KnownChange,
    accuracy,
    apply_known_changes,
    mean_absolute_percentage_error,
    seasonal_forecast,
    shift,
)
from ledger.reports.kpis import (
    HIGHER_IS_BETTER,
    Benchmark,
    allocation_shares,
    compare,
    tag_coverage,
)
from ledger.reports.statement import ShadowFigure, Statement, build_statement
from ledger.services.base import Changes, authorize, record_change
from ledger.staging import Staged, index_unique

#: How many earlier periods a statement's trend shows.
TREND_PERIODS = 6
#: The driver whose total is the company's employees (unit cost per employee).
EMPLOYEES_DRIVER = "headcount"
RATE = Decimal("0.0001")


def current_run(uow: UnitOfWork, period: str) -> StoredRun:
    """The period's current allocation run (the latest one not superseded)."""
    runs = uow.allocation_runs.list(period=period, status=RunStatus.DRAFT)
    if not runs:
        raise NotFoundError(f"no allocation run for {period}; run one with: apportion allocate "
                            f"--period {period}")
    return max(runs, key=lambda r: r.id)


def current_lines(uow: UnitOfWork, *, before: str | None = None, limit: int | None = None
                  ) -> dict[str, list[StoredLine]]:
    """Lines of the current run of each allocated period (those before ``before`` only, the
    latest ``limit`` of them)."""
    latest: dict[str, StoredRun] = {}
    for run in uow.allocation_runs.list(status=RunStatus.DRAFT):
        if before is not None and run.period >= before:
            continue
        if run.period not in latest or run.id > latest[run.period].id:
            latest[run.period] = run
    periods = sorted(latest)[-limit:] if limit else sorted(latest)
    return {p: uow.allocation_runs.lines(latest[p].id) for p in periods}


# -- the statement ---------------------------------------------------------------------------------


def _plain(quantity: Decimal) -> str:
    """A driver quantity as people write it: stored with 18 decimals, shown without the zeros."""
    return f"{quantity.normalize():f}" if quantity else "0"


def _bases(uow: UnitOfWork, run: StoredRun, cost_centre: str) -> dict[tuple[str, str], str]:
    """Per (rule, kind) the sentence behind a shared line: the driver and this cost centre's
    quantity of it, or the fixed percentage."""
    version = uow.rulesets.get(run.ruleset_name, run.ruleset_version)
    if version is None:
        return {}
    bases = {}
    # A pool whose metering was missing was split at a coarser level (the run's policy report).
    fallback = {level["pool"]: level for level in (uow.policies.report(run.id) or {}).get(
        "granularity", ()) if level.get("split")}
    for rule in version.ruleset().shared:
        driver = rule.driver
        if rule.pool in fallback and driver and not service_of(driver):
            driver = fallback[rule.pool].get("driver")
        if driver and service_of(driver):
            text = _service_basis(uow, driver, run.period, cost_centre)
        elif driver:
            quantities = {q.cost_centre: q.quantity
                          for q in uow.drivers.for_period(driver, run.period)}
            total = sum(quantities.values(), Decimal(0))
            own = quantities.get(cost_centre, Decimal(0))
            share = f" ({own / total:.2%})" if total else ""
            text = f"by {driver}: {_plain(own)} of {_plain(total)}{share}"
        elif rule.percent:
            percent = dict(rule.percent).get(cost_centre)
            text = f"fixed {percent:f} % of the pool" if percent is not None else "fixed split"
        else:
            text = f"evenly among {len(rule.targets)}"
        if rule.pool in fallback:
            text += f" (policy: {fallback[rule.pool]['split']})"
        bases[(rule.id, "shared")] = text
    from ledger.services.cloud_basis import cloud_bases  # a cluster's namespace, spot workload

    bases.update(cloud_bases(uow, run, cost_centre))
    return bases


def _service_basis(uow: UnitOfWork, driver: str, period: str, cost_centre: str) -> str:
    """The sentence behind a charge that came through a catalogue service: the tier, the units
    and their value against all subscriptions of the service."""
    from ledger.services.catalogue import subscription_weights

    code, at_rate = service_of(driver) or ("", False)
    service = uow.catalogue.service(code)
    if service is None:
        return f"through service {code}"
    found = subscription_weights(uow, service, period)
    own = next((w for w in found if w.cost_centre == cost_centre), None)
    if own is None:
        return f"through service {code} {service.name}"
    units = f"{own.quantity:f} {service.unit} at {own.tier} {own.rate:f}"
    if at_rate:
        return f"service {code} at the catalogue rate: {units} = {own.price:f} {service.currency}"
    total = sum((w.value for w in found), Decimal(0))
    share = f" ({own.value / total:.2%})" if total else ""
    return (f"service {code} by subscription: {units} = {own.value:f} of {total:f} "
            f"subscribed{share}")


def _services(uow: UnitOfWork, run: StoredRun) -> dict[str, str]:
    """Pool id -> catalogue service code, for the pools of the run's rule set that are
    services (see :mod:`ledger.catalogue_targets`)."""
    version = uow.rulesets.get(run.ruleset_name, run.ruleset_version)
    if version is None:
        return {}
    return {pool: basis.service for pool, basis in service_pools(version.ruleset()).items()}


def _charging(uow: UnitOfWork, run: StoredRun, cost_centre: str
              ) -> tuple[str | None, list[ShadowFigure]]:
    """The cost centre's charging mode and, in shadow chargeback, both figures, as the run's
    policy report recorded them (kept with the run: the stored lines keep only what was
    posted, so the would-be chargeback is read from the report, never recomputed)."""
    report = uow.policies.report(run.id)
    figures = [f for f in (report or {}).get("charging", ())
               if f["cost_centre"] == cost_centre]
    if not figures:
        return None, []
    mode = figures[0]["mode"]
    shadow = [ShadowFigure(f["currency"], Decimal(f["showback"]), Decimal(f["chargeback"]))
              for f in figures if f["mode"] == "shadow"]
    return mode, sorted(shadow, key=lambda f: f.currency)


def statement(*, uow: UnitOfWork, cost_centre: str, period: str) -> Statement:
    """The statement of ``cost_centre`` for ``period`` from the period's current run."""
    authorize(uow, Permission.READ, doing="read cost-centre statements")
    centre = uow.cost_centres.get(cost_centre)
    if centre is None:
        raise InputError(f"cost centre {cost_centre} does not exist", field="cost_centre",
                         value=cost_centre)
    run = current_run(uow, period)
    budget = uow.budgets.get(cost_centre, period)
    mode, shadow = _charging(uow, run, cost_centre)
    return build_statement(
        cost_centre=cost_centre, name=centre.name, period=period, run_id=run.id,
        ruleset=run.ruleset, lines=uow.allocation_runs.lines(run.id),
        history=current_lines(uow, before=period, limit=TREND_PERIODS),
        bases=_bases(uow, run, cost_centre),
        budget=budget.amount if budget else None, budget_currency=budget.currency if budget
        else None, mode=mode, shadow=shadow, services=_services(uow, run))


def statements(*, uow: UnitOfWork, period: str) -> list[Statement]:
    """The statement of every cost centre the period's run charged (the month-end batch)."""
    authorize(uow, Permission.READ, doing="read cost-centre statements")
    run = current_run(uow, period)
    centres = sorted({line.cost_centre for line in uow.allocation_runs.lines(run.id)})
    return [statement(uow=uow, cost_centre=code, period=period) for code in centres]


# -- forecast versus actual ------------------------------------------------------------------------


def _history(lines_by_period: Mapping[str, list[StoredLine]]
             ) -> dict[tuple[str, str], dict[str, Decimal]]:
    """``(cost centre, currency) -> {period: allocated}``."""
    history: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(dict)
    for period, lines in lines_by_period.items():
        for line in lines:
            series = history[(line.cost_centre, line.currency)]
            series[period] = series.get(period, Decimal(0)) + line.amount
    return history


def forecast(*, uow: UnitOfWork, period: str, horizon: int = 3,
             cost_centre: str | None = None) -> dict[str, Any]:
    """Per cost centre, forecasts of the ``horizon`` periods after ``period`` from the history
    allocated up to it, and the accuracy of the forecasts saved earlier."""
    authorize(uow, Permission.READ, doing="read forecasts")
    if horizon < 1:
        raise InputError("the horizon is one period or more", field="horizon", value=horizon)
    lines = current_lines(uow)
    known = {p: ls for p, ls in lines.items() if p <= period}
    history = _history(known)
    changes: dict[str, list[KnownChange]] = defaultdict(list)
    for change in uow.known_changes.list(cost_centre=cost_centre):
        changes[change.cost_centre].append(change)
    for change in (c for found in changes.values() for c in found):
        if change.amount is not None and change.currency:  # a new team: no history yet
            history.setdefault((change.cost_centre, change.currency), {})
    pool_service = _pool_services(uow, known)
    rows = []
    for (centre, currency), series in sorted(history.items()):
        if cost_centre and centre != cost_centre:
            continue
        baseline = seasonal_forecast(series, after=period, periods=horizon, currency=currency) \
            if series else [ForecastPoint(shift(period, step), currency, Decimal(0), NO_HISTORY)
                            for step in range(1, horizon + 1)]
        adjusted, applied = apply_known_changes(
            baseline, changes.get(centre, ()), _recent_shares(known, centre, currency,
                                                              pool_service))
        rows.append({"cost_centre": centre, "currency": currency, "history": dict(series),
                     "baseline": baseline, "known_changes": applied, "forecast": adjusted})
    actuals = {(c, p, cur): amount for (c, cur), series in _history(lines).items()
               for p, amount in series.items()}
    checked = accuracy(uow.forecasts.list(cost_centre=cost_centre), actuals)
    return {"period": period, "horizon": horizon, "cost_centres": rows, "accuracy": checked,
            "mean_absolute_percentage_error": mean_absolute_percentage_error(checked)}


#: The baseline method of a cost centre without history (only known changes forecast it).
NO_HISTORY = "no_history"


def _pool_services(uow: UnitOfWork, known: Mapping[str, list[StoredLine]]) -> dict[str, str]:
    """Pool -> catalogue service in the rule set of the latest run known (see
    :mod:`ledger.catalogue_targets`): a known change of a service scales that pool's part."""
    if not known:
        return {}
    try:
        return _services(uow, current_run(uow, max(known)))
    except NotFoundError:
        return {}


def _recent_shares(known: Mapping[str, list[StoredLine]], centre: str, currency: str,
                   pool_service: Mapping[str, str]) -> dict[str, Decimal]:
    """Each pool's (and ``service:CODE``'s) share of the cost centre's allocation over the
    latest periods the baseline is made from."""
    recent = sorted(known)[-RECENT:]
    parts: dict[str, Decimal] = defaultdict(Decimal)
    total = Decimal(0)
    for period in recent:
        for line in known[period]:
            if line.cost_centre == centre and line.currency == currency:
                parts[line.pool] += line.amount
                if line.pool in pool_service:
                    parts[f"service:{pool_service[line.pool]}"] += line.amount
                total += line.amount
    return {name: amount / total for name, amount in parts.items()} if total else {}


def save_forecast(*, uow: UnitOfWork, period: str, horizon: int = 3) -> Changes:
    """Keep the forecasts made from ``period`` so that their accuracy can be measured later."""
    authorize(uow, Permission.RUN_ALLOCATION, doing="save forecasts")
    found = forecast(uow=uow, period=period, horizon=horizon)
    changed = 0
    for row in found["cost_centres"]:
        changed += uow.forecasts.save(row["cost_centre"], row["forecast"], made_in=period,
                                      made_by=uow.actor.login, made_at=uow.clock.now())
    if changed:
        record_change(uow, action="forecast.save", entity="forecast", key=period,
                      after={"horizon": horizon, "forecasts": changed})
    return Changes(frozenset({"forecast"}), created=changed)


# -- KPIs ------------------------------------------------------------------------------------------


def _match_rate(uow: UnitOfWork) -> Decimal | None:
    from ledger.services.inventory import reconciliation_counts

    counts = reconciliation_counts(uow=uow)
    seen = counts.get("matched", 0) + counts.get("unregistered", 0) + counts.get("missing", 0)
    return Decimal(counts.get("matched", 0)) / seen if seen else None


def _unit_costs(uow: UnitOfWork, period: str, allocated: Decimal | None, currency: str | None
                ) -> dict[str, Decimal | None]:
    employees = sum((q.quantity for q in uow.drivers.for_period(EMPLOYEES_DRIVER, period)),
                    Decimal(0))
    devices = sum(1 for a in uow.assets.list() if a.status is LifecycleStatus.IN_SERVICE)
    per = {"employees": employees, "devices": Decimal(devices)}
    if allocated is None:
        return {"cost_per_employee": None, "cost_per_device": None, **per}
    return {"cost_per_employee": round_to_currency(allocated / employees, currency)
            if employees else None,
            "cost_per_device": round_to_currency(allocated / devices, currency)
            if devices else None, **per}


def _fraction(value: Decimal | None) -> Decimal | None:
    """A rate as shown and compared: four decimals (0.8261 is 82.61 %)."""
    return None if value is None else value.quantize(RATE)


def kpis(*, uow: UnitOfWork, period: str) -> dict[str, Any]:
    """The period's KPIs beside their benchmarks (the company's currency for unit costs)."""
    authorize(uow, Permission.READ, doing="read KPIs")
    run = current_run(uow, period)
    lines = uow.allocation_runs.lines(run.id)
    shares = allocation_shares(lines, uow.allocation_runs.gaps(run.id))
    company = uow.company.get()
    currency = company.functional_currency if company and company.functional_currency in shares \
        else next(iter(shares), None)
    main = shares.get(currency) if currency else None
    rates = [r for r in dispute_rates({period: lines}, uow.disputes.list(period=period))
             if r.dimension == "period"]
    coverage = tag_coverage(uow.allocation_runs.lineage(run.id))
    units = _unit_costs(uow, period, main["total"] - main["amounts"]["unallocated"]
                        if main else None, currency)
    values: dict[str, Decimal | None] = {
        "direct_share": main["percent"]["direct"] if main else None,
        "driver_share": main["percent"]["driver"] if main else None,
        "unallocated_share": main["percent"]["unallocated"] if main else None,
        "tag_coverage": _fraction(coverage["by_amount"]),
        "reconciliation_match_rate": _fraction(_match_rate(uow)),
        "dispute_rate": _fraction(rates[0].rate if rates else Decimal(0)),
        "dispute_amount_rate": _fraction((rates[0].amount_rate(currency) or Decimal(0))
                                         if rates and currency else Decimal(0)),
        "cost_per_employee": units["cost_per_employee"],
        "cost_per_device": units["cost_per_device"],
    }
    return {"period": period, "run_id": run.id, "ruleset": run.ruleset, "currency": currency,
            "shares": shares, "tag_coverage": coverage, "units": units, "values": values,
            "comparison": compare(values, uow.benchmarks.all())}


def set_benchmark(*, uow: UnitOfWork, kpi: str, value: Decimal, source: str | None = None
                  ) -> Changes:
    """Enter (or import) the benchmark value of one KPI."""
    authorize(uow, Permission.MANAGE_BENCHMARKS, doing="set KPI benchmarks")
    if kpi not in HIGHER_IS_BETTER:
        raise InputError(f"unknown KPI {kpi!r}; KPIs are {', '.join(HIGHER_IS_BETTER)}",
                         field="kpi", value=kpi)
    before = uow.benchmarks.set(kpi, value, source=source, updated_by=uow.actor.login,
                                updated_at=uow.clock.now())
    if before == (value, source):
        return Changes(frozenset({"benchmark"}), unchanged=1)
    record_change(uow, action="benchmark.set", entity="benchmark", key=kpi,
                  before={"value": before[0], "source": before[1]} if before else None,
                  after={"value": value, "source": source})
    return Changes(frozenset({"benchmark"}), created=0 if before else 1,
                   updated=1 if before else 0)


def import_benchmarks(*, uow: UnitOfWork, benchmarks: Sequence[Staged[Benchmark]],
                      reason: str | None = None) -> Changes:
    """Set the benchmarks of a file, all or nothing: every row is checked first (an unknown KPI
    or a KPI twice names its file, row and field); a value equal to the stored one is left
    alone, so the same file again changes nothing."""
    authorize(uow, Permission.MANAGE_BENCHMARKS, doing="set KPI benchmarks")
    errors = [item.error(f"unknown KPI; KPIs are {', '.join(HIGHER_IS_BETTER)}", field="kpi",
                         value=item.value.kpi)
              for item in benchmarks if item.value.kpi not in HIGHER_IS_BETTER]
    index_unique(benchmarks, lambda b: b.kpi, what="KPI", field="kpi", errors=errors)
    if errors:
        raise InputErrors(errors, source=benchmarks[0].source if benchmarks else None)
    total = Changes(frozenset({"benchmark"}))
    for item in benchmarks:
        total += _set_benchmark(uow, item.value.kpi, item.value.value, item.value.source,
                                reason)
    return total


def _set_benchmark(uow: UnitOfWork, kpi: str, value: Decimal, source: str | None,
                   reason: str | None) -> Changes:
    before = uow.benchmarks.set(kpi, value, source=source, updated_by=uow.actor.login,
                                updated_at=uow.clock.now())
    if before == (value, source):
        return Changes(frozenset({"benchmark"}), unchanged=1)
    record_change(uow, action="benchmark.set", entity="benchmark", key=kpi,
                  before={"value": before[0], "source": before[1]} if before else None,
                  after={"value": value, "source": source}, reason=reason)
    return Changes(frozenset({"benchmark"}), created=0 if before else 1,
                   updated=1 if before else 0)


def list_benchmarks(*, uow: UnitOfWork) -> list[Benchmark]:
    """The benchmarks entered or imported, by KPI."""
    authorize(uow, Permission.READ, doing="read KPI benchmarks")
    return [Benchmark(kpi, value, source)
            for kpi, (value, source) in sorted(uow.benchmarks.all().items())]

"""Each report as a :class:`Document`: which facts, tables and charts it shows."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from client.render.document import Chart, Document, Table
from ledger.reports.statement import Statement

#: How each KPI reads on a report; `` %`` marks a fraction shown as a percentage.
KPI_LABELS = {
    "direct_share": "Allocated directly (percent)", "driver_share": "Allocated by driver (percent)",
    "unallocated_share": "Unallocated (percent)", "tag_coverage": "Tag coverage %",
    "reconciliation_match_rate": "Reconciliation match rate %", "dispute_rate": "Dispute rate %",
    "dispute_amount_rate": "Dispute rate by amount %",
    "cost_per_employee": "Cost per employee", "cost_per_device": "Cost per device",
}


def statement_document(statement: Statement) -> Document:
    """The bill of IT: totals and budget, charges by pool (chart), trend (chart), the lines
    with their basis, and the top movers against the prior period."""
    facts: list[tuple[str, Any]] = [("Cost centre", f"{statement.cost_centre} {statement.name}"),
                                    ("Period", statement.period),
                                    ("Allocation run", f"{statement.run_id} ({statement.ruleset})")]
    facts += [(f"Total {currency}", total) for currency, total in statement.totals.items()]
    facts += [(f"Charged (journalled) {c}", t) for c, t in statement.charged_totals.items()]
    facts.append(("Charging mode", statement.mode or ""))
    for figure in statement.shadow:  # shadow chargeback: what the charge would have been
        facts += [(f"Shadow: showback {figure.currency}", figure.showback),
                  (f"Shadow: would-be chargeback {figure.currency}", figure.chargeback)]
    if statement.budget is not None:
        facts.append((f"Budget {statement.budget_currency}", statement.budget))
        facts.append(("Budget used %", statement.budget_used()))
    by_pool = statement.by_pool()
    trend: dict[str, Decimal] = defaultdict(Decimal)
    for period, _currency, amount in statement.trend:
        trend[period] += amount
    charts = [Chart("Charges by pool", "bar", tuple(f"{p} ({c})" for p, c in by_pool),
                    tuple(by_pool.values())),
              Chart("Trend", "line", tuple(trend), tuple(trend.values()))]
    lines = Table("Charges", ("Pool", "Rule", "Kind", "Account", "Currency", "Amount",
                              "Charged", "Basis", "Service"),
                  [(li.pool, li.rule, li.kind, li.account, li.currency, li.amount,
                    "yes" if li.charged else "showback", li.basis, li.service)
                   for li in statement.lines])
    by_service = Table("Charges by service (a pool in parentheses: no catalogue service)",
                       ("Service", "Currency", "Amount"),
                       [(name, currency, amount) for (name, currency), amount
                        in statement.by_service().items()])
    movers = Table("Top movers against the prior period",
                   ("Pool", "Rule", "Currency", "Before", "Now", "Change"),
                   [(m.pool, m.rule, m.currency, m.before, m.now, m.change)
                    for m in statement.movers])
    history = Table("Trend", ("Period", "Currency", "Amount"), list(statement.trend))
    return Document(f"IT statement {statement.cost_centre} {statement.name}",
                    f"What {statement.name} was charged in {statement.period}, and why",
                    facts, [by_service, lines, movers, history], charts)


def kpi_document(found: dict[str, Any]) -> Document:
    values = found["values"]
    facts: list[tuple[str, Any]] = [("Period", found["period"]),
                                    ("Allocation run", f"{found['run_id']} ({found['ruleset']})"),
                                    ("Currency", found["currency"])]
    shares = (found["shares"].get(found["currency"]) or {}) if found["currency"] else {}
    charts = []
    if shares:
        names = ("direct", "driver", "unallocated")
        charts.append(Chart("How cost was allocated (%)", "pie",
                            ("directly", "by driver", "unallocated"),
                            tuple(shares["percent"][n] for n in names)))
    comparison = Table("KPIs against benchmarks",
                       ("KPI", "Value", "Benchmark", "Difference", "Verdict", "Source"),
                       [(c.kpi, c.value, c.benchmark, c.difference, c.verdict, c.source)
                        for c in found["comparison"]])
    share_rows = [(currency, name, s["amounts"][name], s["percent"][name])
                  for currency, s in found["shares"].items() for name in s["amounts"]]
    share_table = Table("Allocation shares", ("Currency", "Share", "Amount", "Percent"),
                        share_rows)
    facts += [(KPI_LABELS.get(name, name), value) for name, value in values.items()]
    return Document(f"Allocation KPIs {found['period']}", "Adoption and quality of the "
                    "allocation, beside the benchmarks", facts, [comparison, share_table], charts)


def forecast_document(found: dict[str, Any]) -> Document:
    rows = [(row["cost_centre"], p.period, p.currency, b.amount, p.amount - b.amount, p.amount,
             p.method)
            for row in found["cost_centres"]
            for p, b in zip(row["forecast"], row.get("baseline", row["forecast"]), strict=True)]
    changes = [(row["cost_centre"], a.period, a.currency, a.amount, a.change.describe())
               for row in found["cost_centres"] for a in row.get("known_changes", ())]
    checked = [(a.cost_centre, a.period, a.made_in, a.currency, a.forecast, a.actual, a.error,
                a.absolute_percentage_error) for a in found["accuracy"]]
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in found["cost_centres"]:
        for period, amount in row["history"].items():
            totals[period] += amount
        for point in row["forecast"]:
            totals[point.period] += point.amount
    return Document(
        f"Forecast after {found['period']}", "Seasonal baseline from the allocation history, "
        "plus the known changes",
        [("Horizon (periods)", found["horizon"]),
         ("Mean absolute percentage error", found["mean_absolute_percentage_error"])],
        [Table("Forecast", ("Cost centre", "Period", "Currency", "Baseline", "Known changes",
                            "Forecast", "Method"), rows),
         Table("Known changes applied", ("Cost centre", "Period", "Currency", "Amount",
                                         "Change"), changes),
         Table("Accuracy of earlier forecasts", ("Cost centre", "Period", "Made in", "Currency",
                                                 "Forecast", "Actual", "Error", "Error %"),
               checked, frozenset({"Error %"}))],
        [Chart("Allocated and forecast, all cost centres", "line", tuple(sorted(totals)),
               tuple(totals[p] for p in sorted(totals)))])


def disputes_document(found: dict[str, Any]) -> Document:
    disputes = [(d.id, d.period, d.cost_centre, d.pool, d.rule, d.currency, d.amount,
                 d.status.value, d.raised_by, d.reason, d.correction, d.answer,
                 found["journal_status"].get(d.id)) for d in found["disputes"]]
    rates = [(r.dimension, r.key, r.lines, r.disputed, r.accepted, r.rejected, r.rate,
              currency, charged, disputed, corrected,
              disputed / charged if charged else None)
             for r in found["rates"]
             for currency, charged, disputed, corrected in r.amounts or (("", 0, 0, 0),)]
    per_pool = [r for r in found["rates"] if r.dimension == "pool"]
    return Document(
        "Disputes", f"Period {found['period'] or 'all'}",
        [("Disputes", len(found["disputes"]))],
        [Table("Disputes", ("Id", "Period", "Cost centre", "Pool", "Rule", "Currency", "Amount",
                            "Status", "Raised by", "Reason", "Correction", "Answer", "Journal"),
               disputes),
         Table("Dispute rates", ("By", "Key", "Lines", "Disputed", "Accepted", "Rejected",
                                 "Rate", "Currency", "Charged", "Disputed amount", "Corrected",
                                 "Rate by amount"), rates,
               frozenset({"Rate", "Rate by amount"}))],
        [Chart("Dispute rate by pool (%)", "bar", tuple(r.key for r in per_pool),
               tuple(r.rate * 100 for r in per_pool))])

"""Reports: statements, disputes, forecasts, KPIs (the `report` group), and the dispute
workflow (the `disputes` group).

``apportion report statement|disputes|forecast|kpis|benchmark``,
``apportion report known-changes import|add|list|remove``, ``report benchmarks import|list`` and
``apportion disputes open|list|review|accept|reject``. Reports print a table, or one JSON
document with ``--json`` (amounts as strings), or write ``--out FILE`` as XLSX, PDF or HTML by
its extension.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from client.bootstrap import App
from client.commands.common import (
    Options,
    changes_json,
    console,
    json_option,
    opened,
    plain,
    print_json,
    read,
    show,
    write,
)
from client.render import FORMATS, write_document
from client.render.reports import (
    disputes_document,
    forecast_document,
    kpi_document,
    statement_document,
)
from ledger.errors import InputError
from ledger.money import to_decimal
from ledger.reports.statement import Statement
from ledger.services import disputes as dispute_service
from ledger.services import reports as service

PERIOD = click.option("--period", required=True, help="The period, YYYY-MM.")
OUT = click.option("--out", type=click.Path(path_type=Path),
                   help="Write the report to FILE (.xlsx, .pdf or .html).")


def _json(ctx: click.Context) -> bool:
    return ctx.ensure_object(Options).json


def _check_out(out: Path | None) -> None:
    if out is not None and out.suffix.lower() not in (*FORMATS, ".htm"):
        raise InputError(f"write reports as {', '.join(FORMATS)}", field="--out", value=str(out))


def _wrote(ctx: click.Context, paths: list[Path]) -> None:
    if _json(ctx):
        print_json({"written": [str(p) for p in paths]})
    else:
        for path in paths:
            console.print(f"Wrote {path}.")


@click.group()
def report() -> None:
    """Reports people would rather look at than read: statements, disputes, forecasts, KPIs."""


# -- statement -------------------------------------------------------------------------------


def _statement_json(statement: Statement) -> dict[str, Any]:
    return {**plain(statement), "totals": plain(statement.totals),
            "charged_totals": plain(statement.charged_totals),
            "by_service": [{"service": name, "currency": currency, "amount": plain(amount)}
                           for (name, currency), amount in statement.by_service().items()],
            "budget_used": plain(statement.budget_used()),
            "movers": [{**plain(m), "change": plain(m.change)} for m in statement.movers]}


def write_statements(app: App, period: str, folder: Path, kind: str = "pdf") -> list[Path]:
    """The month-end batch: one statement file per cost centre the run charged (also the
    scheduler's ``statements`` job)."""
    with app.uow(read_only=True) as uow:
        found = service.statements(uow=uow, period=period)
    return [write_document(statement_document(s),
                           folder / f"statement-{period}-{s.cost_centre}.{kind}") for s in found]


@report.command("statement")
@click.option("--cost-centre", help="One cost centre (default: every one the run charged, one "
              "file each into the folder --out).")
@PERIOD
@OUT
@click.option("--format", "kind", type=click.Choice(["xlsx", "pdf", "html"]), default="pdf",
              show_default=True, help="The files' format when --out is a folder.")
@json_option
@click.pass_context
def statement(ctx: click.Context, cost_centre: str | None, period: str, out: Path | None,
              kind: str) -> None:
    """The bill of IT: what a cost centre was charged, by pool and rule, and why."""
    if cost_centre is None:
        if out is None or out.suffix:
            raise InputError("without --cost-centre, --out names a folder for one file per "
                             "cost centre", field="--out", value=str(out) if out else None)
        with opened(ctx) as app:
            _wrote(ctx, write_statements(app, period, out, kind))
        return
    _check_out(out)
    found = read(ctx, lambda uow: service.statement(uow=uow, cost_centre=cost_centre,
                                                    period=period))
    if out is not None:
        _wrote(ctx, [write_document(statement_document(found), out)])
    elif _json(ctx):
        print_json(_statement_json(found))
    else:
        show(ctx, "lines", found.lines, [
            ("service", lambda li: li.service), ("pool", lambda li: li.pool),
            ("rule", lambda li: li.rule),
            ("kind", lambda li: li.kind), ("amount", lambda li: f"{li.amount:,.2f}"),
            ("currency", lambda li: li.currency), ("basis", lambda li: li.basis)])
        for currency, total in found.totals.items():
            console.print(f"{found.cost_centre} {found.name}, {period}: {total:,.2f} "
                          f"{currency} (run {found.run_id}).")


# -- KPIs, forecast, disputes ---------------------------------------------------------------


@report.command("kpis")
@PERIOD
@OUT
@json_option
@click.pass_context
def kpis(ctx: click.Context, period: str, out: Path | None) -> None:
    """Shares allocated directly / by driver / unallocated, coverage, rates, unit costs."""
    _check_out(out)
    found = read(ctx, lambda uow: service.kpis(uow=uow, period=period))
    if out is not None:
        _wrote(ctx, [write_document(kpi_document(found), out)])
        return
    rows = [{**plain(c), "difference": plain(c.difference), "verdict": c.verdict}
            for c in found["comparison"]]
    show(ctx, "kpis", rows, [
        ("KPI", lambda r: r["kpi"]), ("value", lambda r: r["value"]),
        ("benchmark", lambda r: r["benchmark"]), ("verdict", lambda r: r["verdict"])],
        extra={key: plain(found[key]) for key in ("period", "run_id", "ruleset", "currency",
                                                  "shares", "tag_coverage", "units")})


@report.command("benchmark")
@click.argument("kpi")
@click.argument("value")
@click.option("--source", help="Where the value comes from (survey, peer group ...).")
@json_option
@click.pass_context
def benchmark(ctx: click.Context, kpi: str, value: str, source: str | None) -> None:
    """Set the benchmark VALUE of KPI (shares in %, rates as fractions, unit costs in money)."""
    write(ctx, "Benchmarks", lambda uow: service.set_benchmark(
        uow=uow, kpi=kpi, value=to_decimal(value), source=source))


@report.command("forecast")
@PERIOD
@click.option("--horizon", type=int, default=3, show_default=True,
              help="How many periods after --period to forecast.")
@click.option("--cost-centre", help="Only this cost centre.")
@click.option("--save", is_flag=True, help="Keep these forecasts to measure them later.")
@OUT
@json_option
@click.pass_context
def forecast(ctx: click.Context, period: str, horizon: int, cost_centre: str | None,
             save: bool, out: Path | None) -> None:
    """Forecast per cost centre from the allocation history, and earlier forecasts' accuracy."""
    _check_out(out)
    if save:
        write(ctx, "Forecasts", lambda uow: service.save_forecast(uow=uow, period=period,
                                                                 horizon=horizon))
        if _json(ctx):
            return
    found = read(ctx, lambda uow: service.forecast(uow=uow, period=period, horizon=horizon,
                                                   cost_centre=cost_centre))
    if out is not None:
        _wrote(ctx, [write_document(forecast_document(found), out)])
        return
    rows = [_forecast_row(r, p, b) for r in found["cost_centres"]
            for p, b in zip(r["forecast"], r.get("baseline", r["forecast"]), strict=True)]
    changes = [_applied_row(r["cost_centre"], a) for r in found["cost_centres"]
               for a in r.get("known_changes", ())]
    accuracy = [{**plain(a), "error": plain(a.error),
                 "absolute_percentage_error": plain(a.absolute_percentage_error)}
                for a in found["accuracy"]]
    show(ctx, "forecast", rows, [
        ("cost centre", lambda r: r["cost_centre"]), ("period", lambda r: r["period"]),
        ("baseline", lambda r: r["baseline"]), ("known changes", lambda r: r["known_changes"]),
        ("forecast", lambda r: r["amount"]), ("currency", lambda r: r["currency"]),
        ("method", lambda r: r["method"])],
        extra={"period": period, "horizon": horizon, "known_changes": changes,
               "accuracy": accuracy,
               "mean_absolute_percentage_error":
                   plain(found["mean_absolute_percentage_error"])})


def _forecast_row(row: dict[str, Any], point: Any, baseline: Any) -> dict[str, Any]:
    """One forecast period: the seasonal baseline, what the known changes add, the forecast."""
    return {"cost_centre": row["cost_centre"], **plain(point),
            "baseline": plain(baseline.amount),
            "known_changes": plain(point.amount - baseline.amount)}


def _applied_row(cost_centre: str, applied: Any) -> dict[str, Any]:
    change = applied.change
    return {"cost_centre": cost_centre, "period": applied.period,
            "currency": applied.currency, "amount": plain(applied.amount), "id": change.id,
            "reason": change.reason, "change": change.describe()}


def _change_json(change: Any) -> dict[str, Any]:
    return {**plain(change), "change": change.describe()}


@report.group("known-changes")
def known_changes() -> None:
    """Changes the history cannot know, applied on top of the forecast's seasonal baseline."""


@known_changes.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reason", help="Why (kept in the audit trail).")
@json_option
@click.pass_context
def known_changes_import(ctx: click.Context, file: Path, reason: str | None) -> None:
    """Import known changes from CSV or XLSX: cost_centre, from_period, reason, and amount
    [currency] or percent; optionally to_period and pool or service. All or nothing; the same
    file again changes nothing."""
    from connectors.report_files import read_known_changes
    from ledger.services.known_changes import import_known_changes

    rows = read_known_changes(file)
    write(ctx, "Known changes", lambda uow: import_known_changes(uow=uow, changes=rows,
                                                                 reason=reason))


@known_changes.command("add")
@click.option("--cost-centre", required=True)
@click.option("--from", "from_period", required=True, help="First period it applies, YYYY-MM.")
@click.option("--to", "to_period", help="Last period it applies (default: from on).")
@click.option("--amount", help="Added per period (negative: a saving).")
@click.option("--currency", help="The amount's currency (default: the company's).")
@click.option("--percent", help="Or: percent of the baseline (of the pool's or service's part).")
@click.option("--pool", help="Scale this pool's part of the cost centre's cost.")
@click.option("--service", help="Scale this catalogue service's part.")
@click.option("--reason", required=True, help="What the change is (its name).")
@json_option
@click.pass_context
def known_changes_add(ctx: click.Context, cost_centre: str, from_period: str,
                      to_period: str | None, amount: str | None, currency: str | None,
                      percent: str | None, pool: str | None, service: str | None,
                      reason: str) -> None:
    """Record one known change of a cost centre's forecast."""
    from ledger.reports.forecast import KnownChange
    from ledger.services.known_changes import add_known_change

    change = KnownChange(cost_centre, from_period, reason,
                         to_decimal(amount) if amount is not None else None,
                         to_decimal(percent) if percent is not None else None, currency,
                         to_period, pool, service)
    write(ctx, "Known changes", lambda uow: add_known_change(uow=uow, change=change,
                                                             reason=reason))


@known_changes.command("list")
@click.option("--cost-centre", help="Only this cost centre.")
@json_option
@click.pass_context
def known_changes_list(ctx: click.Context, cost_centre: str | None) -> None:
    """The known changes the forecast applies."""
    from ledger.services.known_changes import list_known_changes

    found = read(ctx, lambda uow: list_known_changes(uow=uow, cost_centre=cost_centre))
    show(ctx, "known_changes", [_change_json(c) for c in found], [
        ("id", lambda r: r["id"]), ("cost centre", lambda r: r["cost_centre"]),
        ("change", lambda r: r["change"])])


@known_changes.command("remove")
@click.argument("change_id", type=int)
@click.option("--reason", required=True, help="Why it will not happen.")
@json_option
@click.pass_context
def known_changes_remove(ctx: click.Context, change_id: int, reason: str) -> None:
    """Remove a known change."""
    from ledger.services.known_changes import remove_known_change

    write(ctx, "Known changes", lambda uow: remove_known_change(uow=uow, change_id=change_id,
                                                                reason=reason))


@report.group("benchmarks")
def benchmarks() -> None:
    """KPI benchmarks: import them from a file, list them."""


@benchmarks.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reason", help="Why (kept in the audit trail).")
@json_option
@click.pass_context
def benchmarks_import(ctx: click.Context, file: Path, reason: str | None) -> None:
    """Import benchmarks from CSV or XLSX (kpi, value[, source]); all or nothing, the same
    file again changes nothing."""
    from connectors.report_files import read_benchmarks

    rows = read_benchmarks(file)
    write(ctx, "Benchmarks", lambda uow: service.import_benchmarks(uow=uow, benchmarks=rows,
                                                                  reason=reason))


@benchmarks.command("list")
@json_option
@click.pass_context
def benchmarks_list(ctx: click.Context) -> None:
    """The benchmarks entered or imported."""
    found = read(ctx, lambda uow: service.list_benchmarks(uow=uow))
    show(ctx, "benchmarks", [{"kpi": b.kpi, "value": plain(b.value), "source": b.source}
                             for b in found],
         [("kpi", lambda r: r["kpi"]), ("value", lambda r: r["value"]),
          ("source", lambda r: r["source"] or "")])


def _dispute_row(dispute: Any, journal_status: dict[int, str] | None = None) -> dict[str, Any]:
    row = plain(dispute)
    if journal_status is not None:
        row["journal_status"] = journal_status.get(dispute.id)
    return row


@report.command("disputes")
@click.option("--period", help="Only this period (default: all).")
@OUT
@json_option
@click.pass_context
def disputes_report(ctx: click.Context, period: str | None, out: Path | None) -> None:
    """Disputes with their corrections, and dispute rates per period, pool and rule."""
    _check_out(out)
    found = read(ctx, lambda uow: dispute_service.dispute_report(uow=uow, period=period))
    if out is not None:
        _wrote(ctx, [write_document(disputes_document(found), out)])
        return
    rates = [{**plain(r), "rate": plain(r.rate), "accepted_rate": plain(r.accepted_rate),
              "amount_rate": plain(r.amount_rate()), "amounts": r.amounts_json()}
             for r in found["rates"]]
    show(ctx, "rates", rates, [
        ("by", lambda r: r["dimension"]), ("key", lambda r: r["key"]),
        ("lines", lambda r: r["lines"]), ("disputed", lambda r: r["disputed"]),
        ("accepted", lambda r: r["accepted"]), ("rate", lambda r: r["rate"]),
        ("by amount", lambda r: r["amount_rate"] or "; ".join(
            f"{a['currency']} {a['amount_rate']}" for a in r["amounts"]))],
        extra={"period": period, "disputes": [_dispute_row(d, found["journal_status"])
                                              for d in found["disputes"]]})


# -- the dispute workflow ------------------------------------------------------------------------


@click.group()
def disputes() -> None:
    """Dispute a charge line; review, accept (with a correcting journal) or reject it."""


@disputes.command("open")
@PERIOD
@click.option("--cost-centre", required=True)
@click.option("--pool", required=True)
@click.option("--rule", required=True)
@click.option("--reason", required=True, help="Why the charge is wrong.")
@click.option("--currency", help="When the line is in more than one currency.")
@json_option
@click.pass_context
def dispute_open(ctx: click.Context, period: str, cost_centre: str, pool: str, rule: str,
                 reason: str, currency: str | None) -> None:
    """Dispute what COST_CENTRE was charged by POOL/RULE in PERIOD."""
    with opened(ctx) as app, app.uow() as uow:
        changes = dispute_service.open_dispute(uow=uow, period=period, cost_centre=cost_centre,
                                               pool=pool, rule=rule, reason=reason,
                                               currency=currency)
        uow.commit()
    if _json(ctx):
        print_json({"dispute_id": changes.ids[0], **changes_json(changes)})
    else:
        console.print(f"Opened dispute {changes.ids[0]}.")


@disputes.command("list")
@click.option("--period")
@click.option("--status", help="open, under_review, accepted or rejected.")
@click.option("--cost-centre")
@json_option
@click.pass_context
def dispute_list(ctx: click.Context, period: str | None, status: str | None,
                 cost_centre: str | None) -> None:
    """The disputes, oldest first."""
    found = read(ctx, lambda uow: dispute_service.list_disputes(
        uow=uow, period=period, status=status, cost_centre=cost_centre))
    show(ctx, "disputes", [_dispute_row(d) for d in found], [
        ("id", lambda r: r["id"]), ("period", lambda r: r["period"]),
        ("cost centre", lambda r: r["cost_centre"]),
        ("line", lambda r: f"{r['pool']}/{r['rule']}"),
        ("amount", lambda r: f"{r['amount']} {r['currency']}"), ("status", lambda r: r["status"]),
        ("raised by", lambda r: r["raised_by"]), ("reason", lambda r: r["reason"])])


@disputes.command("review")
@click.argument("dispute_id", type=int)
@json_option
@click.pass_context
def dispute_review(ctx: click.Context, dispute_id: int) -> None:
    """Take a dispute under review."""
    write(ctx, "Disputes", lambda uow: dispute_service.review(uow=uow, dispute_id=dispute_id))


@disputes.command("accept")
@click.argument("dispute_id", type=int)
@click.option("--correction", required=True, help="The amount given back (up to the line's).")
@click.option("--answer", required=True, help="What the owner reads.")
@json_option
@click.pass_context
def dispute_accept(ctx: click.Context, dispute_id: int, correction: str, answer: str) -> None:
    """Accept a dispute: drafts and submits the correcting journal for approval."""
    with opened(ctx) as app, app.uow() as uow:
        changes = dispute_service.accept(uow=uow, dispute_id=dispute_id, correction=correction,
                                         answer=answer)
        uow.commit()
    journal_id = changes.ids[-1]
    if _json(ctx):
        print_json({"dispute_id": dispute_id, "journal_id": journal_id, **changes_json(changes)})
    else:
        console.print(f"Accepted dispute {dispute_id}; correcting journal {journal_id} is "
                      "submitted for approval (apportion journals approve).")


@disputes.command("reject")
@click.argument("dispute_id", type=int)
@click.option("--answer", required=True, help="Why the charge stands.")
@json_option
@click.pass_context
def dispute_reject(ctx: click.Context, dispute_id: int, answer: str) -> None:
    """Reject a dispute with an answer."""
    write(ctx, "Disputes", lambda uow: dispute_service.reject(uow=uow, dispute_id=dispute_id,
                                                              answer=answer))


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    cli.add_command(report)
    cli.add_command(disputes)


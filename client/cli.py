"""The ``apportion`` command: the headless face of the services (DESIGN.md section 8).

It parses, opens the database through :mod:`client.bootstrap`, calls services and prints. Every
command that reports takes ``--json`` and then prints exactly one JSON document on stdout, with
amounts as decimal strings. Errors are one line on stderr and a non-zero exit; ``--debug`` shows
the traceback. No Qt is imported here.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from client import bootstrap
from client.commands.common import (
    Options,
    changes_json,
    console,
    describe_changes,
    err_console,
    json_default,
    json_option,
    opened,
    plain,
    print_json,
    read,
    show,
    write,
)
from ledger.access import Permission
from ledger.errors import ApportionError, ConflictError, InputError, InputErrors
from ledger.money import MoneyError, to_decimal
from ledger.ports import UnitOfWork
from ledger.reference import Company
from ledger.services import periods as period_services
from ledger.services import reference_data
from ledger.services.base import Changes
from ledger.services.status import status_summary
from ledger.services.users import bootstrap_administrator

EXIT_ERROR = 1
EXIT_INTERNAL = 70


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar=bootstrap.ENV_DB, metavar="URL",
              help="Database URL (sqlite:///PATH or postgresql://USER@HOST/DB); "
                   "default: the embedded SQLite file in your data directory. "
                   f"Environment: {bootstrap.ENV_DB}.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(package_name="apportion")
@click.pass_context
def cli(ctx: click.Context, db: str | None, as_json: bool, debug: bool) -> None:
    """Apportion: IT asset allocation and chargeback."""
    options = ctx.ensure_object(Options)
    options.db, options.json, options.debug = db, as_json, debug


# --- init and status -----------------------------------------------------------------------


@cli.command()
@click.option("--demo", is_flag=True, help="Load the demo company (Meridian Components Ltd).")
@click.option("--company-code", help="ERP company code of a new company.")
@click.option("--company-name", help="Legal name of a new company.")
@click.option("--currency", default="USD", show_default=True,
              help="Functional currency of a new company.")
@click.option("--fiscal-year-start", type=click.IntRange(1, 12), default=1, show_default=True,
              help="Month (1-12) in which the fiscal year starts.")
@json_option
@click.pass_context
def init(ctx: click.Context, demo: bool, company_code: str | None, company_name: str | None,
         currency: str, fiscal_year_start: int) -> None:
    """Create or upgrade the database; the user running it becomes its administrator.

    Running it again changes nothing.
    """
    from client import demo as demo_company

    options = ctx.ensure_object(Options)
    with opened(ctx, create=True) as app:
        with app.uow() as uow:
            changes = bootstrap_administrator(uow=uow)
            if company_code or company_name:
                if not (company_code and company_name):
                    raise click.UsageError("give both --company-code and --company-name")
                changes += reference_data.set_company(
                    uow=uow, company=Company(company_code, company_name, currency,
                                             fiscal_year_start))
            uow.commit()
        if demo:
            changes += demo_company.load_demo(app)
        result = {"database": app.where, "administrator": app.login,
                  "schema_upgraded": app.upgraded, "demo": demo, **changes_json(changes)}
        if options.json:
            print_json(result)
        else:
            what = "Created or upgraded" if app.upgraded else "Database is up to date:"
            console.print(f"{what} {app.where}")
            if demo:
                console.print(f"Demo company: {describe_changes(changes)}.")


@cli.command()
@json_option
@click.pass_context
def status(ctx: click.Context) -> None:
    """What is in the database and which period is being worked on."""
    with opened(ctx) as app, app.uow(read_only=True) as uow:
        summary = status_summary(uow=uow)
        store = app.cost_facts() if app.costfacts_dir.exists() else None
        facts = {"store": str(app.costfacts_dir),
                 "imports": len(store.imports()) if store else 0,
                 "periods": store.periods() if store else []}
    summary = {"database": app.where, "user": app.login, **summary, "cost_facts": facts}
    if ctx.ensure_object(Options).json:
        print_json(summary)
        return
    table = Table(show_header=False, box=None)
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        table.add_row(key.replace("_", " "), "—" if value is None else str(value))
    console.print(table)


# --- reference data ------------------------------------------------------------------------


@cli.group("cost-centres")
def cost_centres() -> None:
    """The cost-centre hierarchy."""


@cost_centres.command("list")
@json_option
@click.pass_context
def cost_centres_list(ctx: click.Context) -> None:
    """List cost centres."""
    rows = read(ctx, lambda uow: reference_data.list_cost_centres(uow=uow))
    show(ctx, "cost_centres", rows, [
        ("code", lambda cc: cc.code), ("name", lambda cc: cc.name),
        ("parent", lambda cc: cc.parent), ("business unit", lambda cc: cc.business_unit),
        ("owner", lambda cc: cc.owner), ("valid from", lambda cc: cc.valid_from),
        ("valid to", lambda cc: cc.valid_to)])


@cost_centres.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--reason", help="Why, for the audit trail.")
@json_option
@click.pass_context
def cost_centres_import(ctx: click.Context, file: Path, reason: str | None) -> None:
    """Create or update cost centres from a CSV file (all or nothing).

    Columns: code,name[,parent,business_unit,owner,valid_from,valid_to].
    """
    from connectors.reference_csv import read_cost_centres

    staged = read_cost_centres(file)
    write(ctx, f"Cost centres from {file}", lambda uow: reference_data.import_cost_centres(
        uow=uow, cost_centres=staged, reason=reason))


@cli.group()
def accounts() -> None:
    """The chart of GL accounts."""


@accounts.command("list")
@json_option
@click.pass_context
def accounts_list(ctx: click.Context) -> None:
    """List GL accounts."""
    rows = read(ctx, lambda uow: reference_data.list_accounts(uow=uow))
    show(ctx, "accounts", rows, [("number", lambda a: a.number), ("name", lambda a: a.name),
                                 ("type", lambda a: a.type.value)])


@accounts.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--reason", help="Why, for the audit trail.")
@json_option
@click.pass_context
def accounts_import(ctx: click.Context, file: Path, reason: str | None) -> None:
    """Create or update GL accounts from a CSV file (columns: number,name,type)."""
    from connectors.reference_csv import read_accounts

    staged = read_accounts(file)
    write(ctx, f"Accounts from {file}", lambda uow: reference_data.import_accounts(
        uow=uow, accounts=staged, reason=reason))


# --- periods -------------------------------------------------------------------------------


@cli.group()
def periods() -> None:
    """Accounting periods: list, close, reopen."""


@periods.command("list")
@json_option
@click.pass_context
def periods_list(ctx: click.Context) -> None:
    """List periods with their fiscal year and status."""
    rows, current = read(ctx, lambda uow: (period_services.list_periods(uow=uow),
                                           period_services.get_current_period(uow=uow)))
    current_key = current.key if current else None
    show(ctx, "periods", rows, [
        ("period", lambda p: p.key), ("fiscal year", lambda p: p.fiscal_year),
        ("no.", lambda p: p.number), ("from", lambda p: p.start), ("to", lambda p: p.end),
        ("status", lambda p: p.status.value),
        ("", lambda p: "current" if p.key == current_key else None)],
        extra={"current_period": current_key})


@periods.command("close")
@click.argument("period")
@click.option("--reason", help="Why, for the audit trail.")
@click.option("--head-file", type=click.Path(path_type=Path),
              help="Append the audit chain's head to this file (keep it outside the database: "
                   "apportion audit verify --head-file checks that nothing was cut off).")
@json_option
@click.pass_context
def periods_close(ctx: click.Context, period: str, reason: str | None,
                  head_file: Path | None) -> None:
    """Close PERIOD (YYYY-MM): nothing more can be written into it.

    Prints the audit chain's head at the close; record it outside the database.
    """
    with opened(ctx) as app, app.uow() as uow:
        changes = period_services.close_period(uow=uow, period=period, reason=reason)
        uow.commit()
    head = changes.ids[1] if len(changes.ids) > 1 else None
    if head and head_file:
        with head_file.open("a", encoding="utf-8") as handle:
            handle.write(f"{period} {head}\n")
    if ctx.ensure_object(Options).json:
        print_json({**changes_json(changes), "audit_head": head})
    elif head:
        console.print(f"Closed {period}. Audit chain head at close: {head}")
        console.print("Keep it outside the database"
                      + (f" (appended to {head_file})." if head_file else
                         ", e.g. with --head-file next time."))
    else:
        console.print(f"{period} was already closed.")


@periods.command("reopen")
@click.argument("period")
@click.option("--reason", required=True, help="Why it must be reopened (kept in the audit).")
@json_option
@click.pass_context
def periods_reopen(ctx: click.Context, period: str, reason: str) -> None:
    """Reopen a closed PERIOD (YYYY-MM); needs the controller's permission and a reason."""
    write(ctx, f"Reopen {period}",
          lambda uow: period_services.reopen_period(uow=uow, period=period, reason=reason),
          lambda changes: "already open" if changes.unchanged else "reopened")


# --- billing and cost facts ------------------------------------------------------------------

BILLING_FORMATS = {"focus": "FocusImporter", "aws-cur": "AwsCurImporter",
                   "azure-cost": "AzureCostImporter"}


@cli.group("import")
def import_group() -> None:
    """Import billing files into the cost fact store (all or nothing, idempotent)."""


def _import_billing(ctx: click.Context, kind: str, paths: tuple[Path, ...]) -> None:
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from connectors.billing import detect_importer
    from ledger.services.costs import import_billing

    options = ctx.ensure_object(Options)
    results = []
    with opened(ctx) as app:
        store = app.cost_facts()
        for path in paths:
            importer = detect_importer(path)
            if type(importer).__name__ != BILLING_FORMATS[kind]:
                raise InputError(f"the header is not {kind}'s but {importer.format_name}'s; "
                                 f"use: apportion import {_kind_of(importer)} {path}",
                                 source=str(path), row=1)
            columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
            with Progress(*columns, console=err_console, transient=True,
                          disable=options.json or not err_console.is_terminal) as bar:
                task = bar.add_task(path.name, total=None)

                def progress(done: int, total: int, task: Any = task, bar: Any = bar) -> None:
                    bar.update(task, completed=done, total=total)

                with app.uow() as uow:
                    result = import_billing(uow=uow, store=store, path=path, importer=importer,
                                            progress=progress)
                    uow.commit()
            results.append(result)
            if not options.json:
                console.print(f"{result.message}.")
    if options.json:
        print_json({"imports": [
            {"import_id": r.import_id, "file": r.source_file, "sha256": r.sha256,
             "format": r.format_name, "rows": r.rows, "periods": list(r.periods),
             "already_imported": r.already_imported} for r in results],
            "store": str(app.costfacts_dir)})


def _kind_of(importer: Any) -> str:
    names = {v: k for k, v in BILLING_FORMATS.items()}
    return names.get(type(importer).__name__, "focus")


for _kind, _help in (("focus", "a FinOps FOCUS 1.0-1.2 export (CSV or Parquet)"),
                     ("aws-cur", "an AWS Cost and Usage Report (CSV)"),
                     ("azure-cost", "an Azure EA or MCA cost export (CSV)")):

    def _command(ctx: click.Context, paths: tuple[Path, ...], _kind: str = _kind) -> None:
        _import_billing(ctx, _kind, paths)

    _command.__doc__ = f"Import {_help}; PATH may be given several times."
    import_group.command(_kind)(click.pass_context(json_option(click.argument(
        "paths", nargs=-1, required=True, type=click.Path(path_type=Path))(_command))))


@cli.group()
def billing() -> None:
    """What the cost fact store holds."""


@billing.command("list")
@json_option
@click.pass_context
def billing_list(ctx: click.Context) -> None:
    """List billing imports with their rows, periods and exact totals."""
    from ledger.services.costs import list_imports

    with opened(ctx) as app, app.uow(read_only=True) as uow:
        records = list_imports(uow=uow, store=app.cost_facts())
    rows = [{"import_id": r.import_id, "file": r.source_file, "format": r.format_name,
             "imported_at": r.imported_at, "rows": r.rows, "periods": sorted(r.periods),
             "billed_cost": {cur: t["billed_cost"] for cur, t in r.totals.items()},
             "effective_cost": {cur: t["effective_cost"] for cur, t in r.totals.items()}}
            for r in records]
    show(ctx, "imports", rows, [
        ("import", lambda r: r["import_id"]), ("file", lambda r: r["file"]),
        ("format", lambda r: r["format"]), ("rows", lambda r: r["rows"]),
        ("periods", lambda r: ", ".join(r["periods"])),
        ("billed cost", lambda r: ", ".join(f"{a:,.2f} {c}" for c, a in
                                            r["billed_cost"].items()))])


@billing.command("totals")
@click.option("--period", "periods", multiple=True, metavar="YYYY-MM",
              help="Only these billing periods (repeatable).")
@json_option
@click.pass_context
def billing_totals(ctx: click.Context, periods: tuple[str, ...]) -> None:
    """Exact cost per billing period, provider, service and currency."""
    from ledger.services.base import authorize

    with opened(ctx) as app, app.uow(read_only=True) as uow:
        authorize(uow, Permission.READ, doing="read cost totals")
        totals = app.cost_facts().totals(periods=list(periods) or None)
    show(ctx, "totals", [t._asdict() for t in totals], [
        ("period", lambda t: t["billing_period"]), ("provider", lambda t: t["provider"]),
        ("service", lambda t: t["service_name"]), ("currency", lambda t: t["billing_currency"]),
        ("rows", lambda t: t["rows"]), ("billed", lambda t: f"{t['billed_cost']:,.2f}"),
        ("effective", lambda t: f"{t['effective_cost']:,.2f}")])


@billing.command("remove")
@click.argument("import_id")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@json_option
@click.pass_context
def billing_remove(ctx: click.Context, import_id: str, reason: str) -> None:
    """Take IMPORT_ID's facts out of the store."""
    from ledger.services.costs import remove_import

    with opened(ctx) as app, app.uow() as uow:
        removed = remove_import(uow=uow, store=app.cost_facts(), import_id=import_id,
                                reason=reason)
        uow.commit()
    if ctx.ensure_object(Options).json:
        print_json({"removed": removed.import_id, "rows": removed.rows})
    else:
        console.print(f"Removed {removed.import_id} ({removed.source_file}, {removed.rows} rows).")


# --- assets and depreciation ----------------------------------------------------------------


def _decimal_option(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return to_decimal(value)
    except MoneyError:
        raise click.BadParameter(f"{value!r} is not a number", param_hint=name) from None


def _decimal_list(value: str | None, name: str) -> tuple[Decimal, ...]:
    if not value:
        return ()
    return tuple(_decimal_option(part, name) or Decimal(0) for part in value.split(","))


@cli.group()
def depreciation() -> None:
    """Depreciation schedules and the monthly run."""


@depreciation.command("schedule")
@click.option("--cost", required=True, help="Acquisition cost.")
@click.option("--salvage", default="0", show_default=True,
              help="Salvage value: an amount, or a percentage of cost such as 10%.")
@click.option("--method", required=True, type=click.Choice(
    ["straight-line", "declining-balance", "sum-of-years-digits", "units-of-production",
     "written-down-value", "macrs", "manual"]))
@click.option("--factor", help="Declining balance factor: 2 for double declining, 1.5 ...")
@click.option("--switch-to-straight-line/--no-switch-to-straight-line", default=True,
              show_default=True, help="Declining balance: switch when straight line gives more.")
@click.option("--life-years", help="Useful life in years.")
@click.option("--life-months", type=int, help="Useful life in months.")
@click.option("--recovery-period", type=int, help="MACRS property class: 3, 5, 7, 10, 15, 20.")
@click.option("--rate", help="Written-down value: the annual rate as a fraction (0.25).")
@click.option("--convention", type=click.Choice(
    ["full-month", "mid-month", "half-year", "mid-quarter", "daily"]))
@click.option("--frequency", type=click.Choice(["monthly", "yearly"]), default="yearly",
              show_default=True)
@click.option("--fiscal-year-start", default="01-01", show_default=True, metavar="MM-DD")
@click.option("--placed-in-service", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="YYYY-MM-DD.")
@click.option("--currency", default="USD", show_default=True)
@click.option("--expected-units", help="Units of production: units over the whole life.")
@click.option("--units", help="Units of production: units used per period, comma-separated.")
@click.option("--amounts", help="Manual: the amount of each period, comma-separated.")
@json_option
@click.pass_context
def depreciation_schedule(ctx: click.Context, cost: str, salvage: str, method: str,
                          factor: str | None, switch_to_straight_line: bool,
                          life_years: str | None, life_months: int | None,
                          recovery_period: int | None, rate: str | None,
                          convention: str | None, frequency: str, fiscal_year_start: str,
                          placed_in_service: datetime, currency: str,
                          expected_units: str | None, units: str | None,
                          amounts: str | None) -> None:
    """Compute a depreciation schedule (no database needed)."""
    from ledger.depreciation import DepreciationTerms, build_schedule, schedule_as_dict

    salvage_text = salvage.strip()
    percent = salvage_text.endswith("%")
    terms = DepreciationTerms(
        cost=_decimal_option(cost, "--cost"),  # type: ignore[arg-type]
        placed_in_service=placed_in_service.date(),
        method=method.replace("-", "_"),  # type: ignore[arg-type]
        currency=currency,
        convention=convention.replace("-", "_") if convention else None,  # type: ignore[arg-type]
        life_years=_decimal_option(life_years, "--life-years"),
        life_months=life_months,
        salvage=Decimal(0) if percent else _decimal_option(salvage_text, "--salvage"),  # type: ignore[arg-type]
        salvage_percent=_decimal_option(salvage_text[:-1], "--salvage") if percent else None,
        fiscal_year_start=fiscal_year_start,  # type: ignore[arg-type]
        frequency=frequency,  # type: ignore[arg-type]
        factor=_decimal_option(factor, "--factor") or Decimal(2),
        switch_to_straight_line=switch_to_straight_line,
        annual_rate=_decimal_option(rate, "--rate"),
        recovery_period=recovery_period,
        expected_units=_decimal_option(expected_units, "--expected-units"),
        units_per_period=_decimal_list(units, "--units"),
        manual_amounts=_decimal_list(amounts, "--amounts"),
    )
    result = schedule_as_dict(build_schedule(terms))
    if ctx.ensure_object(Options).json:
        print_json(result)
        return
    _print_schedule(result)


def _print_schedule(result: dict[str, Any]) -> None:
    table = Table("fiscal year", "from", "to")
    for header in ("amount", "accumulated", "net book value"):
        table.add_column(header, justify="right")
    if any("kind" in r for r in result["schedule"]):
        table.add_column("")
    for row in result["schedule"]:
        table.add_row(str(row["fiscal_year"]), row["period_start"], row["period_end"],
                      f"{Decimal(row['amount']):,}", f"{Decimal(row['accumulated']):,}",
                      f"{Decimal(row['net_book_value']):,}",
                      *([row["kind"]] if "kind" in row else []))
    console.print(table)
    console.print(f"Total {Decimal(result['total']):,}")


@depreciation.command("run")
@click.option("--period", required=True, metavar="YYYY-MM")
@click.option("--book", help="Only this book (default: every book).")
@json_option
@click.pass_context
def depreciation_run(ctx: click.Context, period: str, book: str | None) -> None:
    """Depreciate every in-service asset for PERIOD: stored charges and draft journals.

    Running a period again replaces its own drafts; a closed period is refused.
    """
    from ledger.services.depreciation import run_depreciation

    with opened(ctx) as app, app.uow() as uow:
        run = run_depreciation(uow=uow, period=period, book=book)
        uow.commit()
    if ctx.ensure_object(Options).json:
        print_json({"period": run.period, "books": [
            {"book": b.book, "assets": b.assets, "posts_to_ledger": b.posts_to_ledger,
             "total": b.total, "journal_ids": list(b.journal_ids),
             "replaced_drafts": b.replaced_drafts} for b in run.books]})
        return
    table = Table("book", "assets", "depreciation", "journals", "")
    for b in run.books:
        table.add_row(b.book, str(b.assets),
                      ", ".join(f"{amount:,} {cur}" for cur, amount in b.total.items()) or "0",
                      ", ".join(map(str, b.journal_ids)) or "—",
                      "tax book: computed, not posted" if not b.posts_to_ledger
                      else (f"replaced {b.replaced_drafts} draft(s)" if b.replaced_drafts
                            else "new draft"))
    console.print(f"Depreciation {run.period}:")
    console.print(table)


@cli.group()
def assets() -> None:
    """The asset register."""


@assets.command("list")
@json_option
@click.pass_context
def assets_list(ctx: click.Context) -> None:
    """List assets."""
    from ledger.services.assets import list_assets

    rows = read(ctx, lambda uow: list_assets(uow=uow))
    show(ctx, "assets", rows, [
        ("tag", lambda a: a.tag), ("name", lambda a: a.name), ("kind", lambda a: a.kind.value),
        ("cost centre", lambda a: a.cost_centre), ("status", lambda a: a.status.value),
        ("cost", lambda a: f"{a.purchase_cost:,}" if a.purchase_cost is not None else None),
        ("in service", lambda a: a.in_service_date)])


def _record_event(ctx: click.Context, event: Any) -> None:
    from ledger.services.assets import record_asset_event

    write(ctx, f"{event.kind.value.replace('_', ' ').capitalize()} of {event.asset_tag} on "
               f"{event.effective}", lambda uow: record_asset_event(uow=uow, event=event))


def _date(value: datetime) -> date:
    return value.date()


@assets.command("transfer")
@click.argument("tag")
@click.option("--to", "to_cost_centre", required=True, help="The receiving cost centre.")
@click.option("--date", "effective", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="First day at the new cost centre.")
@click.option("--note", default="", help="Why, for the audit trail.")
@json_option
@click.pass_context
def assets_transfer(ctx: click.Context, tag: str, to_cost_centre: str, effective: datetime,
                    note: str) -> None:
    """Move TAG to another cost centre; that month's depreciation is split by days."""
    from ledger.asset import AssetEvent, AssetEventKind

    _record_event(ctx, AssetEvent(tag, AssetEventKind.TRANSFER, _date(effective),
                                  to_cost_centre=to_cost_centre, note=note))


@assets.command("dispose")
@click.argument("tag")
@click.option("--date", "effective", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--proceeds", default="0", show_default=True, help="What the disposal brought in.")
@click.option("--note", default="", help="Why, for the audit trail.")
@json_option
@click.pass_context
def assets_dispose(ctx: click.Context, tag: str, effective: datetime, proceeds: str,
                   note: str) -> None:
    """Dispose of (or retire) TAG: depreciation stops that day; the gain or loss is shown by
    apportion assets depreciation."""
    from ledger.asset import AssetEvent, AssetEventKind

    _record_event(ctx, AssetEvent(tag, AssetEventKind.DISPOSAL, _date(effective),
                                  proceeds=_decimal_option(proceeds, "--proceeds"), note=note))


@assets.command("impair")
@click.argument("tag")
@click.option("--book", required=True)
@click.option("--date", "effective", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--amount", required=True, help="The write-down.")
@click.option("--remaining-life-months", type=click.IntRange(1))
@click.option("--salvage", help="A new salvage amount.")
@click.option("--note", default="")
@json_option
@click.pass_context
def assets_impair(ctx: click.Context, tag: str, book: str, effective: datetime, amount: str,
                  remaining_life_months: int | None, salvage: str | None, note: str) -> None:
    """Write TAG's book value down in BOOK at the end of the period containing DATE."""
    from ledger.asset import AssetEvent, AssetEventKind

    _record_event(ctx, AssetEvent(tag, AssetEventKind.IMPAIRMENT, _date(effective), book=book,
                                  amount=_decimal_option(amount, "--amount"),
                                  remaining_life_months=remaining_life_months,
                                  salvage=_decimal_option(salvage, "--salvage"), note=note))


@assets.command("change-estimate")
@click.argument("tag")
@click.option("--book", required=True)
@click.option("--from", "effective", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="First day of the period from which the new estimate applies.")
@click.option("--remaining-life-months", type=click.IntRange(1))
@click.option("--salvage", help="The new salvage amount.")
@click.option("--note", default="")
@json_option
@click.pass_context
def assets_change_estimate(ctx: click.Context, tag: str, book: str, effective: datetime,
                           remaining_life_months: int | None, salvage: str | None,
                           note: str) -> None:
    """Change TAG's remaining life or salvage in BOOK, prospectively."""
    from ledger.asset import AssetEvent, AssetEventKind

    _record_event(ctx, AssetEvent(tag, AssetEventKind.CHANGE_OF_ESTIMATE, _date(effective),
                                  book=book, remaining_life_months=remaining_life_months,
                                  salvage=_decimal_option(salvage, "--salvage"), note=note))


@assets.command("depreciation")
@click.argument("asset")
@click.option("--book", required=True, help="The book, e.g. IFRS or TAX.")
@json_option
@click.pass_context
def assets_depreciation(ctx: click.Context, asset: str, book: str) -> None:
    """ASSET's schedule in BOOK: actual to date and forecast, cost centres, disposal."""
    from ledger.services.depreciation import asset_depreciation

    result = read(ctx, lambda uow: asset_depreciation(uow=uow, tag=asset, book=book))
    if ctx.ensure_object(Options).json:
        print_json(result)
        return
    console.print(f"{result['asset']} in book {result['book']}: {result['method']}, cost "
                  f"{Decimal(result['cost']):,} {result['currency']}, depreciated to date "
                  f"{Decimal(result['to_date']):,}")
    _print_schedule(result)
    if result["disposal"]:
        d = result["disposal"]
        console.print(f"Disposed {d['date']}: proceeds {d['proceeds']}, net book value "
                      f"{d['net_book_value']}, gain (loss) {d['gain_or_loss']}")


# --- journals and the ERP --------------------------------------------------------------------


def _journal_row(journal: Any) -> dict[str, Any]:
    currencies = journal.entry.currencies
    return {
        "id": journal.id, "status": journal.status.value, "period": journal.period,
        "source": journal.entry.source, "description": journal.entry.description,
        "debit_total": journal.entry.total(currencies[0]) if len(currencies) == 1 else None,
        "credit_total": journal.entry.total(currencies[0]) if len(currencies) == 1 else None,
        "currency": currencies[0] if len(currencies) == 1 else None,
        "totals": journal.entry.totals,
        "external_ref": journal.external_reference, "erp_document": journal.erp_document,
        "created_by": journal.created_by, "approved_by": journal.approved_by,
        "message": journal.message,
    }


@cli.group()
def journals() -> None:
    """Journals: review, approval, posting to the ERP, reversal, reconciliation."""


@journals.command("list")
@click.option("--status", "statuses", multiple=True,
              help="Only journals in this status (repeatable): draft, submitted, approved, "
                   "posting, posted, failed, unknown, reversed.")
@click.option("--period", metavar="YYYY-MM")
@json_option
@click.pass_context
def journals_list(ctx: click.Context, statuses: tuple[str, ...], period: str | None) -> None:
    """List journals."""
    from ledger.services.journals import list_journals

    rows = [_journal_row(j) for j in read(ctx, lambda uow: list_journals(
        uow=uow, statuses=statuses, period=period))]
    if ctx.ensure_object(Options).json:
        print_json([{k: r[k] for k in ("id", "status", "period", "source", "debit_total",
                                       "credit_total", "currency", "external_ref",
                                       "erp_document")} for r in rows])
        return
    show(ctx, "journals", rows, [
        ("id", lambda r: r["id"]), ("status", lambda r: r["status"]),
        ("period", lambda r: r["period"]), ("source", lambda r: r["source"]),
        ("description", lambda r: r["description"]),
        ("total", lambda r: ", ".join(f"{a:,} {c}" for c, a in r["totals"].items())),
        ("ERP document", lambda r: r["erp_document"])])


@journals.command("show")
@click.argument("journal_id", type=int)
@json_option
@click.pass_context
def journals_show(ctx: click.Context, journal_id: int) -> None:
    """A journal with its lines and history."""
    from ledger.services.base import authorize
    from ledger.services.journals import load_journal

    def load(uow: UnitOfWork) -> tuple[Any, list[tuple[str, str | None]]]:
        authorize(uow, Permission.READ, doing="read journals")
        return load_journal(uow, journal_id), uow.posting_log.attempts(journal_id)

    journal, attempts = read(ctx, load)
    row = _journal_row(journal)
    if ctx.ensure_object(Options).json:
        print_json({**row, "lines": [plain(line) for line in journal.entry.lines],
                    "attempts": [{"outcome": o, "message": m} for o, m in attempts]})
        return
    console.print(f"Journal {journal.id}: {journal.entry.description} ({row['status']}), "
                  f"{journal.entry.entry_date}, made by {journal.created_by}"
                  + (f", approved by {journal.approved_by}" if journal.approved_by else "")
                  + (f", ERP document {journal.erp_document}" if journal.erp_document else ""))
    table = Table("account", "cost centre")
    table.add_column("debit", justify="right")
    table.add_column("credit", justify="right")
    table.add_column("memo")
    for line in journal.entry.lines:
        debit = f"{line.amount:,}" if line.side.value == "debit" else ""
        credit = f"{line.amount:,}" if line.side.value == "credit" else ""
        table.add_row(line.account, line.cost_centre or "", debit, credit, line.memo)
    console.print(table)
    if journal.message:
        console.print(f"Last message: {journal.message}")


def _each(ctx: click.Context, ids: tuple[int, ...], verb: str,
          operation: Callable[[UnitOfWork, int], Changes]) -> None:
    """Apply ``operation`` to each journal in one transaction: all of them or none."""
    with opened(ctx) as app, app.uow() as uow:
        for journal_id in ids:
            operation(uow, journal_id)
        uow.commit()
    if ctx.ensure_object(Options).json:
        print_json({verb: list(ids)})
    else:
        console.print(f"{verb.capitalize()}: {', '.join(map(str, ids))}.")


@journals.command("submit")
@click.argument("ids", nargs=-1, type=int, required=True)
@json_option
@click.pass_context
def journals_submit(ctx: click.Context, ids: tuple[int, ...]) -> None:
    """Send draft journals for approval."""
    from ledger.services.journals import submit_journal

    _each(ctx, ids, "submitted", lambda uow, i: submit_journal(uow=uow, journal_id=i))


@journals.command("approve")
@click.argument("ids", nargs=-1, type=int, required=True)
@json_option
@click.pass_context
def journals_approve(ctx: click.Context, ids: tuple[int, ...]) -> None:
    """Approve submitted journals (never your own; within your approval limit)."""
    from ledger.services.journals import approve_journal

    _each(ctx, ids, "approved", lambda uow, i: approve_journal(uow=uow, journal_id=i))


@journals.command("reject")
@click.argument("journal_id", type=int)
@click.option("--reason", required=True)
@json_option
@click.pass_context
def journals_reject(ctx: click.Context, journal_id: int, reason: str) -> None:
    """Send a submitted journal back to its maker."""
    from ledger.services.journals import reject_journal

    _each(ctx, (journal_id,), "rejected",
          lambda uow, i: reject_journal(uow=uow, journal_id=i, reason=reason))


@journals.command("requeue")
@click.argument("journal_id", type=int)
@click.option("--reason", required=True, help="What was fixed in the ERP.")
@json_option
@click.pass_context
def journals_requeue(ctx: click.Context, journal_id: int, reason: str) -> None:
    """Queue a journal the ERP refused again, once the cause is fixed."""
    from ledger.services.journals import requeue_failed

    _each(ctx, (journal_id,), "queued again",
          lambda uow, i: requeue_failed(uow=uow, journal_id=i, reason=reason))


@journals.command("reverse")
@click.argument("journal_id", type=int)
@click.option("--reason", required=True)
@click.option("--date", "entry_date", type=click.DateTime(["%Y-%m-%d"]),
              help="Posting date of the reversal (default: today).")
@json_option
@click.pass_context
def journals_reverse(ctx: click.Context, journal_id: int, reason: str,
                     entry_date: datetime | None) -> None:
    """Draft the reversal of a posted journal (approved and posted like any other)."""
    from ledger.services.journals import reverse_journal

    with opened(ctx) as app, app.uow() as uow:
        new_id = reverse_journal(uow=uow, journal_id=journal_id, reason=reason,
                                 entry_date=entry_date.date() if entry_date else None)
        uow.commit()
    if ctx.ensure_object(Options).json:
        print_json({"reversal": new_id, "reverses": journal_id})
    else:
        console.print(f"Drafted reversal {new_id} of journal {journal_id}; submit and approve it "
                      "to post it.")


def _poster_name() -> str:
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


@journals.command("post")
@click.option("--erp", "erp_name", help="The ERP profile (default: the only one).")
@json_option
@click.pass_context
def journals_post(ctx: click.Context, erp_name: str | None) -> None:
    """Send every approved journal to the ERP, exactly once each."""
    from client.erp import close, gateway_for
    from ledger.services.erp_profiles import get_profile
    from ledger.services.posting import post_approved

    with opened(ctx) as app:
        with app.uow(read_only=True) as uow:
            profile = get_profile(uow=uow, name=erp_name)
        gateway = gateway_for(profile)
        try:
            report = post_approved(uow_factory=app.uow, gateway=gateway, profile=profile,
                                   holder=_poster_name())
        finally:
            close(gateway)
    _print_posting(ctx, report)
    if report.blocked or report.failed or report.unknown:
        sys.exit(EXIT_ERROR)


def _print_posting(ctx: click.Context, report: Any) -> None:
    if ctx.ensure_object(Options).json:
        print_json({"posted": report.posted,
                    "failed": [{"id": i, "message": m} for i, m in report.failed],
                    "unknown": report.unknown,
                    "held_back": [{"id": i, "reason": r} for i, r in report.held_back],
                    "alerts": report.alerts, "blocked": report.blocked})
        return
    console.print(f"Posted {len(report.posted)} journal(s)"
                  + (f": {', '.join(map(str, report.posted))}" if report.posted else "") + ".")
    for journal_id, message in report.failed:
        err_console.print(f"Journal {journal_id} was refused by the ERP: {message}")
    if report.unknown:
        err_console.print(f"Outcome unknown for {', '.join(map(str, report.unknown))}: they "
                          "are looked up in the ERP before any resend on the next post.")
    for journal_id, reason in report.held_back:
        err_console.print(f"Journal {journal_id} held back: {reason}")
    for alert in report.alerts:
        err_console.print(f"ALERT: {alert}")
    if report.blocked:
        err_console.print(f"Stopped: {report.blocked}")


@journals.command("reconcile")
@click.option("--erp", "erp_name", help="The ERP profile (default: the only one).")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="Default: 35 days ago.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="Default: today.")
@json_option
@click.pass_context
def journals_reconcile(ctx: click.Context, erp_name: str | None, first: datetime | None,
                       last: datetime | None) -> None:
    """Compare posted journals with the ERP's documents: missing, extra, different."""
    from client.erp import close, gateway_for
    from ledger.services.erp_profiles import get_profile
    from ledger.services.posting import reconcile_postings

    with opened(ctx) as app:
        with app.uow(read_only=True) as uow:
            profile = get_profile(uow=uow, name=erp_name)
        gateway = gateway_for(profile)
        try:
            with app.uow() as uow:
                report = reconcile_postings(
                    uow=uow, gateway=gateway, profile=profile,
                    first=first.date() if first else None, last=last.date() if last else None)
                uow.commit()
        finally:
            close(gateway)
    if ctx.ensure_object(Options).json:
        print_json({"from": report.first, "to": report.last, "matched": report.matched,
                    "missing": report.missing, "extra": report.extra,
                    "different": report.different, "clean": report.clean})
    else:
        console.print(f"{report.first} to {report.last}: {len(report.matched)} matched, "
                      f"{len(report.missing)} missing, {len(report.extra)} extra, "
                      f"{len(report.different)} different.")
        for line in [*(f"missing: journal {i}" for i in report.missing), *report.extra,
                     *report.different]:
            err_console.print(line)
    if not report.clean:
        sys.exit(EXIT_ERROR)


@cli.group()
def erp() -> None:
    """ERP connections (the secret goes to the OS keyring, never to the database)."""


@erp.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["sap-soap", "bc-rest"]))
@click.option("--url", required=True, help="The ERP's base URL, e.g. https://my-s4.example.com.")
@click.option("--company", "company_code", help="ERP company code (default: the company's).")
@click.option("--username", help="Communication user (SAP) or OAuth client id (BC).")
@click.option("--setting", "settings", multiple=True, metavar="KEY=VALUE",
              help="Adapter setting, e.g. tenant=..., environment=..., token_url=... for BC, "
                   "soap_path=... for SAP (repeatable).")
@json_option
@click.pass_context
def erp_add(ctx: click.Context, name: str, kind: str, url: str, company_code: str | None,
            username: str | None, settings: tuple[str, ...]) -> None:
    """Add or change an ERP connection; asks for its secret (or reads APPORTION_ERP_SECRET)."""
    from client.erp import settings_for
    from client.secrets import ENV_SECRET, store_secret
    from ledger.erp import ErpProfile
    from ledger.services.erp_profiles import save_profile

    parsed: dict[str, object] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--setting")
        parsed[key.strip()] = value.strip()
    with opened(ctx) as app, app.uow() as uow:
        company = uow.company.get()
        code = company_code or (company.code if company else None)
        if not code:
            raise click.UsageError("give --company: the database has no company yet")
        profile = ErpProfile(name, kind, url.rstrip("/"), code, username, parsed)
        settings_for(profile)  # a bad setting is refused now, not at month-end
        changes = save_profile(uow=uow, profile=profile)
        secret = os.environ.get(ENV_SECRET)
        if secret is None and sys.stdin.isatty():
            secret = click.prompt(f"Secret for {username or name}", hide_input=True)
        kept = store_secret(name, username, secret) if secret else False
        uow.commit()
    if ctx.ensure_object(Options).json:
        print_json({**changes_json(changes), "secret_in_keyring": kept})
    else:
        console.print(f"ERP {name}: {describe_changes(changes)}; "
                      + ("secret kept in the OS keyring." if kept else
                         f"no secret kept: set {ENV_SECRET} where journals are posted."))


@erp.command("list")
@json_option
@click.pass_context
def erp_list(ctx: click.Context) -> None:
    """List ERP connections."""
    from ledger.services.erp_profiles import list_profiles

    rows = read(ctx, lambda uow: list_profiles(uow=uow))
    show(ctx, "erp", rows, [("name", lambda p: p.name), ("kind", lambda p: p.kind),
                            ("url", lambda p: p.url), ("company", lambda p: p.company_code),
                            ("user", lambda p: p.username)])


@erp.command("test")
@click.argument("name")
@json_option
@click.pass_context
def erp_test(ctx: click.Context, name: str) -> None:
    """Check that NAME answers: read its documents of the last week."""
    from client.erp import close, gateway_for
    from ledger.services.erp_profiles import get_profile

    with opened(ctx) as app, app.uow(read_only=True) as uow:
        profile = get_profile(uow=uow, name=name)
    gateway = gateway_for(profile)
    try:
        today = date.today()
        documents = gateway.documents_between(profile.company_code,
                                              today - timedelta(days=7), today)
    finally:
        close(gateway)
    if ctx.ensure_object(Options).json:
        print_json({"erp": name, "ok": True, "documents_last_week": len(documents)})
    else:
        console.print(f"{name} answers: {len(documents)} document(s) in the last week.")


@erp.command("sync")
@click.argument("name")
@json_option
@click.pass_context
def erp_sync(ctx: click.Context, name: str) -> None:
    """Bring cost centres and GL accounts from ERP NAME into Apportion (all or nothing)."""
    from client.erp import sync_master_data

    with opened(ctx) as app:
        changes = sync_master_data(app, name)
    if ctx.ensure_object(Options).json:
        print_json(changes_json(changes))
    else:
        console.print(f"Master data from {name}: {describe_changes(changes)}.")


@cli.command("sandbox-erp")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--data", "data_dir", type=click.Path(path_type=Path),
              help="Where it keeps what was posted (default: in your data directory).")
@click.option("--fault-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of posting requests that meet an injected fault.")
@click.option("--seed", default=0, show_default=True, type=int)
def sandbox_erp(host: str, port: int, data_dir: Path | None, fault_rate: float,
                seed: int) -> None:
    """Run the sandbox ERP (SAP SOAP and OData, Business Central REST) until Ctrl-C."""
    from connectors.erp.sandbox.server import serve_forever

    serve_forever(host, port, data_dir or bootstrap.data_dir() / "sandbox-erp",
                  fault_rate=fault_rate, seed=seed, echo=click.echo)


# --- anomalies ------------------------------------------------------------------------------


@cli.group()
def anomalies() -> None:
    """Cost spikes, untagged growth and untagged resources found in the billing."""


def _finding_json(stored: Any) -> dict[str, Any]:
    return {"id": stored.id, "kind": stored.kind, "key": stored.finding.key,
            "status": stored.status.value, "severity": stored.finding.severity.value,
            "title": stored.finding.title, "cost_centre": stored.finding.cost_centre,
            "evidence": stored.finding.evidence, "first_seen_at": stored.first_seen_at,
            "last_seen_at": stored.last_seen_at, "reviewed_by": stored.reviewed_by,
            "reason": stored.reason,
            "ticket": stored.ticket.id if stored.ticket else None}


@anomalies.command("list")
@click.option("--status", "statuses", multiple=True,
              help="open, acknowledged, dismissed or cleared (repeatable); default open.")
@click.option("--all", "show_all", is_flag=True, help="Every status.")
@json_option
@click.pass_context
def anomalies_list(ctx: click.Context, statuses: tuple[str, ...], show_all: bool) -> None:
    """List anomalies with their severity and evidence."""
    from ledger.services.anomalies import list_findings

    wanted = () if show_all else (statuses or ("open",))
    rows = read(ctx, lambda uow: list_findings(uow=uow, statuses=wanted))
    if ctx.ensure_object(Options).json:
        print_json({"anomalies": [_finding_json(r) for r in rows]})
        return
    show(ctx, "anomalies", rows, [
        ("id", lambda r: r.id), ("severity", lambda r: r.finding.severity.value),
        ("status", lambda r: r.status.value), ("what", lambda r: r.finding.title),
        ("ticket", lambda r: r.ticket.id if r.ticket else None)])


@anomalies.command("detect")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 62),
              help="How many days back to look.")
@click.option("--required-tag", "required_tags", multiple=True,
              help="Flag new resources without this tag (repeatable).")
@json_option
@click.pass_context
def anomalies_detect(ctx: click.Context, days: int, required_tags: tuple[str, ...]) -> None:
    """Look for anomalies in the billing of the last DAYS days."""
    from ledger.services.anomalies import detect_anomalies

    with opened(ctx) as app, app.uow() as uow:
        report = detect_anomalies(uow=uow, store=app.cost_facts(), today=date.today(),
                                  days=days, required_tags=required_tags)
        uow.commit()
    if ctx.ensure_object(Options).json:
        print_json({"new": report.new, "updated": report.updated, "cleared": report.cleared})
    else:
        console.print(f"{len(report.new)} new, {len(report.updated)} still there, "
                      f"{len(report.cleared)} cleared. See: apportion anomalies list")


def _review(ctx: click.Context, finding_id: int, status: str, reason: str) -> None:
    from ledger.finding import FindingStatus
    from ledger.services.anomalies import review_finding

    with opened(ctx) as app, app.uow() as uow:
        stored = review_finding(uow=uow, finding_id=finding_id, status=FindingStatus(status),
                                reason=reason)
        uow.commit()
    if ctx.ensure_object(Options).json:
        print_json(_finding_json(stored))
    else:
        console.print(f"Anomaly {finding_id} {status}.")


@anomalies.command("ack")
@click.argument("finding_id", type=int)
@click.option("--reason", required=True, help="Who looks into it, and how.")
@json_option
@click.pass_context
def anomalies_ack(ctx: click.Context, finding_id: int, reason: str) -> None:
    """Acknowledge an anomaly: someone is on it (its ticket stays open)."""
    _review(ctx, finding_id, "acknowledged", reason)


@anomalies.command("dismiss")
@click.argument("finding_id", type=int)
@click.option("--reason", required=True, help="Why it is not a problem.")
@json_option
@click.pass_context
def anomalies_dismiss(ctx: click.Context, finding_id: int, reason: str) -> None:
    """Dismiss an anomaly as no problem (its ticket is closed with the reason)."""
    _review(ctx, finding_id, "dismissed", reason)


# --- the scheduler --------------------------------------------------------------------------


@cli.group("scheduler", invoke_without_command=True)
@click.option("--config", "config_file", type=click.Path(exists=True, path_type=Path),
              help="Jobs and schedules (TOML); default: the built-in month-end set.")
@click.pass_context
def scheduler_group(ctx: click.Context, config_file: Path | None) -> None:
    """Run the scheduled jobs until stopped (one scheduler acts; others stand by)."""
    ctx.ensure_object(Options).scheduler_config = config_file
    if ctx.invoked_subcommand is not None:
        return
    from client.scheduler import Scheduler, configure_logging, load_config

    config = load_config(config_file)
    log_path = configure_logging(config.log_file)
    err_console.print(f"Scheduler starting; log in {log_path}. Ctrl-C stops it.")
    with opened(ctx) as app:
        try:
            Scheduler(app, config).serve()
        except KeyboardInterrupt:
            err_console.print("Scheduler stopped.")


def _run_json(run: Any) -> dict[str, Any]:
    return {"id": run.id, "job": run.job, "scheduled_for": run.scheduled_for,
            "attempt": run.attempt, "holder": run.holder, "started_at": run.started_at,
            "finished_at": run.finished_at, "outcome": run.outcome.value,
            "counts": run.counts, "message": run.message}


@scheduler_group.command("history")
@click.option("--job", help="Only this job.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1))
@json_option
@click.pass_context
def scheduler_history(ctx: click.Context, job: str | None, limit: int) -> None:
    """Runs with start, end, outcome and counts, newest first."""
    from ledger.services.base import authorize

    def load(uow: UnitOfWork) -> list[Any]:
        authorize(uow, Permission.READ, doing="read the scheduler history")
        return uow.job_runs.history(job, limit)

    runs = read(ctx, load)
    if ctx.ensure_object(Options).json:
        print_json({"runs": [_run_json(r) for r in runs]})
        return
    show(ctx, "runs", runs, [
        ("job", lambda r: r.job), ("due", lambda r: r.scheduled_for.isoformat(
            timespec="minutes")), ("try", lambda r: r.attempt),
        ("outcome", lambda r: r.outcome.value),
        ("took", lambda r: f"{(r.finished_at - r.started_at).total_seconds():.1f} s"
         if r.finished_at else None),
        ("counts", lambda r: ", ".join(f"{k} {v}" for k, v in r.counts.items())),
        ("message", lambda r: r.message)])


@scheduler_group.command("run")
@click.argument("job")
@json_option
@click.pass_context
def scheduler_run(ctx: click.Context, job: str) -> None:
    """Run JOB now (once; refused while another scheduler is active)."""
    from client.scheduler import Scheduler, load_config

    config = load_config(ctx.ensure_object(Options).scheduler_config)
    if job not in config.jobs:
        raise InputError(f"no job {job!r}; jobs: {', '.join(sorted(config.jobs))}", field="job")
    with opened(ctx) as app:
        scheduler = Scheduler(app, config)
        run = scheduler.fire(job, datetime.now(UTC).replace(microsecond=0))
    if run is None:
        raise ConflictError("another scheduler is active and runs the jobs; see: apportion "
                            "scheduler history")
    if ctx.ensure_object(Options).json:
        print_json(_run_json(run))
    else:
        console.print(f"{job}: {run.outcome.value} "
                      f"{', '.join(f'{k} {v}' for k, v in run.counts.items())}"
                      + (f" ({run.message})" if run.message else ""))
    if run.outcome.value != "succeeded":
        sys.exit(EXIT_ERROR)


# --- audit ---------------------------------------------------------------------------------


@cli.group()
def audit() -> None:
    """The tamper-evident audit trail."""


def _recorded_head(head: str | None, head_file: Path | None) -> Any:
    from ledger.audit import ChainHead

    if head_file is not None:
        lines = [ln.split()[-1] for ln in head_file.read_text("utf-8").splitlines() if ln.strip()]
        if not lines:
            raise InputError("the file records no audit head", source=str(head_file))
        head = lines[-1]
    if head is None:
        return None
    try:
        return ChainHead.parse(head)
    except ValueError as exc:
        raise InputError(str(exc), field="head") from None


@audit.command("verify")
@click.option("--head", help="A head recorded earlier (SEQUENCE:SHA256), to catch truncation.")
@click.option("--head-file", type=click.Path(exists=True, path_type=Path),
              help="A file written by periods close --head-file; its last head is checked.")
@json_option
@click.pass_context
def audit_verify(ctx: click.Context, head: str | None, head_file: Path | None) -> None:
    """Check the hash chain: an edited, deleted or reordered event is named; exit 1 if any."""
    from ledger.services.audit import verify_audit

    recorded = _recorded_head(head, head_file)
    problems, current = read(ctx, lambda uow: verify_audit(uow=uow, recorded_head=recorded))
    if ctx.ensure_object(Options).json:
        print_json({"valid": not problems, "head": str(current), "events": current.sequence,
                    "problems": [{"sequence": p.sequence, "event_id": p.event_id,
                                  "kind": p.kind, "message": p.message} for p in problems]})
    elif problems:
        for problem in problems:
            err_console.print(f"{problem.kind}: {problem.message}")
    else:
        console.print(f"The audit trail is intact: {current.sequence} events, head {current}.")
    if problems:
        sys.exit(EXIT_ERROR)


def _event_json(chained: Any) -> dict[str, Any]:
    event = chained.event
    return {"id": chained.id, "sequence": chained.sequence, "occurred_at": event.occurred_at,
            "actor": event.actor, "action": event.action, "entity": event.entity,
            "key": event.key, "before": event.before, "after": event.after,
            "reason": event.reason, "previous_hash": chained.previous_hash,
            "hash": chained.hash}


@audit.command("log")
@click.option("--since", type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]))
@click.option("--limit", type=click.IntRange(1), default=None)
@json_option
@click.pass_context
def audit_log_command(ctx: click.Context, since: datetime | None, limit: int | None) -> None:
    """Who changed what, when and why."""
    from ledger.services.audit import audit_log

    when = since.replace(tzinfo=UTC) if since else None
    rows = read(ctx, lambda uow: audit_log(uow=uow, since=when, limit=limit))
    if ctx.ensure_object(Options).json:
        print_json({"events": [_event_json(r) for r in rows]})
        return
    show(ctx, "events", rows, [
        ("#", lambda r: r.sequence), ("when", lambda r: r.event.occurred_at.isoformat(
            timespec="seconds")), ("who", lambda r: r.event.actor),
        ("what", lambda r: r.event.action), ("key", lambda r: r.event.key),
        ("why", lambda r: r.event.reason)])


@audit.command("export")
@click.argument("file", type=click.Path(path_type=Path))
@click.pass_context
def audit_export(ctx: click.Context, file: Path) -> None:
    """Write every event with its hashes to FILE (JSON Lines), for auditors."""
    from ledger.services.base import authorize

    count = 0
    with opened(ctx) as app, app.uow(read_only=True) as uow:
        authorize(uow, Permission.READ_AUDIT, doing="export the audit trail")
        with file.open("w", encoding="utf-8") as handle:
            for chained in uow.audit.chain():
                handle.write(json.dumps(_event_json(chained), default=json_default,
                                        ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
    console.print(f"Wrote {count} events to {file}.")


# --- the demo ------------------------------------------------------------------------------


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@cli.command()
@click.option("--headless", is_flag=True, help="Run the month-end in the terminal.")
@click.option("--period", help="Period (YYYY-MM) for the month-end; default: the current one.")
@json_option
@click.pass_context
def demo(ctx: click.Context, headless: bool, period: str | None) -> None:
    """Create the demo database and show Apportion's month-end working on it."""
    from client import demo as demo_company
    from client import demo_inventory

    options = ctx.ensure_object(Options)
    if options.db is None:
        options.db = bootstrap.demo_database_url()
    # The desktop client opens after the month-end when there is a display; the month-end
    # itself always runs first, so the client shows its journals, posted, with ERP numbers.
    open_client = not headless and not options.json and has_display()
    if not headless and not options.json and not has_display():
        err_console.print("Running headless because no display was found. On a machine with "
                          "a display, apportion demo opens the desktop client on this demo "
                          "database with the sandbox ERP running.")
    company = demo_company.generate()
    with opened(ctx, create=True) as app:
        changes = demo_company.load_demo(app, company)
        key = period or demo_company.demo_period(app, company)
        if demo_company.month_end_started(app, key):
            err_console.print(f"The month-end of {key} was run before and has left draft; "
                              "carrying on from where it stands.")
            result = None
        else:
            result = demo_company.run_month_end(app, key, demo=company)
        posting = demo_company.post_month_end(
            app, key, demo=company, erp_data=bootstrap.data_dir() / "sandbox-erp-demo")
        with app.uow(read_only=True) as uow:
            summary = status_summary(uow=uow)
            licences = _licence_summary(uow)
        reconciliation = demo_inventory.summary(app)
    if options.json:
        print_json({
            "database": app.where, "loaded": changes_json(changes), "status": summary,
            "reconciliation": reconciliation, "licences": licences,
            "month_end": _month_end_json(result) if result else None,
            "posting": {"erp": posting.erp_url, "submitted": list(posting.submitted),
                        "posted": posting.report.posted,
                        "failed": [i for i, _ in posting.report.failed],
                        "unknown": posting.report.unknown, "alerts": posting.report.alerts,
                        "erp_documents": posting.erp_documents},
        })
        return
    console.print(f"[bold]Apportion demo[/bold]: {company.company.name}, database {app.where}")
    console.print(f"Loaded: {describe_changes(changes)}. {summary['cost_centres']} cost "
                  f"centres, {summary['gl_accounts']} GL accounts, {summary['assets']} assets, "
                  f"{summary['periods']['open']} open periods, {summary['users']} users.")
    console.print(
        f"Inventory: {reconciliation['records']} discovery records from SCCM, Intune, Jamf and "
        f"GLPI; {reconciliation['matched']} matched, {reconciliation['conflicts']} with "
        f"conflicts, {reconciliation['unregistered']} unregistered, {reconciliation['missing']} "
        f"missing, {reconciliation['duplicates']} duplicates (apportion reconcile list).")
    console.print(
        f"Licences: {licences['products']} products, {licences['short']} short (true-up "
        f"{licences['true_up_cost']}), {licences['surplus']} with seats to spare "
        "(apportion licences position).")
    if result is not None:
        _print_month_end(result, {cc.code: cc.name for cc in company.cost_centres})
    posted = posting.report.posted
    if posting.submitted or posted:
        console.print(f"\n[bold]Posting[/bold]: carol submitted journals "
                      f"{', '.join(map(str, posting.submitted)) or 'none'}; bob (and dave, the "
                      f"controller, above bob's limit) approved them; {len(posted)} posted to "
                      f"the sandbox SAP ERP over SOAP ({posting.erp_documents} document(s) "
                      "there now).")
    else:
        console.print(f"\nNothing left to post for {key}: its journals are in the sandbox ERP "
                      f"({posting.erp_documents} document(s)).")
    for journal_id, message in posting.report.failed:
        console.print(f"  journal {journal_id} was refused: {message}")
    console.print(f"Try: apportion --db {app.url} journals list")
    if open_client:
        # Reached through the group, not imported: the headless commands never load Qt.
        console.print("Opening the desktop client (the sandbox ERP runs until you close it).")
        ctx.invoke(cli.commands["gui"], db_url=app.url,
                   sandbox_dir=bootstrap.data_dir() / "sandbox-erp-demo")


def _licence_summary(uow: UnitOfWork) -> dict[str, Any]:
    """The demo's licence position in three figures: products short, with surplus, true-up."""
    from ledger.services.licences import licence_position

    position = licence_position(uow=uow)
    costs: dict[str, Decimal] = {}
    for product in position:
        if product.shortfall and product.currency:
            costs[product.currency] = costs.get(product.currency, Decimal(0)) + \
                product.true_up_cost
    return {"products": len(position),
            "short": sum(1 for p in position if p.shortfall),
            "surplus": sum(1 for p in position if p.surplus),
            "true_up_cost": ", ".join(f"{amount:,} {currency}"
                                      for currency, amount in sorted(costs.items())) or "none"}


def _month_end_json(result: Any) -> dict[str, Any]:
    from client import demo_allocation

    return {
        "period": result.period, "journal_ids": list(result.journal_ids),
        "replaced_drafts": result.replaced, "total": result.total,
        "currency": result.currency, "headcount": result.headcount,
        "lines": [plain(line) for line in result.entry.lines],
        "depreciation": [
            {"book": b.book, "assets": b.assets, "total": b.total,
             "journal_ids": list(b.journal_ids), "posts_to_ledger": b.posts_to_ledger}
            for b in result.depreciation.books],
        "allocation": demo_allocation.summary(result.allocation),
    }


def _print_month_end(result: Any, names: dict[str, str]) -> None:
    from client import demo_allocation

    console.print(f"\n[bold]Month-end {result.period}[/bold] (as carol, the cost analyst): "
                  f"shared IT cost {result.total:,} {result.currency} charged by headcount "
                  f"({result.headcount:,} people) to {len(result.entry.lines) - 1} cost centres.")
    table = Table("account", "cost centre", "")
    table.add_column("debit", justify="right")
    table.add_column("credit", justify="right")
    debit_lines = sorted((li for li in result.entry.lines if li.side.value == "debit"),
                         key=lambda li: li.amount, reverse=True)
    for line in debit_lines[:8]:
        table.add_row(line.account, line.cost_centre or "", names.get(line.cost_centre or "", ""),
                      f"{line.amount:,}", "")
    if len(debit_lines) > 8:
        rest = sum((li.amount for li in debit_lines[8:]), Decimal(0))
        table.add_row("", "", f"{len(debit_lines) - 8} more", f"{rest:,}", "")
    for line in result.entry.lines:
        if line.side.value == "credit":
            table.add_row(line.account, line.cost_centre or "",
                          names.get(line.cost_centre or "", ""), "", f"{line.amount:,}")
    console.print(table)
    replaced = f", replacing {result.replaced} earlier draft" if result.replaced else ""
    console.print(f"Draft journal {', '.join(map(str, result.journal_ids))} is balanced to the "
                  f"cent{replaced}.")
    for book in result.depreciation.books:
        total = ", ".join(f"{amount:,} {cur}" for cur, amount in book.total.items()) or "0"
        outcome = (f"draft journal {', '.join(map(str, book.journal_ids))}"
                   if book.posts_to_ledger else "tax book: computed, not posted")
        console.print(f"Depreciation {result.period}, book {book.book}: {book.assets} assets, "
                      f"{total} ({outcome}).")
    allocated = demo_allocation.summary(result.allocation)
    if allocated is not None:
        for currency, source in allocated["source_total"].items():
            unallocated = allocated["unallocated_total"].get(currency, Decimal(0))
            console.print(
                f"Allocation {result.period}, rule set {allocated['ruleset']} (run "
                f"{allocated['run_id']}): {source:,} {currency} of cloud billing, depreciation "
                f"and licence seats; {allocated['allocated_total'].get(currency, 0):,} allocated "
                f"to cost centres, {unallocated:,} left unallocated and reported (draft journals "
                f"{', '.join(map(str, allocated['journal_ids'])) or 'none'}).")


def _register_commands() -> None:
    """Join the command modules of :mod:`client.commands` to the group."""
    from client.commands import register_all

    register_all(cli)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning expected errors into one line on stderr."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="apportion", standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("Aborted.")
        sys.exit(EXIT_ERROR)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except InputErrors as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        for error in exc.errors[5:50]:
            click.echo(f"  {error}", err=True)
        sys.exit(EXIT_ERROR)
    except ApportionError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:
        if debug:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the "
                   "traceback, and report it)", err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(0)


if __name__ == "__main__":
    main()

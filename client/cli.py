"""The ``apportion`` command: the headless face of the services (DESIGN.md section 8).

This module holds the root group with its global options, the ``demo`` command and the error
handling of :func:`main`; every other command lives in a domain module of :mod:`client.commands`
(joined to the group at import). Commands parse, open the database through
:mod:`client.bootstrap`, call services and print. Every command that reports takes ``--json`` and
then prints exactly one JSON document on stdout, with amounts as decimal strings. Errors are one
line on stderr and a non-zero exit; ``--debug`` shows the traceback. No Qt is imported here.
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from typing import Any

import click
from rich.table import Table

from client import bootstrap
from client.commands.common import (
    EXIT_ERROR,
    Options,
    changes_json,
    console,
    describe_changes,
    err_console,
    json_option,
    opened,
    plain,
    print_json,
)
from ledger.errors import ApportionError, InputErrors
from ledger.ports import UnitOfWork
from ledger.services.status import status_summary

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

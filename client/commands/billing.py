"""Billing files and the cost fact store they fill.

``apportion import focus|aws-cur|azure-cost PATH...`` (the ``import`` group, which other
command modules add their importers to), ``apportion billing list|totals|remove``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from client.commands.common import (
    Options,
    answer,
    console,
    err_console,
    json_option,
    opened,
    print_json,
    show,
)
from ledger.access import Permission
from ledger.errors import InputError


def register(cli: click.Group) -> None:
    """Add ``import`` and ``billing`` to ``cli``; register this module before those that add
    importers to ``cli.commands["import"]``."""
    cli.add_command(import_group)
    cli.add_command(billing)


BILLING_FORMATS = {"focus": "FocusImporter", "aws-cur": "AwsCurImporter",
                   "azure-cost": "AzureCostImporter"}


@click.group("import")
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


def _import_command(kind: str, what: str) -> click.Command:
    """``apportion import KIND PATH...`` for one billing format."""

    def command(ctx: click.Context, paths: tuple[Path, ...]) -> None:
        _import_billing(ctx, kind, paths)

    command.__doc__ = f"Import {what}; PATH may be given several times."
    return click.command(kind)(click.pass_context(json_option(click.argument(
        "paths", nargs=-1, required=True, type=click.Path(path_type=Path))(command))))


for _kind, _what in (("focus", "a FinOps FOCUS 1.0-1.2 export (CSV or Parquet)"),
                     ("aws-cur", "an AWS Cost and Usage Report (CSV)"),
                     ("azure-cost", "an Azure EA or MCA cost export (CSV)")):
    import_group.add_command(_import_command(_kind, _what))


@click.group("billing")
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
    answer(ctx, {"removed": removed.import_id, "rows": removed.rows},
           f"Removed {removed.import_id} ({removed.source_file}, {removed.rows} rows).")

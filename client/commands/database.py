"""Setting up the database and saying what is in it: ``apportion init``, ``apportion status``."""

from __future__ import annotations

import click
from rich.table import Table

from client.commands.common import (
    Options,
    changes_json,
    console,
    describe_changes,
    json_option,
    opened,
    print_json,
)
from ledger.reference import Company
from ledger.services import reference_data
from ledger.services.status import status_summary
from ledger.services.users import bootstrap_administrator


def register(cli: click.Group) -> None:
    """Add ``init`` and ``status`` to ``cli``."""
    cli.add_command(init)
    cli.add_command(status)


@click.command("init")
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


@click.command("status")
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

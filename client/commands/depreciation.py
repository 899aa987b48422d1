"""Depreciation: ``apportion depreciation schedule`` (no database) and ``depreciation run``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import click
from rich.table import Table

from client.commands.common import (
    Options,
    console,
    decimal_list,
    decimal_option,
    json_option,
    opened,
    print_json,
)


def register(cli: click.Group) -> None:
    """Add ``depreciation`` to ``cli``."""
    cli.add_command(depreciation)


@click.group("depreciation")
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
        cost=decimal_option(cost, "--cost"),  # type: ignore[arg-type]
        placed_in_service=placed_in_service.date(),
        method=method.replace("-", "_"),  # type: ignore[arg-type]
        currency=currency,
        convention=convention.replace("-", "_") if convention else None,  # type: ignore[arg-type]
        life_years=decimal_option(life_years, "--life-years"),
        life_months=life_months,
        salvage=Decimal(0) if percent else decimal_option(salvage_text, "--salvage"),  # type: ignore[arg-type]
        salvage_percent=decimal_option(salvage_text[:-1], "--salvage") if percent else None,
        fiscal_year_start=fiscal_year_start,  # type: ignore[arg-type]
        frequency=frequency,  # type: ignore[arg-type]
        factor=decimal_option(factor, "--factor") or Decimal(2),
        switch_to_straight_line=switch_to_straight_line,
        annual_rate=decimal_option(rate, "--rate"),
        recovery_period=recovery_period,
        expected_units=decimal_option(expected_units, "--expected-units"),
        units_per_period=decimal_list(units, "--units"),
        manual_amounts=decimal_list(amounts, "--amounts"),
    )
    result = schedule_as_dict(build_schedule(terms))
    if ctx.ensure_object(Options).json:
        print_json(result)
        return
    print_schedule(result)


def print_schedule(result: dict[str, Any]) -> None:
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

"""Accounting periods: ``apportion periods list|close|reopen``.

Closing prints the audit chain's head at the close (and can append it to a file kept outside
the database), so that ``apportion audit verify --head-file`` later catches a cut-off chain.
"""

from __future__ import annotations

from pathlib import Path

import click

from client.commands.common import (
    Options,
    changes_json,
    console,
    json_option,
    opened,
    print_json,
    read,
    reason_option,
    show,
    write,
)
from ledger.services import periods as period_services


def register(cli: click.Group) -> None:
    """Add ``periods`` to ``cli``."""
    cli.add_command(periods)


@click.group("periods")
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
@reason_option
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

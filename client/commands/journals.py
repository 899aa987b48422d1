"""Journals: review and approval, posting to the ERP exactly once, reversal, reconciliation.

``apportion journals list|show|submit|approve|reject|requeue|reverse|post|reconcile``.
``post`` and ``reconcile`` exit 1 when a journal failed, is unknown or the ERP disagrees.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click
from rich.table import Table

from client.commands.common import (
    EXIT_ERROR,
    Options,
    answer,
    console,
    err_console,
    json_option,
    opened,
    plain,
    print_json,
    read,
    show,
)
from client.commands.erp import erp_gateway
from ledger.access import Permission
from ledger.ports import UnitOfWork
from ledger.services.base import Changes


def register(cli: click.Group) -> None:
    """Add ``journals`` to ``cli``."""
    cli.add_command(journals)


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


@click.group("journals")
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
    answer(ctx, {verb: list(ids)}, f"{verb.capitalize()}: {', '.join(map(str, ids))}.")


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
    answer(ctx, {"reversal": new_id, "reverses": journal_id},
           f"Drafted reversal {new_id} of journal {journal_id}; submit and approve it to post it.")


def _poster_name() -> str:
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


@journals.command("post")
@click.option("--erp", "erp_name", help="The ERP profile (default: the only one).")
@json_option
@click.pass_context
def journals_post(ctx: click.Context, erp_name: str | None) -> None:
    """Send every approved journal to the ERP, exactly once each."""
    from ledger.services.posting import post_approved

    with opened(ctx) as app, erp_gateway(app, erp_name) as (profile, gateway):
        report = post_approved(uow_factory=app.uow, gateway=gateway, profile=profile,
                               holder=_poster_name())
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
    from ledger.services.posting import reconcile_postings

    with opened(ctx) as app, erp_gateway(app, erp_name) as (profile, gateway):
        with app.uow() as uow:
            report = reconcile_postings(
                uow=uow, gateway=gateway, profile=profile,
                first=first.date() if first else None, last=last.date() if last else None)
            uow.commit()
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

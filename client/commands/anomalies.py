"""Anomalies found in the billing: ``apportion anomalies list|detect|ack|dismiss``."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from client.commands.common import (
    Options,
    answer,
    json_option,
    opened,
    print_json,
    read,
    show,
)


def register(cli: click.Group) -> None:
    """Add ``anomalies`` to ``cli``."""
    cli.add_command(anomalies)


@click.group("anomalies")
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
    answer(ctx, {"new": report.new, "updated": report.updated, "cleared": report.cleared},
           f"{len(report.new)} new, {len(report.updated)} still there, "
           f"{len(report.cleared)} cleared. See: apportion anomalies list")


def _review(ctx: click.Context, finding_id: int, status: str, reason: str) -> None:
    from ledger.finding import FindingStatus
    from ledger.services.anomalies import review_finding

    with opened(ctx) as app, app.uow() as uow:
        stored = review_finding(uow=uow, finding_id=finding_id, status=FindingStatus(status),
                                reason=reason)
        uow.commit()
    answer(ctx, _finding_json(stored), f"Anomaly {finding_id} {status}.")


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

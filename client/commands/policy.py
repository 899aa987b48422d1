"""Allocation policy and rule reviews.

``apportion policy show|versions|import FILE|export|activate VERSION|ownership`` and
``apportion reviews list|checklist SUBJECT|complete SUBJECT|history``; also the XLSX export of
an explanation (``apportion explain --xlsx``), masked as the service masked it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from client.commands.common import Options, console, opened, print_json, read, write
from ledger.errors import InputError
from ledger.policy import PolicyVersion
from ledger.services import policy as service
from ledger.services import reviews as review_service

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
EXPLAIN_COLUMNS = ("pool", "rule", "kind", "account", "currency", "amount", "share",
                   "pool total", "source", "origin", "reference", "attributes", "rows",
                   "source amount", "note")


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    cli.add_command(policy_group)
    cli.add_command(reviews_group)


def _json(ctx: click.Context) -> bool:
    return ctx.ensure_object(Options).json


def _version_json(version: PolicyVersion) -> dict[str, Any]:
    return {"version": version.version, "name": version.name, "status": version.status.value,
            "effective_from": version.effective_from, "content_hash": version.content_hash,
            "author": version.author, "created_at": version.created_at,
            "reason": version.reason, "activated_by": version.activated_by,
            "activated_at": version.activated_at}


@click.group("policy")
def policy_group() -> None:
    """The allocation policy: scope, ownership, granularity, charging modes, sensitive pools."""


@policy_group.command("show")
@click.argument("version", type=int, required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def show_cmd(ctx: click.Context, version: int | None, as_json: bool) -> None:
    """Show the active policy (or VERSION), its status and text."""
    found = read(ctx, lambda uow: service.show_policy(uow=uow, version=version))
    if as_json or _json(ctx):
        print_json({**_version_json(found), "text": found.text})
        return
    console.print(f"Policy version {found.version} ({found.status.value}), by {found.author}:")
    console.print(found.text, markup=False)


@policy_group.command("versions")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def versions_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the policy's versions."""
    found = read(ctx, lambda uow: service.list_policies(uow=uow))
    if as_json or _json(ctx):
        print_json({"versions": [_version_json(v) for v in found]})
        return
    for v in found:
        console.print(f"{v.version:>4}  {v.status.value:<8} {v.effective_from}  {v.author}  "
                      f"{v.reason or ''}", markup=False)


@policy_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reason", help="Why the policy changes (kept in the audit trail).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def import_cmd(ctx: click.Context, file: Path, reason: str | None, as_json: bool) -> None:
    """Save FILE as a new draft policy version (the same content again changes nothing)."""
    if as_json:
        ctx.ensure_object(Options).json = True
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 text: {exc}", source=str(file)) from None
    write(ctx, f"Policy {file.name}",
          lambda uow: service.import_policy(uow=uow, text=text, source=str(file),
                                            reason=reason)[1])


@policy_group.command("export")
@click.argument("version", type=int, required=False)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@click.pass_context
def export_cmd(ctx: click.Context, version: int | None, output: Path | None) -> None:
    """Print (or write) the policy's TOML, to edit and import again."""
    found = read(ctx, lambda uow: service.show_policy(uow=uow, version=version))
    if output is None:
        click.echo(found.text, nl=False)
    else:
        output.write_text(found.text, encoding="utf-8")
        console.print(f"Wrote policy version {found.version} to {output}.")


@policy_group.command("activate")
@click.argument("version", type=int)
@click.option("--reason", help="Why (kept in the audit trail).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def activate_cmd(ctx: click.Context, version: int, reason: str | None, as_json: bool) -> None:
    """Make VERSION the active policy; the one active before is retired."""
    if as_json:
        ctx.ensure_object(Options).json = True
    write(ctx, f"Policy version {version}",
          lambda uow: service.activate_policy(uow=uow, version=version, reason=reason))


@policy_group.command("ownership")
@click.option("--ruleset", metavar="NAME[@VERSION]", help="Pools of this rule set "
              "(default: the active one).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def ownership_cmd(ctx: click.Context, ruleset: str | None, as_json: bool) -> None:
    """Every asset and pool with its owner (IT or a business unit) and who answers for it."""
    from ledger.services import allocation

    def run(uow: Any) -> dict[str, Any]:
        version = allocation.show_version(uow=uow, label=ruleset) if ruleset else None
        if version is None:
            active = uow.rulesets.active()
            version = active[0] if len(active) == 1 else None
        return service.ownership_report(uow=uow, ruleset=version.ruleset() if version
                                        else None)

    data = read(ctx, run)
    if as_json or _json(ctx):
        print_json(data)
        return
    for row in data["pools"]:
        charged = f"  charged to {row['charged_to']}" if row.get("charged_to") else ""
        console.print(f"pool  {row['pool']:<16} {row['owner']:<14} answers: {row['answers']}"
                      f"{charged}", markup=False)
    for row in data["assets"]:
        console.print(f"asset {row['asset']:<16} {row['owner']:<14} answers: {row['answers']}",
                      markup=False)


@click.group("reviews")
def reviews_group() -> None:
    """Rule reviews: the calendar, checklists and completed reviews."""


@reviews_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def reviews_list(ctx: click.Context, as_json: bool) -> None:
    """Every rule set's and pool's next review; overdue ones first."""
    found = read(ctx, lambda uow: review_service.list_reviews(uow=uow))
    if as_json or _json(ctx):
        print_json({"reviews": [{"subject": d.subject, "reviewer": d.reviewer,
                                 "every_months": d.every_months, "due_on": d.due_on,
                                 "last_completed": d.last_completed, "overdue": d.overdue}
                                for d in found]})
        return
    for d in found:
        flag = "[red]overdue[/red]" if d.overdue else "due"
        console.print(f"{d.subject:<24} {flag} {d.due_on}  reviewer: {d.reviewer or '-'}")


@reviews_group.command("checklist")
@click.argument("subject")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def reviews_checklist(ctx: click.Context, subject: str, as_json: bool) -> None:
    """The checklist of SUBJECT (ruleset:NAME or pool:ID) as the stored runs show it."""
    items = read(ctx, lambda uow: review_service.checklist(uow=uow, subject=subject))
    _print_items(ctx, subject, items, as_json)


def _print_items(ctx: click.Context, subject: str, items: list[Any], as_json: bool,
                 **extra: Any) -> None:
    if as_json or _json(ctx):
        print_json({"subject": subject, **extra, "checklist": [
            {"item": i.item, "ok": i.ok, "finding": i.finding} for i in items]})
        return
    for i in items:
        console.print(f"{'ok  ' if i.ok else 'LOOK'} {i.item}: {i.finding}", markup=False)


@reviews_group.command("complete")
@click.argument("subject")
@click.option("--outcome", required=True,
              type=click.Choice(["no_change", "changes_needed", "changes_made"]))
@click.option("--notes", required=True, help="What was checked and decided.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_context
def reviews_complete(ctx: click.Context, subject: str, outcome: str, notes: str,
                     as_json: bool) -> None:
    """Record the review of SUBJECT with its checklist (kept in the audit trail)."""
    with opened(ctx) as app, app.uow() as uow:
        review_id, items, _ = review_service.complete_review(uow=uow, subject=subject,
                                                             outcome=outcome, notes=notes)
        uow.commit()
    if not (as_json or _json(ctx)):
        console.print(f"Review {review_id} of {subject} recorded ({outcome}).")
    _print_items(ctx, subject, items, as_json, review_id=review_id, outcome=outcome)


# -- XLSX export of an explanation --------------------------------------------------------------


def safe_text(value: str) -> str:
    """Text a spreadsheet will not evaluate (RELIABILITY.md: exports carry no live formulas)."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _cell(value: Any) -> Any:
    from decimal import Decimal

    if value is None or isinstance(value, int | Decimal):
        return value
    return safe_text(str(value))


def explain_rows(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    """One row per item and source (an item whose rows are masked or absent: one row)."""
    from decimal import Decimal

    rows = []
    for item in data["items"]:
        head = (item["pool"], item["rule"], item["kind"], item["account"], item["currency"],
                Decimal(item["amount"]), item.get("share"), item.get("pool_total"))
        note = item["note"]
        sources = item.get("sources") or [None]
        for source in sources:
            if source is None:
                rows.append((*head, "(masked)" if item.get("masked") else None, None, None,
                             None, None, None, note))
                continue
            attributes = ", ".join(f"{k}={v}" for k, v in source["attributes"].items() if v)
            rows.append((*head, source["kind"], source["origin"], source["reference"],
                         attributes, source["rows"], Decimal(source["amount"]), note))
    return rows


def write_explain_xlsx(data: dict[str, Any], path: Path) -> int:
    """Write an explanation (already masked by the service) to ``path``; returns rows."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Explain"
    sheet.append([safe_text(f"Run {data['run_id']} {data['period']} {data['ruleset']}: cost "
                            f"centre {data['cost_centre']}")])
    sheet.append(list(EXPLAIN_COLUMNS))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    rows = explain_rows(data)
    for row in rows:
        sheet.append([_cell(v) for v in row])
        for index in (6, 14):
            sheet.cell(sheet.max_row, index).number_format = "#,##0.00"
    workbook.save(path)
    return len(rows)

"""The tamper-evident audit trail: ``apportion audit verify|log|export``.

``verify`` exits 1 when an event was edited, deleted or reordered, or when the chain is shorter
than a head recorded at a period close.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from client.commands.common import (
    EXIT_ERROR,
    Options,
    console,
    err_console,
    json_default,
    json_option,
    opened,
    print_json,
    read,
    show,
)
from ledger.access import Permission
from ledger.errors import InputError


def register(cli: click.Group) -> None:
    """Add ``audit`` to ``cli``."""
    cli.add_command(audit)


@click.group("audit")
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
@click.option("--entity", help="Only events about this kind of thing (asset, journal ...).")
@click.option("--key", help="Only events about this thing (an asset tag ...), including the "
              "register loads' events that concern it among others, shown with its own values.")
@click.option("--action", help="Only this action (asset.update, period.close ...).")
@click.option("--actor", help="Only this user's events.")
@json_option
@click.pass_context
def audit_log_command(ctx: click.Context, since: datetime | None, limit: int | None,
                      entity: str | None, key: str | None, action: str | None,
                      actor: str | None) -> None:
    """Who changed what, when and why."""
    from ledger.services.audit import audit_find, audit_log

    when = since.replace(tzinfo=UTC) if since else None
    if key is not None:
        _log_of_key(ctx, read(ctx, lambda uow: audit_find(
            uow=uow, key=key, entity=entity, action=action, actor=actor, since=when,
            limit=limit)))
        return
    rows = read(ctx, lambda uow: audit_log(uow=uow, since=when, limit=limit, entity=entity,
                                           action=action, actor=actor))
    if ctx.ensure_object(Options).json:
        print_json({"events": [_event_json(r) for r in rows]})
        return
    show(ctx, "events", rows, [
        ("#", lambda r: r.sequence), ("when", lambda r: r.event.occurred_at.isoformat(
            timespec="seconds")), ("who", lambda r: r.event.actor),
        ("what", lambda r: r.event.action), ("key", lambda r: r.event.key),
        ("why", lambda r: r.event.reason)])


def _log_of_key(ctx: click.Context, entries: list[Any]) -> None:
    """The events about one thing: a chunk event's ``before`` and ``after`` are that thing's
    own (``in_batch`` true, the event's own key beside), its hashes the whole event's."""
    if ctx.ensure_object(Options).json:
        print_json({"events": [{**_event_json(e.chained), "before": e.before,
                                "after": e.after, "match": e.key, "in_batch": e.in_batch}
                               for e in entries]})
        return
    show(ctx, "events", entries, [
        ("#", lambda e: e.chained.sequence),
        ("when", lambda e: e.chained.event.occurred_at.isoformat(timespec="seconds")),
        ("who", lambda e: e.chained.event.actor), ("what", lambda e: e.chained.event.action),
        ("key", lambda e: f"{e.key} in {e.chained.event.key}" if e.in_batch else e.key),
        ("change", _change_text), ("why", lambda e: e.chained.event.reason)])


def _change_text(entry: Any) -> str:
    if entry.before is None and entry.after is not None:
        return "created"
    if entry.after is None:
        return "removed" if entry.before is not None else ""
    return "; ".join(f"{name}: {old} → {new}" for name, old, new in entry.changed())


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

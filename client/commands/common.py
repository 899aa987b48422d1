"""The plumbing every ``apportion`` command shares: options, opening the app, printing.

A command module under :mod:`client.commands` imports from here, never from :mod:`client.cli`,
so that the command modules and the group they join do not import each other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from client import bootstrap
from client.bootstrap import App
from ledger.money import MoneyError, to_decimal
from ledger.ports import UnitOfWork
from ledger.services.base import Changes, snapshot

T = TypeVar("T")

#: The exit code of a command that ran but found a problem (a refused posting, a broken chain).
EXIT_ERROR = 1

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@dataclass
class Options:
    db: str | None = None
    json: bool = False
    debug: bool = False
    scheduler_config: Path | None = None


def json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, frozenset | set):
        return sorted(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, default=json_default, indent=2, ensure_ascii=False))


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--json`` on a subcommand, equivalent to the global ``apportion --json``."""

    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.ensure_object(Options).json = True

    return click.option("--json", "as_json", is_flag=True, expose_value=False,
                        callback=callback, help="Print one JSON document.")(command)


@contextmanager
def opened(ctx: click.Context, *, create: bool = False) -> Iterator[App]:
    options = ctx.ensure_object(Options)
    app = bootstrap.open_app(options.db, create=create)
    if app.upgraded and not create:
        err_console.print(f"Upgraded the database schema at {app.where}.")
    try:
        yield app
    finally:
        app.close()


def describe_changes(changes: Changes) -> str:
    parts = [f"{n} {label}" for n, label in ((changes.created, "created"),
                                              (changes.updated, "updated"),
                                              (changes.deleted, "deleted"),
                                              (changes.unchanged, "unchanged")) if n]
    return ", ".join(parts) or "nothing to do"


def changes_json(changes: Changes) -> dict[str, Any]:
    return {"created": changes.created, "updated": changes.updated, "deleted": changes.deleted,
            "unchanged": changes.unchanged, "entities": sorted(changes.entities)}



# --- running service calls -------------------------------------------------------------


def read(ctx: click.Context, operation: Callable[[UnitOfWork], T]) -> T:
    """Run a read-only service call in its own unit of work."""
    with opened(ctx) as app, app.uow(read_only=True) as uow:
        return operation(uow)


def write(ctx: click.Context, what: str, operation: Callable[[UnitOfWork], Changes],
          message: Callable[[Changes], str] | None = None) -> Changes:
    """Run a writing service call in its own unit of work, commit it, and report the changes."""
    with opened(ctx) as app, app.uow() as uow:
        changes = operation(uow)
        uow.commit()
    if ctx.ensure_object(Options).json:
        print_json(changes_json(changes))
    else:
        console.print(f"{what}: {message(changes) if message else describe_changes(changes)}.")
    return changes


def show(ctx: click.Context, key: str, rows: Sequence[Any],
         columns: Sequence[tuple[str, Callable[[Any], Any]]],
         extra: dict[str, Any] | None = None) -> None:
    """Print rows as ``{key: [...]}`` JSON (with ``extra`` keys first) or as a table."""
    if ctx.ensure_object(Options).json:
        print_json({**(extra or {}), key: [plain(row) for row in rows]})
        return
    table = Table(*(header for header, _ in columns))
    for row in rows:
        table.add_row(*("" if (cell := get(row)) is None else str(cell) for _, get in columns))
    console.print(table)


def plain(value: Any) -> Any:
    return snapshot(value)


# --- options and answers shared by many commands -------------------------------------------


#: ``--reason`` where giving one is optional; it goes to the audit event of the change.
reason_option = click.option("--reason", help="Why, for the audit trail.")


def decimal_option(value: str | None, name: str) -> Decimal | None:
    """An option's text as an exact Decimal (``None`` stays ``None``); a usage error names
    the option."""
    if value is None:
        return None
    try:
        return to_decimal(value)
    except MoneyError:
        raise click.BadParameter(f"{value!r} is not a number", param_hint=name) from None


def decimal_list(value: str | None, name: str) -> tuple[Decimal, ...]:
    """A comma-separated option (``--units 10,12,9``) as Decimals; empty gives ``()``."""
    if not value:
        return ()
    return tuple(decimal_option(part, name) or Decimal(0) for part in value.split(","))


def answer(ctx: click.Context, data: Any, text: str) -> None:
    """Print ``data`` as the one JSON document under ``--json``, else ``text`` on the console."""
    if ctx.ensure_object(Options).json:
        print_json(data)
    else:
        console.print(text)

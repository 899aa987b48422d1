"""Reference data: the cost-centre hierarchy and the chart of GL accounts.

``apportion cost-centres list|import``, ``apportion accounts list|import``.
"""

from __future__ import annotations

from pathlib import Path

import click

from client.commands.common import json_option, read, reason_option, show, write
from ledger.services import reference_data


def register(cli: click.Group) -> None:
    """Add ``cost-centres`` and ``accounts`` to ``cli``."""
    cli.add_command(cost_centres)
    cli.add_command(accounts)


@click.group("cost-centres")
def cost_centres() -> None:
    """The cost-centre hierarchy."""


@cost_centres.command("list")
@json_option
@click.pass_context
def cost_centres_list(ctx: click.Context) -> None:
    """List cost centres."""
    rows = read(ctx, lambda uow: reference_data.list_cost_centres(uow=uow))
    show(ctx, "cost_centres", rows, [
        ("code", lambda cc: cc.code), ("name", lambda cc: cc.name),
        ("parent", lambda cc: cc.parent), ("business unit", lambda cc: cc.business_unit),
        ("owner", lambda cc: cc.owner), ("valid from", lambda cc: cc.valid_from),
        ("valid to", lambda cc: cc.valid_to)])


@cost_centres.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@reason_option
@json_option
@click.pass_context
def cost_centres_import(ctx: click.Context, file: Path, reason: str | None) -> None:
    """Create or update cost centres from a CSV file (all or nothing).

    Columns: code,name[,parent,business_unit,owner,valid_from,valid_to].
    """
    from connectors.reference_csv import read_cost_centres

    staged = read_cost_centres(file)
    write(ctx, f"Cost centres from {file}", lambda uow: reference_data.import_cost_centres(
        uow=uow, cost_centres=staged, reason=reason))


@click.group("accounts")
def accounts() -> None:
    """The chart of GL accounts."""


@accounts.command("list")
@json_option
@click.pass_context
def accounts_list(ctx: click.Context) -> None:
    """List GL accounts."""
    rows = read(ctx, lambda uow: reference_data.list_accounts(uow=uow))
    show(ctx, "accounts", rows, [("number", lambda a: a.number), ("name", lambda a: a.name),
                                 ("type", lambda a: a.type.value)])


@accounts.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@reason_option
@json_option
@click.pass_context
def accounts_import(ctx: click.Context, file: Path, reason: str | None) -> None:
    """Create or update GL accounts from a CSV file (columns: number,name,type)."""
    from connectors.reference_csv import read_accounts

    staged = read_accounts(file)
    write(ctx, f"Accounts from {file}", lambda uow: reference_data.import_accounts(
        uow=uow, accounts=staged, reason=reason))

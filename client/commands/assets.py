"""The asset register: ``apportion assets list``, the events its depreciation books take into
account (``transfer``, ``dispose``, ``impair``, ``change-estimate``) and one asset's schedule
(``assets depreciation``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import click

from client.commands.common import (
    Options,
    console,
    decimal_option,
    json_option,
    print_json,
    read,
    show,
    write,
)
from client.commands.depreciation import print_schedule


def register(cli: click.Group) -> None:
    """Add ``assets`` to ``cli``."""
    cli.add_command(assets)


@click.group("assets")
def assets() -> None:
    """The asset register."""


@assets.command("list")
@json_option
@click.pass_context
def assets_list(ctx: click.Context) -> None:
    """List assets."""
    from ledger.services.assets import list_assets

    rows = read(ctx, lambda uow: list_assets(uow=uow))
    show(ctx, "assets", rows, [
        ("tag", lambda a: a.tag), ("name", lambda a: a.name), ("kind", lambda a: a.kind.value),
        ("cost centre", lambda a: a.cost_centre), ("status", lambda a: a.status.value),
        ("cost", lambda a: f"{a.purchase_cost:,}" if a.purchase_cost is not None else None),
        ("in service", lambda a: a.in_service_date)])


def _record_event(ctx: click.Context, event: Any) -> None:
    from ledger.services.assets import record_asset_event

    write(ctx, f"{event.kind.value.replace('_', ' ').capitalize()} of {event.asset_tag} on "
               f"{event.effective}", lambda uow: record_asset_event(uow=uow, event=event))


def _date(value: datetime) -> date:
    return value.date()


@assets.command("transfer")
@click.argument("tag")
@click.option("--to", "to_cost_centre", required=True, help="The receiving cost centre.")
@click.option("--date", "effective", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="First day at the new cost centre.")
@click.option("--note", default="", help="Why, for the audit trail.")
@json_option
@click.pass_context
def assets_transfer(ctx: click.Context, tag: str, to_cost_centre: str, effective: datetime,
                    note: str) -> None:
    """Move TAG to another cost centre; that month's depreciation is split by days."""
    from ledger.asset import AssetEvent, AssetEventKind

    _record_event(ctx, AssetEvent(tag, AssetEventKind.TRANSFER, _date(effective),
                                  to_cost_centre=to_cost_centre, note=note))


@assets.command("dispose")
@click.argument("tag")
@click.option("--date", "effective", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--proceeds", default="0", show_default=True, help="What the disposal brought in.")
@click.option("--note", default="", help="Why, for the audit trail.")
@json_option
@click.pass_context
def assets_dispose(ctx: click.Context, tag: str, effective: datetime, proceeds: str,
                   note: str) -> None:
    """Dispose of (or retire) TAG: depreciation stops that day; the gain or loss is shown by
    apportion assets depreciation."""
    from ledger.asset import AssetEvent, AssetEventKind

    _record_event(ctx, AssetEvent(tag, AssetEventKind.DISPOSAL, _date(effective),
                                  proceeds=decimal_option(proceeds, "--proceeds"), note=note))


@assets.command("impair")
@click.argument("tag")
@click.option("--book", required=True)
@click.option("--date", "effective", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--amount", required=True, help="The write-down.")
@click.option("--remaining-life-months", type=click.IntRange(1))
@click.option("--salvage", help="A new salvage amount.")
@click.option("--note", default="")
@json_option
@click.pass_context
def assets_impair(ctx: click.Context, tag: str, book: str, effective: datetime, amount: str,
                  remaining_life_months: int | None, salvage: str | None, note: str) -> None:
    """Write TAG's book value down in BOOK at the end of the period containing DATE."""
    from ledger.asset import AssetEvent, AssetEventKind

    _record_event(ctx, AssetEvent(tag, AssetEventKind.IMPAIRMENT, _date(effective), book=book,
                                  amount=decimal_option(amount, "--amount"),
                                  remaining_life_months=remaining_life_months,
                                  salvage=decimal_option(salvage, "--salvage"), note=note))


@assets.command("change-estimate")
@click.argument("tag")
@click.option("--book", required=True)
@click.option("--from", "effective", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="First day of the period from which the new estimate applies.")
@click.option("--remaining-life-months", type=click.IntRange(1))
@click.option("--salvage", help="The new salvage amount.")
@click.option("--note", default="")
@json_option
@click.pass_context
def assets_change_estimate(ctx: click.Context, tag: str, book: str, effective: datetime,
                           remaining_life_months: int | None, salvage: str | None,
                           note: str) -> None:
    """Change TAG's remaining life or salvage in BOOK, prospectively."""
    from ledger.asset import AssetEvent, AssetEventKind

    _record_event(ctx, AssetEvent(tag, AssetEventKind.CHANGE_OF_ESTIMATE, _date(effective),
                                  book=book, remaining_life_months=remaining_life_months,
                                  salvage=decimal_option(salvage, "--salvage"), note=note))


@assets.command("depreciation")
@click.argument("asset")
@click.option("--book", required=True, help="The book, e.g. IFRS or TAX.")
@json_option
@click.pass_context
def assets_depreciation(ctx: click.Context, asset: str, book: str) -> None:
    """ASSET's schedule in BOOK: actual to date and forecast, cost centres, disposal."""
    from ledger.services.depreciation import asset_depreciation

    result = read(ctx, lambda uow: asset_depreciation(uow=uow, tag=asset, book=book))
    if ctx.ensure_object(Options).json:
        print_json(result)
        return
    console.print(f"{result['asset']} in book {result['book']}: {result['method']}, cost "
                  f"{Decimal(result['cost']):,} {result['currency']}, depreciated to date "
                  f"{Decimal(result['to_date']):,}")
    print_schedule(result)
    if result["disposal"]:
        d = result["disposal"]
        console.print(f"Disposed {d['date']}: proceeds {d['proceeds']}, net book value "
                      f"{d['net_book_value']}, gain (loss) {d['gain_or_loss']}")

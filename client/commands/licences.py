"""Licences and data quality: entitlements, seats, the position, quality rules, register loads
through saved column mappings."""

from __future__ import annotations

import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from client.commands.common import (
    Options,
    changes_json,
    console,
    describe_changes,
    err_console,
    json_option,
    opened,
    print_json,
    read,
    reason_option,
    show,
    write,
)
from ledger.errors import InputError
from ledger.licence import AssigneeKind, SeatAssignment
from ledger.quality import Violation


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    cli.add_command(licences)
    cli.add_command(quality)
    cli.add_command(mappings)
    import_group = cli.commands["import"]
    assert isinstance(import_group, click.Group)
    import_group.add_command(import_assets_csv)
    import_group.add_command(import_assets_xlsx)
    import_group.add_command(import_snipeit_licenses)


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{value!r}: write FIELD=VALUE", param_hint=option)
        pairs[name.strip()] = text.strip()
    return pairs


# --- licences ------------------------------------------------------------------------------------

@click.group()
def licences() -> None:
    """Licence entitlements, seats and the compliance position."""


@licences.command("list")
@json_option
@click.pass_context
def licences_list(ctx: click.Context) -> None:
    """List the entitlements."""
    from ledger.services.licences import list_entitlements

    rows = read(ctx, lambda uow: list_entitlements(uow=uow))
    show(ctx, "entitlements", rows, [
        ("key", lambda e: e.key), ("publisher", lambda e: e.publisher),
        ("product", lambda e: e.product), ("metric", lambda e: e.metric.value),
        ("quantity", lambda e: e.quantity), ("unit cost", lambda e: e.unit_cost),
        ("currency", lambda e: e.currency), ("basis", lambda e: e.cost_basis.value),
        ("term end", lambda e: e.term_end)])


@licences.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@reason_option
@json_option
@click.pass_context
def licences_import(ctx: click.Context, file: Path, reason: str | None) -> None:
    """Create or update entitlements from a CSV file (all or nothing).

    Columns: key,product,metric,quantity,unit_cost[,publisher,currency,cost_basis,term_start,
    term_end,version_from,version_to]. Metrics: per_user, per_device, per_core, per_processor,
    concurrent, subscription_seat; cost basis: perpetual, monthly, annual.
    """
    from connectors.inventory.generic import read_entitlements_csv
    from ledger.services.licences import import_entitlements

    staged = read_entitlements_csv(file)
    write(ctx, f"Entitlements from {file}", lambda uow: import_entitlements(
        uow=uow, entitlements=staged, reason=reason))


@licences.command("seats")
@click.argument("entitlement", required=False)
@json_option
@click.pass_context
def licences_seats(ctx: click.Context, entitlement: str | None) -> None:
    """List the seats assigned (of one entitlement, or all)."""
    from ledger.services.licences import list_assignments

    rows = read(ctx, lambda uow: list_assignments(uow=uow, entitlement=entitlement))
    show(ctx, "seats", rows, [
        ("entitlement", lambda s: s.entitlement), ("to", lambda s: s.assignee_kind.value),
        ("assignee", lambda s: s.assignee), ("cost centre", lambda s: s.cost_centre),
        ("since", lambda s: s.since)])


def _assignee(user: str | None, device: str | None) -> tuple[AssigneeKind, str]:
    if bool(user) == bool(device):
        raise click.UsageError("give either --user LOGIN or --device TAG")
    return (AssigneeKind.USER, user) if user else (AssigneeKind.DEVICE, device or "")


@licences.command("assign")
@click.argument("entitlement")
@click.option("--user", help="The user's login or e-mail.")
@click.option("--device", help="The register asset's tag.")
@click.option("--cost-centre", help="Who pays (device seats default to the asset's).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First day the seat is held.")
@reason_option
@json_option
@click.pass_context
def licences_assign(ctx: click.Context, entitlement: str, user: str | None, device: str | None,
                    cost_centre: str | None, since: Any, reason: str | None) -> None:
    """Give a seat of ENTITLEMENT to a user or a device."""
    from ledger.services.licences import assign_seat

    kind, who = _assignee(user, device)
    seat = SeatAssignment(entitlement, kind, who, cost_centre, since.date() if since else None)
    write(ctx, f"Seat of {entitlement}", lambda uow: assign_seat(uow=uow, seat=seat,
                                                                 reason=reason))


@licences.command("release")
@click.argument("entitlement")
@click.option("--user", help="The user's login or e-mail.")
@click.option("--device", help="The register asset's tag.")
@reason_option
@json_option
@click.pass_context
def licences_release(ctx: click.Context, entitlement: str, user: str | None,
                     device: str | None, reason: str | None) -> None:
    """Take back a seat of ENTITLEMENT from a user or a device."""
    from ledger.services.licences import release_seat

    kind, who = _assignee(user, device)
    write(ctx, f"Seat of {entitlement}", lambda uow: release_seat(
        uow=uow, entitlement=entitlement, assignee_kind=kind.value, assignee=who,
        reason=reason))


def position_json(position: Any) -> dict[str, Any]:
    return {"publisher": position.publisher, "product": position.product,
            "metric": position.metric.value, "entitled": position.entitled,
            "consumed": position.consumed, "surplus": position.surplus,
            "shortfall": position.shortfall, "status": position.status,
            "unit_cost": None if position.unit_cost is None else format(position.unit_cost, "f"),
            "currency": position.currency,
            "true_up_cost": format(position.true_up_cost, "f"),
            "installations": position.installations, "assigned": position.assigned,
            "estimated": position.estimated}


@licences.command("position")
@click.option("--on", "on", type=click.DateTime(["%Y-%m-%d"]), help="The day (default today).")
@json_option
@click.pass_context
def licences_position(ctx: click.Context, on: Any) -> None:
    """The compliance position per product: entitled, consumed, surplus or shortfall, true-up."""
    from ledger.services.licences import licence_position

    day = on.date() if on else None
    rows = read(ctx, lambda uow: licence_position(uow=uow, on=day))
    totals: dict[str, Any] = defaultdict(lambda: 0)
    for row in rows:
        if row.currency:
            totals[row.currency] += row.true_up_cost
    if ctx.ensure_object(Options).json:
        print_json({"products": [position_json(p) for p in rows],
                    "true_up_total": {c: format(t, "f") for c, t in sorted(totals.items())}})
        return
    show(ctx, "products", rows, [
        ("publisher", lambda p: p.publisher), ("product", lambda p: p.product),
        ("metric", lambda p: p.metric.value), ("entitled", lambda p: p.entitled),
        ("consumed", lambda p: p.consumed), ("surplus", lambda p: p.surplus or ""),
        ("shortfall", lambda p: p.shortfall or ""),
        ("true-up", lambda p: f"{p.true_up_cost} {p.currency}" if p.shortfall else "")])
    for currency, total in sorted(totals.items()):
        console.print(f"True-up total: {total} {currency}")


@licences.command("seat-costs")
@click.option("--period", required=True, help="YYYY-MM")
@json_option
@click.pass_context
def licences_seat_costs(ctx: click.Context, period: str) -> None:
    """The cost of assigned seats in a period, per cost centre and product."""
    from ledger.services.licences import seat_costs

    rows = read(ctx, lambda uow: seat_costs(uow, period))
    show(ctx, "seat_costs", rows, [
        ("cost centre", lambda c: c.cost_centre), ("product", lambda c: c.product),
        ("seats", lambda c: c.seats), ("amount", lambda c: c.amount),
        ("currency", lambda c: c.currency)], extra={"period": period})


# --- quality -------------------------------------------------------------------------------------

def violations_json(violations: list[Violation]) -> dict[str, Any]:
    by_asset: dict[str, list[Violation]] = defaultdict(list)
    for violation in violations:
        by_asset[violation.asset_tag].append(violation)
    return {"violations": len(violations), "assets_with_violations": len(by_asset),
            "assets": [{"tag": tag, "kind": found[0].kind, "violations": [
                {"attribute": v.attribute, "rule": v.rule, "value": v.value,
                 "message": v.message} for v in found]} for tag, found in by_asset.items()]}


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def quality(ctx: click.Context) -> None:
    """Check the register against the data-quality rules: violations per asset."""
    if ctx.invoked_subcommand is not None:
        return
    from ledger.services.quality import check_assets, quality_rules

    def run(uow: Any) -> tuple[list[Violation], int, bool]:
        return check_assets(uow=uow), uow.assets.count(), quality_rules(uow=uow).stored

    violations, checked, stored = read(ctx, run)
    report = violations_json(violations)
    if ctx.ensure_object(Options).json:
        print_json({"assets_checked": checked, "rules": "stored" if stored else "default",
                    **report})
        return
    show(ctx, "violations", violations, [
        ("asset", lambda v: v.asset_tag), ("kind", lambda v: v.kind),
        ("attribute", lambda v: v.attribute), ("rule", lambda v: v.rule),
        ("value", lambda v: v.value), ("problem", lambda v: v.message)])
    console.print(f"{report['violations']} violation(s) on {report['assets_with_violations']} "
                  f"of {checked} asset(s); rules: {'stored' if stored else 'default'}.")


@quality.group("rules")
def quality_rules_group() -> None:
    """The data-quality rules in force."""


@quality_rules_group.command("show")
@json_option
@click.pass_context
def quality_rules_show(ctx: click.Context) -> None:
    """Show the rules in force (stored, or the defaults shipped with Apportion)."""
    from ledger.services.quality import quality_rules

    found = read(ctx, lambda uow: quality_rules(uow=uow))
    data = {"source": "stored" if found.stored else "default", **found.rules.to_dict()}
    if ctx.ensure_object(Options).json:
        print_json(data)
        return
    for kind, rules in data["kinds"].items():
        console.print(f"[bold]{kind}[/bold]: required {', '.join(rules['required']) or '-'}")
        for attribute, values in rules["allowed"].items():
            console.print(f"  {attribute} in {', '.join(values)}")
    console.print(f"({data['source']} rules)")


@quality_rules_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@reason_option
@json_option
@click.pass_context
def quality_rules_import(ctx: click.Context, file: Path, reason: str | None) -> None:
    """Replace the rules with those of a TOML FILE (see resources/quality/default.toml)."""
    from ledger.quality import parse_rules_toml
    from ledger.services.quality import import_rules

    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the rules: {exc}", source=str(file)) from None
    rules = parse_rules_toml(text, source=str(file))
    write(ctx, f"Quality rules from {file}", lambda uow: import_rules(uow=uow, rules=rules,
                                                                      reason=reason))


# --- column mappings and register loads -----------------------------------------------------------

@click.group()
def mappings() -> None:
    """Saved column mappings for register loads (apportion import assets-csv --mapping NAME)."""


@mappings.command("save")
@click.argument("name")
@click.option("--column", "columns", multiple=True, metavar="FIELD=Header",
              help="The file's column for a register field (repeat).")
@click.option("--default", "defaults", multiple=True, metavar="FIELD=VALUE",
              help="The value when the file has no such column or the cell is empty.")
@click.option("--sheet", help="XLSX: the worksheet to read (default: the first).")
@click.option("--file", "file", type=click.Path(path_type=Path),
              help="A TOML file with [columns], [defaults] and sheet = ...")
@reason_option
@json_option
@click.pass_context
def mappings_save(ctx: click.Context, name: str, columns: tuple[str, ...],
                  defaults: tuple[str, ...], sheet: str | None, file: Path | None,
                  reason: str | None) -> None:
    """Save the column mapping NAME (replacing one of that name)."""
    from ledger.services.asset_mapping import AssetMapping, save_mapping

    data: dict[str, Any] = {}
    if file is not None:
        try:
            data = tomllib.loads(file.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"cannot read the mapping: {exc}", source=str(file)) from None
    mapping = AssetMapping(name, {**data.get("columns", {}), **_pairs(columns, "--column")},
                           {**data.get("defaults", {}), **_pairs(defaults, "--default")},
                           sheet or data.get("sheet"))
    write(ctx, f"Mapping {name}", lambda uow: save_mapping(uow=uow, mapping=mapping,
                                                           reason=reason))


@mappings.command("list")
@json_option
@click.pass_context
def mappings_list(ctx: click.Context) -> None:
    """List the saved column mappings."""
    from ledger.services.asset_mapping import list_mappings

    rows = read(ctx, lambda uow: list_mappings(uow=uow))
    show(ctx, "mappings", rows, [
        ("name", lambda m: m.name),
        ("columns", lambda m: ", ".join(f"{k}={v}" for k, v in m.columns.items())),
        ("defaults", lambda m: ", ".join(f"{k}={v}" for k, v in m.defaults.items())),
        ("sheet", lambda m: m.sheet)])


@contextmanager
def _progress_bar(ctx: click.Context, label: str) -> Iterator[Callable[[int, int | None], None]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    options = ctx.ensure_object(Options)
    with Progress(BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err_console,
                  transient=True, disable=options.json or not err_console.is_terminal) as bar:
        task = bar.add_task(label, total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield progress


def _load_register(ctx: click.Context, path: Path, mapping_name: str, reason: str | None,
                   reader: Callable[..., Any]) -> None:
    from ledger.services.asset_mapping import get_mapping, load_register

    with opened(ctx) as app:
        with app.uow(read_only=True) as uow:
            mapping = get_mapping(uow=uow, name=mapping_name)
        with _progress_bar(ctx, path.name) as progress:
            staged = reader(path, mapping, progress=progress)
        with app.uow() as uow:
            result = load_register(uow=uow, assets=staged, reason=reason)
            uow.commit()
    report = violations_json(list(result.violations))
    if ctx.ensure_object(Options).json:
        print_json({"file": str(path), "mapping": mapping_name, "rows": len(staged),
                    **changes_json(result.changes), "quality": report})
        return
    console.print(f"Register from {path}: {describe_changes(result.changes)}; "
                  f"{report['violations']} quality violation(s) on "
                  f"{report['assets_with_violations']} asset(s) (see: apportion quality).")


@click.command("assets-csv")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--mapping", "mapping_name", required=True, help="A saved column mapping.")
@reason_option
@json_option
@click.pass_context
def import_assets_csv(ctx: click.Context, path: Path, mapping_name: str,
                      reason: str | None) -> None:
    """Load register assets from a CSV file through a saved column mapping (all or nothing)."""
    from connectors.inventory.generic import read_register_csv

    _load_register(ctx, path, mapping_name, reason, read_register_csv)


@click.command("assets-xlsx")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--mapping", "mapping_name", required=True, help="A saved column mapping.")
@reason_option
@json_option
@click.pass_context
def import_assets_xlsx(ctx: click.Context, path: Path, mapping_name: str,
                       reason: str | None) -> None:
    """Load register assets from an XLSX workbook through a saved column mapping."""
    from connectors.inventory.generic import read_register_xlsx

    _load_register(ctx, path, mapping_name, reason, read_register_xlsx)


@click.command("snipeit-licenses")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--currency", default="USD", show_default=True,
              help="The currency of the file's purchase costs.")
@reason_option
@json_option
@click.pass_context
def import_snipeit_licenses(ctx: click.Context, path: Path, currency: str,
                            reason: str | None) -> None:
    """Import a Snipe-IT licences CSV: entitlements and the seats checked out of them."""
    from connectors.inventory.snipeit_licences import read_snipeit_licences
    from ledger.services.licences import import_entitlements

    found = read_snipeit_licences(path, currency=currency)
    write(ctx, f"Licences from {path}", lambda uow: import_entitlements(
        uow=uow, entitlements=found.entitlements, assignments=found.seats, reason=reason))

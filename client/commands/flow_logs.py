"""Flow-log imports: data transfer by originating resource.

``apportion import flow-logs PATH --mapping FILE [--format aws-v2|aws-parquet|azure-nsg]``
streams each file through DuckDB and stores only its aggregates; ``apportion transfer PERIOD``
shows the period's inter-zone, inter-region and egress charges split over the teams whose
resources sent the bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from client.commands.common import Options, console, json_option, opened, print_json, show


def _files(paths: tuple[Path, ...]) -> list[Path]:
    """Files as given; a directory stands for the files in it (sorted, hidden ones skipped)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir()
                                if p.is_file() and not p.name.startswith(".")))
        else:
            found.append(path)
    return found


@click.command("flow-logs")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=True, path_type=Path))
@click.option("--mapping", "mapping_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV key,resource_id,zone,region,owner: addresses, ENI/NIC and instance ids.")
@click.option("--format", "kind", type=click.Choice(["aws-v2", "aws-parquet", "azure-nsg"]),
              default=None, help="The log format (default: detected per file).")
@json_option
@click.pass_context
def import_flow_logs_command(ctx: click.Context, paths: tuple[Path, ...], mapping_path: Path,
                             kind: str | None) -> None:
    """Import VPC or NSG flow logs (PATH: files or directories; gzip is read as is)."""
    from connectors.flow_logs import aggregate_flow_logs, read_mapping, sha256_of
    from ledger.services.transfer import import_flow_logs

    options = ctx.ensure_object(Options)
    endpoints = read_mapping(mapping_path)
    results = []
    with opened(ctx) as app:
        for path in _files(paths):
            with app.uow() as uow:
                result = import_flow_logs(
                    uow=uow, sha256=sha256_of(path),
                    read=lambda path=path: aggregate_flow_logs(path, endpoints, format=kind),
                )
                uow.commit()
            results.append(result)
            if not options.json:
                console.print(f"{result.message}.")
    if options.json:
        print_json({"imports": [
            {"import_id": r.import_id, "file": r.file, "format": r.format,
             "records": r.records, "counted": r.counted, "aggregates": r.aggregates,
             "bytes": r.bytes, "periods": list(r.periods),
             "already_imported": r.already_imported} for r in results]})


def share_rows(report: Any, owner: str | None = None) -> list[dict[str, Any]]:
    """The report's shares as plain rows (amounts as strings in JSON)."""
    return [
        {"kind": s.kind, "region": s.region, "owner": s.owner, "currency": s.currency,
         "bytes": s.bytes, "charge_bytes": s.charge_bytes, "percent": s.percent,
         "amount": s.amount, "resources": list(s.resources)}
        for s in report.shares if owner is None or s.owner == owner
    ]


@click.command("transfer")
@click.argument("period")
@click.option("--owner", default=None, help="Only this team's shares.")
@click.option("--owner-tag", default="team", show_default=True,
              help="Billing tag naming a resource's team when the mapping does not.")
@click.option("--cost-basis", type=click.Choice(["billed", "effective"]), default="billed",
              show_default=True)
@json_option
@click.pass_context
def transfer_command(ctx: click.Context, period: str, owner: str | None, owner_tag: str,
                     cost_basis: str) -> None:
    """Data-transfer charges of PERIOD split over the originating teams by bytes."""
    from ledger.services.transfer import transfer_report

    with opened(ctx) as app, app.uow(read_only=True) as uow:
        report = transfer_report(uow=uow, store=app.cost_facts(), period=period,
                                 owner_tag=owner_tag, cost_basis=cost_basis)
    charges = [{"kind": c.kind, "region": c.region, "currency": c.currency,
                "amount": c.amount, "rows": c.rows} for c in report.charges]
    rows = share_rows(report, owner)
    if ctx.ensure_object(Options).json:
        show(ctx, "shares", rows, [], extra={"period": period, "charges": charges})
        return
    _print_transfer(period, charges, rows, owner)


def _print_transfer(period: str, charges: list[dict[str, Any]], rows: list[dict[str, Any]],
                    owner: str | None) -> None:
    """The period's transfer charges, then each team's share of them by its bytes."""
    from client.commands.allocation import numeric_table

    if not charges:
        console.print(f"{period}: no data-transfer charge in billing.")
        return
    table = numeric_table("kind", "region", "charge", "currency", "rows",
                          title=f"Data-transfer charges of {period}")
    for charge in charges:
        table.add_row(charge["kind"], charge["region"] or "", f"{charge['amount']:,.2f}",
                      charge["currency"], f"{charge['rows']:,}")
    console.print(table)
    if any(charge["kind"] == "any" for charge in charges):
        console.print('[dim]kind "any": billed as data transfer of no stated kind, so split by '
                      "the bytes of every kind[/dim]")
    table = numeric_table("kind", "region", "owner", "bytes", "of bytes", "percent", "amount",
                          "currency", "from",
                          title="Each owner's share, by its bytes" + (
                              f" (only {owner})" if owner else ""))
    for row in rows:
        table.add_row(row["kind"], row["region"] or "", row["owner"], f"{row['bytes']:,}",
                      f"{row['charge_bytes']:,}", f"{row['percent']} %",
                      f"{row['amount']:,.2f}", row["currency"],
                      ", ".join(row["resources"]) or "no flow")
    console.print(table)


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    cli.commands["import"].add_command(import_flow_logs_command)
    cli.add_command(transfer_command)

"""Cloud-native imports: OpenCost, Kubecost, Kubernetes usage, spot and burstable runs.

``apportion import opencost FILE_OR_URL`` (a saved ``/allocation/compute`` response, or pulled
from an OpenCost at that URL for ``--window``), ``apportion import kubecost FILE`` (a Kubecost
allocation CSV export) and ``apportion import k8s-usage FILE`` (a plain usage CSV), plus
``apportion k8s-usage`` to list what is stored. The split itself is the rule set's
``[[clusters]]`` rules, applied by every allocation run. ``apportion import spot-runs FILE``
stores the runs that the ``[[spot]]`` rules split spot and burstable instances' billing by.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from client.commands.common import (
    Options,
    console,
    json_option,
    opened,
    print_json,
    read,
    show,
)
from ledger.money import allocate, round_to_currency


def _store(ctx: click.Context, usage, sha256: str, reason: str | None) -> None:
    from ledger.services import kubernetes

    with opened(ctx) as app, app.uow() as uow:
        outcome = kubernetes.import_usage(uow=uow, source=usage.source, kind=usage.kind,
                                          records=usage.records, sha256=sha256, reason=reason)
        uow.commit()
    data = {"import_id": outcome.import_id, "source": outcome.source, "kind": outcome.kind,
            "records": outcome.records, "replaced": outcome.replaced,
            "unchanged": outcome.unchanged,
            "clusters": [{"cluster": c, "period": p} for c, p in outcome.clusters]}
    if ctx.ensure_object(Options).json:
        print_json(data)
        return
    where = ", ".join(f"{c} {p}" for c, p in outcome.clusters)
    if outcome.unchanged:
        console.print(f"{outcome.kind} usage from {outcome.source}: already imported "
                      f"(import {outcome.import_id}); nothing changed.")
    else:
        console.print(f"{outcome.kind} usage from {outcome.source}: {outcome.records} record(s) "
                      f"for {where}" + (f", replacing {outcome.replaced}" if outcome.replaced
                                        else "") + ".")


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@click.command("opencost")
@click.argument("file_or_url")
@click.option("--window", help="For a URL: the window to pull, e.g. "
              "2026-10-01T00:00:00Z,2026-11-01T00:00:00Z or lastmonth.")
@click.option("--cluster", help="The cluster's name when OpenCost does not say it.")
@click.option("--reason", help="Why, for the audit trail.")
@json_option
@click.pass_context
def import_opencost(ctx: click.Context, file_or_url: str, window: str | None,
                    cluster: str | None, reason: str | None) -> None:
    """Import workload usage from OpenCost's /allocation/compute (a saved JSON file or a URL)."""
    from connectors.kubernetes import fetch_opencost, read_opencost_file

    if file_or_url.startswith(("http://", "https://")):
        if not window:
            raise click.UsageError("a URL needs --window (the period to pull)")
        usage = fetch_opencost(file_or_url, window=window, cluster=cluster)
        # A pull is identified by what it returned: the same answer again changes nothing.
        body = repr(sorted(map(repr, usage.records))).encode()
        _store(ctx, usage, hashlib.sha256(body).hexdigest(), reason)
        return
    path = Path(file_or_url)
    if not path.is_file():
        raise click.BadParameter(f"{file_or_url} is neither a file nor an http(s) URL")
    _store(ctx, read_opencost_file(path, cluster=cluster), _file_sha(path), reason)


@click.command("kubecost")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--cluster", help="The cluster's name when the export has no Cluster column.")
@click.option("--reason", help="Why, for the audit trail.")
@json_option
@click.pass_context
def import_kubecost(ctx: click.Context, path: Path, cluster: str | None,
                    reason: str | None) -> None:
    """Import workload usage from a Kubecost allocation CSV export."""
    from connectors.kubernetes import read_kubecost_csv

    _store(ctx, read_kubecost_csv(path, cluster=cluster), _file_sha(path), reason)


@click.command("k8s-usage")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reason", help="Why, for the audit trail.")
@json_option
@click.pass_context
def import_k8s_usage(ctx: click.Context, path: Path, reason: str | None) -> None:
    """Import a usage CSV: period, cluster, namespace, cpu_core_hours_requested,
    cpu_core_hours_used, ram_gb_hours_requested, ram_gb_hours_used[, labels, controller, pod]."""
    from connectors.kubernetes import read_usage_csv

    _store(ctx, read_usage_csv(path), _file_sha(path), reason)


@click.command("spot-runs")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reason", help="Why, for the audit trail.")
@json_option
@click.pass_context
def import_spot_runs(ctx: click.Context, path: Path, reason: str | None) -> None:
    """Import runs on spot and burstable instances: resource_id, workload (or cost_centre or
    tag), started_at, ended_at (empty: still running), interrupted[, cpu_credits]. The rule
    set's [[spot]] rules split those resources' billing by them in every allocation run."""
    from connectors.kubernetes import read_spot_runs_csv
    from ledger.services import spot

    runs = read_spot_runs_csv(path)
    with opened(ctx) as app, app.uow() as uow:
        outcome = spot.import_runs(uow=uow, source=runs.source, records=runs.records,
                                   sha256=_file_sha(path), reason=reason)
        uow.commit()
    data = {"import_id": outcome.import_id, "source": outcome.source,
            "records": outcome.records, "replaced": outcome.replaced,
            "unchanged": outcome.unchanged}
    if ctx.ensure_object(Options).json:
        print_json(data)
    elif outcome.unchanged:
        console.print(f"spot runs from {outcome.source}: already imported (import "
                      f"{outcome.import_id}); nothing changed.")
    else:
        console.print(f"spot runs from {outcome.source}: {outcome.records} run(s)"
                      + (f", replacing {outcome.replaced}" if outcome.replaced else "") + ".")


@click.command("k8s-usage")
@json_option
@click.pass_context
def list_usage(ctx: click.Context) -> None:
    """The stored Kubernetes usage: records per cluster and period."""
    from ledger.services import kubernetes

    rows = read(ctx, lambda uow: kubernetes.usage_summary(uow=uow))
    show(ctx, "usage", [{"cluster": c, "period": p, "records": n} for c, p, n in rows], [
        ("cluster", lambda r: r["cluster"]), ("period", lambda r: r["period"]),
        ("records", lambda r: r["records"])])


@click.command("cloud-demo")
@click.option("--period", default="2026-10", show_default=True, metavar="YYYY-MM")
@json_option
@click.pass_context
def cloud_demo(ctx: click.Context, period: str) -> None:
    """The cloud-native part of the demo month: its shared clusters, functions, API gateway
    and spot capacity, allocated by the demo rule set as a dry run (needs the demo company:
    apportion init --demo)."""
    from client import demo_cloud

    with opened(ctx) as app, app.uow() as uow:
        outcome = demo_cloud.run(uow, app, period)
        data = demo_cloud.summary(outcome, uow)
        uow.commit()
    if ctx.ensure_object(Options).json:
        print_json(data)
        return
    _print_cloud_demo(data, period)


def _print_cloud_demo(data: dict[str, Any], period: str) -> None:
    """The dry run as tables: billed against charged per part of the estate, the clusters'
    shares with the cost centres they reached, functions and spot workloads, and the total
    per cost centre."""
    from client.commands.allocation import cluster_shares_table, numeric_table

    console.print(f"{data['ruleset']} {period}: the month's clusters, functions, gateway and "
                  "spot capacity (a dry run: nothing stored)")
    parts = numeric_table("part", "billed", "charged", "currency",
                          title="Billed and charged, per part")
    for part, billed in data["billed"].items():
        parts.add_row(part, f"{billed:,.2f}", f"{data['charged'].get(part, 0):,.2f}", "USD")
    console.print(parts)
    reached: dict[tuple[str, str], dict[str, Decimal]] = {}
    for share in data["shares"]:
        if share["kind"] in ("namespace", "label", "idle"):
            centres = reached.setdefault((share["resource"], share["key"]), {})
            centres[share["cost_centre"]] = centres.get(share["cost_centre"], Decimal(0)) \
                + share["amount"]
    shown = cents([sum(centres.values()) for centres in reached.values()])
    console.print(cluster_shares_table(data["cluster_shares"], "cost centre", "amount", cells={
        key: [", ".join(sorted(centres)), f"{amount:,.2f}"]
        for (key, centres), amount in zip(reached.items(), shown, strict=True)}))
    others = numeric_table("part", "resource", "workload", "cost centre", "amount",
                           title="Functions and spot capacity, by use")
    rest = [share for share in data["shares"]
            if share["kind"] not in ("namespace", "label", "idle")]
    for share, amount in zip(rest, cents([s["amount"] for s in rest]), strict=True):
        others.add_row(share["kind"], share["resource"], share["key"] or "",
                       share["cost_centre"], f"{amount:,.2f}")
    console.print(others)
    centres = numeric_table("cost centre", "amount", "currency",
                            title="Charged, per cost centre")
    rows = data["by_cost_centre"]
    for row, amount in zip(rows, cents([r["amount"] for r in rows]), strict=True):
        centres.add_row(row["cost_centre"], f"{amount:,.2f}", row["currency"])
    console.print(centres)


def cents(amounts: list[Decimal]) -> list[Decimal]:
    """Exact amounts shown to the cent so that they add up to their total shown to the cent
    (largest remainder), as a reader adding up a column expects; rounded one by one when
    some are negative."""
    exact = [Decimal(a) for a in amounts]
    if not exact or any(a < 0 for a in exact) or not any(exact):
        return [round_to_currency(a, "USD") for a in exact]
    return allocate(round_to_currency(sum(exact, Decimal(0)), "USD"), exact)


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    import_group = cli.commands.get("import")
    if isinstance(import_group, click.Group):
        for command in (import_opencost, import_kubecost, import_k8s_usage,
                        import_spot_runs):
            import_group.add_command(command)
    cli.add_command(list_usage)
    cli.add_command(cloud_demo)

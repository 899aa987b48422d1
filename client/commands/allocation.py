"""Allocation: rule sets, runs, explain, impact, drivers, invoices and the exceptions register.

``apportion rules list|show|import|export|activate|rollback|diff|history``,
``apportion allocate``, ``apportion explain``, ``apportion impact``,
``apportion drivers import|list``, ``apportion import invoices``,
``apportion invoices check|totals``,
``apportion exceptions propose|approve|revoke|list``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from client.commands.common import (
    Options,
    console,
    err_console,
    json_option,
    opened,
    print_json,
    read,
    show,
    write,
)
from ledger.errors import InputError
from ledger.money import round_to_currency, to_decimal
from ledger.ports import UnitOfWork
from ledger.services import allocation as service
from ledger.services.policy import report_json


def _options(ctx: click.Context) -> Options:
    return ctx.ensure_object(Options)


def _label(uow: UnitOfWork, text: str, name: str | None = None) -> tuple[str, int]:
    """``name@3``, or ``3`` with ``--name`` (default: the only rule set)."""
    if text.strip().isdigit():
        if name is None:
            names = uow.rulesets.names()
            if len(names) != 1:
                raise InputError(f"say which rule set: NAME@{text} (rule sets: "
                                 f"{', '.join(names) or 'none'})", field="version", value=text)
            name = names[0]
        return name, int(text)
    found, version = service.parse_label(text)
    if version is None:
        raise InputError("must be NAME@VERSION", field="version", value=text)
    return found, version


# --- rules ------------------------------------------------------------------------------------


@click.group()
def rules() -> None:
    """Allocation rule sets: versioned, effective-dated, readable TOML."""


def _version_row(v: Any) -> dict[str, Any]:
    return {"name": v.name, "version": v.version, "label": v.label, "status": v.status.value,
            "effective_from": v.effective_from, "effective_to": v.effective_to,
            "content_hash": v.content_hash, "author": v.author, "created_at": v.created_at,
            "reason": v.reason, "parent_version": v.parent_version,
            "activated_by": v.activated_by, "activated_at": v.activated_at}


@rules.command("list")
@click.option("--name", help="Only this rule set's versions.")
@json_option
@click.pass_context
def rules_list(ctx: click.Context, name: str | None) -> None:
    """Every saved version with its status, author and reason."""
    rows = [_version_row(v) for v in read(ctx, lambda uow: service.list_versions(uow=uow,
                                                                               name=name))]
    show(ctx, "versions", rows, [
        ("rule set", lambda r: r["label"]), ("status", lambda r: r["status"]),
        ("effective", lambda r: f"{r['effective_from']} to {r['effective_to'] or 'open'}"),
        ("author", lambda r: r["author"]), ("created", lambda r: f"{r['created_at']:%Y-%m-%d}"),
        ("reason", lambda r: r["reason"] or "")])


@rules.command("show")
@click.argument("label")
@json_option
@click.pass_context
def rules_show(ctx: click.Context, label: str) -> None:
    """Show NAME@VERSION (or NAME: its active version) as canonical TOML."""
    version = read(ctx, lambda uow: service.show_version(uow=uow, label=label))
    if _options(ctx).json:
        print_json({**_version_row(version), "text": version.text})
    else:
        click.echo(f"# {version.label} ({version.status.value}), saved by {version.author} "
                   f"at {version.created_at:%Y-%m-%d %H:%M} UTC")
        click.echo(version.text, nl=False)


@rules.command("export")
@click.argument("label")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write to this file.")
@click.pass_context
def rules_export(ctx: click.Context, label: str, output: Path | None) -> None:
    """Write NAME@VERSION's TOML: edit it and import it to save the next version."""
    version = read(ctx, lambda uow: service.show_version(uow=uow, label=label))
    if output is None:
        click.echo(version.text, nl=False)
    else:
        output.write_text(version.text, encoding="utf-8")
        console.print(f"Wrote {version.label} to {output}.")


@rules.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--based-on", type=int, help="The version you edited (default: the file's).")
@click.option("--reason", help="Why, for the history and the audit trail.")
@json_option
@click.pass_context
def rules_import(ctx: click.Context, file: Path, based_on: int | None, reason: str | None
                 ) -> None:
    """Save FILE as the next draft version of its rule set."""
    text = file.read_text(encoding="utf-8")
    with opened(ctx) as app, app.uow() as uow:
        saved, changes = service.import_ruleset(uow=uow, text=text, source=str(file),
                                                based_on=based_on, reason=reason)
        uow.commit()
    if _options(ctx).json:
        print_json({"ruleset": saved.label, "status": saved.status.value,
                    "created": changes.created, "unchanged": changes.unchanged,
                    "content_hash": saved.content_hash})
    elif changes.created:
        console.print(f"Saved {saved.label} (draft). Activate it with: apportion rules "
                      f"activate {saved.label}")
    else:
        console.print(f"Nothing to do: {saved.label} has the same rules.")


@rules.command("activate")
@click.argument("version")
@click.option("--name", help="The rule set, when VERSION is a number.")
@click.option("--reason", help="Why, for the audit trail.")
@json_option
@click.pass_context
def rules_activate(ctx: click.Context, version: str, name: str | None,
                   reason: str | None) -> None:
    """Make VERSION (NAME@V) the active version; the one before is retired."""
    def operation(uow: UnitOfWork) -> Any:
        found, number = _label(uow, version, name)
        return service.activate(uow=uow, name=found, version=number, reason=reason)

    write(ctx, f"Activated {version}", operation)


@rules.command("rollback")
@click.argument("name")
@click.option("--to", "to_version", required=True, type=int, help="The version to go back to.")
@click.option("--reason", required=True, help="Why (kept in the history).")
@json_option
@click.pass_context
def rules_rollback(ctx: click.Context, name: str, to_version: int, reason: str) -> None:
    """Go back to an earlier version of NAME: saved as a new version and activated."""
    with opened(ctx) as app, app.uow() as uow:
        saved, _ = service.rollback(uow=uow, name=name, to_version=to_version, reason=reason)
        uow.commit()
    if _options(ctx).json:
        print_json({"ruleset": saved.label, "copy_of": f"{name}@{to_version}",
                    "status": "active"})
    else:
        console.print(f"Saved {saved.label} as a copy of {name}@{to_version} and activated it.")


@rules.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--name", help="The rule set, when versions are numbers.")
@json_option
@click.pass_context
def rules_diff(ctx: click.Context, old: str, new: str, name: str | None) -> None:
    """What changed from version OLD to NEW, rule by rule."""
    def operation(uow: UnitOfWork) -> tuple[str, int, int, list[Any]]:
        first, a = _label(uow, old, name)
        second, b = _label(uow, new, name or first)
        if first != second:
            raise InputError("compare two versions of one rule set", field="new", value=new)
        return first, a, b, service.diff_versions(uow=uow, name=first, old=a, new=b)

    found, a, b, changes = read(ctx, operation)
    if _options(ctx).json:
        print_json({"ruleset": found, "old": a, "new": b, "changes": [
            {"kind": c.kind, "section": c.section, "id": c.id,
             "fields": [{"field": f, "old": o, "new": n} for f, o, n in c.fields]}
            for c in changes]})
        return
    if not changes:
        console.print(f"{found}@{a} and {found}@{b} have the same rules.")
    for change in changes:
        console.print(f"- {change}")


@rules.command("history")
@click.argument("name")
@click.option("--rule", help="Only the versions that changed this rule (or pool).")
@json_option
@click.pass_context
def rules_history(ctx: click.Context, name: str, rule: str | None) -> None:
    """Every version of NAME (or of one rule): who, when, why, what changed."""
    entries = read(ctx, lambda uow: service.history(uow=uow, name=name, rule=rule))
    rows = [{"version": e.version, "status": e.status.value, "author": e.author,
             "created_at": e.created_at, "reason": e.reason, "parent_version": e.parent_version,
             "changes": [str(c) for c in e.changes]} for e in entries]
    show(ctx, "history", rows, [
        ("version", lambda r: r["version"]), ("status", lambda r: r["status"]),
        ("author", lambda r: r["author"]),
        ("created", lambda r: f"{r['created_at']:%Y-%m-%d %H:%M}"),
        ("reason", lambda r: r["reason"] or ""), ("changes", lambda r: "; ".join(r["changes"]))],
        extra={"ruleset": name, "rule": rule})


# --- runs ---------------------------------------------------------------------------------------


class _Counting:
    """The cost fact store, advancing a progress bar per cost group read."""

    def __init__(self, store: Any, advance: Any) -> None:
        self.store = store
        self.advance = advance

    def groups(self, **kwargs: Any) -> Iterator[Any]:
        for group in self.store.groups(**kwargs):
            self.advance()
            yield group


def _amounts(values: dict[str, Decimal]) -> str | dict[str, str]:
    """One currency: its amount as text; several: text per currency."""
    if len(values) == 1:
        return format(next(iter(values.values())), "f")
    return {currency: format(amount, "f") for currency, amount in sorted(values.items())}


def run_json(run: service.AllocationRun) -> dict[str, Any]:
    result = run.result
    rounded = {c: round_to_currency(t, c) for c, t in result.source_total.items()}
    several = len(result.source_total) > 1
    return {
        "run_id": run.run_id, "period": run.period, "ruleset": run.ruleset,
        "cost_basis": result.cost_basis.value, "source_total": _amounts(rounded),
        "allocated_total": _amounts(dict(result.allocated_total)),
        "unallocated_total": _amounts(dict(result.unallocated_total)),
        "by_cost_centre": [{"cost_centre": centre, "amount": format(amount, "f"),
                            **({"currency": currency} if several else {})}
                           for centre, currency, amount in run.by_cost_centre()],
        "journal_ids": list(run.journal_ids),
        **({"policy": report_json(result.policy)} if result.policy is not None else {}),
    }


@click.command("allocate")
@click.option("--period", required=True, metavar="YYYY-MM")
@click.option("--ruleset", metavar="NAME[@VERSION]", help="Default: the active rule set.")
@click.option("--dry-run", is_flag=True, help="Compute and show; store nothing, draft nothing.")
@json_option
@click.pass_context
def allocate(ctx: click.Context, period: str, ruleset: str | None, dry_run: bool) -> None:
    """Allocate a period's costs to cost centres and draft the chargeback journals."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    options = _options(ctx)
    with opened(ctx) as app:
        columns = (TextColumn("allocating {task.description}"), BarColumn(),
                   MofNCompleteColumn(), TextColumn("cost groups"))
        with Progress(*columns, console=err_console, transient=True,
                      disable=options.json or not err_console.is_terminal) as bar:
            task = bar.add_task(period, total=None)
            store = _Counting(app.cost_facts(), lambda: bar.advance(task))
            with app.uow() as uow:
                run = service.allocate(uow=uow, store=store, period=period, ruleset=ruleset,
                                       dry_run=dry_run)
                if not dry_run:
                    uow.commit()
    data = run_json(run)
    if options.json:
        print_json(data)
        return
    _print_run(run, data)


def _print_run(run: service.AllocationRun, data: dict[str, Any]) -> None:
    what = ("Dry run" if run.dry_run else "Unchanged run" if run.unchanged
            else f"Run {run.run_id}")
    console.print(f"{what}: {run.period} by {run.ruleset} ({data['cost_basis']}): source "
                  f"{data['source_total']}, allocated {data['allocated_total']}, unallocated "
                  f"{data['unallocated_total']}.")
    show_rows = [(c, a, cur) for c, cur, a in run.by_cost_centre()]
    from rich.table import Table

    table = Table("cost centre", "amount", "currency")
    for centre, amount, currency in show_rows:
        table.add_row(centre, f"{amount:,.2f}", currency)
    console.print(table)
    for gap in run.result.unallocated:
        console.print(f"[yellow]unallocated[/yellow] {gap.amount:,.2f} {gap.currency}: "
                      f"{gap.detail} ({gap.reason.value})")
    if run.journal_ids:
        console.print(f"Journals: {', '.join(map(str, run.journal_ids))}"
                      + (f" (replaced {run.replaced_drafts})" if run.replaced_drafts else ""))


@click.command("explain")
@click.option("--run", "run_id", required=True, type=int, help="The allocation run.")
@click.option("--cost-centre", required=True)
@click.option("--max-sources", default=20, show_default=True, type=click.IntRange(0),
              help="Cost lines listed per item.")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the explanation to this XLSX file (sensitive rows masked).")
@json_option
@click.pass_context
def explain(ctx: click.Context, run_id: int, cost_centre: str, max_sources: int,
            xlsx_path: Path | None) -> None:
    """Why a cost centre was charged what it was: pools, rules and the cost lines behind."""
    as_json = _options(ctx).json
    # The text sums what each namespace and workload brought this cost centre from all the
    # cost lines, so it reads them all and lists only --max-sources of them.
    with opened(ctx) as app, app.uow(read_only=True) as uow:
        data = service.explain_run(uow=uow, store=app.cost_facts(), run_id=run_id,
                                   cost_centre=cost_centre,
                                   max_sources=max_sources if as_json else _ALL_SOURCES)
    charged = {} if as_json else _charged_here(data)
    if not as_json:
        data = {**data, "items": [{**item, "sources": item["sources"][:max_sources]}
                                  for item in data["items"]]}
    if xlsx_path is not None:
        from client.commands.policy import write_explain_xlsx

        write_explain_xlsx(data, xlsx_path)
    if as_json:
        print_json(data)
        return
    _print_explanation(data, charged, shown=min(max_sources, 5))


#: Cost lines read per item for the text output's sums per namespace and workload (all of
#: them in practice; a bound so that a pool of millions of lines cannot stall the command).
_ALL_SOURCES = 10_000

#: Attributes of a cost line the text leaves out of its one-line label (the JSON keeps them).
_QUIET = frozenset({"provider", "sub_account_id", "charge_category", "charge_description"})


def _charged_here(data: dict[str, Any]) -> dict[tuple[str, ...], Decimal]:
    """What the cost centre's direct lines took from each cluster share, spot workload and
    transfer owner: ``("k8s", cluster, key)``, ``("spot", resource, workload)`` summed over
    every cost line (a shared item's lines are only partly this cost centre's, so not them)."""
    found: dict[tuple[str, ...], Decimal] = {}
    for item in data["items"]:
        if item["kind"] != "direct":
            continue
        for source in item["sources"]:
            attributes, key = source["attributes"], None
            if attributes.get("k8s_cluster"):
                key = ("k8s", attributes["k8s_cluster"], attributes.get("k8s_key") or "")
            elif source["origin"] == "spot":
                key = ("spot", attributes.get("resource_id") or "",
                       source["tags"].get("workload") or "")
            if key is not None:
                found[key] = found.get(key, Decimal(0)) + to_decimal(source["amount"])
    return found


def numeric_table(*headers: str, title: str) -> Any:
    """A rich table whose amount, share and count columns (by their header) are
    right-aligned; the explain, cloud-demo and transfer tables use it."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for header in headers:
        table.add_column(header, justify="right" if header in _NUMERIC else "left")
    return table


_NUMERIC = frozenset({"amount", "cost lines", "share", "own use", "system", "idle",
                      "charged here", "run hours", "bytes", "of bytes", "percent",
                      "of charge", "billed", "charged", "rows", "charge"})


def _print_explanation(data: dict[str, Any], charged: dict[tuple[str, ...], Decimal],
                       shown: int) -> None:
    totals = ", ".join(f"{to_decimal(a):,.2f} {c}" for c, a in data["totals"].items())
    console.print(f"Cost centre {data['cost_centre']} in run {data['run_id']} "
                  f"({data['period']}, {data['ruleset']}): {totals or 'nothing'}"
                  + ("" if data["current"] else " [yellow](inputs changed since)[/yellow]"))
    table = numeric_table("amount", "currency", "pool", "rule", "kind", "why", "cost lines",
                          title="Charged, by pool and rule")
    for item in data["items"]:
        table.add_row(f"{to_decimal(item['amount']):,.2f}", item["currency"], item["pool"],
                      item["rule"], item["kind"], item["note"], str(item["source_count"]))
    console.print(table)
    for item in data["items"]:
        if not item["sources"] or not shown:
            continue
        more = item["source_count"] - min(shown, len(item["sources"]))
        console.print(f"[bold]{item['pool']} / {item['rule']} ({item['kind']})[/bold], "
                      f"cost lines" + (f" (and {more} more; --json lists them)" if more else ""))
        for source in item["sources"][:shown]:
            console.print(f"  {to_decimal(source['amount']):>14,.4f} {source['origin']}: "
                          f"{_source_label(source)} ({source['rows']} rows)")
    _print_cluster_shares(data.get("cluster_shares") or [], charged)
    _print_spot(data.get("spot"), charged)
    _print_transfer(data)


def _source_label(source: dict[str, Any]) -> str:
    """A cost line in a few words: what and where, and what split it (namespace, workload,
    transfer owner's bytes) in words rather than its attribute names."""
    attributes = source["attributes"]
    said = [f"{k}={v}" for k, v in attributes.items()
            if v and k not in _QUIET and not k.startswith(("k8s_", "transfer_", "spot_"))]
    if attributes.get("k8s_cluster"):
        said.append(f"{attributes.get('k8s_share')} {attributes.get('k8s_key')} of cluster "
                    f"{attributes['k8s_cluster']}")
    if source["origin"] == "spot":
        basis = "CPU credits" if attributes.get("spot_basis") == "cpu_credits" else "run hours"
        said.append(f"workload {source['tags'].get('workload', '?')} by {basis}")
    if attributes.get("transfer_kind"):
        said.append(f"{attributes['transfer_kind']} transfer of "
                    f"{attributes.get('transfer_owner')}: "
                    f"{int(attributes.get('transfer_bytes') or 0):,} of "
                    f"{int(attributes.get('transfer_charge_bytes') or 0):,} bytes")
    return ", ".join(said)


def percent_text(text: str) -> str:
    """A percentage the services give as text ("26.9003", "0") with four decimals."""
    return f"{to_decimal(text):.4f} %"


def _print_cluster_shares(shares: list[dict[str, Any]],
                          charged: dict[tuple[str, ...], Decimal]) -> None:
    """Every namespace's, label's and idle owner's share of its cluster, how it was made up,
    and what the cost centre was charged for it directly (in bold)."""
    if shares:
        console.print(cluster_shares_table(shares, "charged here", cells={
            (cluster, key): [f"{amount:,.2f}"]
            for (origin, cluster, key), amount in charged.items() if origin == "k8s"}))


def cluster_shares_table(shares: list[dict[str, Any]], *extra: str,
                         cells: dict[tuple[str, str], list[str]]) -> Any:
    """The clusters' shares as a table (``namespace_shares`` rows: share, own use, system,
    idle), with ``extra`` columns filled from ``cells[cluster, key]``; rows with cells in
    bold."""
    table = numeric_table("cluster", "by", "namespace / label", "share", "own use", "system",
                          "idle", *extra, title="Cluster shares (own use, system namespaces "
                          "and idle capacity add up to the share)")
    for share in shares:
        found = cells.get((share["cluster"], share["key"]))
        table.add_row(share["cluster"], share["kind"], share["key"],
                      *(percent_text(share[k]) for k in ("percent", "own", "system", "idle")),
                      *(found or [""] * len(extra)), style="bold" if found else None)
    return table


def _print_spot(spot: dict[str, Any] | None, charged: dict[tuple[str, ...], Decimal]) -> None:
    """Spot and burstable capacity by workload (all of it, this cost centre's in bold), and
    any cost of a resource with no run, left as billed."""
    if not spot or not (spot.get("split") or spot.get("unsplit")):
        return
    table = numeric_table("resource", "workload", "run hours", "amount", "currency",
                          "charged here", title="Spot and burstable capacity, by the hours "
                          "(CPU-credit lines by the credits) each workload ran")
    for row in spot.get("split", []):
        amount = charged.get(("spot", row["resource_id"], row["workload"]))
        table.add_row(row["resource_id"], row["workload"], f"{to_decimal(row['hours']):,}",
                      f"{to_decimal(row['amount']):,.2f}", row["currency"],
                      "" if amount is None else f"{amount:,.2f}",
                      style="bold" if amount is not None else None)
    for row in spot.get("unsplit", []):
        table.add_row(row["resource_id"], "(no run: left as billed)", "",
                      f"{to_decimal(row['amount']):,.2f}", row["currency"], "")
    console.print(table)


def _exact(value: Any) -> str:
    """An amount to its last digit (a transfer split keeps the bill's precision), at least
    to the cent, with thousands separators."""
    amount = to_decimal(value).normalize()
    places = max(2, -amount.as_tuple().exponent) if amount else 2
    return f"{amount:,.{places}f}"


def _print_transfer(data: dict[str, Any]) -> None:
    """The cost centre's data-transfer shares (by its bytes of each charge), then, when the
    run split transfer itself, every owner's part and the lines no flow explained."""
    shares = data.get("transfer_shares") or []
    if shares:
        in_run = all(share.get("in_run") for share in shares)
        table = numeric_table("kind", "region", "bytes", "of bytes", "percent", "amount",
                              "currency", "of charge", "from",
                              title="Data transfer charged here, by its bytes" + (
                                  "" if in_run else " (beside the run: no [[transfer]] rule)"))
        for share in shares:
            table.add_row(share["kind"], share["region"] or "", f"{share['bytes']:,}",
                          f"{share['charge_bytes']:,}", f"{share['percent']} %",
                          _exact(share["amount"]), share["currency"],
                          _exact(share["charge"]) if share.get("charge") is not None else "",
                          ", ".join(share["resources"]) or "no flow")
        console.print(table)
    transfer = data.get("transfer")
    if not transfer or not (transfer.get("split") or transfer.get("unsplit")):
        return
    table = numeric_table("kind", "region", "owner", "charged to", "amount", "currency",
                          title="The run's transfer split, every owner")
    for row in transfer.get("split", []):
        table.add_row(row["kind"], row["region"] or "", row["owner"], row["charged_to"],
                      _exact(row["amount"]), row["currency"],
                      style="bold" if row["charged_to"] == data["cost_centre"] else None)
    for row in transfer.get("unsplit", []):
        table.add_row(row["kind"], row["region"] or "", "(no flow)", "as billed",
                      _exact(row["amount"]), row["currency"])
    console.print(table)


@click.command("impact")
@click.option("--period", required=True, metavar="YYYY-MM")
@click.option("--ruleset", required=True, metavar="NAME@VERSION",
              help="The (draft) version to compare with the active one.")
@json_option
@click.pass_context
def impact(ctx: click.Context, period: str, ruleset: str) -> None:
    """Per cost centre, what a draft rule-set version would change before anyone activates it."""
    with opened(ctx) as app, app.uow(read_only=True) as uow:
        data = service.impact_of(uow=uow, store=app.cost_facts(), period=period,
                                 ruleset=ruleset)
    if _options(ctx).json:
        print_json(data)
        return
    console.print(f"{period}: {data['draft']} against the active {data['active']}")
    for change in data["rule_changes"]:
        console.print(f"  rule change: {change}")
    show(ctx, "lines", data["lines"], [
        ("cost centre", lambda r: r["cost_centre"] or "(unallocated)"),
        ("currency", lambda r: r["currency"]), ("before", lambda r: f"{r['before']:,.2f}"),
        ("after", lambda r: f"{r['after']:,.2f}"),
        ("difference", lambda r: f"{r['difference']:+,.2f}")])


@click.command("allocations")
@click.option("--period", metavar="YYYY-MM")
@json_option
@click.pass_context
def allocations(ctx: click.Context, period: str | None) -> None:
    """List stored allocation runs."""
    runs = read(ctx, lambda uow: service.list_runs(uow=uow, period=period))
    rows = [{"run_id": r.id, "period": r.period, "ruleset": r.ruleset, "status": r.status.value,
             "fingerprint": r.fingerprint, "conserved": r.conserved,
             "created_by": r.created_by, "created_at": r.created_at,
             "journal_ids": list(r.journal_ids), "exceptions": list(r.exceptions),
             "totals": [{"currency": t.currency, "source_total": t.source_total,
                         "allocated_total": t.allocated_total,
                         "unallocated_total": t.unallocated_total} for t in r.totals]}
            for r in runs]
    show(ctx, "runs", rows, [
        ("run", lambda r: r["run_id"]), ("period", lambda r: r["period"]),
        ("rule set", lambda r: r["ruleset"]), ("status", lambda r: r["status"]),
        ("allocated", lambda r: ", ".join(f"{t['allocated_total']:,.2f} {t['currency']}"
                                          for t in r["totals"])),
        ("journals", lambda r: ", ".join(map(str, r["journal_ids"])))])


# --- drivers ------------------------------------------------------------------------------------


@click.group()
def drivers() -> None:
    """Allocation drivers per cost centre and period (headcount, usage, percentages)."""


def _expectations(values: tuple[str, ...]) -> dict[str, int | str]:
    found: dict[str, int | str] = {}
    for value in values:
        driver, sep, expected = value.partition("=")
        if not sep or not driver.strip() or not expected.strip():
            raise InputError("must be DRIVER=REVISION (or DRIVER=CONTENT_HASH)",
                             field="--expect", value=value)
        text = expected.strip()
        found[driver.strip().lower()] = int(text) if text.isdigit() else text
    return found


@drivers.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--expect", "expect", multiple=True, metavar="DRIVER=REVISION",
              help="The revision (or content hash) of the driver table you edited: refused "
                   "if someone saved it since.")
@click.option("--reason", help="Why, for the audit trail.")
@json_option
@click.pass_context
def drivers_import(ctx: click.Context, path: Path, expect: tuple[str, ...],
                   reason: str | None) -> None:
    """Import driver quantities from CSV or XLSX: period,cost_centre,driver,value[,unit]."""
    from connectors.allocation_files import read_drivers

    rows, units = read_drivers(path)
    expected = _expectations(expect)
    write(ctx, f"Drivers from {path.name}", lambda uow: service.import_drivers(
        uow=uow, rows=rows, units=units, expected=expected, reason=reason))


@drivers.command("derive")
@click.option("--period", required=True, metavar="YYYY-MM")
@click.option("--driver", default="cloud_usage", show_default=True, help="The driver's name.")
@click.option("--ruleset", metavar="NAME[@VERSION]", help="Whose mapping rules (default: the "
              "active rule set).")
@json_option
@click.pass_context
def drivers_derive(ctx: click.Context, period: str, driver: str, ruleset: str | None) -> None:
    """A usage driver from the billing: each cost centre's directly mapped cloud cost."""
    with opened(ctx) as app, app.uow() as uow:
        changes = service.derive_usage_driver(uow=uow, store=app.cost_facts(), period=period,
                                              driver=driver, ruleset=ruleset)
        uow.commit()
    if _options(ctx).json:
        print_json({"driver": driver, "period": period, "created": changes.created,
                    "updated": changes.updated, "unchanged": changes.unchanged})
    else:
        console.print(f"Driver {driver} for {period}: {changes.created} created, "
                      f"{changes.updated} updated, {changes.unchanged} unchanged.")


@drivers.command("list")
@click.option("--driver", help="Only this driver.")
@click.option("--period", metavar="YYYY-MM")
@json_option
@click.pass_context
def drivers_list(ctx: click.Context, driver: str | None, period: str | None) -> None:
    """Driver quantities, with each driver table's revision and content hash."""
    def load(uow: UnitOfWork) -> tuple[list[Any], dict[str, Any]]:
        quantities = service.list_drivers(uow=uow, driver=driver, period=period)
        revisions = {name: service.driver_revision(uow=uow, driver=name)
                     for name in sorted({q.driver for q in quantities})}
        return quantities, revisions

    quantities, revisions = read(ctx, load)
    tables = {name: {"revision": r.revision if r else 0,
                     "content_hash": r.content_hash if r else None,
                     "saved_by": r.saved_by if r else None} for name, r in revisions.items()}
    rows = [{"driver": q.driver, "period": q.period, "cost_centre": q.cost_centre,
             "value": q.quantity} for q in quantities]
    show(ctx, "drivers", rows, [
        ("driver", lambda r: r["driver"]), ("period", lambda r: r["period"]),
        ("cost centre", lambda r: r["cost_centre"]), ("value", lambda r: r["value"])],
        extra={"tables": tables})


# --- manual costs ------------------------------------------------------------------------------


@click.group("manual-costs")
def manual_costs() -> None:
    """Costs entered by hand into pools (data-centre power, service-desk salaries)."""


@manual_costs.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reason", help="Why, for the audit trail.")
@json_option
@click.pass_context
def manual_costs_import(ctx: click.Context, path: Path, reason: str | None) -> None:
    """Import CSV or XLSX: id,period,pool,amount,currency[,description,cost_centre]."""
    from connectors.allocation_files import read_manual_costs

    costs = read_manual_costs(path)
    write(ctx, f"Manual costs from {path.name}", lambda uow: service.import_manual_costs(
        uow=uow, costs=costs, reason=reason))


@manual_costs.command("list")
@click.option("--period", required=True, metavar="YYYY-MM")
@json_option
@click.pass_context
def manual_costs_list(ctx: click.Context, period: str) -> None:
    """The period's manual costs."""
    costs = read(ctx, lambda uow: service.list_manual_costs(uow=uow, period=period))
    show(ctx, "manual_costs", costs, [
        ("id", lambda c: c.id), ("pool", lambda c: c.pool),
        ("amount", lambda c: f"{c.amount:,.2f} {c.currency}"),
        ("cost centre", lambda c: c.cost_centre or "(shared)"),
        ("description", lambda c: c.description)])


# --- invoices ------------------------------------------------------------------------------------


def _import_invoices(ctx: click.Context, path: Path) -> None:
    from connectors.allocation_files import file_sha256, read_invoices

    lines = read_invoices(path)
    sha = file_sha256(path)
    write(ctx, f"Invoices from {path.name}", lambda uow: service.import_invoices(
        uow=uow, file_name=path.name, sha256=sha, lines=lines))


@click.group()
def invoices() -> None:
    """Vendor invoices against the imported billing."""


@invoices.command("check")
@click.option("--period", "periods", multiple=True, metavar="YYYY-MM")
@json_option
@click.pass_context
def invoices_check(ctx: click.Context, periods: tuple[str, ...]) -> None:
    """Each vendor invoice against the billed cost, to the cent: per invoice where the billing
    carries its invoice id, else per billing account and period; also invoices with no billing
    and billing with no invoice."""
    with opened(ctx) as app, app.uow(read_only=True) as uow:
        checks = service.check_invoices(uow=uow, store=app.cost_facts(), periods=periods)
    rows = [{"basis": c.basis, "invoice_ids": list(c.invoice_ids),
             "billing_account_id": c.billing_account_id, "billing_period": c.billing_period,
             "currency": c.currency, "invoiced": c.invoiced, "billed": c.billed,
             "difference": c.difference, "status": c.status, "matches": c.matches,
             "invoice_lines": c.invoice_lines, "billed_rows": c.billed_rows} for c in checks]
    show(ctx, "invoices", rows, [
        ("invoices", lambda r: ", ".join(r["invoice_ids"]) or "-"),
        ("by", lambda r: r["basis"]),
        ("account", lambda r: r["billing_account_id"]), ("period", lambda r: r["billing_period"]),
        ("invoiced", lambda r: f"{r['invoiced']:,.2f} {r['currency']}"),
        ("billed", lambda r: f"{r['billed']:,.2f}"),
        ("difference", lambda r: f"{r['difference']:+,.2f}"),
        ("", lambda r: "ok" if r["matches"] else r["status"].upper())],
        extra={"all_match": all(c.matches for c in checks)})


@invoices.command("totals")
@click.option("--period", "periods", multiple=True, metavar="YYYY-MM")
@json_option
@click.pass_context
def invoices_totals(ctx: click.Context, periods: tuple[str, ...]) -> None:
    """Billed cost per invoice id in the imported billing (FOCUS InvoiceId, CUR
    bill/InvoiceId); rows without an invoice id come last, under none."""
    with opened(ctx) as app, app.uow(read_only=True) as uow:
        totals = service.invoice_totals(uow=uow, store=app.cost_facts(), periods=periods)
    rows = [{"invoice_id": t.invoice_id, "billing_account_id": t.billing_account_id,
             "billing_period": t.billing_period, "currency": t.billing_currency,
             "rows": t.rows, "billed": t.billed_cost,
             "billed_rounded": round_to_currency(t.billed_cost, t.billing_currency)}
            for t in totals]
    show(ctx, "invoices", rows, [
        ("invoice", lambda r: r["invoice_id"] or "(none)"),
        ("account", lambda r: r["billing_account_id"]), ("period", lambda r: r["billing_period"]),
        ("rows", lambda r: r["rows"]),
        ("billed", lambda r: f"{r['billed_rounded']:,.2f} {r['currency']}")])


# --- exceptions -----------------------------------------------------------------------------------


@click.group()
def exceptions() -> None:
    """The exceptions register: approved, scoped, expiring changes to allocation."""


@exceptions.command("propose")
@click.option("--title", required=True)
@click.option("--owner", required=True, help="Who answers for it.")
@click.option("--cost-centre", required=True, help="Whose cost it concerns.")
@click.option("--service", help="Only this service (wildcards allowed), e.g. 'Amazon SageMaker'.")
@click.option("--pool", help="Only this pool.")
@click.option("--from", "period_from", required=True, metavar="YYYY-MM")
@click.option("--to", "period_to", required=True, metavar="YYYY-MM")
@click.option("--expires", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--share", help="Percent of the in-scope cost moved (default 100).")
@click.option("--amount", help="A fixed amount moved instead (at most what is in scope).")
@click.option("--to-cost-centre", help="Who absorbs it (default: the central cost centre).")
@click.option("--reason", required=True)
@json_option
@click.pass_context
def exceptions_propose(ctx: click.Context, title: str, owner: str, cost_centre: str,
                       service: str | None, pool: str | None, period_from: str,
                       period_to: str, expires: datetime, share: str | None,
                       amount: str | None, to_cost_centre: str | None, reason: str) -> None:
    """Propose an exception; it applies once another person approves it."""
    from ledger.allocation.exceptions import AllocationException

    exception = AllocationException(
        id=0, title=title, owner=owner, cost_centre=cost_centre, service=service, pool=pool,
        period_from=period_from, period_to=period_to, expires_on=expires.date(),
        share_percent=to_decimal(share) if share else (None if amount else Decimal(100)),
        amount=to_decimal(amount) if amount else None, target_cost_centre=to_cost_centre)
    with opened(ctx) as app, app.uow() as uow:
        exception_id = service_propose(uow, exception, reason)
        uow.commit()
    if _options(ctx).json:
        print_json({"exception_id": exception_id, "status": "proposed"})
    else:
        console.print(f"Exception {exception_id} proposed; it applies once approved "
                      f"(apportion exceptions approve {exception_id}).")


def service_propose(uow: UnitOfWork, exception: Any, reason: str) -> int:
    return service.propose_exception(uow=uow, exception=exception, reason=reason)


@exceptions.command("approve")
@click.argument("exception_id", type=int)
@click.option("--reason")
@json_option
@click.pass_context
def exceptions_approve(ctx: click.Context, exception_id: int, reason: str | None) -> None:
    """Approve an exception (not your own)."""
    write(ctx, f"Exception {exception_id}", lambda uow: service.approve_exception(
        uow=uow, exception_id=exception_id, reason=reason))


@exceptions.command("revoke")
@click.argument("exception_id", type=int)
@click.option("--reason", required=True)
@json_option
@click.pass_context
def exceptions_revoke(ctx: click.Context, exception_id: int, reason: str) -> None:
    """Revoke an exception: the next run is unaffected by it."""
    write(ctx, f"Exception {exception_id}", lambda uow: service.revoke_exception(
        uow=uow, exception_id=exception_id, reason=reason))


@exceptions.command("list")
@json_option
@click.pass_context
def exceptions_list(ctx: click.Context) -> None:
    """The register, with status, scope, effect and expiry."""
    entries = read(ctx, lambda uow: service.list_exceptions(uow=uow))
    today = date.today()
    rows = [{"id": e.exception.id, "title": e.exception.title, "owner": e.exception.owner,
             "status": e.status.value, "cost_centre": e.exception.cost_centre,
             "service": e.exception.service, "pool": e.exception.pool,
             "periods": f"{e.exception.period_from} to {e.exception.period_to}",
             "expires_on": e.exception.expires_on, "expired": e.exception.expires_on < today,
             "share_percent": e.exception.share_percent, "amount": e.exception.amount,
             "target_cost_centre": e.exception.target_cost_centre,
             "created_by": e.created_by, "approved_by": e.exception.approved_by,
             "reason": e.reason} for e in entries]
    show(ctx, "exceptions", rows, [
        ("id", lambda r: r["id"]), ("title", lambda r: r["title"]),
        ("status", lambda r: r["status"] + (" (expired)" if r["expired"] else "")),
        ("scope", lambda r: r["cost_centre"] + (f" {r['service']}" if r["service"] else "")),
        ("periods", lambda r: r["periods"]), ("expires", lambda r: r["expires_on"]),
        ("owner", lambda r: r["owner"])])


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    for command in (rules, allocate, explain, impact, allocations, drivers, manual_costs,
                    invoices, exceptions):
        cli.add_command(command)
    import_group = cli.commands.get("import")
    if isinstance(import_group, click.Group):
        @import_group.command("invoices")
        @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
        @json_option
        @click.pass_context
        def import_invoices(ctx: click.Context, path: Path) -> None:
            """Import vendor invoice lines (CSV or XLSX): invoice_id, billing_account_id,
            billing_period, amount, currency. The same file again changes nothing."""
            _import_invoices(ctx, path)

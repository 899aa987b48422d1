"""Governance: users and their scoped roles, provisioning, budgets and quotas, contracts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from client.commands.common import (
    Options,
    console,
    json_option,
    opened,
    plain,
    print_json,
    read,
    reason_option,
    show,
    write,
)
from connectors.tabular import read_rows
from ledger.access import parse_role
from ledger.budget import BUDGET_COLUMNS, BUDGET_OPTIONAL, Budget, BudgetStatus, budget_from_cells
from ledger.contracts import CONTRACT_COLUMNS, CONTRACT_OPTIONAL, Contract, contract_from_cells
from ledger.errors import InputError, InputErrors
from ledger.provisioning import ProvisioningRequest, StoredRequest
from ledger.services import budgets as budget_services
from ledger.services import contracts as contract_services
from ledger.services import provisioning as provisioning_services
from ledger.services import users
from ledger.staging import Staged

T = TypeVar("T")


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""
    for group in (users_group, provisioning_group, budgets_group, contracts_group):
        cli.add_command(group)


def _json(ctx: click.Context) -> bool:
    return ctx.ensure_object(Options).json


def _stage(path: Path, required: tuple[str, ...], optional: tuple[str, ...],
           make: Callable[[dict[str, str | None]], T]) -> list[Staged[T]]:
    """Every row of a CSV file made into a value; all errors at once, naming row and field."""
    source = str(path)
    staged: list[Staged[T]] = []
    errors: list[InputError] = []
    for row in read_rows(path, required=required, optional=optional):
        try:
            staged.append(Staged(make({k: row.get(k) for k in (*required, *optional)}),
                                 source, row.number))
        except InputError as exc:
            errors.append(InputError(exc.message, source=source, row=row.number,
                                     field=exc.field, value=exc.value))
    if errors:
        raise InputErrors(errors, source=source)
    if not staged:
        raise InputError("the file has a header but no rows", source=source)
    return staged


# --- users ---------------------------------------------------------------------------------


@click.group("users")
def users_group() -> None:
    """Who holds which role, and for which business units."""


@users_group.command("list")
@json_option
@click.pass_context
def users_list(ctx: click.Context) -> None:
    """List users, their roles and each role's scope (business units, or all).

    In JSON, ``scopes`` maps each scoped role to its business units; a role not in it (or a
    user without ``scopes``) holds for every business unit.
    """
    grants = read(ctx, lambda uow: users.list_grants(uow=uow))
    by_login: dict[str, dict[str, Any]] = {}
    for grant in grants:
        entry = by_login.setdefault(grant.login, {"login": grant.login, "roles": []})
        entry["roles"].append(grant.role.value)
        if grant.scope:  # only scoped roles are listed here; the others are global
            entry.setdefault("scopes", {})[grant.role.value] = sorted(grant.scope)
    rows = list(by_login.values())
    show(ctx, "users", rows, [
        ("login", lambda u: u["login"]),
        ("roles", lambda u: ", ".join(
            f"{role} ({', '.join(u.get('scopes', {}).get(role, [users.GLOBAL]))})"
            for role in u["roles"]))])


@users_group.command("grant")
@click.argument("login")
@click.argument("role")
@click.option("--scope", "scope", multiple=True, metavar="BU",
              help="Limit the role to this business unit (repeatable); default: all units.")
@reason_option
@json_option
@click.pass_context
def users_grant(ctx: click.Context, login: str, role: str, scope: tuple[str, ...],
                reason: str | None) -> None:
    """Grant ROLE to LOGIN (on PostgreSQL, LOGIN is the database login)."""
    where = f" for {', '.join(scope)}" if scope else ""
    write(ctx, f"Grant {role} to {login}{where}", lambda uow: users.grant_role(
        uow=uow, login=login, role=parse_role(role), reason=reason, scope=scope))


@users_group.command("revoke")
@click.argument("login")
@click.argument("role")
@click.option("--scope", "scope", multiple=True, metavar="BU",
              help="Revoke the role for this business unit only (repeatable).")
@reason_option
@json_option
@click.pass_context
def users_revoke(ctx: click.Context, login: str, role: str, scope: tuple[str, ...],
                 reason: str | None) -> None:
    """Revoke ROLE from LOGIN (entirely, or for the --scope units only)."""
    where = f" for {', '.join(scope)}" if scope else ""
    write(ctx, f"Revoke {role} from {login}{where}", lambda uow: users.revoke_role(
        uow=uow, login=login, role=parse_role(role), reason=reason, scope=scope))


# --- provisioning --------------------------------------------------------------------------


def _request_json(stored: StoredRequest) -> dict[str, Any]:
    data = plain(stored)
    data["request"]["tags"] = stored.request.tag_map
    return data


def _show_request(ctx: click.Context, stored: StoredRequest, verb: str) -> None:
    if _json(ctx):
        print_json(_request_json(stored))
        return
    console.print(f"Provisioning request {stored.id} ({stored.request.name}, "
                  f"{stored.request.monthly_cost} {stored.request.currency}/month for "
                  f"{stored.request.cost_centre}) {verb}: {stored.status.value}.")
    if stored.escalation and stored.status.value == "escalated":
        console.print(f"Escalated to a controller: {stored.escalation}")


@click.group("provisioning")
def provisioning_group() -> None:
    """Requests for new assets and cloud resources, checked against policy before deployment."""


@provisioning_group.command("request")
@click.option("--kind", type=click.Choice(["asset", "cloud"]), default="cloud", show_default=True)
@click.option("--name", required=True, help="What is to be provisioned.")
@click.option("--cost-centre", required=True, help="Who pays.")
@click.option("--owner", required=True, help="Who answers for it.")
@click.option("--environment", required=True,
              help="production, staging, test or development.")
@click.option("--monthly-cost", required=True, help="Expected cost per month, e.g. 1200.00.")
@click.option("--currency", default="USD", show_default=True)
@click.option("--period", required=True, help="YYYY-MM, the month it starts.")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE",
              help="A tag the resource will carry (repeatable).")
@json_option
@click.pass_context
def provisioning_request(ctx: click.Context, kind: str, name: str, cost_centre: str,
                         owner: str, environment: str, monthly_cost: str, currency: str,
                         period: str, tags: tuple[str, ...]) -> None:
    """Check a request against policy and queue it for approval (or escalate it)."""
    pairs = []
    for text in tags:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise InputError("write tags as KEY=VALUE", field="tag", value=text)
        pairs.append((key.strip(), value.strip()))
    request = ProvisioningRequest(kind, name, cost_centre, owner, environment,  # type: ignore[arg-type]
                                  monthly_cost, currency, period, tuple(pairs))  # type: ignore[arg-type]
    with opened(ctx) as app, app.uow() as uow:
        store = app.cost_facts() if app.costfacts_dir.exists() else None
        stored = provisioning_services.request_provisioning(uow=uow, request=request,
                                                            store=store)
        uow.commit()
    _show_request(ctx, stored, "recorded")


@provisioning_group.command("list")
@click.option("--status", "statuses", multiple=True,
              help="pending, escalated, approved or rejected (repeatable).")
@json_option
@click.pass_context
def provisioning_list(ctx: click.Context, statuses: tuple[str, ...]) -> None:
    """List provisioning requests and their decisions."""
    found = read(ctx, lambda uow: provisioning_services.list_requests(uow=uow,
                                                                      statuses=statuses))
    if _json(ctx):
        print_json({"requests": [_request_json(r) for r in found]})
        return
    show(ctx, "requests", found, [
        ("id", lambda r: r.id), ("name", lambda r: r.request.name),
        ("cost centre", lambda r: r.request.cost_centre),
        ("monthly", lambda r: f"{r.request.monthly_cost} {r.request.currency}"),
        ("status", lambda r: r.status.value), ("requested by", lambda r: r.requested_by),
        ("escalation / reason", lambda r: r.reason or r.escalation)])


def _decision(ctx: click.Context, verb: str,
              operation: Callable[..., StoredRequest]) -> None:
    with opened(ctx) as app, app.uow() as uow:
        stored = operation(uow, app)
        uow.commit()
    _show_request(ctx, stored, verb)


@provisioning_group.command("approve")
@click.argument("request_id", type=int)
@reason_option
@json_option
@click.pass_context
def provisioning_approve(ctx: click.Context, request_id: int, reason: str | None) -> None:
    """Approve a request (not your own; an escalated one needs a controller)."""
    _decision(ctx, "approved", lambda uow, app: provisioning_services.approve_request(
        uow=uow, request_id=request_id, reason=reason,
        store=app.cost_facts() if app.costfacts_dir.exists() else None))


@provisioning_group.command("reject")
@click.argument("request_id", type=int)
@click.option("--reason", required=True, help="Why: the requester reads it.")
@json_option
@click.pass_context
def provisioning_reject(ctx: click.Context, request_id: int, reason: str) -> None:
    """Reject a request, with the reason."""
    _decision(ctx, "rejected", lambda uow, app: provisioning_services.reject_request(
        uow=uow, request_id=request_id, reason=reason))


# --- budgets -------------------------------------------------------------------------------


@click.group("budgets")
def budgets_group() -> None:
    """Budgets per cost centre and period, quotas derived from history, and their alerts."""


@budgets_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@reason_option
@json_option
@click.pass_context
def budgets_import(ctx: click.Context, file: Path, reason: str | None) -> None:
    """Import budgets from a CSV file.

    Columns: cost_centre,period,amount,currency[,quota_mode,quota_margin]; quota_mode is warn
    (default) or block; quota_margin a fraction (0.10) or a percentage (10%).
    """
    staged = _stage(file, BUDGET_COLUMNS, BUDGET_OPTIONAL, budget_from_cells)
    write(ctx, f"Import budgets from {file.name}", lambda uow: budget_services.import_budgets(
        uow=uow, budgets=staged, reason=reason))


@budgets_group.command("list")
@click.option("--period", help="YYYY-MM; default: every period.")
@json_option
@click.pass_context
def budgets_list(ctx: click.Context, period: str | None) -> None:
    """List budgets."""
    found: list[Budget] = read(ctx, lambda uow: budget_services.list_budgets(uow=uow,
                                                                             period=period))
    show(ctx, "budgets", found, [
        ("cost centre", lambda b: b.cost_centre), ("period", lambda b: b.period),
        ("amount", lambda b: f"{b.amount} {b.currency}"),
        ("quota", lambda b: f"{b.quota_mode.value} +{b.quota_margin * 100:g}%")])


def _status_json(status: BudgetStatus) -> dict[str, Any]:
    data = plain(status)
    data.update(state=status.state, remaining=plain(status.remaining),
                alerts=[{"kind": kind, "message": message} for kind, message in status.alerts])
    return data


@budgets_group.command("status")
@click.option("--period", required=True, help="YYYY-MM.")
@click.option("--tag", default="cost-centre", show_default=True,
              help="The cost-fact tag that names the cost centre.")
@click.option("--alert", is_flag=True,
              help="Also record a finding per limit crossed (the ticket sync picks them up).")
@json_option
@click.pass_context
def budgets_status(ctx: click.Context, period: str, tag: str, alert: bool) -> None:
    """Budget, actual, run-rate forecast and derived quota per cost centre for PERIOD."""
    with opened(ctx) as app, app.uow() as uow:
        store = app.cost_facts() if app.costfacts_dir.exists() else None
        statuses = budget_services.budget_status(uow=uow, store=store, period=period, tag=tag)
        report = None
        if alert:
            report = budget_services.check_budgets(uow=uow, store=store, period=period, tag=tag)
            uow.commit()
    if _json(ctx):
        print_json({"period": period, "statuses": [_status_json(s) for s in statuses],
                    **({"alerts": plain(report)} if report else {})})
        return
    show(ctx, "statuses", statuses, [
        ("cost centre", lambda s: s.cost_centre), ("budget", lambda s: s.budget),
        ("actual", lambda s: s.actual), ("forecast", lambda s: s.forecast),
        ("quota", lambda s: s.quota and f"{s.quota} ({s.quota_mode.value})"),
        ("committed", lambda s: s.committed), ("currency", lambda s: s.currency),
        ("state", lambda s: s.state),
        ("alerts", lambda s: "; ".join(message for _, message in s.alerts))])
    if report:
        console.print(f"Findings: {len(report.opened)} new, {len(report.updated)} updated, "
                      f"{len(report.cleared)} cleared.")


# --- contracts -----------------------------------------------------------------------------


@click.group("contracts")
def contracts_group() -> None:
    """The register of procurement contracts and the clauses allocation needs."""


@contracts_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@reason_option
@json_option
@click.pass_context
def contracts_import(ctx: click.Context, file: Path, reason: str | None) -> None:
    """Import contracts from a CSV file.

    Columns: number,vendor,start,value,currency[,end,usage_reporting,tagging,metering,notes];
    usage_reporting and tagging are yes/no, metering hourly, daily, monthly or empty.
    """
    staged = _stage(file, CONTRACT_COLUMNS, CONTRACT_OPTIONAL, contract_from_cells)
    write(ctx, f"Import contracts from {file.name}",
          lambda uow: contract_services.import_contracts(uow=uow, contracts=staged,
                                                         reason=reason))


def _yes(value: bool) -> str:
    return "yes" if value else "no"


@contracts_group.command("list")
@json_option
@click.pass_context
def contracts_list(ctx: click.Context) -> None:
    """List the contracts."""
    found: list[Contract] = read(ctx, lambda uow: contract_services.list_contracts(uow=uow))
    show(ctx, "contracts", found, [
        ("number", lambda c: c.number), ("vendor", lambda c: c.vendor),
        ("term", lambda c: f"{c.start} to {c.end or 'open'}"),
        ("value", lambda c: f"{c.value} {c.currency}"),
        ("usage by cost centre", lambda c: _yes(c.usage_reporting)),
        ("tagging", lambda c: _yes(c.tagging)),
        ("metering", lambda c: c.metering.value if c.metering else "not stated")])


@contracts_group.command("checklist")
@click.option("--missing-only", is_flag=True, help="Only contracts that lack a clause.")
@json_option
@click.pass_context
def contracts_checklist(ctx: click.Context, missing_only: bool) -> None:
    """Which contracts lack which allocation-relevant clauses."""
    rows = read(ctx, lambda uow: contract_services.contract_checklist(
        uow=uow, only_missing=missing_only))
    if _json(ctx):
        print_json({"contracts": [
            {"number": r.contract.number, "vendor": r.contract.vendor, "active": r.active,
             "complete": r.complete, "missing": [c.value for c in r.missing]} for r in rows]})
        return
    show(ctx, "contracts", rows, [
        ("number", lambda r: r.contract.number), ("vendor", lambda r: r.contract.vendor),
        ("active", lambda r: _yes(r.active)),
        ("missing", lambda r: ", ".join(c.value for c in r.missing) or "complete")])

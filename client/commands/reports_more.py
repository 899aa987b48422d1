"""More reports: methodology, savings, the service catalogue.

``apportion report methodology|savings`` join the ``report`` group of :mod:`.reports`;
``apportion catalogue list|import|tier-change`` and ``apportion savings record|list`` are groups
of their own.
"""

from __future__ import annotations

from pathlib import Path

import click

from client.commands.common import (
    Options,
    console,
    json_option,
    print_json,
    read,
    reason_option,
)
from ledger.ports import UnitOfWork


@click.group("report", help="Reports people would rather look at than read: statements, "
                            "disputes, forecasts, KPIs.")
def _fallback_report() -> None:
    """Used only when :mod:`.reports` has not registered the group (it normally has)."""


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``: to the ``report`` group, and its own groups."""
    group = cli.commands.get("report")
    if not isinstance(group, click.Group):
        group = _fallback_report
        cli.add_command(group)
    group.add_command(methodology_command)
    group.add_command(savings_report)
    group.add_command(running_cost_report_command)
    group.add_command(account_mapping_command)
    group.add_command(account_flag_command)
    group.add_command(ledger_tie_command)
    cli.add_command(catalogue_group)
    cli.add_command(savings_group)


def _json(ctx: click.Context) -> bool:
    return ctx.ensure_object(Options).json


# --- methodology ---------------------------------------------------------------------------


@click.command("methodology")
@click.option("--period", required=True, help="The period documented, YYYY-MM.")
@click.option("--ruleset", help="NAME[@V]; default: the rule set active in the period.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the document to FILE (.pdf or .html).")
@json_option
@click.pass_context
def methodology_command(ctx: click.Context, period: str, ruleset: str | None,
                        out: Path | None) -> None:
    """The allocation methodology of a period, for auditors: rule set, pools, drivers,
    depreciation policies, exceptions, governance, and the period's audit chain head."""
    from client.render_methodology import write as write_document
    from ledger.services.methodology import build_methodology

    doc = read(ctx, lambda uow: build_methodology(uow=uow, period=period, ruleset=ruleset))
    written = write_document(doc, out) if out else None
    if _json(ctx):
        data = doc.to_json()
        if out:
            data = {"out": str(out), "format": written, **data}
        print_json(data)
        return
    if out:
        console.print(f"Wrote the methodology of {doc.period} ({doc.ruleset}) to {out}; "
                      f"audit head {doc.anchor.head}.")
        return
    console.print(f"[bold]{doc.title}[/bold]")
    for section in doc.sections:
        console.print(f"\n[bold]{section.title}[/bold]")
        for paragraph in section.paragraphs:
            console.print(paragraph)
        for table in section.tables:
            console.print(f"({len(table.rows)} row(s): {', '.join(table.columns)})")


# --- the service catalogue -----------------------------------------------------------------


def _period_or_current(uow: UnitOfWork, period: str | None) -> str:
    """``period``, else the period being worked on."""
    from ledger.services.periods import get_current_period

    if period:
        return period
    current = get_current_period(uow=uow)
    if current is None:
        raise click.UsageError("no open period: name one with --period YYYY-MM")
    return current.key


@click.group("catalogue")
def catalogue_group() -> None:
    """The service catalogue: IT services, support tiers and SLAs, and what each costs."""


@catalogue_group.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@reason_option
@json_option
@click.pass_context
def catalogue_import(ctx: click.Context, file: Path, reason: str | None) -> None:
    """Import services, tiers and subscriptions from a TOML file, all or nothing."""
    from client.commands.common import write
    from ledger.services.catalogue import import_catalogue

    text = file.read_text(encoding="utf-8")
    write(ctx, f"Import the catalogue from {file.name}",
          lambda uow: import_catalogue(uow=uow, text=text, source=str(file), reason=reason))


@catalogue_group.command("list")
@click.option("--period", help="Driver quantities of this period (default: the current one).")
@json_option
@click.pass_context
def catalogue_list(ctx: click.Context, period: str | None) -> None:
    """Services with their tiers, and each cost centre's subscription and monthly cost."""
    from ledger.services.catalogue import list_services, subscription_costs

    def load(uow: UnitOfWork) -> tuple:
        key = _period_or_current(uow, period)
        return key, list_services(uow=uow), subscription_costs(uow=uow, period=key)

    key, services, costs = read(ctx, load)
    if _json(ctx):
        print_json({"period": key, "services": [
            {"code": s.code, "name": s.name, "owner": s.owner, "unit": s.unit,
             "driver": s.driver, "currency": s.currency,
             "tiers": [{"name": t.name, "rate": format(t.rate, "f"), "sla": t.sla()}
                       for t in s.tiers]} for s in services],
            "subscriptions": [c.to_json() for c in costs]})
        return
    from rich.table import Table as RichTable

    table = RichTable("service", "tier", "rate", "SLA")
    for service in services:
        for tier in service.tiers:
            table.add_row(f"{service.code} {service.name}", tier.name,
                          f"{tier.rate} {service.currency}/{service.unit}", tier.sla())
    console.print(table)
    subs = RichTable("service", "cost centre", "tier", "quantity", f"monthly cost {key}")
    for cost in costs:
        subs.add_row(cost.service.code, cost.subscription.cost_centre, cost.subscription.tier,
                     f"{cost.quantity} ({cost.quantity_source})",
                     f"{cost.monthly_cost} {cost.service.currency}")
    console.print(subs)


@catalogue_group.command("charges")
@click.option("--period", required=True, help="The allocated period, YYYY-MM.")
@json_option
@click.pass_context
def catalogue_charges(ctx: click.Context, period: str) -> None:
    """What the period's allocation charged through each catalogue service, per subscriber
    (pools split by ``driver = "service:CODE"`` or ``"service-rate:CODE"``)."""
    from ledger.services.catalogue import service_charges

    found = read(ctx, lambda uow: service_charges(uow=uow, period=period))
    if _json(ctx):
        print_json({"period": period, "services": [c.to_json() for c in found]})
        return
    from rich.table import Table as RichTable

    table = RichTable("service", "pool", "basis", "cost centre", "tier", "quantity",
                      "catalogue price", "charged")
    for charge in found:
        data = charge.to_json()
        for line in data["lines"]:
            table.add_row(charge.service.code, charge.pool, data["basis"], line["cost_centre"],
                          line["tier"] or "", line["quantity"] or "",
                          line["catalogue_price"] or "",
                          f"{line['amount']} {line['currency']}")
    console.print(table)


@catalogue_group.command("tier-change")
@click.argument("service")
@click.argument("tier")
@click.option("--cost-centre", required=True, help="The subscribing cost centre.")
@click.option("--period", help="Driver quantities of this period (default: the current one).")
@click.option("--apply", "apply_", is_flag=True,
              help="Make the change (default: only show its cost implication).")
@click.option("--reason", help="Why (required with --apply), for the audit trail.")
@json_option
@click.pass_context
def catalogue_tier_change(ctx: click.Context, service: str, tier: str, cost_centre: str,
                          period: str | None, apply_: bool, reason: str | None) -> None:
    """Show what moving a cost centre's SERVICE to TIER costs per month; --apply makes it."""
    from client.commands.common import opened
    from ledger.services.catalogue import change_tier, preview_tier_change

    with opened(ctx) as app, app.uow(read_only=not apply_) as uow:
        key = _period_or_current(uow, period)
        if apply_:
            change, changes = change_tier(uow=uow, service=service, cost_centre=cost_centre,
                                          tier=tier, period=key, reason=reason)
            uow.commit()
        else:
            change = preview_tier_change(uow=uow, service=service, cost_centre=cost_centre,
                                         tier=tier, period=key)
            changes = None
    data = {**change.to_json(), "applied": bool(changes and changes.changed)}
    if _json(ctx):
        print_json(data)
        return
    sign = "+" if change.difference >= 0 else ""
    console.print(
        f"{change.service} for {change.cost_centre}: {change.from_tier.name} -> "
        f"{change.to_tier.name}, {change.quantity} units ({change.quantity_source})\n"
        f"  monthly cost {change.cost_before} -> {change.cost_after} {change.currency} "
        f"({sign}{change.difference}, {sign}{change.difference * 12} a year)\n"
        f"  service level: {change.from_tier.sla()} -> {change.to_tier.sla()}\n"
        + ("  applied." if data["applied"] else
           "  not applied: run again with --apply --reason \"...\" to make the change."))


# --- savings -------------------------------------------------------------------------------


@click.group("savings")
def savings_group() -> None:
    """Optimisations and their expected saving; the realised saving comes from billing."""


@savings_group.command("record")
@click.argument("saving_id")
@click.option("--kind", required=True, type=click.Choice(
    ["rightsizing", "decommissioning", "licence_harvesting", "commitment", "other"]))
@click.option("--title", required=True)
@click.option("--effective", "effective_period", required=True,
              help="First month it saves, YYYY-MM.")
@click.option("--expected-monthly", required=True, help="Expected saving per month.")
@click.option("--currency", default="USD", show_default=True)
@click.option("--service", help="Billing service-name pattern it acts on (* wildcards).")
@click.option("--provider", help="Only this billing provider.")
@click.option("--cost-centre", help="The cost centre that benefits.")
@click.option("--baseline-months", default=3, show_default=True, type=int,
              help="Months before --effective whose mean cost is the baseline.")
@reason_option
@json_option
@click.pass_context
def savings_record(ctx: click.Context, saving_id: str, kind: str, title: str,
                   effective_period: str, expected_monthly: str, currency: str,
                   service: str | None, provider: str | None, cost_centre: str | None,
                   baseline_months: int, reason: str | None) -> None:
    """Record an optimisation SAVING_ID (recording it again with other values corrects it)."""
    from client.commands.common import write
    from ledger.errors import InputError
    from ledger.money import MoneyError, normalise_currency, to_decimal
    from ledger.savings import Saving, SavingKind
    from ledger.services.savings import record_saving

    try:
        amount = to_decimal(expected_monthly)
        code = normalise_currency(currency)
    except MoneyError as exc:
        raise InputError(str(exc), field="--expected-monthly/--currency") from None
    saving = Saving(saving_id.strip(), SavingKind(kind), title, effective_period.strip(), amount,
                    code, service, provider, cost_centre, baseline_months)
    write(ctx, f"Record saving {saving.id}",
          lambda uow: record_saving(uow=uow, saving=saving, reason=reason))


def _measured(ctx: click.Context) -> list:
    from client.commands.common import opened
    from ledger.services.savings import measure_savings

    with opened(ctx) as app, app.uow(read_only=True) as uow:
        return measure_savings(uow=uow, store=app.cost_facts())


def _show_savings(ctx: click.Context, measured: list) -> None:
    if _json(ctx):
        print_json({"savings": [m.to_json() for m in measured]})
        return
    from rich.table import Table as RichTable

    table = RichTable("id", "kind", "title", "from", "baseline/month", "months",
                      "expected", "realised", "%", "note")
    for m in measured:
        s = m.saving
        table.add_row(s.id, s.kind.value, s.title, s.effective_period,
                      "" if m.baseline is None else f"{m.baseline} {s.currency}",
                      str(len(m.months)), str(m.expected_total), str(m.realised_total),
                      "" if m.realisation_percent is None else str(m.realisation_percent),
                      m.note)
    console.print(table)


@savings_group.command("list")
@json_option
@click.pass_context
def savings_list(ctx: click.Context) -> None:
    """Recorded optimisations with their expected and realised saving."""
    _show_savings(ctx, _measured(ctx))


@click.command("savings")
@json_option
@click.pass_context
def savings_report(ctx: click.Context) -> None:
    """Savings and cost avoidance: expected versus realised (from billing), per optimisation."""
    _show_savings(ctx, _measured(ctx))


# --- the cost of running the allocation ----------------------------------------------------


@click.command("running-cost")
@click.option("--period", "periods", multiple=True, help="YYYY-MM (repeatable); default: all.")
@click.option("--pool", default="allocation-ops", show_default=True,
              help="The pool whose manual costs are the running cost.")
@json_option
@click.pass_context
def running_cost_report_command(ctx: click.Context, periods: tuple[str, ...],
                                pool: str) -> None:
    """What running the allocation costs per period and per allocated currency unit, and the
    manual decisions each period took (from the audit trail)."""
    from ledger.services.running_cost import running_cost_report

    rows = read(ctx, lambda uow: running_cost_report(uow=uow, periods=periods, pool=pool))
    if _json(ctx):
        print_json({"pool": pool, "periods": [r.to_json() for r in rows]})
        return
    from rich.table import Table as RichTable

    table = RichTable("period", "running cost", "allocated", "per allocated unit",
                      "manual decisions")
    for row in rows:
        data = row.to_json()
        table.add_row(row.period, _amounts(data["running_cost"]), _amounts(data["allocated"]),
                      _amounts(data["per_allocated_unit"]), str(row.manual_decisions))
    console.print(table)


def _amounts(values: dict[str, str | None]) -> str:
    return ", ".join(f"{v} {c}" for c, v in values.items() if v is not None) or "-"


# --- accounting alignment ------------------------------------------------------------------


@click.command("account-mapping")
@json_option
@click.pass_context
def account_mapping_command(ctx: click.Context) -> None:
    """Each GL account as it reports under IFRS and US GAAP: capital or operating,
    depreciation or expense, internal recharge, intercompany."""
    from ledger.services.accounting import account_mapping_report

    rows = read(ctx, lambda uow: account_mapping_report(uow=uow))
    if _json(ctx):
        print_json({"accounts": [r.to_json() for r in rows]})
        return
    from rich.table import Table as RichTable

    table = RichTable("account", "name", "classification", "IFRS", "US GAAP", "used by",
                      "counterparty")
    for row in rows:
        data = row.to_json()
        table.add_row(row.account, row.name, data["classification"], data["ifrs"],
                      data["us_gaap"], ", ".join(row.used_by), row.counterparty or "")
    console.print(table)


@click.command("account-flag")
@click.argument("account")
@click.option("--intercompany/--not-intercompany", required=True,
              help="Whether the account holds balances with another entity of the group.")
@click.option("--counterparty", help="The other entity (its company code).")
@click.option("--reason", help="Why (kept in the audit trail).")
@json_option
@click.pass_context
def account_flag_command(ctx: click.Context, account: str, intercompany: bool,
                         counterparty: str | None, reason: str | None) -> None:
    """Flag a GL account as intercompany in the account mapping (controllers): the IFRS / US
    GAAP mapping and the ledger tie classify it by this flag, never by its name."""
    from client.commands.common import write
    from ledger.services.accounting import set_account_flag

    write(ctx, "Account mapping", lambda uow: set_account_flag(
        uow=uow, account=account, intercompany=intercompany, counterparty=counterparty,
        reason=reason))


@click.command("ledger-tie")
@click.option("--period", required=True, help="YYYY-MM.")
@click.option("--erp", "erp_name", help="The ERP profile (default: the only one).")
@json_option
@click.pass_context
def ledger_tie_command(ctx: click.Context, period: str, erp_name: str | None) -> None:
    """Tie the journals posted for a period to the GL balances read back from the ERP, per
    account and currency (exit 1 when they do not tie)."""
    import sys

    from client.commands.common import opened
    from client.erp import close, gateway_for
    from ledger.services.accounting import ledger_tie
    from ledger.services.erp_profiles import get_profile

    with opened(ctx) as app:
        with app.uow(read_only=True) as uow:
            profile = get_profile(uow=uow, name=erp_name)
        gateway = gateway_for(profile)
        try:
            with app.uow(read_only=True) as uow:
                result = ledger_tie(uow=uow, gateway=gateway, profile=profile, period=period)
        finally:
            close(gateway)
    if _json(ctx):
        print_json(result.to_json())
    else:
        from rich.table import Table as RichTable

        table = RichTable("account", "class", "currency", "posted", "ERP", "difference")
        for line in result.lines:
            table.add_row(line.account, line.classification.value, line.currency,
                          str(line.posted), str(line.erp), str(line.difference))
        console.print(table)
        console.print(f"{result.period} against {result.erp_profile}: {result.journals} "
                      f"journal(s), {result.documents} ERP document(s): "
                      + ("tied." if result.tied else "NOT tied."))
        for problem in result.problems:
            console.print(problem)
    if not result.tied:
        sys.exit(1)

"""The demo company: expanded deterministically from ``resources/demo/company.json`` and a seed.

:func:`generate` is pure (same spec and seed, same company, on any machine and any day);
:func:`load_demo` stores it through the services, so loading it twice changes nothing the second
time; :func:`run_month_end` shows the month-end on it until the allocation engine takes over.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from client import (
    demo_allocation,
    demo_flow_logs,
    demo_inventory,
    demo_licences,
    demo_policy,
    demo_reports,
)
from client.bootstrap import App
from client.erp import gateway_for
from ledger.access import Role, approval_limit, parse_role
from ledger.asset import Asset, AssetEvent, AssetEventKind, DepreciationBook
from ledger.calendar import FiscalCalendar, Period
from ledger.depreciation import DepreciationTerms
from ledger.erp import ErpProfile
from ledger.errors import ConflictError
from ledger.journal import JournalEntry, split_charge
from ledger.money import round_to_currency
from ledger.reference import Company, CostCentre, DriverQuantity, FxRate, GlAccount
from ledger.services import assets as assets_service
from ledger.services import erp_profiles, journals, periods, reference_data, users
from ledger.services.base import Changes
from ledger.services.depreciation import DepreciationRun, run_depreciation
from ledger.services.posting import PostingReport, post_approved
from ledger.staging import staged

DEMO_SOURCE = "demo"


def load_spec() -> dict[str, Any]:
    text = resources.files("resources.demo").joinpath("company.json").read_text("utf-8")
    return json.loads(text)


@dataclass(frozen=True)
class DemoCompany:
    """Everything the demo stores, as domain values."""

    company: Company
    accounts: list[GlAccount]
    cost_centres: list[CostCentre]
    periods: list[Period]
    headcount: list[DriverQuantity]
    fx_rates: list[FxRate]
    shared_it_cost: dict[str, Decimal]
    it_cost_centre: str
    charged_cost_centres: list[str]
    users: dict[str, list[Role]]
    chargeback: dict[str, str] = field(default_factory=dict)
    assets: list[Asset] = field(default_factory=list)
    books: list[DepreciationBook] = field(default_factory=list)
    asset_events: list[AssetEvent] = field(default_factory=list)


def _variation(rng: random.Random, fraction: float) -> Decimal:
    """A random factor 1 ± fraction, exact to 1/10000, drawn from integers (no float money)."""
    basis_points = round(fraction * 10000)
    return 1 + Decimal(rng.randint(-basis_points, basis_points)) / 10000


def generate(spec: dict[str, Any] | None = None) -> DemoCompany:
    spec = spec or load_spec()
    rng = random.Random(spec["seed"])
    company = Company(**spec["company"])
    calendar = FiscalCalendar(company.fiscal_year_start_month)
    fiscal_periods = calendar.fiscal_year_periods(spec["fiscal_year"])
    domain = company.name.split()[0].lower() + ".example"
    first, last = spec["owners"]["first_names"], spec["owners"]["last_names"]

    def owner() -> str:
        return f"{rng.choice(first).lower()}.{rng.choice(last).lower()}@{domain}"

    cost_centres: list[CostCentre] = []
    charged: list[str] = []
    it_cost_centre = ""
    for bu_index, unit in enumerate(spec["business_units"], start=1):
        root = CostCentre(code=str(bu_index * 1000), name=unit["name"], business_unit=unit["code"],
                          owner=owner(), valid_from=fiscal_periods[0].start)
        cost_centres.append(root)
        for dept_index, name in enumerate(unit["departments"], start=1):
            code = str(bu_index * 1000 + dept_index * 10)
            cost_centres.append(CostCentre(code=code, name=name, parent=root.code,
                                           business_unit=unit["code"], owner=owner(),
                                           valid_from=fiscal_periods[0].start))
            if unit.get("recovers_it_costs"):
                if name == spec["it_shared_cost"]["cost_centre"]:
                    it_cost_centre = code
            else:
                charged.append(code)

    low, high = spec["headcount"]["min"], spec["headcount"]["max"]
    drift = spec["headcount"]["monthly_drift"]
    headcount: list[DriverQuantity] = []
    for code in charged:
        base = rng.randint(low, high)
        for period in fiscal_periods:
            people = max(1, int(base * _variation(rng, drift)))
            headcount.append(DriverQuantity("headcount", code, period.key, Decimal(people)))

    currency = company.functional_currency
    it_base = Decimal(spec["it_shared_cost"]["monthly_base"])
    shared_it_cost = {
        period.key: round_to_currency(
            it_base * _variation(rng, spec["it_shared_cost"]["monthly_variation"]), currency)
        for period in fiscal_periods
    }

    fx_rates = [
        FxRate(currency, quote, period.start,
               (Decimal(rate) * _variation(rng, spec["fx"]["monthly_variation"])).quantize(
                   Decimal("0.000001")))
        for period in fiscal_periods
        for quote, rate in sorted(spec["fx"]["quotes"].items())
    ]

    assets, books, asset_events = _fixed_assets(spec, rng, company, fiscal_periods, cost_centres,
                                                charged)
    return DemoCompany(
        company=company,
        accounts=[GlAccount(number, name, kind) for number, name, kind in spec["accounts"]],
        cost_centres=cost_centres,
        periods=fiscal_periods,
        headcount=headcount,
        fx_rates=fx_rates,
        shared_it_cost=shared_it_cost,
        it_cost_centre=it_cost_centre,
        charged_cost_centres=charged,
        users={login: [parse_role(r) for r in roles] for login, roles in spec["users"].items()},
        chargeback=dict(spec["chargeback"]),
        assets=assets,
        books=books,
        asset_events=asset_events,
    )


def _random_day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def _fixed_assets(spec: dict[str, Any], rng: random.Random, company: Company,
                  fiscal_periods: list[Period], cost_centres: list[CostCentre],
                  charged: list[str]) -> tuple[list[Asset], list[DepreciationBook],
                                               list[AssetEvent]]:
    """A register over five years of purchases, with IFRS and tax books, transfers, disposals."""
    register = spec["fixed_assets"]
    by_name = {cc.name: cc.code for cc in cost_centres}
    year_end = fiscal_periods[-1].end
    first_purchase = date(year_end.year - register["purchase_years"] + 1, 1, 1)
    last_purchase = fiscal_periods[-3].end  # nothing bought in the last two months
    assets: list[Asset] = []
    books: list[DepreciationBook] = []
    for kind in register["kinds"]:
        low, high = (int(Decimal(v) * 100) for v in kind["cost"])
        for number in range(1, kind["count"] + 1):
            tag = f"{kind['prefix']}-{number:05d}"
            manufacturer, model = rng.choice(kind["models"])
            bought = _random_day(rng, first_purchase, last_purchase)
            in_service = bought + timedelta(days=rng.randint(0, 20))
            cost = (Decimal(rng.randint(low, high)) / 100).quantize(Decimal("0.01"))
            holder = (rng.choice(charged) if kind["holder"] == "business"
                      else by_name[kind["holder"]])
            assets.append(Asset(
                tag=tag, name=f"{manufacturer} {model}", kind=kind["kind"], cost_centre=holder,
                currency=company.functional_currency, purchase_cost=cost, purchase_date=bought,
                in_service_date=in_service, serial_number=f"{rng.getrandbits(40):010X}",
                manufacturer=manufacturer, model=model))
            for name, book in register["books"].items():
                terms = DepreciationTerms(
                    cost=cost, placed_in_service=in_service, method=book["method"],
                    currency=company.functional_currency, convention=book["convention"],
                    **({"recovery_period": kind["tax_recovery_period"]}
                       if book["method"] == "macrs" else
                       {"life_months": kind["life_months"],
                        "salvage_percent": Decimal(kind["salvage_percent"]) or None}))
                books.append(DepreciationBook(tag, name, terms, book["expense_account"],
                                              book["accumulated_account"],
                                              book["posts_to_ledger"]))

    events: list[AssetEvent] = []
    laptops = [a for a in assets if a.kind.value == "laptop"]
    year_start = fiscal_periods[0].start
    # Laptops still depreciating this year move between departments or are sold.
    live = sorted((a for a in laptops if a.in_service_date
                   and a.in_service_date > date(year_start.year - 2, 6, 30)
                   and a.in_service_date < year_start), key=lambda a: a.tag)
    chosen = rng.sample(live, register["transfers"] + register["disposals"])
    for asset in chosen[: register["transfers"]]:
        receiver = rng.choice([c for c in charged if c != asset.cost_centre])
        events.append(AssetEvent(asset.tag, AssetEventKind.TRANSFER,
                                 _random_day(rng, year_start, last_purchase),
                                 to_cost_centre=receiver, from_cost_centre=asset.cost_centre,
                                 note="moved with its user"))
    for asset in chosen[register["transfers"]:]:
        events.append(AssetEvent(asset.tag, AssetEventKind.DISPOSAL,
                                 _random_day(rng, year_start, last_purchase),
                                 proceeds=Decimal(rng.randint(5000, 30000)) / 100,
                                 note="sold to staff at end of use"))
    events.sort(key=lambda e: (e.effective, e.asset_tag))
    return assets, books, events


def load_demo(app: App, demo: DemoCompany | None = None) -> Changes:
    """Store the demo company; refuse a database that belongs to another company."""
    demo = demo or generate()
    reason = "demo company"
    with app.uow() as uow:
        changes = users.bootstrap_administrator(uow=uow)
        existing = uow.company.get()
        if existing is not None and existing.code != demo.company.code:
            raise ConflictError(
                f"this database belongs to {existing.name} ({existing.code}); the demo company "
                "goes into a database of its own (apportion demo uses one by default)"
            )
        changes += reference_data.set_company(uow=uow, company=demo.company, reason=reason)
        changes += reference_data.import_accounts(
            uow=uow, accounts=staged(demo.accounts, "demo"), reason=reason)
        changes += reference_data.import_cost_centres(
            uow=uow, cost_centres=staged(demo.cost_centres, "demo"), reason=reason)
        changes += periods.extend_calendar(uow=uow, first=demo.periods[0].start,
                                           last=demo.periods[-1].end)
        changes += reference_data.set_fx_rates(uow=uow, rates=demo.fx_rates, reason=reason)
        changes += reference_data.set_driver_quantities(
            uow=uow, quantities=staged(demo.headcount, "demo"), reason=reason)
        if uow.assets.count() == 0:
            # The register is loaded once: its events (transfers) change the assets afterwards.
            changes += assets_service.register_assets(
                uow=uow, assets=staged(demo.assets, "demo"), books=staged(demo.books, "demo"),
                reason=reason)
            for event in demo.asset_events:
                changes += assets_service.record_asset_event(uow=uow, event=event)
        for login, roles in demo.users.items():
            for role in roles:
                changes += users.grant_role(uow=uow, login=login, role=role, reason=reason)
        changes += demo_allocation.load_rules(uow)
        changes += demo_policy.load_policy(uow)  # one of each policy decision
        changes += demo_licences.load_licences(uow, demo)
        changes += demo_inventory.load_inventory(uow)
        changes += demo_reports.load(uow, app)  # catalogue, savings, benchmarks
        uow.commit()
    return changes


@dataclass(frozen=True)
class MonthEndResult:
    period: str
    journal_ids: tuple[int | str, ...]
    entry: JournalEntry
    replaced: int
    total: Decimal
    currency: str
    headcount: Decimal
    depreciation: DepreciationRun
    #: The allocation run of the month's cloud billing (client.demo_allocation.summary gives
    #: its totals for printing); None when the demo has no rule set.
    allocation: Any = None


def run_month_end(app: App, period: str, *, as_user: str = "carol",
                  demo: DemoCompany | None = None) -> MonthEndResult:
    """Charge the month's shared IT cost to cost centres by headcount, as a draft journal.

    Runs as the demo's cost analyst (maker); approval by someone else comes with the posting
    work. Running it again for the same period replaces its own draft.
    """
    demo = demo or generate()
    if period not in demo.shared_it_cost:
        raise ConflictError(f"the demo has data for {demo.periods[0].key} to "
                            f"{demo.periods[-1].key}, not {period}")
    amount = demo.shared_it_cost[period]
    currency = demo.company.functional_currency
    reference = f"IT shared cost {period}"
    # On PostgreSQL identity is the database login, so the demo acts as whoever connected.
    factory = app.uow.as_user(as_user) if app.is_sqlite else app.uow
    with factory() as uow:
        quantities = [q for q in uow.drivers.for_period(demo.chargeback["driver"], period)
                      if q.cost_centre in set(demo.charged_cost_centres)]
        lines = split_charge(
            amount=amount, currency=currency,
            debit_account=demo.chargeback["expense_account"],
            credit_account=demo.chargeback["recovery_account"],
            credit_cost_centre=demo.it_cost_centre,
            weights=[(q.cost_centre, q.quantity) for q in quantities],
            memo=f"Shared IT infrastructure {period}, by headcount",
            source_ref=f"demo:{period}:headcount",
        )
        period_end = next(p.end for p in demo.periods if p.key == period)
        entry = JournalEntry(entry_date=period_end, description=f"IT chargeback {period}",
                             lines=tuple(lines), source=DEMO_SOURCE, reference=reference)
        changes = journals.replace_drafts(uow=uow, source=DEMO_SOURCE, reference=reference,
                                          entries=[entry])
        depreciation = run_depreciation(uow=uow, period=period)
        demo_flow_logs.load(uow, app, period)  # a month of VPC flow logs
        allocated = demo_allocation.run(uow, app, period)
        uow.commit()
    return MonthEndResult(period, changes.ids, entry, changes.deleted, entry.total(currency),
                          currency, sum((q.quantity for q in quantities), Decimal(0)),
                          depreciation, allocated)


def month_end_started(app: App, period: str) -> bool:
    """True once any journal of ``period`` has left draft: the month-end is then not rerun
    (it would count twice), only carried on to posting."""
    with app.uow(read_only=True) as uow:
        return any(j.status.value != "draft"
                   for j in uow.journals.list(period=period))


def demo_period(app: App, demo: DemoCompany | None = None) -> str:
    """The period the demo works on: the current period if the demo covers it, else its last."""
    demo = demo or generate()
    with app.uow(read_only=True) as uow:
        current = periods.get_current_period(uow=uow)
    keys = [p.key for p in demo.periods]
    if current is not None and current.key in keys:
        return current.key
    today = date.today()
    earlier = [k for k in keys if k <= f"{today.year:04d}-{today.month:02d}"]
    return earlier[-1] if earlier else keys[-1]


@dataclass(frozen=True)
class PostingOutcome:
    erp_url: str
    submitted: tuple[int, ...]
    report: PostingReport
    erp_documents: int


def post_month_end(app: App, period: str, *, demo: DemoCompany | None = None,
                   erp_data: Path) -> PostingOutcome:
    """Carol submits the period's drafts, Bob approves them and posts them to a sandbox ERP
    started for the occasion; the demo's ERP profile ``sandbox`` points at it."""
    from connectors.erp.sandbox.server import SandboxErp

    demo = demo or generate()
    as_user = app.uow.as_user if app.is_sqlite else (lambda _login: app.uow)
    sandbox = SandboxErp.start(
        "127.0.0.1", 0, erp_data,
        companies={demo.company.code: demo.company.functional_currency},
        accounts=[a.number for a in demo.accounts],
        cost_centres=[cc.code for cc in demo.cost_centres])
    try:
        profile = ErpProfile("sandbox", "sap-soap", sandbox.url, demo.company.code, "demo",
                             {"operation_timeout": 10.0})
        with app.uow() as uow:
            erp_profiles.save_profile(uow=uow, profile=profile)
            uow.commit()
        with as_user("carol")() as uow:
            drafts = [j.id for j in uow.journals.list(statuses=["draft"], period=period)]
            for journal_id in drafts:
                journals.submit_journal(uow=uow, journal_id=journal_id)
            uow.commit()
        # Bob approves up to his limit; Dave, the controller, approves what is above it.
        with as_user("bob")() as uow:
            waiting = uow.journals.list(statuses=["submitted"], period=period)
            limit = approval_limit(uow.actor.roles)
        for journal in waiting:
            approver = "bob" if limit is None or max(journal.entry.totals.values()) <= limit \
                else "dave"
            with as_user(approver)() as uow:
                journals.approve_journal(uow=uow, journal_id=journal.id)
                uow.commit()
        # The sandbox's documented demo credentials, not a secret.
        gateway = gateway_for(profile, secret="demo")  # noqa: S106
        try:
            report = post_approved(uow_factory=as_user("bob"), gateway=gateway,
                                   profile=profile, holder="apportion-demo")
        finally:
            gateway.close()
        return PostingOutcome(sandbox.url, tuple(drafts) + tuple(j.id for j in waiting
                                                                 if j.id not in drafts),
                              report, len(sandbox.documents()))
    finally:
        sandbox.stop()

"""The allocation policy in runs: the capitalisation threshold moves assets between depreciation
and expense, business-unit-owned assets bypass IT's pools, shadow chargeback shows both figures
and posts nothing, immaterial costs go to overhead, and versions behave like rule sets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.allocation import ManualCost
from ledger.asset import Asset, DepreciationBook
from ledger.depreciation import DepreciationTerms
from ledger.errors import ConflictError, InputErrors, PermissionDeniedError
from ledger.journal import Side
from ledger.reference import AccountType, CostCentre, GlAccount
from ledger.services import assets, reference_data
from ledger.services import policy as policy_service
from ledger.services.depreciation import run_depreciation
from ledger.staging import staged
from tests.services.allocation_support import AllocationCompany

D = Decimal

RULES = """
[ruleset]
name = "it"
version = 1
effective_from = 2026-01-01
cost_basis = "EffectiveCost"
expense_account = "6900"
recovery_account = "7990"
central_cost_centre = "6010"
default_pool = "cloud"

[tag_keys]
cost_centre = ["CostCenter"]

[[pools]]
id = "hardware"
name = "Hardware"
owner = "6010"

[[pools]]
id = "cloud"
name = "Public cloud"
owner = "6010"

[[pools]]
id = "overhead"
name = "General overhead"
owner = "6010"

[[pools]]
id = "staff"
name = "Service desk staff"
owner = "6010"

[[pools]]
id = "tier1"
name = "Tier 1 production"
owner = "6010"

[[mapping]]
id = "M1"
when = { tags = { cost_centre = "*" } }
cost_centre_from_tag = "cost_centre"

[[shared]]
id = "S1"
pool = "cloud"
percent = { "1010" = "60", "2010" = "40" }

[[shared]]
id = "S2"
pool = "overhead"
percent = { "1010" = "50", "2010" = "50" }
"""

POLICY = """
[policy]
name = "default"
version = {version}
effective_from = 2026-01-01

[scope]
capitalisation_threshold = "{threshold}"
overhead_pool = "overhead"

[scope.materiality]
"cloud" = "5.00"

[[ownership]]
kind = "laptop"
owner = "business_unit"

[[charging]]
cost_centre = "2010"
mode = "shadow"
change_on = 2027-01-01
then = "chargeback"

[[sensitive]]
pool = "staff"
roles = ["controller"]
"""


def policy(version: int = 1, threshold: str = "2500.00") -> str:
    return POLICY.format(version=version, threshold=threshold)


class PolicyCompany(AllocationCompany):
    """Cost centres 1010 (MFG), 2010 (SALES), 6010 (IT); a production server (6,000), a small
    server (1,200) and a laptop of SALES (3,600), each in an IFRS book; the rule set above."""

    def __init__(self, app) -> None:
        super().__init__(app)
        with app.uow() as uow:
            reference_data.import_accounts(uow=uow, accounts=staged([
                GlAccount("6800", "Depreciation", AccountType.EXPENSE),
                GlAccount("1590", "Accumulated depreciation",
                          AccountType.ACCUMULATED_DEPRECIATION)]))
            reference_data.import_cost_centres(uow=uow, cost_centres=staged([
                CostCentre("1010", "Manufacturing", business_unit="MFG"),
                CostCentre("2010", "Sales", business_unit="SALES"),
                CostCentre("6010", "IT Infrastructure", business_unit="IT")]))
            found = [("SV-1", "server", "1010", "6000.00"), ("SV-2", "server", "1010", "1200.00"),
                     ("LT-9", "laptop", "2010", "3600.00")]
            assets.register_assets(
                uow=uow,
                assets=staged([Asset(tag, tag, kind, centre, purchase_cost=D(cost),  # type: ignore[arg-type]
                                     environment="prod" if tag == "SV-1" else None)  # type: ignore[arg-type]
                               for tag, kind, centre, cost in found]),
                books=staged([DepreciationBook(tag, "IFRS", DepreciationTerms(
                    cost=D(cost), placed_in_service=date(2026, 1, 10),
                    method="straight_line", currency="USD",  # type: ignore[arg-type]
                    convention="full_month", life_months=12),  # type: ignore[arg-type]
                    "6800", "1590") for tag, _, _, cost in found]))
            uow.commit()
        self.save_rules(RULES)
        self.activate(1)

    def set_policy(self, text: str) -> int:
        with self.as_("carol")() as uow:
            saved, _ = policy_service.import_policy(uow=uow, text=text, source="policy.toml",
                                                    reason="test")
            uow.commit()
        with self.as_("dave")() as uow:
            policy_service.activate_policy(uow=uow, version=saved.version, reason="test")
            uow.commit()
        return saved.version

    def depreciate(self, period: str = "2026-10"):
        with self.as_("carol")() as uow:
            run = run_depreciation(uow=uow, period=period)
            uow.commit()
        return run.books[0]


def manual(entry: str, pool: str, amount: str, centre: str | None = None) -> ManualCost:
    return ManualCost(entry, "2026-10", pool, D(amount), "USD", entry, centre)


@pytest.fixture
def company(app) -> PolicyCompany:
    return PolicyCompany(app)


def charged_centres(company, journal_ids) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    with company.app.uow(read_only=True) as uow:
        for journal_id in journal_ids:
            entry = uow.journals.get(journal_id)
            debit = sum((li.amount for li in entry.lines if li.side is Side.DEBIT), D(0))
            assert debit == sum((li.amount for li in entry.lines if li.side is Side.CREDIT),
                                D(0))
            for line in entry.lines:
                if line.side is Side.DEBIT and line.account == "6900":
                    found[line.cost_centre] = found.get(line.cost_centre, D(0)) + line.amount
    return found


def test_the_capitalisation_threshold_moves_assets_between_depreciation_and_expense(
        company) -> None:
    company.set_policy(policy(threshold="2500.00"))
    book = company.depreciate()
    assert book.expensed == (("SV-2", D("1200.00")),)
    with company.app.uow(read_only=True) as uow:
        assert {c.asset_tag for c in uow.depreciation_charges.for_period("2026-10")} == {
            "SV-1", "LT-9"}

    company.set_policy(policy(version=1, threshold="1000.00"))
    book = company.depreciate()
    assert book.expensed == ()
    with company.app.uow(read_only=True) as uow:
        assert {c.asset_tag for c in uow.depreciation_charges.for_period("2026-10")} == {
            "SV-1", "SV-2", "LT-9"}

    # Back to 2,500 with SV-2's charges still stored: the allocation run leaves them out and
    # says why.
    company.set_policy(policy(version=2, threshold="2500.00"))
    run = company.run(ruleset="it@1")
    left_out = {(e.reason, e.reference) for e in run.result.policy.exclusions}
    assert ("below_capitalisation_threshold", "SV-2/IFRS") in left_out
    assert not any(s.line.reference == "SV-2/IFRS" for s in run.result.inputs)
    with company.app.uow(read_only=True) as uow:
        event = [c.event for c in uow.audit.chain() if c.event.action == "allocation.run"][-1]
    assert {"reason": "below_capitalisation_threshold", "reference": "SV-2/IFRS"}.items() <= (
        next(e for e in event.after["policy"]["left_out"]
             if e["reference"] == "SV-2/IFRS").items())


def test_a_business_unit_owned_asset_is_charged_directly_and_in_no_it_pool(company) -> None:
    company.set_policy(policy(threshold="1000.00"))
    company.depreciate()
    run = company.run(ruleset="it@1")
    assert not any("LT-9" in s.line.reference for s in run.result.inputs)
    owned = [e for e in run.result.policy.exclusions if e.reason == "owned_by_business_unit"]
    assert [(e.reference, e.cost_centre, e.amount) for e in owned] == [
        ("LT-9/IFRS", "2010", D("300.00"))]
    assert "SALES" in owned[0].detail
    # Charged directly: the depreciation journal debits the laptop's own cost centre.
    with company.app.uow(read_only=True) as uow:
        depreciation = [j.entry for j in uow.journals.list()
                        if j.entry.source == "depreciation"]
        assert any(li.cost_centre == "2010" and li.amount == D("300.00")
                   for entry in depreciation for li in entry.lines)
        report = policy_service.ownership_report(uow=uow,
                                                 ruleset=uow.rulesets.get("it", 1).ruleset())
    laptop = next(a for a in report["assets"] if a["asset"] == "LT-9")
    assert (laptop["owner"], laptop["business_unit"], laptop["answers"]) == (
        "business_unit", "SALES", "2010")
    assert {p["pool"]: p["owner"] for p in report["pools"]}["hardware"] == "it"
    hardware = {li.cost_centre: li.amount for li in run.result.lines if li.pool == "hardware"}
    assert hardware == {"1010": D("500.00") + D("100.00")}


def test_shadow_chargeback_shows_both_figures_and_posts_only_showback(company) -> None:
    company.set_policy(policy())
    run = company.run(costs=[manual("power", "cloud", "100.00")], ruleset="it@1")
    figures = {(f.cost_centre, f.mode.value): f for f in run.result.policy.modes}
    sales = figures[("2010", "shadow")]
    assert (sales.showback, sales.chargeback, sales.posted) == (D("40.00"), D("40.00"), D(0))
    assert sales.change_on == date(2027, 1, 1) and sales.then.value == "chargeback"
    # Only 1010's share reaches the ledger; no journal carries 2010's chargeback figure.
    assert charged_centres(company, run.journal_ids) == {"1010": D("60.00")}
    with company.app.uow(read_only=True) as uow:
        lines = [li for j in run.journal_ids for li in uow.journals.get(j).lines]
    assert not any(li.cost_centre == "2010" for li in lines)
    assert {li.cost_centre: li.amount for li in lines if li.account == "7990"} == {
        "6010": D("60.00")}


def test_immaterial_costs_go_to_the_overhead_pool_and_are_reported(company) -> None:
    company.set_policy(policy())
    run = company.run(costs=[manual("tiny", "cloud", "4.00", "1010"),
                             manual("big", "cloud", "50.00", "1010")], ruleset="it@1")
    moved = [(e.reference, e.to_pool) for e in run.result.policy.exclusions
             if e.reason == "immaterial"]
    assert moved == [("tiny", "overhead")]
    overhead = {li.cost_centre: li.amount for li in run.result.lines if li.pool == "overhead"}
    assert overhead == {"1010": D("2.00"), "2010": D("2.00")}


def test_a_policy_change_is_a_new_run_and_the_same_policy_reruns_unchanged(company) -> None:
    company.set_policy(policy())
    costs = [manual("power", "cloud", "100.00")]
    first = company.run(costs=costs, ruleset="it@1")
    assert company.run(costs=costs, ruleset="it@1").unchanged
    company.set_policy(policy(version=1, threshold="1000.00"))
    assert not company.run(costs=costs, ruleset="it@1").unchanged
    assert first.result.fingerprint


def test_policy_versions_are_immutable_audited_and_activated_by_a_controller(company) -> None:
    with company.as_("carol")() as uow:
        saved, changes = policy_service.import_policy(uow=uow, text=policy(), source="p.toml")
        _, same = policy_service.import_policy(uow=uow, text=policy(), source="p.toml")
        uow.commit()
    assert (saved.version, changes.created, same.unchanged) == (1, 1, 1)
    with company.as_("carol")() as uow, pytest.raises(PermissionDeniedError):
        policy_service.activate_policy(uow=uow, version=1)
    with company.as_("carol")() as uow, pytest.raises(ConflictError, match="version 1"):
        policy_service.import_policy(uow=uow, text=policy(version=1, threshold="1.00"))
        policy_service.import_policy(uow=uow, text=policy(version=1, threshold="2.00"))
    with company.as_("carol")() as uow, pytest.raises(InputErrors) as caught:
        policy_service.import_policy(uow=uow, text=policy().replace('"shadow"', '"maybe"'),
                                     source="bad.toml")
    assert "bad.toml" in str(caught.value) and "mode" in str(caught.value)
    with company.app.uow(read_only=True) as uow:
        assert [v.version for v in uow.policies.versions()] == [1]
        assert [e.action for e in (c.event for c in uow.audit.chain()) if e.entity == "policy"] == [
            "policy.import"]


def test_a_pool_without_its_metering_falls_back_to_a_coarser_level_with_a_warning(
        company) -> None:
    company.set_policy(policy() + """
[[granularity]]
pool = "cloud"
level = "user"
metering = { user = "seats", device = "devices" }
""")
    run = company.run(costs=[manual("power", "cloud", "100.00")], ruleset="it@1")
    (level,) = run.result.policy.levels
    assert (level.pool, level.target, level.used) == ("cloud", "user", "department")
    assert any("seats" in w and "devices" in w for w in run.result.policy.warnings)


def test_a_tier_1_production_server_carries_its_own_pool(company) -> None:
    company.set_policy(policy(threshold="1000.00") + """
[[tiers]]
name = "tier1"
pool = "tier1"
kinds = ["server"]
environment = "prod"
sla = "99.9%"
""")
    company.depreciate()
    run = company.run(ruleset="it@1")
    by_pool = {(li.pool, li.cost_centre): li.amount for li in run.result.lines}
    assert by_pool[("tier1", "1010")] == D("500.00")
    assert by_pool[("hardware", "1010")] == D("100.00")  # the non-production server
    assert [(e.reference, e.to_pool) for e in run.result.policy.exclusions
            if e.reason == "criticality_tier"] == [("SV-1/IFRS", "tier1")]

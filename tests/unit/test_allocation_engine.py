"""The allocation run: mapping, shared pools, step-down and reciprocal, non-linear costs,
chargeback models, journals and the fingerprint, on small hand-made cost lines."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from ledger.allocation import (
    AllocationError,
    CostLine,
    DepreciationSource,
    LineKind,
    ManualCost,
    ManualSource,
    Reason,
    allocate_period,
    explain,
    impact,
    parse_ruleset,
)
from ledger.books import PeriodCharge
from ledger.errors import InputError
from ledger.journal import Side
from ledger.money import round_to_currency
from ledger.reference import CostCentre, DriverQuantity

PERIOD = "2026-10"
CENTRES = ["1010", "2010", "5010", "6010", "6050", "6090"]
HEADER = """
[ruleset]
name = "test"
version = 1
effective_from = 2026-01-01
expense_account = "6900"
recovery_account = "7990"
central_cost_centre = "6010"
default_pool = "cloud"
{extra}

[tag_keys]
cost_centre = ["CostCenter", "cost-center", "CC"]
team = ["Team", "owner-team"]
"""


def rules(body: str, *, extra: str = "", pools: str | None = None):
    pool_text = pools if pools is not None else """
[[pools]]
id = "cloud"
name = "Public cloud"
owner = "6010"
"""
    header = HEADER.format(extra=extra)
    if 'id = "cloud"' not in pool_text + body:
        header = header.replace('default_pool = "cloud"', "")
    return parse_ruleset(header + pool_text + body, source="test.toml")


class FakeSource:
    """Cost lines given by the test."""

    def __init__(self, lines):
        self.items = list(lines)

    def lines(self, **_):
        return iter(self.items)


def bill(amount: str, *, currency: str = "USD", tags: dict[str, str] | None = None,
         **attributes: str) -> CostLine:
    attrs = {"provider": "AWS", **attributes}
    return CostLine(origin="billing", currency=currency, amount=Decimal(amount),
                    attributes=tuple(sorted(attrs.items())),
                    tags=tuple(sorted((tags or {}).items())), rows=3)


def headcount(**quantities: int) -> list[DriverQuantity]:
    return [DriverQuantity("headcount", code.removeprefix("cc"), PERIOD, Decimal(n))
            for code, n in quantities.items()]


def run(ruleset, lines, drivers=(), centres=CENTRES, period=PERIOD, extra_sources=()):
    """Allocate ``lines`` (and the ``extra_sources``) for ``period`` over ``centres`` (codes, or
    cost centres with their validity), and check what every run must keep: allocated plus
    unallocated is the source total, to the cent, in each currency."""
    cost_centres = [centre if isinstance(centre, CostCentre) else
                    CostCentre(centre, f"Centre {centre}") for centre in centres]
    result = allocate_period(period=period, ruleset=ruleset,
                             sources=[FakeSource(lines), *extra_sources], drivers=drivers,
                             cost_centres=cost_centres)
    assert_conserved(result)
    return result


def amounts(result) -> dict[str, Decimal]:
    return {centre: amount for (centre, _), amount in result.by_cost_centre().items()}


def assert_split(result, expected: dict[str, str]) -> None:
    """The run charged exactly these amounts to these cost centres (and nobody else)."""
    assert amounts(result) == {centre: Decimal(amount) for centre, amount in expected.items()}


def assert_conserved(result) -> None:
    for currency, total in result.source_total.items():
        rounded = round_to_currency(total, currency)
        assert result.allocated_total[currency] + result.unallocated_total[currency] == rounded


CC_TAG = """
[[mapping]]
id = "M-team"
when = { tags = { team = "*" } }
cost_centre_from_tag = "team"
values = { platform = "5010", "sales-emea" = "2010" }

[[mapping]]
id = "M-cc"
when = { tags = { cost_centre = "*" } }
cost_centre_from_tag = "cost_centre"
"""


# -- mapping -----------------------------------------------------------------------------------


def test_the_first_matching_rule_wins_whatever_the_spelling_of_key_and_value() -> None:
    ruleset = rules(CC_TAG)
    result = run(ruleset, [
        bill("10", tags={"Team": "PLATFORM", "CostCenter": "1010"}),  # team rule comes first
        bill("20", tags={"COST-CENTER": " 1010 "}),  # alias in capitals, value with spaces
        bill("30", tags={"cc": "2010"}),
        bill("40", tags={"owner-team": "Sales-EMEA"}),
    ])
    assert_split(result, {"1010": "20.00", "2010": "70.00", "5010": "10.00"})
    assert {(line.cost_centre, line.rule) for line in result.lines} == {
        ("5010", "M-team"), ("1010", "M-cc"), ("2010", "M-cc"), ("2010", "M-team")}


def test_rules_match_billing_attributes_with_globs_case_insensitively() -> None:
    ruleset = rules("""
[[mapping]]
id = "M-net"
when = { service_name = ["*transfer*", "Amazon Virtual Private Cloud"], region = "eu-*" }
cost_centre = "6050"

[[mapping]]
id = "M-sandbox"
when = { sub_account_id = "acct-1?", resource_id = "arn:aws:ec2:*" }
cost_centre = "5010"

[[mapping]]
id = "M-tax"
when = { charge_category = "tax" }
cost_centre = "6010"
""")
    result = run(ruleset, [
        bill("1", service_name="AWS Data Transfer", region="EU-west-1"),
        bill("2", service_name="amazon virtual private cloud", region="eu-central-1"),
        bill("4", service_name="AWS Data Transfer", region="us-east-1"),
        bill("8", sub_account_id="acct-12", resource_id="arn:aws:ec2:i-1"),
        bill("16", sub_account_id="acct-123", resource_id="arn:aws:ec2:i-2"),
        bill("32", charge_category="Tax"),
    ])
    assert_split(result, {"6050": "3.00", "5010": "8.00", "6010": "32.00"})
    assert result.unallocated_total["USD"] == Decimal("20.00")
    assert [gap.reason for gap in result.unallocated] == [Reason.NO_RULE_MATCHED]


def test_unknown_tag_values_stay_unallocated_and_are_reported() -> None:
    ruleset = rules(CC_TAG)
    result = run(ruleset, [
        bill("5", tags={"team": "platfrom"}),  # a typo: not in the team table
        bill("7", tags={"CostCenter": "9999"}),  # not a cost centre
        bill("11"),  # untagged
        bill("13", tags={"team": "platform"}),
    ])
    reasons = {gap.reason: gap.amount for gap in result.unallocated}
    assert reasons == {Reason.UNKNOWN_TAG_VALUE: Decimal("5.00"),
                       Reason.INVALID_COST_CENTRE: Decimal("7.00"),
                       Reason.NO_RULE_MATCHED: Decimal("11.00")}
    unknown = next(g for g in result.unallocated if g.reason is Reason.UNKNOWN_TAG_VALUE)
    assert "platfrom" in unknown.detail and unknown.rule == "M-team"
    invalid = next(g for g in result.unallocated if g.reason is Reason.INVALID_COST_CENTRE)
    assert "9999" in invalid.detail
    assert result.unmatched_tags() == {("", ""): Decimal("11"),
                                       ("CostCenter", "9999"): Decimal("7"),
                                       ("team", "platfrom"): Decimal("5")}
    assert_split(result, {"5010": "13.00"})


def test_an_unknown_tag_value_falls_through_to_a_later_rule() -> None:
    ruleset = rules(CC_TAG + """
[[mapping]]
id = "M-default"
when = { provider = "AWS" }
cost_centre = "6010"
""")
    result = run(ruleset, [bill("5", tags={"team": "platfrom"})])
    assert_split(result, {"6010": "5.00"})
    assert not result.unallocated


def test_a_cost_centre_not_valid_in_the_period_is_not_charged() -> None:
    ruleset = rules(CC_TAG)
    centres = [CostCentre("1010", "Old", valid_to=date(2026, 9, 30)),
               CostCentre("2010", "Sales")]
    result = run(ruleset, [bill("3", tags={"cc": "1010"}), bill("4", tags={"cc": "2010"})],
                 centres=centres)
    assert_split(result, {"2010": "4.00"})
    assert [g.reason for g in result.unallocated] == [Reason.INVALID_COST_CENTRE]


def test_data_transfer_goes_to_the_team_whose_resource_originated_it() -> None:
    ruleset = rules("""
[[mapping]]
id = "M-transfer"
description = "data transfer: to the team of the originating resource"
when = { service_name = "AWS Data Transfer" }
origin_resource = true
""" + CC_TAG)
    result = run(ruleset, [
        bill("100", tags={"cc": "1010"}, service_name="EC2", resource_id="i-1"),
        bill("7.5", service_name="AWS Data Transfer", resource_id="i-1"),
        bill("2.5", service_name="AWS Data Transfer", resource_id="i-unknown"),
    ])
    assert_split(result, {"1010": "107.50"})
    assert {(line.rule, line.amount) for line in result.lines} == {
        ("M-cc", Decimal("100.00")), ("M-transfer", Decimal("7.50"))}
    assert [(g.reason, g.amount) for g in result.unallocated] == [
        (Reason.ORIGIN_NOT_MAPPED, Decimal("2.50"))]


# -- shared pools ------------------------------------------------------------------------------


SHARED = """
[[mapping]]
id = "M-shared"
when = { provider = "AWS" }
shared = true

[[shared]]
id = "S-headcount"
pool = "cloud"
driver = "headcount"
targets = ["1010", "2010", "5010"]
"""


def test_a_shared_pool_split_by_headcount_is_exact_to_the_cent() -> None:
    result = run(rules(SHARED), [bill("600.004"), bill("400.00")],
                 drivers=headcount(cc1010=1, cc2010=1, cc5010=1))
    assert_split(result, {"1010": "333.34", "2010": "333.33", "5010": "333.33"})
    assert result.allocated_total["USD"] == Decimal("1000.00")
    [entry] = result.journals
    assert entry.total("USD") == Decimal("1000.00")
    credit = [line for line in entry.lines if line.side is Side.CREDIT]
    assert [(c.account, c.cost_centre, c.amount) for c in credit] == [
        ("7990", "6010", Decimal("1000.00"))]
    assert {line.account for line in entry.lines if line.side is Side.DEBIT} == {"6900"}


def test_headcount_of_other_periods_is_ignored_and_no_headcount_leaves_the_pool_unallocated(
) -> None:
    drivers = [DriverQuantity("headcount", "1010", "2026-09", Decimal(5))]
    result = run(rules(SHARED), [bill("10")], drivers=drivers)
    assert not result.lines
    assert [(g.reason, g.amount) for g in result.unallocated] == [
        (Reason.NO_DRIVER_QUANTITY, Decimal("10.00"))]


def test_fixed_percentages_and_even_split() -> None:
    pools = """
[[pools]]
id = "cloud"
owner = "6010"

[[pools]]
id = "desk"
owner = "6010"
"""
    ruleset = rules("""
[[mapping]]
id = "M-desk"
when = { service_name = "desk" }
shared = true
pool = "desk"

[[mapping]]
id = "M-cloud"
when = { provider = "AWS" }
shared = true

[[shared]]
id = "S-percent"
pool = "cloud"
percent = { "1010" = "50", "2010" = "30", "5010" = "20" }

[[shared]]
id = "S-even"
pool = "desk"
even = true
targets = ["1010", "2010", "5010"]
""", pools=pools)
    result = run(ruleset, [bill("100"), bill("0.10", service_name="desk")])
    assert_split(result, {"1010": "50.04", "2010": "30.03", "5010": "20.03"})
    assert len(result.journals) == 2


# -- step-down and reciprocal ------------------------------------------------------------------


SERVICE_POOLS = """
[[pools]]
id = "facilities"
name = "Data centre facilities"
owner = "6090"

[[pools]]
id = "infra"
name = "IT infrastructure"
owner = "6010"

[[mapping]]
id = "M-power"
when = { service_name = "power" }
shared = true
pool = "facilities"

[[mapping]]
id = "M-infra"
when = { service_name = "servers" }
shared = true
pool = "infra"
"""


def test_step_down_passes_costs_through_service_pools_in_the_declared_order() -> None:
    ruleset = rules(SERVICE_POOLS + """
[[shared]]
id = "S-facilities"
pool = "facilities"
percent = { "pool:infra" = "60", "1010" = "40" }

[[shared]]
id = "S-infra"
pool = "infra"
percent = { "1010" = "25", "2010" = "75" }
""", extra='order = ["facilities", "infra"]', pools="")
    result = run(ruleset, [bill("1000", service_name="power"), bill("400", service_name="servers")])
    # facilities: 400 to 1010, 600 to infra; infra: (400 + 600) split 25/75
    assert_split(result, {"1010": "650.00", "2010": "750.00"})
    [transfer] = result.transfers
    assert (transfer.from_pool, transfer.to_pool, transfer.amount) == (
        "facilities", "infra", Decimal("600.00"))
    infra = next(s for s in result.splits if s.pool == "infra")
    assert infra.own == 400 and infra.received == (("facilities", Fraction(600)),)
    by_pool = {entry.reference.split()[-1]: entry for entry in result.journals}
    # facilities' owner is credited with all it passed on, infra's owner charged for its share
    facilities = by_pool["facilities"]
    assert {(x.cost_centre, x.side, x.amount) for x in facilities.lines} == {
        ("1010", Side.DEBIT, Decimal("400.00")), ("6010", Side.DEBIT, Decimal("600.00")),
        ("6090", Side.CREDIT, Decimal("1000.00"))}
    assert by_pool["infra"].total("USD") == Decimal("1000.00")


def test_step_down_refuses_a_pool_passing_cost_back_to_a_closed_pool() -> None:
    with pytest.raises(InputError) as raised:
        rules(SERVICE_POOLS + """
[[shared]]
id = "S-facilities"
pool = "facilities"
even = true
targets = ["1010"]

[[shared]]
id = "S-infra"
pool = "infra"
percent = { "pool:facilities" = "10", "2010" = "90" }
""", extra='order = ["facilities", "infra"]', pools="")
    error = raised.value
    assert (error.source, error.row, error.field) == ("test.toml", "shared rule S-infra",
                                                      "targets")
    assert "reciprocal" in error.message


def test_reciprocal_allocation_solves_two_service_departments_serving_each_other() -> None:
    # The textbook case: S1 (60,000) gives 20 % to S2, 40 % to each producing department;
    # S2 (40,000) gives 10 % to S1, 50 % to P1 and 40 % to P2. T1 = 3,200,000/49,
    # T2 = 2,600,000/49; P1 = 2,580,000/49 = 52,653.06, P2 = 2,320,000/49 = 47,346.94.
    pools = """
[[pools]]
id = "s1"
owner = "6010"

[[pools]]
id = "s2"
owner = "6050"
"""
    ruleset = rules("""
[[mapping]]
id = "M-s1"
when = { service_name = "s1" }
shared = true
pool = "s1"

[[mapping]]
id = "M-s2"
when = { service_name = "s2" }
shared = true
pool = "s2"

[[shared]]
id = "S1"
pool = "s1"
percent = { "pool:s2" = "20", "1010" = "40", "2010" = "40" }

[[shared]]
id = "S2"
pool = "s2"
percent = { "pool:s1" = "10", "1010" = "50", "2010" = "40" }
""", extra='method = "reciprocal"', pools=pools)
    result = run(ruleset, [bill("60000", service_name="s1"), bill("40000", service_name="s2")])
    totals = {split.pool: split.total for split in result.splits}
    assert totals == {"s1": Fraction(3_200_000, 49), "s2": Fraction(2_600_000, 49)}
    assert_split(result, {"1010": "52653.06", "2010": "47346.94"})
    exact = {}
    for line in result.lines:
        exact[line.cost_centre] = exact.get(line.cost_centre, 0) + line.exact
    assert exact == {"1010": Fraction(2_580_000, 49), "2010": Fraction(2_320_000, 49)}
    for entry in result.journals:  # balanced by construction; the transfers are journalled
        assert entry.total("USD") > 0
    assert {(t.from_pool, t.to_pool) for t in result.transfers} == {("s1", "s2"), ("s2", "s1")}


def test_pools_that_pass_all_their_cost_to_each_other_cannot_be_solved() -> None:
    pools = """
[[pools]]
id = "a"
owner = "6010"

[[pools]]
id = "b"
owner = "6050"
"""
    ruleset = rules("""
[[mapping]]
id = "M-a"
when = { provider = "AWS" }
shared = true
pool = "a"

[[shared]]
id = "Sa"
pool = "a"
even = true
targets = ["pool:b"]

[[shared]]
id = "Sb"
pool = "b"
even = true
targets = ["pool:a"]
""", extra='method = "reciprocal"', pools=pools)
    with pytest.raises(AllocationError, match="pass all their cost"):
        run(ruleset, [bill("1")])


# -- non-linear costs and policies ---------------------------------------------------------------


def test_a_tiered_rate_card_charges_every_consumer_the_blended_rate_of_the_whole_volume() -> None:
    ruleset = rules("""
[[mapping]]
id = "M-storage"
when = { service_name = "storage" }
shared = true

[[shared]]
id = "S-storage"
pool = "cloud"
driver = "storage_tb"
targets = ["1010", "2010", "5010"]
tiers = [{ up_to = "50", price = "20" }, { price = "10" }]
""")
    drivers = [DriverQuantity("storage_tb", code, PERIOD, Decimal(tb))
               for code, tb in (("1010", 30), ("2010", 30), ("5010", 40))]
    result = run(ruleset, [bill("2000", service_name="storage")], drivers=drivers)
    # 100 TB: 50 at 20 + 50 at 10 = 1,500, i.e. 15 per TB for everyone (not 20 for the first)
    assert_split(result, {"1010": "450.00", "2010": "450.00", "5010": "600.00", "6010": "500.00"})
    owner = next(line for line in result.lines if line.cost_centre == "6010")
    assert owner.kind is LineKind.RATE_DIFFERENCE and not owner.charged
    [entry] = result.journals
    assert entry.total("USD") == Decimal("1500.00")


def test_a_subsidised_pool_recovers_less_its_stated_share() -> None:
    pools = """
[[pools]]
id = "cloud"
owner = "6010"
chargeback = "subsidy"
subsidy_percent = "25"
"""
    result = run(rules(CC_TAG, pools=pools), [bill("100", tags={"cc": "1010"})])
    assert_split(result, {"1010": "75.00", "6010": "25.00"})
    subsidy = next(line for line in result.lines if line.kind is LineKind.SUBSIDY)
    assert subsidy.cost_centre == "6010" and not subsidy.charged
    [entry] = result.journals
    assert entry.total("USD") == Decimal("75.00")


def test_a_showback_pool_is_computed_and_reported_but_not_journalled() -> None:
    pools = """
[[pools]]
id = "cloud"
owner = "6010"
chargeback = "showback"
"""
    result = run(rules(CC_TAG, pools=pools), [bill("100", tags={"cc": "1010"})])
    assert_split(result, {"1010": "100.00"})
    assert not result.journals
    assert not any(line.charged for line in result.lines)


IDLE_RULES = """
[[mapping]]
id = "M-unused"
description = "unused reservation hours"
when = { charge_description = "*unused*" }
idle = true

[[mapping]]
id = "M-shared"
when = { provider = "AWS" }
shared = true

[[shared]]
id = "S-capacity"
pool = "cloud"
driver = "vcpu"
targets = ["1010", "2010"]
capacity = "100"
"""


def idle_run(policy: str):
    pools = f"""
[[pools]]
id = "cloud"
owner = "6010"
{policy}
"""
    drivers = [DriverQuantity("vcpu", "1010", PERIOD, Decimal(50)),
               DriverQuantity("vcpu", "2010", PERIOD, Decimal(30))]
    return run(rules(IDLE_RULES, pools=pools),
               [bill("1000"), bill("50", charge_description="RI unused hours")], drivers=drivers)


def test_idle_capacity_is_spread_over_the_consumers_by_default() -> None:
    result = idle_run('idle = "spread"')
    # 1,000 by 50/30 of the used 80, then the 50 unused spread the same way
    assert_split(result, {"1010": "656.25", "2010": "393.75"})


def test_idle_capacity_charged_to_its_owner_with_a_penalty() -> None:
    result = idle_run('idle = "owner"\nidle_owner = "5010"\nidle_penalty_percent = "10"')
    # capacity 100, used 80: 20 % of 1,000 idle + the 50 unused = 250 to 5010, +10 % penalty
    # (25) credited back to the consumers in proportion to what they pay (500 and 300):
    # 15.625 and 9.375, a tie of half cents that goes to the first
    assert_split(result, {"1010": "484.37", "2010": "290.63", "5010": "275.00"})
    kinds = {(line.cost_centre, line.kind) for line in result.lines}
    assert ("5010", LineKind.IDLE_PENALTY) in kinds and ("1010", LineKind.PENALTY_REBATE) in kinds
    assert result.allocated_total["USD"] == Decimal("1050.00")


def test_idle_capacity_absorbed_centrally() -> None:
    result = idle_run('idle = "central"')
    assert_split(result, {"1010": "500.00", "2010": "300.00", "6010": "250.00"})
    [entry] = result.journals
    assert entry.total("USD") == Decimal("800.00")  # the central part stays where it is


# -- other sources ---------------------------------------------------------------------------


def test_depreciation_and_manual_costs_are_pools_like_billing() -> None:
    pools = """
[[pools]]
id = "hardware"
name = "Depreciation of IT hardware"
owner = "6010"

[[pools]]
id = "desk"
name = "Service desk"
owner = "6010"
"""
    ruleset = rules("""
[[shared]]
id = "S-desk"
pool = "desk"
driver = "headcount"
targets = ["1010", "2010"]
""", pools=pools)
    charges = [PeriodCharge("A-1", "GAAP", PERIOD, "1010", "6800", "1590", Decimal("120.00"),
                            "USD"),
               PeriodCharge("A-2", "GAAP", PERIOD, "2010", "6800", "1590", Decimal("80.00"),
                            "USD"),
               PeriodCharge("A-3", "GAAP", "2026-09", "2010", "6800", "1590", Decimal("1.00"),
                            "USD")]
    manual = [ManualCost("SD-10", PERIOD, "desk", Decimal("3000"), "USD", "desk salaries")]
    result = run(ruleset, [], drivers=headcount(cc1010=2, cc2010=1),
                 extra_sources=[DepreciationSource(charges, pool="hardware"),
                                ManualSource(manual)])
    assert_split(result, {"1010": "2120.00", "2010": "1080.00"})
    assert {line.rule for line in result.lines} == {"depreciation:hardware", "S-desk"}


def test_a_rule_set_outside_its_effective_dates_is_refused() -> None:
    ruleset = rules(CC_TAG)
    with pytest.raises(AllocationError, match="not effective in 2025-12"):
        run(ruleset, [], period="2025-12")


# -- results -----------------------------------------------------------------------------------


def test_the_fingerprint_is_stable_and_changes_with_any_input() -> None:
    ruleset = rules(SHARED)
    lines = [bill(f"{n}.{n:02d}", tags={"cc": str(n)}, service_name=f"s{n}") for n in range(20)]
    drivers = headcount(cc1010=3, cc2010=4, cc5010=5)
    first = run(ruleset, lines, drivers=drivers)
    shuffled = lines[:]
    random.Random(7).shuffle(shuffled)
    again = run(ruleset, shuffled, drivers=drivers)
    assert again.fingerprint == first.fingerprint
    assert again.lines == first.lines and again.journals == first.journals

    changed_amount = run(ruleset, [*lines[:-1], bill("19.20", tags={"cc": "19"},
                                                     service_name="s19")], drivers=drivers)
    changed_driver = run(ruleset, lines, drivers=headcount(cc1010=3, cc2010=4, cc5010=6))
    changed_rules = run(rules(SHARED.replace('"5010"]', '"5010", "6050"]')), lines,
                        drivers=drivers)
    prints = {first.fingerprint, changed_amount.fingerprint, changed_driver.fingerprint,
              changed_rules.fingerprint}
    assert len(prints) == 4
    # the same amount spelt with other trailing zeros is the same input
    zeros = [CostLine(line.origin, line.currency, line.amount.quantize(Decimal("1e-18")),
                      line.attributes, line.tags, line.rows) for line in lines]
    assert run(ruleset, zeros, drivers=drivers).fingerprint == first.fingerprint


def test_explain_names_the_pools_rules_and_source_lines_behind_an_amount() -> None:
    ruleset = rules(CC_TAG + SHARED.replace('id = "M-shared"\nwhen = { provider = "AWS" }',
                                            'id = "M-shared"\nwhen = { provider = "AWS" }'))
    result = run(ruleset, [bill("10", tags={"cc": "1010"}, service_name="EC2"),
                           bill("5", tags={"cc": "1010"}, service_name="S3"),
                           bill("30", service_name="Support")],
                 drivers=headcount(cc1010=1, cc2010=2))
    explanation = explain(result, "1010")
    assert explanation.totals == {"USD": Decimal("25.00")}
    direct, shared = sorted(explanation.items, key=lambda item: item.kind)
    assert direct.kind is LineKind.DIRECT and direct.rule == "M-cc"
    assert sorted(s.line.amount for s in direct.sources) == [Decimal("5"), Decimal("10")]
    assert shared.kind is LineKind.SHARED and shared.share == Fraction(1, 3)
    assert shared.pool_total == 30
    assert [s.line.attribute("service_name") for s in shared.sources] == ["Support"]
    assert explain(result, "5010").items == ()


def test_impact_shows_the_difference_per_cost_centre_of_a_draft_version() -> None:
    active = rules(CC_TAG)
    draft = rules(CC_TAG.replace('platform = "5010"', 'platform = "5010", platfrom = "5010"'))
    lines = [bill("5", tags={"team": "platfrom"}), bill("7", tags={"team": "platform"}),
             bill("3", tags={"cc": "1010"})]
    changes = impact(run(active, lines), run(draft, lines))
    assert [(c.cost_centre, c.before, c.after, c.difference) for c in changes] == [
        ("5010", Decimal("7.00"), Decimal("12.00"), Decimal("5.00")),
        (None, Decimal("5.00"), Decimal("0"), Decimal("-5.00")),
    ]
    assert sum(c.difference for c in changes) == 0


def test_amounts_are_kept_exact_until_the_end_then_quantised_by_largest_remainder() -> None:
    ruleset = rules(CC_TAG)
    lines = [bill("0.001", tags={"cc": code}) for code in ("1010", "2010", "5010")
             for _ in range(3)] + [bill("0.000000000000000001", tags={"cc": "1010"})]
    result = run(ruleset, lines)
    # 0.003 each: rounding per line would give 0.00 everywhere and lose a cent
    assert result.allocated_total["USD"] == Decimal("0.01")
    assert sorted(line.amount for line in result.lines) == [Decimal("0.00"), Decimal("0.00"),
                                                             Decimal("0.01")]
    assert result.source_total["USD"] == Decimal("0.009000000000000001")


def test_credits_and_several_currencies_are_conserved_separately() -> None:
    ruleset = rules(CC_TAG)
    result = run(ruleset, [bill("10.005", tags={"cc": "1010"}),
                           bill("-3.333", tags={"cc": "2010"}),
                           bill("1000", currency="JPY", tags={"cc": "1010"}),
                           bill("-0.4", currency="JPY", tags={"cc": "2010"})])
    # USD: charges round to 10.01 on their own, the credit takes the rest of 6.67 (naive
    # rounding, 10.01 - 3.33, would make 6.68 out of 6.672)
    assert result.by_cost_centre() == {("1010", "JPY"): Decimal("1000"),
                                       ("1010", "USD"): Decimal("10.01"),
                                       ("2010", "JPY"): Decimal("0"),
                                       ("2010", "USD"): Decimal("-3.34")}
    assert result.allocated_total == {"JPY": Decimal("1000"), "USD": Decimal("6.67")}
    entries = {entry.description: entry for entry in result.journals}
    assert len(entries) == 2
    usd = next(e for e in result.journals if "USD" in e.description)
    assert {(x.cost_centre, x.side, x.amount) for x in usd.lines} == {
        ("1010", Side.DEBIT, Decimal("10.01")), ("2010", Side.CREDIT, Decimal("3.34")),
        ("6010", Side.CREDIT, Decimal("6.67"))}


def test_the_demo_rule_set_passes_facilities_through_network_and_cloud() -> None:
    from pathlib import Path

    from ledger.allocation import load_ruleset

    ruleset = load_ruleset(Path(__file__).resolve().parents[2] / "resources" / "rules"
                           / "demo.toml")
    targets = ["1010", "1020", "2010", "2020", "2040", "3010", "5010", "5020", "5050"]
    centres = [*targets, "6010", "6050"]
    drivers = [DriverQuantity("headcount", code, PERIOD, Decimal(10)) for code in targets]
    result = run(ruleset, [
        bill("100", service_name="Amazon Virtual Private Cloud"),
        bill("50", tags={"Team": "Platform"}, service_name="EC2"),
        bill("20", tags={"team": "platfrom"}, service_name="EC2"),  # unknown: shared
        bill("9", charge_category="Tax", service_name="Tax"),
    ], drivers=drivers, centres=centres,
        extra_sources=[ManualSource([ManualCost("DC-1", PERIOD, "facilities", Decimal("1000"),
                                                "USD", "data-centre power")])])
    assert {(t.from_pool, t.to_pool, t.amount) for t in result.transfers} == {
        ("facilities", "network", Decimal("300.00")), ("facilities", "cloud", Decimal("700.00"))}
    subsidy = sum(line.amount for line in result.lines if line.kind is LineKind.SUBSIDY)
    assert subsidy == Decimal("80.00")  # 20 % of the network's 100 + 300
    # the team typo is not shared away with the untagged costs: it is reported
    assert [(g.reason, g.amount) for g in result.unallocated] == [
        (Reason.UNKNOWN_TAG_VALUE, Decimal("20.00"))]
    assert result.allocated_total["USD"] == Decimal("1159.00")
    # Product Engineering: its tagged 50, a ninth of 80 % of the network's 400 (35.56) and a
    # ninth of the cloud's shared 709 (78.78 or 78.77 by largest remainder)
    assert amounts(result)["5010"] in (Decimal("164.34"), Decimal("164.33"))
    # facilities and cloud share an owner (6010): only the part passed to the network's owner
    # is journalled; the network's subsidy moves 80 from its owner 6050 to central IT 6010;
    # every pool's lines sum to its own total to the cent
    by_pool = {entry.reference.split()[-1]: entry.total("USD") for entry in result.journals}
    assert by_pool == {"facilities": Decimal("300.00"), "network": Decimal("400.00"),
                       "cloud": Decimal("759.00")}

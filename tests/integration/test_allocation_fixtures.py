"""The real billing fixtures (FOCUS, AWS CUR, Azure) imported into a cost fact store and
allocated: the source total equals the file's own Decimal sum of the chosen cost column to the
cent, tags the rules do not know stay unallocated and are reported, and every allocated amount
traces back to its source rows."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.billing import import_billing_file
from ledger.allocation import (
    LineKind,
    Reason,
    allocate_period,
    explain,
    load_ruleset,
    parse_ruleset,
    source_rows,
)
from ledger.costfacts import CostFactStore
from ledger.money import round_to_currency
from ledger.reference import CostCentre, DriverQuantity

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "billing"
FOCUS = FIXTURES / "focus_1.0_sample_1000rows.csv"
CUR = FIXTURES / "aws_cur_sample_anonymous.csv"
AZURE = FIXTURES / "azure_ea_cost_export_sample_anonymous.csv"
DEMO_RULES = Path(__file__).resolve().parents[2] / "resources" / "rules" / "demo.toml"

CENTRES = ["1010", "1020", "2010", "2020", "2040", "3010", "5010", "5020", "5050", "6010",
           "6050"]

RULES = """
[ruleset]
name = "fixtures"
version = 1
effective_from = 2023-01-01
cost_basis = "{basis}"
expense_account = "6900"
recovery_account = "7990"
central_cost_centre = "6010"
default_pool = "cloud"

[tag_keys]
cost_centre = ["CostCenter"]
team = ["business_unit"]

[[pools]]
id = "cloud"
name = "Public cloud"
owner = "6010"

[[pools]]
id = "network"
name = "Network"
owner = "6050"

[[mapping]]
id = "M-transfer"
when = {{ service_name = "AWS Data Transfer" }}
origin_resource = true

[[mapping]]
id = "M-cc"
when = {{ tags = {{ cost_centre = "*" }} }}
cost_centre_from_tag = "cost_centre"

[[mapping]]
id = "M-team"
when = {{ tags = {{ team = "*" }} }}
cost_centre_from_tag = "team"
values = {{ peoriadata = "5050", tempeai = "5010", lipadata = "5050" }}

[[mapping]]
id = "M-network"
when = {{ service_name = ["Amazon Virtual Private Cloud", "Virtual Network", "NETWORK"] }}
pool = "network"
shared = true

[[shared]]
id = "S-network"
pool = "network"
driver = "headcount"
targets = ["1010", "2010", "5010"]
"""


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def fixture_sums(rows, *, period_column: str | None, currency_column: str, cost_column: str,
                 period: str) -> dict[str, Decimal]:
    """The file's own exact sum of ``cost_column`` per currency for one billing period (all
    rows when ``period_column`` is None)."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        in_period = period_column is None or row[period_column][:7] == period
        if in_period and row[cost_column] not in ("", "NULL"):
            sums[row[currency_column]] += Decimal(row[cost_column])
    return dict(sums)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> CostFactStore:
    store = CostFactStore(tmp_path_factory.mktemp("allocation") / "costfacts")
    for path in (FOCUS, CUR, AZURE):
        import_billing_file(store, path)
    return store


def allocate(store: CostFactStore, period: str, basis: str = "EffectiveCost"):
    ruleset = parse_ruleset(RULES.format(basis=basis), source="fixtures.toml")
    drivers = [DriverQuantity("headcount", code, period, Decimal(n))
               for code, n in (("1010", 120), ("2010", 45), ("5010", 80))]
    return allocate_period(period=period, ruleset=ruleset, sources=[store], drivers=drivers,
                           cost_centres=[CostCentre(code, f"Centre {code}") for code in CENTRES])


@pytest.mark.parametrize(("basis", "column"), [("EffectiveCost", "EffectiveCost"),
                                                ("BilledCost", "BilledCost")])
def test_focus_sample_allocates_its_own_total_to_the_cent(store, basis, column) -> None:
    expected = fixture_sums(read_rows(FOCUS), period_column="BillingPeriodStart",
                            currency_column="BillingCurrency", cost_column=column,
                            period="2024-09")
    result = allocate(store, "2024-09", basis)
    assert result.source_total == expected  # exact, all source decimals
    for currency, total in expected.items():
        cents = round_to_currency(total, currency)
        assert result.allocated_total[currency] + result.unallocated_total[currency] == cents
    assert all(entry.total("USD") > 0 for entry in result.journals)


def test_focus_tags_the_rules_do_not_know_stay_unallocated_and_are_reported(store) -> None:
    result = allocate(store, "2024-09", "BilledCost")
    reasons = {gap.reason for gap in result.unallocated}
    assert {Reason.UNKNOWN_TAG_VALUE, Reason.NO_RULE_MATCHED, Reason.INVALID_COST_CENTRE} <= (
        reasons)
    unknown = [g.detail for g in result.unallocated if g.reason is Reason.UNKNOWN_TAG_VALUE]
    assert unknown and all("tag team = " in detail for detail in unknown)
    invalid = [g.detail for g in result.unallocated if g.reason is Reason.INVALID_COST_CENTRE]
    assert any("'1234'" in detail for detail in invalid)  # Azure rows tagged CostCenter=1234
    unmatched = result.unmatched_tags()
    assert ("business_unit", "TarakanSRE") in unmatched
    assert ("CostCenter", "1234") in unmatched
    mapped = {line.cost_centre for line in result.lines if line.kind is LineKind.DIRECT}
    assert {"5050", "5010"} <= mapped  # PeoriaData and TempeAI through the team table


def test_cur_and_azure_exports_allocate_their_own_totals(store) -> None:
    cur = fixture_sums(read_rows(CUR), period_column="bill/BillingPeriodStartDate",
                       currency_column="lineItem/CurrencyCode",
                       cost_column="lineItem/UnblendedCost", period="2023-11")
    result = allocate(store, "2023-11", "BilledCost")
    assert result.source_total == cur
    assert result.allocated_total["USD"] + result.unallocated_total["USD"] == (
        round_to_currency(cur["USD"], "USD"))
    # one month, with US dates (9/1/2023) and amounts like 5.64902E-05
    assert {row["BillingPeriodStartDate"] for row in read_rows(AZURE)} == {"9/1/2023"}
    azure = fixture_sums(read_rows(AZURE), period_column=None,
                         currency_column="BillingCurrencyCode",
                         cost_column="CostInBillingCurrency", period="2023-09")
    result = allocate(store, "2023-09", "BilledCost")
    assert result.source_total == azure and list(azure) == ["CAD"]
    assert result.allocated_total["CAD"] + result.unallocated_total["CAD"] == (
        round_to_currency(azure["CAD"], "CAD"))


def test_every_allocated_amount_traces_back_to_source_rows(store) -> None:
    result = allocate(store, "2024-09", "BilledCost")
    explanation = explain(result, "5050")
    direct = [item for item in explanation.items if item.kind is LineKind.DIRECT]
    assert direct and explanation.totals["USD"] > 0
    for item in direct:
        assert sum(s.line.amount for s in item.sources) == item.exact
        for source in item.sources[:4]:  # a query each: a few make the point
            ranges = source_rows(store, result, source)
            assert [r.source_file for r in ranges] == [FOCUS.name]
            assert sum(r.rows for r in ranges) == source.line.rows
            assert all(2 <= r.first_row <= r.last_row <= 1001 for r in ranges)


def test_rerunning_a_period_gives_the_same_result(store) -> None:
    first, again = allocate(store, "2024-09"), allocate(store, "2024-09")
    assert first.fingerprint == again.fingerprint
    assert first.lines == again.lines and first.journals == again.journals


def test_the_demo_rule_set_allocates_the_focus_sample(store) -> None:
    assert load_ruleset(DEMO_RULES).effective_from.year == 2026
    ruleset = parse_ruleset(
        DEMO_RULES.read_text().replace("effective_from = 2026-01-01",
                                       "effective_from = 2024-01-01"), source="demo.toml")
    drivers = [DriverQuantity("headcount", code, "2024-09", Decimal(10 + i))
               for i, code in enumerate(CENTRES[:9])]
    result = allocate_period(period="2024-09", ruleset=ruleset, sources=[store], drivers=drivers,
                             cost_centres=[CostCentre(c, c) for c in CENTRES])
    total = round_to_currency(result.source_total["USD"], "USD")
    assert result.allocated_total["USD"] + result.unallocated_total["USD"] == total
    assert result.journals

"""The real FOCUS, AWS CUR and Azure fixtures, imported into the demo company and allocated
through the services: stored runs whose source total is the file's own sum of the chosen cost
column to the cent, tags the rules do not know left unallocated and reported, balanced draft
journals, and a rerun that changes nothing."""

from __future__ import annotations

import csv
import dataclasses
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.billing import detect_importer
from ledger.money import round_to_currency
from ledger.reference import DriverQuantity
from ledger.services import allocation, reference_data
from ledger.services.costs import import_billing
from ledger.staging import staged

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "billing"
FOCUS = FIXTURES / "focus_1.0_sample_1000rows.csv"
CUR = FIXTURES / "aws_cur_sample_anonymous.csv"
AZURE = FIXTURES / "azure_ea_cost_export_sample_anonymous.csv"
DEMO_RULES = Path(__file__).resolve().parents[2] / "resources" / "rules" / "demo.toml"


def fixture_sum(path: Path, *, cost: str, currency: str, period: str | None = None,
                period_column: str | None = None) -> dict[str, Decimal]:
    """The file's own exact sum of ``cost`` per currency (for one billing period)."""
    sums: dict[str, Decimal] = defaultdict(Decimal)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if period_column is not None and row[period_column][:7] != period:
                continue
            if row[cost] not in ("", "NULL"):
                sums[row[currency]] += Decimal(row[cost])
    return dict(sums)


@pytest.fixture
def loaded(demo_app):
    """The demo company with its cost centres valid back to 2023 (the fixtures' months),
    headcount in those months, the three fixtures imported, and two rule sets: the demo's
    (EffectiveCost) and a copy on BilledCost."""
    store = demo_app.cost_facts()
    text = DEMO_RULES.read_text().replace("effective_from = 2026-01-01",
                                          "effective_from = 2023-01-01")
    with demo_app.uow() as uow:
        centres = [dataclasses.replace(c, valid_from=date(2023, 1, 1))
                   for c in uow.cost_centres.list()]
        reference_data.import_cost_centres(uow=uow, cost_centres=staged(centres, "test"),
                                           reason="fixtures reach back to 2023")
        headcount = [DriverQuantity("headcount", code, period, Decimal(10 + n))
                     for period in ("2023-09", "2023-11", "2024-09")
                     for n, code in enumerate(["1010", "2010", "3010", "5010", "5050"])]
        allocation.import_drivers(uow=uow, rows=staged(headcount, "test"))
        for path in (FOCUS, CUR, AZURE):
            import_billing(uow=uow, store=store, path=path, importer=detect_importer(path))
        allocation.import_ruleset(uow=uow, text=text.replace('name = "demo"',
                                                             'name = "fixtures"'),
                                  source="fixtures.toml", reason="effective")
        allocation.activate(uow=uow, name="fixtures", version=1)
        allocation.import_ruleset(
            uow=uow, text=text.replace('name = "demo"', 'name = "fixtures"').replace(
                'cost_basis = "EffectiveCost"', 'cost_basis = "BilledCost"'),
            source="fixtures-billed.toml", reason="billed")
        uow.commit()
    return demo_app, store


def run(app, store, period: str, ruleset: str):
    with app.uow() as uow:
        result = allocation.allocate(uow=uow, store=store, period=period, ruleset=ruleset)
        uow.commit()
    return result


def test_the_focus_fixture_allocates_its_own_effective_cost_to_the_cent(loaded) -> None:
    app, store = loaded
    expected = fixture_sum(FOCUS, cost="EffectiveCost", currency="BillingCurrency",
                           period="2024-09", period_column="BillingPeriodStart")
    outcome = run(app, store, "2024-09", "fixtures@1")
    result = outcome.result
    assert result.source_total == expected
    with app.uow(read_only=True) as uow:
        stored = uow.allocation_runs.get(outcome.run_id)
        gaps = uow.allocation_runs.gaps(outcome.run_id)
        journals = [uow.journals.get(i) for i in outcome.journal_ids]
    assert stored is not None and stored.conserved and stored.cost_basis == "EffectiveCost"
    total = stored.totals[0]
    assert total.source_total == expected["USD"]
    assert total.allocated_total + total.unallocated_total == round_to_currency(
        expected["USD"], "USD")
    # The fixture's teams (TarakanSRE ...) are not in the demo's team table: reported.
    assert {g.reason for g in gaps} >= {"unknown_tag_value"}
    assert any("PeoriaData" in g.detail for g in gaps if g.reason == "unknown_tag_value")
    assert journals and all(j is not None and j.source == "allocation" for j in journals)
    for journal in journals:
        assert journal.totals == {c: sum((li.amount for li in journal.lines
                                          if li.currency == c and li.side.value == "credit"),
                                         Decimal(0)) for c in journal.totals}


def test_cur_and_azure_allocate_their_billed_cost_and_reruns_never_double(loaded) -> None:
    app, store = loaded
    cur = fixture_sum(CUR, cost="lineItem/UnblendedCost", currency="lineItem/CurrencyCode",
                      period="2023-11", period_column="bill/BillingPeriodStartDate")
    azure = fixture_sum(AZURE, cost="CostInBillingCurrency", currency="BillingCurrencyCode")
    aws = run(app, store, "2023-11", "fixtures@2").result
    assert aws.source_total == cur
    assert aws.allocated_total["USD"] + aws.unallocated_total["USD"] == (
        round_to_currency(cur["USD"], "USD"))
    second = run(app, store, "2023-09", "fixtures@2").result
    assert second.source_total == azure and list(azure) == ["CAD"]
    assert second.allocated_total["CAD"] + second.unallocated_total["CAD"] == (
        round_to_currency(azure["CAD"], "CAD"))
    # Rerunning a month with the same inputs changes nothing and doubles no journal.
    first = run(app, store, "2024-09", "fixtures@1")
    again = run(app, store, "2024-09", "fixtures@1")
    assert again.unchanged and again.run_id == first.run_id
    assert again.journal_ids == first.journal_ids
    # Another version of the rule set for the same month supersedes the first run and
    # replaces its drafts: never two sets of allocation journals for one month.
    other = run(app, store, "2024-09", "fixtures@2")
    with app.uow(read_only=True) as uow:
        runs = uow.allocation_runs.list(period="2024-09")
        drafts = [j for j in uow.journals.list(period="2024-09") if j.entry.source == "allocation"]
    assert [r.status.value for r in runs] == ["superseded", "draft"]
    assert sorted(j.id for j in drafts) == sorted(other.journal_ids)
    assert not set(first.journal_ids) & {j.id for j in drafts}

"""Allocation runs through the services: stored, conserved to the cent, journalled once;
explain, impact, the exceptions register and invoice validation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connectors.allocation_files import file_sha256, read_invoices, read_manual_costs
from connectors.billing import detect_importer
from ledger.access import Role
from ledger.allocation.exceptions import AllocationException
from ledger.errors import ConflictError, InputErrors, PermissionDeniedError
from ledger.journal import Side
from ledger.services import allocation, journals
from ledger.services.costs import import_billing, remove_import
from ledger.services.users import grant_role
from tests.services.allocation_support import AllocationCompany, focus_file, manual, rules

D = Decimal


@pytest.fixture
def company(app) -> AllocationCompany:
    company = AllocationCompany(app)
    company.save_rules(rules())
    company.activate(1)
    return company


def debits(company, journal_ids) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    with company.app.uow(read_only=True) as uow:
        for journal_id in journal_ids:
            entry = uow.journals.get(journal_id)
            assert entry.totals["USD"] == sum(
                (li.amount for li in entry.lines if li.side is Side.CREDIT), D(0))
            for line in entry.lines:
                if line.side is Side.DEBIT:
                    found[line.cost_centre] = found.get(line.cost_centre, D(0)) + line.amount
    return found


def test_a_run_conserves_every_cent_and_a_rerun_never_doubles(company) -> None:
    costs = [manual("1000.005"), manual("-0.01", entry="rebate"),
             manual("33.333", cost_centre="2010", entry="direct")]
    first = company.run(costs=costs)
    assert first.result.source_total == {"USD": D("1033.328")}
    assert first.result.allocated_total["USD"] == D("1033.33")
    assert debits(company, first.journal_ids) == {"1010": D("600.00"), "2010": D("433.33")}
    again = company.run(costs=costs)
    assert again.unchanged and again.journal_ids == first.journal_ids
    changed = company.run(costs=[*costs, manual("10.00", entry="more")])
    with company.app.uow(read_only=True) as uow:
        runs = uow.allocation_runs.list(period="2026-10")
        drafts = [j.id for j in uow.journals.list(period="2026-10")]
        stored = uow.allocation_runs.get(changed.run_id)
    assert [r.status.value for r in runs] == ["superseded", "draft"]
    assert drafts == list(changed.journal_ids)
    assert stored.totals[0].allocated_total + stored.totals[0].unallocated_total == D("1043.33")


def test_journals_beyond_draft_stop_a_rerun_and_leave_everything_as_it_was(company) -> None:
    first = company.run(costs=[manual("500.00")])
    with company.as_("carol")() as uow:
        journals.submit_journal(uow=uow, journal_id=first.journal_ids[0])
        uow.commit()
    with pytest.raises(ConflictError, match="beyond draft"):
        company.run(costs=[manual("600.00")])
    with company.app.uow(read_only=True) as uow:
        assert [r.id for r in uow.allocation_runs.list()] == [first.run_id]
        assert [j.status.value for j in uow.journals.list()] == ["submitted"]


def test_a_showback_pool_is_reported_but_journals_nothing(company) -> None:
    company.save_rules(rules(chargeback="showback"))
    outcome = company.run(costs=[manual("100.00")], ruleset="it@2")
    assert outcome.result.allocated_total == {"USD": D("100.00")}
    assert outcome.journal_ids == ()


def test_a_dry_run_stores_nothing_and_needs_only_read_access(company) -> None:
    with company.app.uow() as uow:
        grant_role(uow=uow, login="vera", role=Role.VIEWER)
        uow.commit()
    outcome = company.run(costs=[manual("100.00")], login="vera", dry_run=True)
    assert outcome.run_id is None and outcome.result.allocated_total == {"USD": D("100.00")}
    with pytest.raises(PermissionDeniedError):
        company.run(costs=[manual("100.00")], login="vera")


def test_impact_shows_each_cost_centre_before_anyone_activates_the_draft(company) -> None:
    company.save_rules(rules(share="75"))
    with company.as_("carol")() as uow:
        data = allocation.impact_of(uow=uow, store=None, period="2026-10", ruleset="it@2",
                                    extra_sources=[allocation.manual_source([manual("200.00")])])
    assert (data["active"], data["draft"]) == ("it@1", "it@2")
    assert [(li["cost_centre"], li["before"], li["after"], li["difference"])
            for li in data["lines"]] == [("1010", D("120.00"), D("150.00"), D("30.00")),
                                         ("2010", D("80.00"), D("50.00"), D("-30.00"))]
    assert data["rule_changes"] == ["changed shared S1 (percent: [[1010, 60], [2010, 40]] -> "
                                    "[[1010, 75], [2010, 25]])"]


@pytest.fixture
def billing(company, tmp_path):
    """A month of cloud billing: 1010's SageMaker spike, its EC2, and 2010's EC2."""
    store = company.app.cost_facts()
    path = focus_file(tmp_path / "october.csv", [
        ("ACC-1", "Amazon SageMaker", "nb-1", "900.00", {"CostCenter": "1010"}),
        ("ACC-1", "Amazon Elastic Compute Cloud", "i-1", "100.00", {"cc": "1010"}),
        ("ACC-2", "Amazon Elastic Compute Cloud", "i-2", "50.00", {"costcenter": "2010"}),
    ])
    with company.as_("carol")() as uow:
        import_billing(uow=uow, store=store, path=path, importer=detect_importer(path))
        uow.commit()
    return store


def test_an_exception_moves_exactly_what_it_says_shows_in_explain_and_expires(company, billing
                                                                              ) -> None:
    with company.app.uow() as uow:
        grant_role(uow=uow, login="carol", role=Role.CONTROLLER)  # to try approving her own
        uow.commit()
    spike = AllocationException(
        id=0, title="October ML spike absorbed centrally", owner="ann@meridian.example",
        cost_centre="1010", service="amazon sagemaker", period_from="2026-10",
        period_to="2026-10", expires_on=date(2026, 11, 30), share_percent=D(100))
    with company.as_("carol")() as uow:
        exception_id = allocation.propose_exception(uow=uow, exception=spike,
                                                    reason="one-off model training")
        uow.commit()
    before = company.run(store=billing)
    assert before.result.by_cost_centre()[("1010", "USD")] == D("1000.00")  # not approved yet
    with company.as_("carol")() as uow, pytest.raises(PermissionDeniedError, match="maker"):
        allocation.approve_exception(uow=uow, exception_id=exception_id)
    with company.as_("dave")() as uow:
        allocation.approve_exception(uow=uow, exception_id=exception_id)
        uow.commit()

    during = company.run(store=billing)
    amounts = during.result.by_cost_centre()
    assert amounts[("1010", "USD")] == D("100.00")
    assert amounts[("6010", "USD")] == D("900.00")  # the owner: absorbed, not charged
    assert during.result.allocated_total == before.result.allocated_total
    assert debits(company, during.journal_ids) == {"1010": D("100.00"), "2010": D("50.00")}
    with company.app.uow(read_only=True) as uow:
        explained = allocation.explain_run(uow=uow, store=billing, run_id=during.run_id,
                                           cost_centre="1010")
        central = allocation.explain_run(uow=uow, store=billing, run_id=during.run_id,
                                         cost_centre="6010")
        stored = uow.allocation_runs.get(during.run_id)
    assert stored.exceptions == (exception_id,)
    for data, amount in ((explained, D("-900.00")), (central, D("900.00"))):
        item = next(i for i in data["items"] if i["kind"] == "exception")
        assert data["current"] and item["amount"] == amount
        assert "October ML spike" in item["note"] and "expires 2026-11-30" in item["note"]
        assert [s["attributes"]["service_name"] for s in item["sources"]] == ["Amazon SageMaker"]

    company.app.uow.clock.current = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # expired
    after = company.run(store=billing)
    assert after.result.by_cost_centre() == before.result.by_cost_centre()
    assert not after.result.exceptions and after.result.fingerprint == before.result.fingerprint


def test_explain_names_the_rule_and_the_billing_rows_behind_an_amount(company, billing) -> None:
    outcome = company.run(store=billing)
    with company.app.uow(read_only=True) as uow:
        data = allocation.explain_run(uow=uow, store=billing, run_id=outcome.run_id,
                                      cost_centre="2010")
    assert data["totals"] == {"USD": D("50.00")}
    [item] = data["items"]
    assert (item["rule"], item["kind"], item["source_count"]) == ("M1", "direct", 1)
    assert item["sources"][0]["tags"] == {"costcenter": "2010"}
    assert item["sources"][0]["rows"] == 1


def test_invoices_are_checked_against_the_billing_to_the_cent(company, billing, tmp_path
                                                              ) -> None:
    path = tmp_path / "invoices.csv"
    path.write_text("invoice_id,billing_account_id,billing_period,amount,currency\n"
                    "INV-1,ACC-1,2026-10,600.00,usd\nINV-2,ACC-1,2026-10,400.00,USD\n"
                    "INV-3,ACC-2,2026-10,50.01,USD\n")
    lines = read_invoices(path)
    for expected in (3, 0):  # the same file twice: stored once
        with company.as_("carol")() as uow:
            changes = allocation.import_invoices(uow=uow, file_name=path.name,
                                                 sha256=file_sha256(path), lines=lines)
            uow.commit()
        assert changes.created == expected
    with company.app.uow(read_only=True) as uow:
        checks = allocation.check_invoices(uow=uow, store=billing)
    assert [(c.invoice_ids, c.billing_account_id, c.invoiced, c.billed, c.difference)
            for c in checks] == [
        (("INV-1", "INV-2"), "ACC-1", D("1000.00"), D("1000.00"), D("0.00")),
        (("INV-3",), "ACC-2", D("50.01"), D("50.00"), D("0.01"))]


def test_manual_costs_are_stored_once_and_reach_the_run(company, tmp_path) -> None:
    path = tmp_path / "manual.csv"
    path.write_text("id,period,pool,amount,currency,description,cost_centre\n"
                    "DC-2026-10,2026-10,cloud,1000.00,USD,data-centre power,\n"
                    "SD-2026-10,2026-10,cloud,250.50,usd,service desk,2010\n")
    costs = read_manual_costs(path)
    for created in (2, 0):
        with company.as_("carol")() as uow:
            changes = allocation.import_manual_costs(uow=uow, costs=costs, reason="October")
            uow.commit()
        assert changes.created == created
    outcome = company.run()
    assert outcome.result.source_total == {"USD": D("1250.50")}
    assert debits(company, outcome.journal_ids) == {"1010": D("600.00"), "2010": D("650.50")}
    bad = tmp_path / "bad.csv"
    bad.write_text("id,period,pool,amount,currency\nX,2026-10,cloud,ten,USD\n")
    with pytest.raises(InputErrors) as refused:
        read_manual_costs(bad)
    assert [(e.row, e.field) for e in refused.value.errors] == [(2, "amount")]


def test_explain_falls_back_to_the_stored_lineage_once_the_inputs_change(company, billing
                                                                         ) -> None:
    outcome = company.run(store=billing)
    [record] = billing.imports()
    with company.as_("carol")() as uow:
        remove_import(uow=uow, store=billing, import_id=record.import_id, reason="re-issued")
        uow.commit()
    with company.app.uow(read_only=True) as uow:
        data = allocation.explain_run(uow=uow, store=billing, run_id=outcome.run_id,
                                      cost_centre="1010")
    assert data["current"] is False and data["totals"] == {"USD": D("1000.00")}
    [item] = data["items"]
    assert (item["rule"], item["source_count"]) == ("M1", 2)
    assert sorted((s["amount"], s["tags"]) for s in item["sources"]) == [
        (D("100"), {"cc": "1010"}), (D("900"), {"CostCenter": "1010"})]


def test_a_usage_driver_is_derived_from_the_billing_by_the_mapping_rules(company, billing
                                                                         ) -> None:
    for expected in (2, 0):  # the same billing again: nothing changes
        with company.as_("carol")() as uow:
            changes = allocation.derive_usage_driver(uow=uow, store=billing, period="2026-10",
                                                     driver="cloud_usage")
            uow.commit()
        assert changes.created == expected
    with company.app.uow(read_only=True) as uow:
        usage = {q.cost_centre: q.quantity
                 for q in uow.driver_revisions.quantities(driver="cloud_usage")}
        revision = uow.driver_revisions.latest("cloud_usage")
    assert usage == {"1010": D("1000.00"), "2010": D("50.00")}
    assert revision.revision == 1

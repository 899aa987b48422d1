"""The policy routes costs the engine's rules would otherwise place: immaterial billing goes to
the overhead pool, a pool without its metering splits by the coarser level's driver, a pool a
business unit owns goes straight to that unit, and the run keeps its policy report by run id.
Every cent is conserved and the report says what moved and why."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.billing import detect_importer
from ledger.journal import Side
from ledger.reference import DriverQuantity
from ledger.services import reference_data
from ledger.services.costs import import_billing
from ledger.services.policy import report_json
from ledger.services.reports import statement
from ledger.staging import staged
from tests.services.allocation_support import focus_file
from tests.services.test_policy_runs import RULES, PolicyCompany, manual, policy

D = Decimal

#: The rule set of test_policy_runs with the service desk split by seat assignments.
SEAT_RULES = RULES.replace("version = 1", "version = 2") + """
[[shared]]
id = "S3"
pool = "staff"
driver = "seats"
targets = ["1010", "2010"]
"""

PER_USER = """
[[granularity]]
pool = "staff"
level = "user"
metering = { user = "seats", department = "headcount" }
"""

SALES_OWN_CLOUD = """
[[ownership]]
pool = "cloud"
owner = "business_unit"
business_unit = "SALES"
cost_centre = "2010"
answers = "head of sales operations"
"""


@pytest.fixture
def company(app) -> PolicyCompany:
    return PolicyCompany(app)


def billing(company, tmp_path, rows):
    store = company.app.cost_facts()
    path = focus_file(tmp_path / "october.csv", rows)
    with company.as_("carol")() as uow:
        import_billing(uow=uow, store=store, path=path, importer=detect_importer(path))
        uow.commit()
    return store


def by_pool(run) -> dict[str, dict[str, Decimal]]:
    found: dict[str, dict[str, Decimal]] = {}
    for line in run.result.lines:
        pool = found.setdefault(line.pool, {})
        pool[line.cost_centre] = pool.get(line.cost_centre, D(0)) + line.amount
    return found


def conserved(run) -> None:
    for currency, total in run.result.source_total.items():
        assert (run.result.allocated_total[currency] + run.result.unallocated_total[currency]
                == total.quantize(D("0.01")))


def debits_of_pool(company, run, pool: str) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    with company.app.uow(read_only=True) as uow:
        for journal_id in run.journal_ids:
            entry = uow.journals.get(journal_id)
            if not entry.reference.endswith(f" {pool}"):
                continue
            for li in entry.lines:
                if li.side is Side.DEBIT:
                    found[li.cost_centre] = found.get(li.cost_centre, D(0)) + li.amount
    return found


def test_immaterial_billing_lines_go_to_the_overhead_pool_every_cent_kept(company,
                                                                          tmp_path) -> None:
    company.set_policy(policy())  # cloud's materiality threshold is 5.00
    store = billing(company, tmp_path, [
        ("ACC-1", "Amazon Elastic Compute Cloud", "i-1", "100.00", {"CostCenter": "1010"}),
        ("ACC-2", "Amazon Simple Storage Service", "b-1", "3.01", {"CostCenter": "2010"}),
        ("ACC-3", "Amazon Athena", "q-1", "0.70", {"Team": "nobody"}),  # no rule: unallocated
    ])
    run = company.run(store=store, ruleset="it@1")
    pools = by_pool(run)
    # 2010's 3.01 of storage is below cloud's threshold: split 50/50 by overhead's rule S2.
    assert pools["cloud"] == {"1010": D("100.00")}
    assert sum(pools["overhead"].values()) == D("3.01")
    assert set(pools["overhead"]) == {"1010", "2010"}
    assert run.result.unallocated_total["USD"] == D("0.70")
    conserved(run)
    (moved,) = [e for e in run.result.policy.exclusions if e.reason == "immaterial"]
    assert (moved.origin, moved.pool, moved.to_pool, moved.cost_centre, moved.amount) == (
        "billing", "cloud", "overhead", "2010", D("3.01"))
    assert "5.00" in moved.detail and "M1" in moved.detail
    # The run's report is kept with the run and read back by its id.
    with company.app.uow(read_only=True) as uow:
        stored = uow.policies.report(run.run_id)
    assert stored == report_json(run.result.policy)
    assert any(e["reason"] == "immaterial" and D(e["amount"]) == D("3.01")
               for e in stored["left_out"])


def test_a_pool_splits_by_its_metering_and_by_the_coarser_driver_without_it(company) -> None:
    company.save_rules(SEAT_RULES, based_on=1)
    company.activate(2)
    company.set_policy(policy() + PER_USER)
    with company.app.uow() as uow:
        reference_data.set_driver_quantities(uow=uow, quantities=staged([
            DriverQuantity("headcount", "1010", "2026-10", D(30)),
            DriverQuantity("headcount", "2010", "2026-10", D(10))]))
        uow.commit()
    desk = [manual("desk", "staff", "100.00")]

    fallback = company.run(costs=desk, ruleset="it@2")
    assert by_pool(fallback)["staff"] == {"1010": D("75.00"), "2010": D("25.00")}  # headcount
    (level,) = fallback.result.policy.levels
    assert (level.target, level.used) == ("user", "department")
    assert "headcount" in level.split and "seats" in level.split
    assert any("seats" in w and "headcount" in w for w in fallback.result.policy.warnings)
    conserved(fallback)
    # The cost owner's statement gives the driver that split it, not the rule's missing one.
    with company.app.uow(read_only=True) as uow:
        lines = statement(uow=uow, cost_centre="1010", period="2026-10").lines
    (desk_line,) = [li for li in lines if li.rule == "S3"]
    assert desk_line.basis.startswith("by headcount: 30 of 40 (75.00%)")
    assert "(policy: split by headcount per department instead of seats)" in desk_line.basis

    with company.app.uow() as uow:
        reference_data.set_driver_quantities(uow=uow, quantities=staged([
            DriverQuantity("seats", "1010", "2026-10", D(1)),
            DriverQuantity("seats", "2010", "2026-10", D(3))]))
        uow.commit()
    metered = company.run(costs=desk, ruleset="it@2")
    assert by_pool(metered)["staff"] == {"1010": D("25.00"), "2010": D("75.00")}  # seats
    (level,) = metered.result.policy.levels
    assert (level.used, level.split, level.warning) == ("user", "", "")
    assert not metered.unchanged


def test_without_any_metering_the_pool_splits_evenly_per_department(company) -> None:
    company.save_rules(SEAT_RULES, based_on=1)
    company.activate(2)
    company.set_policy(policy() + PER_USER.replace(', department = "headcount"', ""))
    run = company.run(costs=[manual("desk", "staff", "100.01")], ruleset="it@2")
    assert sorted(by_pool(run)["staff"].values()) == [D("50.00"), D("50.01")]
    (level,) = run.result.policy.levels
    assert level.used == "department" and "evenly" in level.split
    conserved(run)


def test_a_pool_owned_by_a_business_unit_goes_straight_to_it(company, tmp_path) -> None:
    company.set_policy(policy() + SALES_OWN_CLOUD)
    store = billing(company, tmp_path, [
        ("ACC-1", "Amazon Elastic Compute Cloud", "i-1", "100.00", {"CostCenter": "1010"}),
        ("ACC-2", "Amazon Simple Storage Service", "b-1", "3.00", {"CostCenter": "2010"}),
    ])
    run = company.run(costs=[manual("power", "cloud", "50.00"),
                             manual("desk", "staff", "10.00", "1010")],
                      store=store, ruleset="it@1")
    pools = by_pool(run)
    # Everything of cloud, tagged to 1010 or shared by rule S1, is SALES's own cost on 2010;
    # the immaterial 3.00 does not pass through the overhead pool either.
    assert pools["cloud"] == {"2010": D("153.00")}
    assert "overhead" not in pools
    assert not any(s.pool == "cloud" for s in run.result.splits)
    assert pools["staff"] == {"1010": D("10.00")}
    conserved(run)
    owned = [e for e in run.result.policy.exclusions if e.reason == "owned_by_business_unit"]
    assert sum((e.amount for e in owned), D(0)) == D("153.00")
    assert {e.cost_centre for e in owned} == {"2010"} and all("SALES" in e.detail
                                                              for e in owned)
    # 2010 is in shadow chargeback: shown, not posted; so cloud journals nothing.
    assert debits_of_pool(company, run, "cloud") == {}
    with company.app.uow(read_only=True) as uow:
        from ledger.services.policy import ownership_report
        report = ownership_report(uow=uow, ruleset=uow.rulesets.get("it", 1).ruleset())
    cloud = next(p for p in report["pools"] if p["pool"] == "cloud")
    assert (cloud["owner"], cloud["business_unit"], cloud["charged_to"], cloud["answers"]) == (
        "business_unit", "SALES", "2010", "head of sales operations")


def test_a_business_unit_pool_in_chargeback_is_journalled_to_the_unit_only(company,
                                                                           tmp_path) -> None:
    company.set_policy(policy().replace('mode = "shadow"', 'mode = "chargeback"')
                       + SALES_OWN_CLOUD)
    run = company.run(costs=[manual("power", "cloud", "50.00")], ruleset="it@1")
    assert by_pool(run)["cloud"] == {"2010": D("50.00")}
    assert debits_of_pool(company, run, "cloud") == {"2010": D("50.00")}


def test_a_run_without_a_policy_keeps_no_report(company) -> None:
    run = company.run(costs=[manual("power", "cloud", "100.00")], ruleset="it@1")
    with company.app.uow(read_only=True) as uow:
        assert uow.policies.report(run.run_id) is None


def test_reports_of_runs_stored_before_the_table_are_recovered_from_their_audit_events(
        company) -> None:
    from alembic import command

    from ledger.persistence import migrate

    company.set_policy(policy())
    run = company.run(costs=[manual("power", "cloud", "100.00")], ruleset="it@1")
    with company.app.uow(read_only=True) as uow:
        kept = uow.policies.report(run.run_id)
    config = migrate._config()
    with company.app.engine.connect() as connection, connection.begin():
        config.attributes["connection"] = connection
        command.downgrade(config, "0017_reports_more")  # the table and its rows are gone
    assert migrate.upgrade(company.app.engine) is True
    with company.app.uow(read_only=True) as uow:
        assert uow.policies.report(run.run_id) == kept
    assert any(f["cost_centre"] == "2010" and f["mode"] == "shadow" for f in kept["charging"])

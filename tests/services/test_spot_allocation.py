"""Spot and burstable instances inside an allocation run: runs imported once, the instances'
billing split by run-time hours and CPU credits, nothing dropped, every cent conserved."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from client.cli import cli
from connectors.allocation_files import file_sha256
from connectors.billing import detect_importer
from connectors.kubernetes import read_spot_runs_csv
from ledger.allocation import parse_ruleset, to_toml
from ledger.allocation.rules import content_hash
from ledger.errors import InputError
from ledger.services import allocation, spot
from ledger.services.costs import import_billing
from tests.services.allocation_support import FOCUS_COLUMNS, AllocationCompany

D = Decimal

RULES = """
[ruleset]
name = "it"
version = 1
effective_from = 2026-01-01
expense_account = "6900"
recovery_account = "7990"
central_cost_centre = "6010"
default_pool = "cloud"

[tag_keys]
cost_centre = ["CostCenter", "cc"]

[[pools]]
id = "cloud"
name = "Public cloud"
owner = "6010"

[[mapping]]
id = "WORKLOAD"
when = { tags = { workload = "*" } }
cost_centre_from_tag = "workload"

[[mapping]]
id = "TAGGED"
when = { tags = { cost_centre = "*" } }
cost_centre_from_tag = "cost_centre"
"""
SPOT = """
[[spot]]
id = "batch"
resource_ids = ["i-spot-*", "i-burst-1"]
"""

RUNS = """resource_id,workload,started_at,ended_at,interrupted,cpu_credits
i-spot-1,1010,2026-10-01T00:00:00Z,2026-10-11T00:00:00Z,true,
i-spot-1,2010,2026-09-30T18:00:00Z,2026-10-01T06:00:00Z,false,
i-spot-1,2010,2026-10-20T00:00:00Z,,false,
i-burst-1,1010,2026-10-01T00:00:00Z,2026-10-16T00:00:00Z,false,30
i-burst-1,2010,2026-10-16T00:00:00Z,2026-11-01T00:00:00Z,false,10
"""


def billing_file(path: Path) -> Path:
    """A FOCUS file with ChargeDescription (the CPU-credit surcharge is told by it)."""
    rows = [("i-spot-1", "Amazon EC2", "Spot usage", "100.00", {"CostCenter": "6010"}),
            ("i-burst-1", "Amazon EC2", "t3.large usage", "30.00", {}),
            ("i-burst-1", "Amazon EC2", "T3 CPU Credits", "10.00", {}),
            ("i-spot-2", "Amazon EC2", "Spot usage", "7.77", {"CostCenter": "6010"}),
            ("db-1", "Amazon RDS", "db usage", "50.00", {"cc": "2010"})]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow((*FOCUS_COLUMNS, "ChargeDescription"))
        for resource, service, description, cost, tags in rows:
            writer.writerow(["2026-10-01 00:00:00", "2026-10-05 00:00:00", "AWS", "ACC-1",
                             "sub-1", service, resource, "Usage", cost, cost, "USD",
                             json.dumps(tags) if tags else "NULL", description])
    return path


def import_runs(company: AllocationCompany, path: Path):
    runs = read_spot_runs_csv(path)
    with company.as_("carol")() as uow:
        outcome = spot.import_runs(uow=uow, source=runs.source, records=runs.records,
                                   sha256=file_sha256(path))
        uow.commit()
    return outcome


@pytest.fixture
def company(app, tmp_path) -> tuple[AllocationCompany, object, Path]:
    company = AllocationCompany(app)
    company.save_rules(RULES + SPOT)
    company.activate(1)
    store = app.cost_facts()
    path = billing_file(tmp_path / "october.csv")
    with company.as_("carol")() as uow:
        import_billing(uow=uow, store=store, path=path, importer=detect_importer(path))
        uow.commit()
    runs = tmp_path / "runs.csv"
    runs.write_text(RUNS, encoding="utf-8")
    return company, store, runs


def test_a_run_charges_spot_by_hours_and_credits_and_conserves_every_cent(company) -> None:
    company, store, runs = company
    assert import_runs(company, runs).records == 5
    outcome = company.run(store=store)
    result = outcome.result
    assert result.source_total["USD"] == D("197.77")
    assert result.allocated_total["USD"] + result.unallocated_total["USD"] == D("197.77")
    # Hand computation (October = 744 hours):
    #   i-spot-1 100.00: 1010 ran 240 h (interrupted on the 11th), 2010 6 h (from a run that
    #     began in September) + 288 h (still running at the month's end) = 294 h
    #     -> 1010 100 x 240/534 = 44.9438.., 2010 55.0561..
    #   i-burst-1 usage 30.00 by hours 360/384 -> 1010 14.5161.., 2010 15.4838..
    #   i-burst-1 CPU credits 10.00 by credits 30/10 -> 1010 7.50, 2010 2.50
    #   i-spot-2 7.77 has no run: stays with its resource (its CostCenter tag, 6010)
    #   1010 66.9599.. = 66.96; 2010 73.0400.. + database 50.00 = 123.04; 6010 7.77
    totals = {centre: amount for centre, _, amount in outcome.by_cost_centre()}
    assert (totals["1010"], totals["2010"], totals["6010"]) == (
        D("66.96"), D("123.04"), D("7.77"))
    with company.app.uow(read_only=True) as uow:
        data = allocation.explain_run(uow=uow, store=store, run_id=outcome.run_id,
                                      cost_centre="6010")
    assert [(u["resource_id"], u["amount"]) for u in data["spot"]["unsplit"]] == [
        ("i-spot-2", D("7.77"))]
    hours = {(s["resource_id"], s["workload"]): s["hours"] for s in data["spot"]["split"]}
    assert (hours["i-spot-1", "1010"], hours["i-spot-1", "2010"]) == (D(240), D(294))


def test_re_import_changes_nothing_and_without_runs_the_cost_stays(company) -> None:
    company, store, runs = company
    before = company.run(store=store)
    totals = {centre: amount for centre, _, amount in before.by_cost_centre()}
    assert totals["6010"] == D("107.77")  # both spot instances by their own tag, nothing lost
    assert before.result.unallocated_total["USD"] == D("40.00")  # untagged burstable lines
    import_runs(company, runs)
    assert import_runs(company, runs).unchanged
    with company.app.uow(read_only=True) as uow:
        assert uow.spot_runs.count() == 5
        assert [e.event.action for e in uow.audit.chain()].count("spot_runs.import") == 1


@pytest.mark.parametrize(("row", "field"), [
    ("i-1,1010,2026-10-01,2026-10-02T00:00:00Z,false,", "started_at"),
    ("i-1,1010,2026-10-02T00:00:00Z,2026-10-01T00:00:00Z,false,", "ended_at"),
    ("i-1,1010,2026-10-01T00:00:00Z,,perhaps,", "interrupted"),
    ("i-1,1010,2026-10-01T00:00:00Z,,false,-3", "cpu_credits"),
    ("i-1,,2026-10-01T00:00:00Z,,false,", "workload"),
])
def test_a_bad_row_refuses_the_whole_file_naming_row_and_field(company, tmp_path, row,
                                                                field) -> None:
    company, _, _ = company
    bad = tmp_path / "bad.csv"
    bad.write_text(RUNS + row + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_spot_runs_csv(bad)
    assert (caught.value.source, caught.value.row, caught.value.field) == (str(bad), 7, field)
    with company.app.uow(read_only=True) as uow:
        assert uow.spot_runs.count() == 0


def test_a_rule_set_without_spot_rules_keeps_its_content_hash() -> None:
    plain, with_spot = parse_ruleset(RULES), parse_ruleset(RULES + SPOT)
    assert with_spot.spot[0].resource_ids == ("i-spot-*", "i-burst-1")
    assert content_hash(plain) != content_hash(with_spot)
    assert "[[spot]]" not in to_toml(plain)
    assert parse_ruleset(to_toml(with_spot)).spot == with_spot.spot


def test_the_command_imports_once_and_names_the_bad_cell(company, tmp_path) -> None:
    company, _, runs = company
    if company.app.engine.dialect.name != "sqlite":
        pytest.skip("on PostgreSQL the CLI acts as the database login, not APPORTION_USER")

    def apportion(*args: str) -> Any:
        return CliRunner().invoke(cli, ["--db", company.app.url, "import", "spot-runs", *args],
                                  env={"APPORTION_USER": "carol"})

    first = json.loads(apportion(str(runs), "--json").output)
    assert (first["records"], first["unchanged"]) == (5, False)
    assert json.loads(apportion(str(runs), "--json").output)["unchanged"]
    bad = tmp_path / "bad.csv"
    bad.write_text(RUNS.replace(",30\n", ",lots\n"), encoding="utf-8")
    error = apportion(str(bad)).exception
    assert isinstance(error, InputError)
    assert (error.source, error.row, error.field) == (str(bad), 5, "cpu_credits")
    with company.app.uow(read_only=True) as uow:
        assert uow.spot_runs.count() == 5

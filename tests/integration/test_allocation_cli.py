"""The allocation commands as a script uses them (click's CliRunner, in process): one JSON
document each, amounts as strings, the shape ``apportion allocate --json`` promises."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from click.testing import CliRunner

from client.cli import cli
from tests.services.allocation_support import AllocationCompany, focus_file, rules


@pytest.fixture
def company(app, tmp_path):
    company = AllocationCompany(app)
    (tmp_path / "it.toml").write_text(rules())
    return company


def apportion(company, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["--db", company.app.url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_rules_allocate_explain_and_impact_print_one_json_document_each(company, tmp_path
                                                                        ) -> None:
    saved = apportion(company, "rules", "import", str(tmp_path / "it.toml"), "--reason", "v1",
                      "--json")
    assert (saved["ruleset"], saved["created"]) == ("it@1", 1)
    apportion(company, "rules", "activate", "it@1", "--json")
    billing = focus_file(tmp_path / "october.csv", [
        ("ACC-1", "Amazon Elastic Compute Cloud", "i-1", "100.004", {"CostCenter": "1010"}),
        ("ACC-1", "Amazon Simple Storage Service", "s3-1", "20.001", {"CostCenter": "nope"}),
        ("ACC-2", "Amazon Elastic Compute Cloud", "i-2", "50.00", {"cc": "2010"})])
    apportion(company, "import", "focus", str(billing), "--json")

    dry = apportion(company, "allocate", "--period", "2026-10", "--dry-run", "--json")
    run = apportion(company, "allocate", "--period", "2026-10", "--json")
    assert list(run) == ["run_id", "period", "ruleset", "cost_basis", "source_total",
                         "allocated_total", "unallocated_total", "by_cost_centre",
                         "journal_ids"]
    assert {**run, "run_id": None, "journal_ids": []} == dry
    assert run["period"] == "2026-10" and run["ruleset"] == "it@1"
    assert run["cost_basis"] == "EffectiveCost"
    # 170.005 rounds to 170.01; the largest remainder (150.004) takes the odd cent.
    assert (run["source_total"], run["allocated_total"], run["unallocated_total"]) == (
        "170.01", "150.01", "20.00")
    assert run["by_cost_centre"] == [{"cost_centre": "1010", "amount": "100.01"},
                                     {"cost_centre": "2010", "amount": "50.00"}]
    assert len(run["journal_ids"]) == 1
    again = apportion(company, "allocate", "--period", "2026-10", "--json")
    assert again == run

    explained = apportion(company, "explain", "--run", str(run["run_id"]), "--cost-centre",
                          "1010", "--json")
    assert explained["totals"] == {"USD": "100.01"}
    assert explained["items"][0]["rule"] == "M1"
    assert explained["items"][0]["sources"][0]["amount"] == "100.004000000000000000"

    (tmp_path / "it2.toml").write_text(rules(share="75"))
    apportion(company, "rules", "import", str(tmp_path / "it2.toml"), "--json")
    assert apportion(company, "impact", "--period", "2026-10", "--ruleset", "it@2",
                     "--json")["lines"] == []  # no shared cost in October: no difference
    history = apportion(company, "rules", "history", "it", "--rule", "S1", "--json")
    assert [h["version"] for h in history["history"]] == [1, 2]
    diff = apportion(company, "rules", "diff", "1", "2", "--json")
    assert [c["id"] for c in diff["changes"]] == ["header", "S1"]
    listed = apportion(company, "rules", "list", "--json")
    assert [(v["label"], v["status"]) for v in listed["versions"]] == [
        ("it@1", "active"), ("it@2", "draft")]


def test_drivers_and_invoices_commands_report_as_json(company, tmp_path) -> None:
    drivers = tmp_path / "drivers.csv"
    drivers.write_text("period,cost_centre,driver,value\n2026-10,1010,headcount,12\n"
                       "2026-10,2010,headcount,8\n")
    assert apportion(company, "drivers", "import", str(drivers), "--expect", "headcount=0",
                     "--json")["created"] == 2
    listed = apportion(company, "drivers", "list", "--json")
    assert listed["tables"]["headcount"]["revision"] == 1
    assert [Decimal(d["value"]) for d in listed["drivers"]] == [12, 8]
    stale = CliRunner().invoke(cli, ["--db", company.app.url, "drivers", "import",
                                     str(drivers), "--expect", "headcount=0"])
    assert stale.exit_code != 0  # a changed table is refused ...
    assert apportion(company, "drivers", "import", str(drivers), "--json")["created"] == 0

    invoices = tmp_path / "invoices.csv"
    invoices.write_text("invoice_id,billing_account_id,billing_period,amount,currency\n"
                        "INV-9,ACC-9,2026-10,10.00,USD\n")
    assert apportion(company, "import", "invoices", str(invoices), "--json")["created"] == 1
    checked = apportion(company, "invoices", "check", "--json")
    assert checked["all_match"] is False
    assert checked["invoices"][0]["difference"] == "10.00"

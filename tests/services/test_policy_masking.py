"""Sensitive pools: a role that may not see a pool's source rows sees its total, share and
drivers but none of its rows, in ``apportion explain --json`` and in the XLSX export; a role the
policy names sees them. The export is formula-safe."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from client.cli import cli
from tests.services.test_policy_runs import PolicyCompany, manual, policy

D = Decimal
FORMULA = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def run_id(app) -> tuple[PolicyCompany, int]:
    if app.engine.dialect.name != "sqlite":
        pytest.skip("on PostgreSQL the CLI acts as the database login, not APPORTION_USER")
    company = PolicyCompany(app)
    company.set_policy(policy())
    run = company.run(costs=[manual("salary-anna", "staff", "5000.00", "1010"),
                             manual(FORMULA, "cloud", "100.00")], ruleset="it@1")
    return company, run.run_id


def explain(company, run: int, login: str, *extra: str) -> dict:
    result = CliRunner().invoke(
        cli, ["--db", company.app.url, "explain", "--run", str(run), "--cost-centre", "1010",
              "--json", *extra], env={"APPORTION_USER": login}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def cells(path: Path) -> list[list[object]]:
    sheet = load_workbook(path).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_an_analyst_sees_the_sensitive_total_but_none_of_its_rows(run_id, tmp_path) -> None:
    company, run = run_id
    data = explain(company, run, "carol", "--xlsx", str(tmp_path / "carol.xlsx"))
    staff = next(i for i in data["items"] if i["pool"] == "staff")
    assert D(staff["amount"]) == D("5000.00") and staff["masked"] is True
    assert staff["sources"] == []
    assert D(data["totals"]["USD"]) == D("5060.00")
    assert "salary-anna" not in json.dumps(data)
    cloud = next(i for i in data["items"] if i["pool"] == "cloud")
    assert [s["reference"] for s in cloud["sources"]] == [FORMULA]

    rows = cells(tmp_path / "carol.xlsx")
    flat = [str(v) for row in rows for v in row if v is not None]
    assert not any("salary-anna" in v for v in flat)
    staff_rows = [row for row in rows[2:] if row[0] == "staff"]
    assert [(row[5], row[8]) for row in staff_rows] == [(5000, "(masked)")]
    assert "'" + FORMULA in flat and FORMULA not in flat  # written as text, never a formula


def test_a_controller_named_by_the_policy_sees_the_rows(run_id, tmp_path) -> None:
    company, run = run_id
    data = explain(company, run, "dave", "--xlsx", str(tmp_path / "dave.xlsx"))
    staff = next(i for i in data["items"] if i["pool"] == "staff")
    assert [s["reference"] for s in staff["sources"]] == ["salary-anna"]
    assert "masked" not in staff
    assert any(row[10] == "salary-anna" for row in cells(tmp_path / "dave.xlsx")[2:])


def test_the_service_masks_for_every_client_on_both_databases(app) -> None:
    from ledger.services import allocation

    company = PolicyCompany(app)
    company.set_policy(policy())
    run = company.run(costs=[manual("salary-anna", "staff", "5000.00", "1010")],
                      ruleset="it@1")
    seen = {}
    for login in ("carol", "dave"):
        with company.as_(login)(read_only=True) as uow:
            data = allocation.explain_run(uow=uow, store=None, run_id=run.run_id,
                                          cost_centre="1010")
        staff = next(i for i in data["items"] if i["pool"] == "staff")
        seen[login] = (staff["amount"], [s["reference"] for s in staff["sources"]])
    assert seen == {"carol": (D("5000.00"), []), "dave": (D("5000.00"), ["salary-anna"])}

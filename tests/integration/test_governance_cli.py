"""The governance commands in process (click's runner): users with scopes, budgets, contracts and
provisioning, each with --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from client.bootstrap import open_app
from client.cli import cli
from ledger.reference import CostCentre
from ledger.services import reference_data
from ledger.services.users import bootstrap_administrator
from ledger.staging import staged
from tests.services.ledger_support import Ledger

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "governance"


@pytest.fixture
def db(sqlite_url, clock) -> str:
    app = open_app(sqlite_url, create=True, clock=clock)
    with app.uow() as uow:
        bootstrap_administrator(uow=uow)
        uow.commit()
    Ledger(app)
    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre("1010", "Manufacturing", business_unit="MFG"),
            CostCentre("6010", "IT Infrastructure", business_unit="IT")]))
        uow.commit()
    app.close()
    return sqlite_url


def run(db: str, *args: str, user: str = "admin", code: int = 0):
    result = CliRunner().invoke(cli, ["--db", db, *args], env={"APPORTION_USER": user})
    assert result.exit_code == code, result.output
    if code:  # the runner keeps the error that main() would print as one line
        return str(result.exception)
    return json.loads(result.output) if "--json" in args else result.output


def test_users_grant_with_scopes_and_list_them(db) -> None:
    run(db, "users", "grant", "bob", "controller", "--scope", "MFG", "--scope", "IT")
    run(db, "users", "revoke", "bob", "controller", "--scope", "IT")
    listed = {u["login"]: u for u in run(db, "users", "list", "--json")["users"]}
    assert listed["bob"] == {"login": "bob", "roles": ["approver", "controller"],
                             "scopes": {"controller": ["MFG"]}}
    assert listed["carol"] == {"login": "carol", "roles": ["cost_analyst"]}
    refused = run(db, "users", "grant", "bob", "approver", "--scope", "MFG", code=1)
    assert "every business unit" in refused


def test_contracts_import_list_and_checklist(db) -> None:
    path = str(FIXTURES / "contracts.csv")
    assert run(db, "contracts", "import", path, "--json")["created"] == 4
    assert run(db, "contracts", "import", path, "--json")["unchanged"] == 4
    assert len(run(db, "contracts", "list", "--json")["contracts"]) == 4
    checklist = {c["number"]: c for c in run(db, "contracts", "checklist", "--json")["contracts"]}
    assert checklist["AWS-EA-2025"]["missing"] == [] and checklist["AWS-EA-2025"]["active"]
    assert checklist["SNOW-22-004"]["missing"] == ["usage reporting by cost centre",
                                                   "tagging support", "metering granularity"]
    assert not checklist["SNOW-22-004"]["active"]  # ended before the clock's 2026-11-27
    assert checklist["DELL-FIN-19"]["missing"] == ["usage reporting by cost centre",
                                                   "metering granularity"]


def test_budgets_import_names_bad_rows_and_status_reports_as_json(db, tmp_path) -> None:
    bad = run(db, "budgets", "import", str(FIXTURES / "budgets_bad.csv"), code=1)
    assert "budgets_bad.csv, row 4, field 'period'" in bad
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("\n".join((FIXTURES / "budgets_bad.csv").read_text().splitlines()[:3]))
    bad = run(db, "budgets", "import", str(unknown), code=1)
    assert "unknown.csv, row 3, field 'cost_centre': cost centre 9999 does not exist" in bad
    assert run(db, "budgets", "list", "--json")["budgets"] == []
    run(db, "budgets", "import", str(FIXTURES / "budgets.csv"))
    status = run(db, "budgets", "status", "--period", "2026-12", "--json")
    by_centre = {s["cost_centre"]: s for s in status["statuses"]}
    assert by_centre["6010"]["budget"] == "2500.00" and by_centre["6010"]["quota_mode"] == "block"
    assert by_centre["1010"]["state"] == "ok" and by_centre["1010"]["remaining"] == "5000.00"


def test_provisioning_request_list_approve_reject(db) -> None:
    run(db, "budgets", "import", str(FIXTURES / "budgets.csv"))
    ask = ["provisioning", "request", "--name", "ci-runners", "--cost-centre", "1010",
           "--owner", "ana", "--environment", "development", "--monthly-cost", "800",
           "--period", "2026-12", "--tag", "cost-centre=1010", "--tag", "owner=ana",
           "--tag", "environment=development", "--json"]
    first = run(db, *ask, user="carol")
    assert first["status"] == "pending" and first["request"]["tags"]["owner"] == "ana"
    without_owner = ask[:ask.index("owner=ana") - 1] + ask[ask.index("owner=ana") + 1:]
    missing = run(db, *without_owner, user="carol", code=1)
    assert "field 'tags': required tag(s) missing: owner" in missing
    second = run(db, *ask, user="carol")
    approved = run(db, "provisioning", "approve", str(first["id"]), "--json", user="bob")
    assert approved["status"] == "approved" and approved["decided_by"] == "bob"
    run(db, "provisioning", "reject", str(second["id"]), "--reason", "one is enough",
        user="bob")
    listed = run(db, "provisioning", "list", "--json")["requests"]
    assert [(r["id"], r["status"]) for r in listed] == [(first["id"], "approved"),
                                                        (second["id"], "rejected")]

"""The apportion command end to end, as a user or a script runs it (a real process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest


def apportion(*args: str, db: str | None = None, user: str = "admin",
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "APPORTION_USER": user, **(env or {})}
    command = [sys.executable, "-m", "client.cli", *(["--db", db] if db else []), *args]
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120,
                          check=False)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stderr
    return result


def test_init_demo_twice_gives_the_same_status(database_url: str) -> None:
    ok(apportion("init", "--demo", db=database_url))
    first = json.loads(ok(apportion("status", "--json", db=database_url)).stdout)
    second_init = json.loads(ok(apportion("--json", "init", "--demo", db=database_url)).stdout)
    second = json.loads(ok(apportion("--json", "status", db=database_url)).stdout)
    assert (second_init["created"], second_init["updated"]) == (0, 0)
    assert first == second
    assert first["cost_centres"] == 40
    assert first["assets"] == 224
    assert first["gl_accounts"] == 17
    assert first["periods"] == {"open": 12, "closed": 0}
    assert first["journals"]["draft"] == 0
    assert first["current_period"] is not None


def test_a_command_on_a_missing_database_says_how_to_create_it(tmp_path: Path) -> None:
    result = apportion("status", db=f"sqlite:///{tmp_path / 'none.db'}")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "apportion --db" in result.stderr and "init" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = apportion("--debug", "status", db=f"sqlite:///{tmp_path / 'none.db'}")
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_the_database_can_come_from_the_environment(sqlite_url: str) -> None:
    ok(apportion("init", env={"APPORTION_DB": sqlite_url}))
    status = json.loads(ok(apportion("status", "--json", env={"APPORTION_DB": sqlite_url})).stdout)
    assert status["database"] == sqlite_url
    assert status["user"] == "admin"


def test_importing_cost_centres_and_accounts_from_csv(sqlite_url: str, tmp_path: Path) -> None:
    ok(apportion("init", db=sqlite_url))
    centres = tmp_path / "cost_centres.csv"
    centres.write_text("code,name,parent,business_unit,owner,valid_from\n"
                       "1000,Operations,,OPS,,2026-01-01\n"
                       "1010,Manufacturing,1000,OPS,amara@x.example,2026-01-01\n")
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("number,name,type\n6900,IT chargeback expense,expense\n")
    imported = json.loads(ok(apportion("cost-centres", "import", str(centres), "--json",
                                       db=sqlite_url)).stdout)
    again = json.loads(ok(apportion("cost-centres", "import", str(centres), "--json",
                                    db=sqlite_url)).stdout)
    ok(apportion("accounts", "import", str(accounts), db=sqlite_url))
    listed = json.loads(ok(apportion("cost-centres", "list", "--json", db=sqlite_url)).stdout)
    assert imported["created"] == 2 and again["unchanged"] == 2 and again["created"] == 0
    assert [c["parent"] for c in listed["cost_centres"]] == [None, "1000"]
    assert json.loads(ok(apportion("accounts", "list", "--json", db=sqlite_url)).stdout)[
        "accounts"] == [{"number": "6900", "name": "IT chargeback expense", "type": "expense"}]


def test_a_bad_cost_centre_file_names_file_row_and_field_and_changes_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    ok(apportion("init", db=sqlite_url))
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,parent\n1000,Operations,\n1010,Manufacturing,1999\n")
    result = apportion("cost-centres", "import", str(bad), db=sqlite_url)
    assert result.returncode == 1
    assert f"{bad}, row 3, field 'parent': parent cost centre 1999 does not exist" in result.stderr
    status = json.loads(ok(apportion("status", "--json", db=sqlite_url)).stdout)
    assert status["cost_centres"] == 0


def test_closing_and_reopening_periods_follows_the_roles(sqlite_url: str) -> None:
    ok(apportion("init", "--demo", db=sqlite_url))
    denied = apportion("periods", "close", "2026-03", db=sqlite_url, user="carol")
    assert denied.returncode == 1 and "controller" in denied.stderr
    ok(apportion("periods", "close", "2026-03", db=sqlite_url, user="dave"))
    no_reason = apportion("periods", "reopen", "2026-03", db=sqlite_url, user="dave")
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    periods = json.loads(ok(apportion("periods", "list", "--json", db=sqlite_url)).stdout)
    assert {p["key"]: p["status"] for p in periods["periods"]}["2026-03"] == "closed"
    ok(apportion("periods", "reopen", "2026-03", "--reason", "late invoice", db=sqlite_url,
                 user="dave"))
    periods = json.loads(ok(apportion("periods", "list", "--json", db=sqlite_url)).stdout)
    assert {p["key"]: p["status"] for p in periods["periods"]}["2026-03"] == "open"


def test_users_are_granted_and_revoked_roles_by_an_administrator(sqlite_url: str) -> None:
    ok(apportion("init", db=sqlite_url))
    ok(apportion("users", "grant", "gina", "approver", db=sqlite_url))
    denied = apportion("users", "grant", "gina", "administrator", db=sqlite_url, user="gina")
    assert denied.returncode == 1
    users = json.loads(ok(apportion("users", "list", "--json", db=sqlite_url)).stdout)["users"]
    assert {"login": "gina", "roles": ["approver"]} in users
    last_admin = apportion("users", "revoke", "admin", "administrator", db=sqlite_url)
    assert last_admin.returncode == 1 and "last administrator" in last_admin.stderr


def ifrs_id(output: dict) -> int:
    return next(b for b in output["month_end"]["depreciation"] if b["book"] == "IFRS")[
        "journal_ids"][0]


@pytest.mark.parametrize("runs", [2])
def test_the_demo_month_end_balances_posts_once_and_reruns_safely(tmp_path: Path,
                                                                  runs: int) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    outputs = [json.loads(ok(apportion("demo", "--headless", "--json", "--period", "2026-10",
                                       env=env)).stdout) for _ in range(runs)]
    first, last = outputs[0], outputs[-1]
    assert "apportion-demo.db" in first["database"]
    month_end = first["month_end"]
    debits = sum(Decimal(li["amount"]) for li in month_end["lines"] if li["side"] == "debit")
    credits = sum(Decimal(li["amount"]) for li in month_end["lines"] if li["side"] == "credit")
    assert debits == credits == Decimal(month_end["total"])
    ifrs = next(b for b in month_end["depreciation"] if b["book"] == "IFRS")
    assert ifrs["posts_to_ledger"] and Decimal(ifrs["total"]["USD"]) > 0
    allocation = month_end["allocation"]
    assert Decimal(allocation["source_total"]["USD"]) == (
        Decimal(allocation["allocated_total"]["USD"])
        + Decimal(allocation["unallocated_total"].get("USD", "0")))
    # The first run posts the headcount chargeback, the depreciation journal and the cloud
    # allocation's journals to the sandbox ERP over SOAP; running the demo again counts nothing
    # twice.
    expected = month_end["journal_ids"] + [ifrs_id(first)] + allocation["journal_ids"]
    assert allocation["journal_ids"] and sorted(first["posting"]["posted"]) == sorted(expected)
    assert first["posting"]["erp_documents"] == len(expected)
    assert last["month_end"] is None and last["posting"]["posted"] == []
    assert last["status"]["journals"]["posted"] == len(expected)
    assert last["status"]["journals"]["draft"] == 0


def test_the_plain_demo_runs_headless_without_a_display(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data"), "DISPLAY": "", "WAYLAND_DISPLAY": ""}
    result = ok(apportion("demo", env=env))
    assert "no display was found" in result.stderr
    assert "Month-end" in result.stdout and "balanced to the cent" in result.stdout


def test_a_macrs_schedule_from_the_command_line_matches_the_irs_table() -> None:
    result = ok(apportion("depreciation", "schedule", "--cost", "10000", "--salvage", "0",
                          "--method", "macrs", "--recovery-period", "5", "--convention",
                          "half-year", "--placed-in-service", "2026-03-15", "--frequency",
                          "yearly", "--json"))
    schedule = json.loads(result.stdout)
    assert [row["amount"] for row in schedule["schedule"]] == [
        "2000.00", "3200.00", "1920.00", "1152.00", "1152.00", "576.00"]
    assert schedule["schedule"][0] == {
        "fiscal_year": 2026, "period_start": "2026-01-01", "period_end": "2026-12-31",
        "amount": "2000.00", "accumulated": "2000.00", "net_book_value": "8000.00"}
    assert schedule["total"] == "10000.00"


@pytest.mark.parametrize(("args", "message"), [
    (["--method", "macrs", "--recovery-period", "4", "--convention", "half-year"],
     "MACRS recovery period 4 does not exist"),
    (["--method", "straight-line", "--life-years", "3", "--salvage", "12000"],
     "salvage 12000 is above cost 10000"),
    (["--method", "straight-line", "--life-years", "3", "--cost", "ten"],
     "'ten' is not a number"),
])
def test_an_invalid_schedule_request_gets_a_one_line_error(args: list[str], message: str) -> None:
    base = ["depreciation", "schedule", "--cost", "10000", "--placed-in-service", "2026-03-15"]
    result = apportion(*base, *args)
    assert result.returncode in (1, 2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_the_monthly_run_from_the_command_line_replaces_its_own_draft(sqlite_url: str) -> None:
    ok(apportion("init", "--demo", db=sqlite_url))
    runs = [json.loads(ok(apportion("depreciation", "run", "--period", "2026-10", "--book",
                                    "ifrs", "--json", db=sqlite_url, user="carol")).stdout)
            for _ in range(2)]
    assert runs[0]["books"][0]["total"] == runs[1]["books"][0]["total"]
    assert runs[1]["books"][0]["replaced_drafts"] == 1
    status = json.loads(ok(apportion("status", "--json", db=sqlite_url)).stdout)
    assert status["journals"]["draft"] == 1 and status["assets"] == 224
    view = json.loads(ok(apportion("assets", "depreciation", "SRV-00001", "--book", "IFRS",
                                   "--json", db=sqlite_url)).stdout)
    assert view["asset"] == "SRV-00001" and view["schedule"]


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "billing"


def test_billing_files_import_once_and_extend_the_calendar(sqlite_url: str) -> None:
    ok(apportion("init", db=sqlite_url))
    focus = FIXTURES / "focus_1.0_sample_1000rows.csv"
    first = json.loads(ok(apportion("import", "focus", str(focus), "--json",
                                    db=sqlite_url)).stdout)["imports"][0]
    again = json.loads(ok(apportion("import", "focus", str(focus), "--json",
                                    db=sqlite_url)).stdout)["imports"][0]
    assert (first["rows"], first["already_imported"]) == (1000, False)
    assert again["already_imported"] and again["import_id"] == first["import_id"]
    periods = json.loads(ok(apportion("periods", "list", "--json", db=sqlite_url)).stdout)
    assert {"2024-09", "2024-10"} <= {p["key"] for p in periods["periods"]}
    listed = json.loads(ok(apportion("billing", "list", "--json", db=sqlite_url)).stdout)
    assert [i["rows"] for i in listed["imports"]] == [1000]
    with focus.open(newline="", encoding="utf-8") as handle:
        import csv

        expected = sum(Decimal(r["BilledCost"]) for r in csv.DictReader(handle))
    assert Decimal(listed["imports"][0]["billed_cost"]["USD"]) == expected


def test_a_billing_file_of_another_format_is_refused_with_the_right_command(
    sqlite_url: str,
) -> None:
    ok(apportion("init", db=sqlite_url))
    result = apportion("import", "aws-cur", str(FIXTURES / "focus_1.0_sample_1000rows.csv"),
                       db=sqlite_url)
    assert result.returncode == 1
    assert "use: apportion import focus" in result.stderr
    listed = json.loads(ok(apportion("billing", "list", "--json", db=sqlite_url)).stdout)
    assert listed["imports"] == []


def test_a_viewer_cannot_import_billing(sqlite_url: str) -> None:
    ok(apportion("init", "--demo", db=sqlite_url))
    result = apportion("import", "azure-cost",
                       str(FIXTURES / "azure_ea_cost_export_sample_anonymous.csv"),
                       db=sqlite_url, user="frank")
    assert result.returncode == 1 and "cannot import billing files" in result.stderr


def test_journals_go_from_draft_to_the_sandbox_erp_through_the_commands(
    sqlite_url: str, tmp_path: Path
) -> None:
    from connectors.erp.sandbox.server import SandboxErp

    canary = "canary-Secret-4711"
    ok(apportion("init", "--demo", db=sqlite_url))
    ok(apportion("depreciation", "run", "--period", "2026-10", "--book", "IFRS", db=sqlite_url,
                 user="carol"))
    with SandboxErp.start("127.0.0.1", 0, tmp_path / "erp", secret=canary) as sandbox:
        env = {"APPORTION_ERP_SECRET": canary}
        added = json.loads(ok(apportion(
            "erp", "add", "sap", "--kind", "sap-soap", "--url", sandbox.url, "--username",
            "demo", "--setting", "operation_timeout=5", "--json", db=sqlite_url, env=env)
        ).stdout)
        assert added["created"] == 1 and added["secret_in_keyring"] is False  # null keyring
        drafts = json.loads(ok(apportion("journals", "list", "--status", "draft", "--json",
                                         db=sqlite_url)).stdout)
        journal_id = str(drafts[0]["id"])
        ok(apportion("journals", "submit", journal_id, db=sqlite_url, user="carol"))
        refused = apportion("journals", "approve", journal_id, db=sqlite_url, user="carol")
        assert refused.returncode == 1 and "cannot approve journals" in refused.stderr
        ok(apportion("journals", "approve", journal_id, db=sqlite_url, user="bob"))
        posted = json.loads(ok(apportion("journals", "post", "--json", db=sqlite_url,
                                         user="bob", env=env)).stdout)
        assert posted["posted"] == [int(journal_id)] and posted["blocked"] is None
        documents = sandbox.documents()
        listed = json.loads(ok(apportion("journals", "list", "--json", db=sqlite_url)).stdout)
        reconciled = json.loads(ok(apportion("journals", "reconcile", "--from", "2026-10-01",
                                             "--to", "2026-10-31", "--json", db=sqlite_url,
                                             user="bob", env=env)).stdout)
    row = next(r for r in listed if r["id"] == int(journal_id))
    assert row["status"] == "posted" and row["erp_document"]
    assert [d["external_reference"] for d in documents] == [row["external_ref"]]
    assert Decimal(row["debit_total"]) == Decimal(row["credit_total"]) > 0
    assert reconciled["clean"] and reconciled["matched"] == [int(journal_id)]
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    assert canary.encode() not in database.read_bytes()


def test_the_head_kept_at_close_catches_a_trail_cut_short(sqlite_url: str,
                                                          tmp_path: Path) -> None:
    import sqlite3

    ok(apportion("init", "--demo", db=sqlite_url))
    heads = tmp_path / "audit-heads.txt"
    closed = json.loads(ok(apportion("periods", "close", "2026-01", "--head-file", str(heads),
                                     "--json", db=sqlite_url, user="dave")).stdout)
    assert heads.read_text().split() == ["2026-01", closed["audit_head"]]
    verified = json.loads(ok(apportion("audit", "verify", "--head-file", str(heads), "--json",
                                       db=sqlite_url, user="erin")).stdout)
    assert verified["valid"] and verified["head"] == closed["audit_head"]
    database = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    with database:
        database.execute("DELETE FROM audit_events WHERE sequence > (SELECT max(sequence) - 2 "
                         "FROM audit_events)")
        database.execute("UPDATE audit_chain_head SET sequence = (SELECT max(sequence) FROM "
                         "audit_events), hash = (SELECT hash FROM audit_events ORDER BY "
                         "sequence DESC LIMIT 1)")
    database.close()
    result = apportion("audit", "verify", "--head-file", str(heads), db=sqlite_url, user="erin")
    assert result.returncode == 1 and "truncated" in result.stderr
    exported = tmp_path / "audit.jsonl"
    ok(apportion("audit", "export", str(exported), db=sqlite_url, user="erin"))
    assert len(exported.read_text().splitlines()) == verified["events"] - 2


def test_asset_events_from_the_command_line_change_the_next_run(sqlite_url: str) -> None:
    ok(apportion("init", "--demo", db=sqlite_url))
    ok(apportion("assets", "transfer", "SRV-00002", "--to", "6050", "--date", "2026-10-16",
                 db=sqlite_url, user="alice"))
    ok(apportion("assets", "dispose", "SRV-00003", "--date", "2026-10-31", "--proceeds",
                 "500", db=sqlite_url, user="alice"))
    refused = apportion("assets", "impair", "SRV-00004", "--book", "IFRS", "--date",
                        "2026-10-15", "--amount", "99999999", db=sqlite_url, user="alice")
    assert refused.returncode == 1 and "asset SRV-00004" in refused.stderr
    view = json.loads(ok(apportion("assets", "depreciation", "SRV-00002", "--book", "IFRS",
                                   "--json", db=sqlite_url)).stdout)
    assert [c["cost_centre"] for c in view["cost_centres"]][-1] == "6050"
    disposed = json.loads(ok(apportion("assets", "depreciation", "SRV-00003", "--book", "IFRS",
                                       "--json", db=sqlite_url)).stdout)
    assert disposed["disposal"]["date"] == "2026-10-31"
    assert Decimal(disposed["disposal"]["gain_or_loss"]) == (
        Decimal("500") - Decimal(disposed["disposal"]["net_book_value"]))


def test_erp_sync_brings_master_data_from_the_sandbox(sqlite_url: str, tmp_path: Path) -> None:
    from connectors.erp.sandbox.server import SandboxErp

    ok(apportion("init", "--company-code", "MRD1", "--company-name", "Meridian", db=sqlite_url))
    with SandboxErp.start("127.0.0.1", 0, tmp_path / "erp") as sandbox:
        env = {"APPORTION_ERP_SECRET": "demo"}
        ok(apportion("erp", "add", "sap", "--kind", "sap-soap", "--url", sandbox.url,
                     "--username", "demo", db=sqlite_url, env=env))
        first = json.loads(ok(apportion("erp", "sync", "sap", "--json", db=sqlite_url,
                                        env=env)).stdout)
        again = json.loads(ok(apportion("erp", "sync", "sap", "--json", db=sqlite_url,
                                        env=env)).stdout)
    assert first["created"] >= 40 + 17 and again["created"] == again["updated"] == 0
    status = json.loads(ok(apportion("status", "--json", db=sqlite_url)).stdout)
    assert status["cost_centres"] == 40 and status["gl_accounts"] == 17

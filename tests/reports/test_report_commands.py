"""The report and dispute commands on the allocated demo company (click's runner, real DB)."""

from __future__ import annotations

import json
from decimal import Decimal

from click.testing import CliRunner
from openpyxl import load_workbook

from client.cli import cli
from ledger.services import reports


def _runner(app, monkeypatch):
    runner = CliRunner()

    def run(*args: str, user: str = "admin", ok: bool = True) -> dict:
        monkeypatch.setenv("APPORTION_USER", user)
        result = runner.invoke(cli, ["--db", app.url, "--json", *args])
        assert (result.exit_code == 0) == ok, result.output
        return json.loads(result.output) if ok else result.output

    return run


def test_statements_kpis_and_a_dispute_through_the_commands(allocated, monkeypatch, tmp_path):
    app, period = allocated
    run = _runner(app, monkeypatch)
    with app.uow(read_only=True) as uow:
        lines = uow.allocation_runs.lines(reports.current_run(uow, period).id)
    expected = sum((li.amount for li in lines if li.cost_centre == "5010"), Decimal(0))
    found = run("report", "statement", "--cost-centre", "5010", "--period", period)
    assert Decimal(found["totals"]["USD"]) == expected
    written = run("report", "statement", "--period", period, "--out", str(tmp_path / "cc"),
                  "--format", "xlsx")["written"]
    assert len(written) == len({li.cost_centre for li in lines})
    book = load_workbook(tmp_path / "cc" / f"statement-{period}-5010.xlsx")
    assert Decimal(str(book["Summary"]["B8"].value)) == expected  # "Total USD" row

    kpis = run("report", "kpis", "--period", period)
    assert sum(Decimal(v) for v in kpis["shares"]["USD"]["percent"].values()) == 100
    line = next(li for li in lines if li.cost_centre == "1010" and li.kind == "shared")
    opened = run("disputes", "open", "--period", period, "--cost-centre", "1010", "--pool",
                 line.pool, "--rule", line.rule, "--reason", "=cmd|' /C calc'!A0",
                 user="frank")
    dispute_id = str(opened["dispute_id"])
    run("disputes", "accept", dispute_id, "--correction", "5.00", "--answer", "fair",
        user="frank", ok=False)
    accepted = run("disputes", "accept", dispute_id, "--correction", "5.00", "--answer", "fair",
                   user="carol")
    assert accepted["journal_id"] and accepted["updated"] == 1
    report = run("report", "disputes", "--period", period)
    assert report["disputes"][0]["status"] == "accepted"
    assert report["disputes"][0]["journal_status"] == "submitted"
    assert any(r["dimension"] == "period" and r["accepted"] == 1 for r in report["rates"])
    out = tmp_path / "disputes.xlsx"
    run("report", "disputes", "--period", period, "--out", str(out))
    reasons = [c.value for c in load_workbook(out)["Disputes"]["J"]]
    assert "'=cmd|' /C calc'!A0" in reasons


def test_the_month_end_statements_job_writes_one_file_per_cost_centre(allocated, clock,
                                                                       tmp_path):
    from datetime import UTC, datetime

    from client.scheduler import JOB_KINDS, JobConfig, JobContext

    app, period = allocated
    job = JobConfig("statements", "statements", "0 6 1 * *",
                    options={"folder": str(tmp_path / "out"), "format": "html",
                             "period": "current"})
    context = JobContext(app, job, datetime(2026, 11, 30, 6, tzinfo=UTC),
                         gateway_factory=lambda *_: None)
    counts = JOB_KINDS["statements"](context)
    with app.uow(read_only=True) as uow:
        centres = {li.cost_centre
                   for li in uow.allocation_runs.lines(reports.current_run(uow, period).id)}
    assert counts == {"period": period, "written": len(centres)}
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        f"statement-{period}-{c}.html" for c in centres}


def test_known_changes_benchmarks_and_the_intercompany_flag_through_the_commands(
        allocated, monkeypatch, tmp_path):
    app, period = allocated
    run = _runner(app, monkeypatch)
    added = run("report", "known-changes", "add", "--cost-centre", "5010", "--from", "2026-12",
                "--amount", "1000.00", "--reason", "a data team of four joins")
    assert added["created"] == 1
    listed = run("report", "known-changes", "list", "--cost-centre", "5010")["known_changes"]
    assert listed[0]["change"].startswith("1000.00 USD from 2026-12")
    found = run("report", "forecast", "--period", period, "--horizon", "3", "--cost-centre",
                "5010")
    rows = {r["period"]: r for r in found["forecast"]}
    assert Decimal(rows["2026-12"]["amount"]) == (Decimal(rows["2026-12"]["baseline"])
                                                  + Decimal("1000.00"))
    assert rows["2026-12"]["known_changes"] == "1000.00"
    assert [c["period"] for c in found["known_changes"]] == sorted(
        p for p in rows if p >= "2026-12")  # from December on, every period forecast

    csv = tmp_path / "benchmarks.csv"
    csv.write_text("kpi,value,source\ntag_coverage,0.95,FinOps survey\n"
                   "dispute_amount_rate,0.01,peer group\n")
    assert run("report", "benchmarks", "import", str(csv))["created"] == 2
    assert run("report", "benchmarks", "import", str(csv))["unchanged"] == 2
    kpis = run("report", "kpis", "--period", period)
    compared = {c["kpi"]: c for c in kpis["kpis"]}
    assert compared["dispute_amount_rate"]["benchmark"] == "0.01"

    flagged = run("report", "account-flag", "7990", "--intercompany", "--counterparty",
                  "MRD2", "--reason", "recharges cross the group")
    assert flagged["created"] == 1
    accounts = {a["account"]: a for a in run("report", "account-mapping")["accounts"]}
    assert accounts["7990"]["classification"] == "intercompany"
    assert accounts["7990"]["counterparty"] == "MRD2"

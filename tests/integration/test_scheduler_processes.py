"""The scheduler as real processes: one killed outright (SIGKILL) in the middle of posting
approved journals to the sandbox ERP is restarted and completes the posting, and the ERP holds
exactly one document per journal."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from connectors.erp.sandbox.server import SandboxErp
from ledger.erp import ErpProfile
from ledger.journal import JournalStatus
from ledger.scheduling import RunOutcome
from ledger.services import erp_profiles
from tests.services.ledger_support import approved_batch

JOURNALS = 8
LEASE = 5  # seconds: the scheduler's lease (the shortest allowed) and the poster's


def apportion(database_url: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "APPORTION_DB": database_url, "APPORTION_USER": "bob",
           "APPORTION_ERP_SECRET": "demo", "XDG_DATA_HOME": str(tmp_path / "xdg")}
    return subprocess.Popen([sys.executable, "-m", "client.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=Path(__file__).resolve().parents[2])


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_scheduler_killed_while_posting_is_restarted_and_posts_each_journal_once(
        ledger, database_url, tmp_path) -> None:
    approved_batch(ledger, JOURNALS)
    config = tmp_path / "scheduler.toml"
    config.write_text(f"""
[scheduler]
lease_seconds = {LEASE}

[jobs.post_journals]
kind = "post_journals"
mode = "batch"
cron = "*/15 * * * *"
erp = "sap"
lease_seconds = {LEASE}
""")
    with SandboxErp.start("127.0.0.1", 0, tmp_path / "erp", companies={"MRD1": "USD"},
                          accounts=["6900", "7990"], cost_centres=["1010", "6010"],
                          slow_seconds=0.4) as erp:
        with ledger.app.uow() as uow:
            erp_profiles.save_profile(uow=uow, profile=ErpProfile(
                "sap", "sap-soap", erp.url, "MRD1", "demo", {"operation_timeout": 5.0}))
            uow.commit()
        erp.force_fault("slow_reply", JOURNALS)  # every posting takes 0.4 s: time to kill

        first = apportion(database_url, tmp_path, "scheduler", "--config", str(config), "run",
                          "post_journals")
        wait_for(lambda: len(erp.documents()) >= 2, 60, "the first postings")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        with ledger.app.uow(read_only=True) as uow:
            posted_before_the_kill = len(uow.journals.ids(statuses=[JournalStatus.POSTED]))
        assert first.returncode == -signal.SIGKILL
        assert 1 <= posted_before_the_kill < JOURNALS

        time.sleep(LEASE + 0.5)  # the dead scheduler's leases run out
        restarted = apportion(database_url, tmp_path, "scheduler", "--config", str(config))

        def redone() -> bool:
            with ledger.app.uow(read_only=True) as uow:
                return any(r.attempt == 2 and r.outcome is not RunOutcome.RUNNING
                           for r in uow.job_runs.history("post_journals"))
        try:
            wait_for(redone, 60, "the restarted scheduler to redo the posting")
        finally:
            restarted.terminate()
            output = restarted.communicate(timeout=10)[0]
        references = [d["external_reference"] for d in erp.documents()]
    assert len(references) == len(set(references)) == JOURNALS, output
    with ledger.app.uow(read_only=True) as uow:
        assert len(uow.journals.ids(statuses=[JournalStatus.POSTED])) == JOURNALS
        runs = uow.job_runs.history("post_journals")
    assert [(r.attempt, r.outcome) for r in runs] == [(2, RunOutcome.SUCCEEDED),
                                                      (1, RunOutcome.INTERRUPTED)]
    # The journal in flight at the kill may have been booked after all: the redo finds it by
    # its external reference instead of sending it again (it counts as posted, not failed).
    assert runs[0].counts["posted"] == JOURNALS - posted_before_the_kill
    assert runs[0].counts["failed"] == runs[0].counts["unknown"] == 0


def test_two_scheduler_processes_run_each_due_fire_once_and_the_standby_takes_over(
        app, database_url, tmp_path) -> None:
    config = tmp_path / "scheduler.toml"
    config.write_text(f"""
[scheduler]
lease_seconds = {LEASE}

[jobs.pickup]
kind = "billing_pickup"
mode = "poll"
interval_seconds = 1
folder = "{tmp_path / 'drop'}"
""")
    processes = [apportion(database_url, tmp_path, "scheduler", "--config", str(config))
                 for _ in range(2)]

    def runs():
        with app.uow(read_only=True) as uow:
            return uow.job_runs.history("pickup", 1000)

    try:
        wait_for(lambda: len(runs()) >= 3, 60, "the first runs")
        active_holder = runs()[0].holder
        active = next(p for p in processes if active_holder.endswith(f":{p.pid}"))
        active.send_signal(signal.SIGKILL)
        active.wait(10)
        killed_at = len(runs())
        wait_for(lambda: len({r.holder for r in runs()}) == 2 and len(runs()) >= killed_at + 3,
                 60, "the standby to take over")
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.communicate(timeout=10)
    history = runs()
    # No fire ran to completion twice (a run the kill interrupted is redone: attempt 2).
    done = [r.scheduled_for for r in history if r.outcome is RunOutcome.SUCCEEDED]
    assert len(done) == len(set(done)) >= 6
    holders = [r.holder for r in reversed(history)]
    # One scheduler acted, then the other: never both in turn.
    switches = sum(1 for a, b in itertools.pairwise(holders) if a != b)
    assert switches == 1 and holders[0] == active_holder
    assert all(r.outcome in (RunOutcome.SUCCEEDED, RunOutcome.INTERRUPTED) for r in history)

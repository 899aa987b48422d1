"""The scheduler: one acts, each fire runs once, a killed run is redone without duplicates."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from client.scheduler import JobConfig, Scheduler, SchedulerConfig, load_config
from connectors.erp.sandbox.server import SandboxErp
from ledger.erp import ErpProfile
from ledger.errors import InputError
from ledger.journal import JournalStatus
from ledger.scheduling import RunOutcome
from ledger.services import erp_profiles
from tests.services.fakes import PosterKilled
from tests.services.ledger_support import approved_batch

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "billing"
DUE = datetime(2026, 11, 27, 9, 15, tzinfo=UTC)


def config(**jobs: JobConfig) -> SchedulerConfig:
    return SchedulerConfig(jobs, lease_seconds=60)


def pickup(folder: Path) -> JobConfig:
    return JobConfig("billing_pickup", "billing_pickup", cron="5 * * * *",
                     options={"folder": str(folder)})


def test_two_schedulers_run_each_due_job_once(app, tmp_path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    shutil.copy(FIXTURES / "focus_1.0_sample_1000rows.csv", folder)
    cfg = config(billing_pickup=pickup(folder))
    first, second = Scheduler(app, cfg, holder="host-a:1"), Scheduler(app, cfg,
                                                                      holder="host-b:2")
    results: list = []
    threads = [threading.Thread(target=lambda s=s: results.append(s.fire("billing_pickup",
                                                                         DUE)))
               for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    ran = [r for r in results if r is not None]
    assert len(ran) == 1 and ran[0].outcome is RunOutcome.SUCCEEDED
    assert ran[0].counts == {"imported": 1, "already_imported": 0, "rejected": 0}
    assert (folder / "imported" / "focus_1.0_sample_1000rows.csv").exists()
    with app.uow(read_only=True) as uow:
        assert len(uow.job_runs.history("billing_pickup")) == 1


def test_a_fire_is_claimed_once_even_if_two_schedulers_both_think_they_are_active(app) -> None:
    """Belt and braces under the lease: the run's (job, due time) is unique in the database."""
    claims = []
    for holder in ("a:1", "b:2"):
        with app.uow() as uow:
            claims.append(uow.job_runs.claim("post_journals", DUE, holder, DUE))
            uow.commit()
    assert claims[0] is not None and claims[1] is None


def test_a_standby_takes_over_when_the_active_schedulers_lease_runs_out(app, clock,
                                                                        tmp_path) -> None:
    cfg = config(billing_pickup=pickup(tmp_path / "drop"))
    active, standby = Scheduler(app, cfg, holder="a:1"), Scheduler(app, cfg, holder="b:2")
    assert active.fire("billing_pickup", DUE) is not None
    assert standby.fire("billing_pickup", DUE + timedelta(hours=1)) is None
    clock.current += timedelta(minutes=5)  # the active one died; its lease runs out
    taken = standby.fire("billing_pickup", DUE + timedelta(hours=1))
    assert taken is not None and taken.holder == "b:2"


def test_a_bad_file_in_the_drop_folder_is_set_aside_with_its_reason(app, tmp_path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "broken.csv").write_text("BilledCost,Oops\n1,2\n")
    shutil.copy(FIXTURES / "aws_cur_sample_anonymous.csv", folder)
    run = Scheduler(app, config(billing_pickup=pickup(folder))).fire("billing_pickup", DUE)
    assert run.counts == {"imported": 1, "already_imported": 0, "rejected": 1}
    reason = (folder / "rejected" / "broken.csv.error.txt").read_text()
    assert "broken.csv" in reason and "row 1" in reason


def test_after_downtime_each_missed_job_runs_once(app, clock, tmp_path) -> None:
    job = JobConfig("billing_pickup", "billing_pickup", cron="0 6 * * *",
                    options={"folder": str(tmp_path / "drop")})
    scheduler = Scheduler(app, config(billing_pickup=job), holder="a:1")
    scheduler.fire("billing_pickup", datetime(2026, 11, 24, 6, 0, tzinfo=UTC))
    # Down for three days: three fires missed, one catch-up run for the latest of them.
    ran = scheduler.catch_up()
    assert [r.scheduled_for for r in ran] == [datetime(2026, 11, 27, 6, 0, tzinfo=UTC)]
    assert scheduler.catch_up() == []


class KillAfterCommit:
    """A gateway that lets the ERP book the document, then the scheduler process dies."""

    def __init__(self, inner, kills: int) -> None:
        self.inner, self.kills = inner, kills

    def post_journal(self, posting):
        document = self.inner.post_journal(posting)
        if self.kills:
            self.kills -= 1
            raise PosterKilled
        return document

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_scheduler_killed_while_posting_is_redone_without_duplicates(ledger, clock,
                                                                       tmp_path) -> None:
    from client.erp import gateway_for

    approved_batch(ledger, 5)
    with SandboxErp.start("127.0.0.1", 0, tmp_path / "erp", companies={"MRD1": "USD"},
                          accounts=["6900", "7990"], cost_centres=["1010", "6010"]) as erp:
        with ledger.app.uow() as uow:
            erp_profiles.save_profile(uow=uow, profile=ErpProfile(
                "sap", "sap-soap", erp.url, "MRD1", "demo", {"operation_timeout": 5.0}))
            uow.commit()
        cfg = config(post_journals=JobConfig("post_journals", "post_journals",
                                             cron="*/15 * * * *"))

        def killing(profile):
            return KillAfterCommit(gateway_for(profile, secret="demo"), kills=1)

        def plain(profile):
            return gateway_for(profile, secret="demo")

        bob = ledger.as_("bob")
        ledger.app.uow = bob  # the scheduler's login may post
        with pytest.raises(PosterKilled):
            Scheduler(ledger.app, cfg, holder="a:1", gateway_factory=killing).fire(
                "post_journals", DUE)
        clock.current += timedelta(minutes=10)  # its leases run out
        restarted = Scheduler(ledger.app, cfg, holder="b:2", gateway_factory=plain)
        redone = restarted.recover()
        assert [r.attempt for r in redone] == [2] and redone[0].outcome is RunOutcome.SUCCEEDED
        references = [d["external_reference"] for d in erp.documents()]
    assert len(references) == len(set(references)) == 5
    with ledger.app.uow(read_only=True) as uow:
        assert len(uow.journals.ids(statuses=[JournalStatus.POSTED])) == 5
        outcomes = [r.outcome for r in uow.job_runs.history("post_journals")]
    assert outcomes == [RunOutcome.SUCCEEDED, RunOutcome.INTERRUPTED]


def test_a_configuration_error_names_the_job_and_field(tmp_path) -> None:
    path = tmp_path / "scheduler.toml"
    path.write_text('[jobs.nightly]\nkind = "post_journals"\ncron = "61 * * * *"\n')
    with pytest.raises(InputError, match="bad cron line") as raised:
        load_config(path)
    assert (raised.value.row, raised.value.field) == ("[jobs.nightly]", "cron")
    assert set(load_config(None).jobs) == {"billing_pickup", "depreciation", "post_journals",
                                           "erp_reconcile", "anomalies"}


@pytest.fixture
def restored_logging():
    """configure_logging changes process-wide loggers: put them back for the other tests."""
    import logging

    from client.scheduler import LOGGED

    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate,
                    logging.getLogger(name).level) for name in LOGGED}
    yield
    for name, (handlers, propagate, level) in saved.items():
        logger = logging.getLogger(name)
        for handler in logger.handlers:
            if handler not in handlers:
                handler.close()
        logger.handlers[:] = handlers
        logger.propagate, logger.level = propagate, level


def test_the_log_rotates_keeps_adapter_lines_once_and_never_a_secret(tmp_path,
                                                                     restored_logging) -> None:
    import logging

    from client.scheduler import configure_logging
    from connectors.erp.hardening import protect_secrets

    protect_secrets("canary-scheduler-secret-55")
    path = configure_logging(tmp_path / "logs" / "scheduler.log")
    path = configure_logging(tmp_path / "logs" / "scheduler.log", max_bytes=2000, backups=2)
    logging.getLogger("connectors.ticketing.jira").info("Jira issue OPS-1 opened (token %s)",
                                                        "canary-scheduler-secret-55")
    first = path.read_text()
    assert first.count("Jira issue OPS-1 opened (token ***)") == 1
    for n in range(100):
        logging.getLogger("apportion.scheduler").info("post_journals succeeded: run %d", n)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["scheduler.log", "scheduler.log.1", "scheduler.log.2"]
    assert all(p.stat().st_size <= 2000 for p in path.parent.iterdir())
    assert "canary-scheduler-secret-55" not in first


GOOD_CONFIG = """
[scheduler]
lease_seconds = 60

[jobs.jamf]
kind = "billing_pickup"
mode = "poll"
interval_seconds = 300
max_backoff_seconds = 3600

[jobs.tickets]
kind = "tickets"
mode = "poll"
interval_seconds = 900

[ticketing]
system = "servicenow"
notify_from = "critical"

[ticketing.servicenow]
instance_url = "https://meridian.service-now.com"
table = "task"
username = "apportion.integration"

[notifications.smtp]
host = "smtp.meridian.example"
port = 587
starttls = true
from = "Apportion <apportion@meridian.example>"
username = "apportion"
"""


def check(tmp_path, text: str, monkeypatch=None):
    from click.testing import CliRunner

    from client.cli import cli

    path = tmp_path / "scheduler.toml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["scheduler", "config", "check", str(path), "--json"])
    assert result.stdout.startswith("{"), (result.output, result.exception)
    return result.exit_code, json.loads(result.stdout)


def test_config_check_summarises_a_good_file_and_where_each_secret_comes_from(
        tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("APPORTION_SERVICENOW_PASSWORD", "canary-snow-77")
    code, report = check(tmp_path, GOOD_CONFIG)
    assert code == 0 and report["valid"] is True
    assert [(j["name"], j["mode"], j["interval_seconds"]) for j in report["jobs"]] == [
        ("jamf", "poll", 300), ("tickets", "poll", 900)]
    assert report["ticketing"]["system"] == "servicenow"
    assert report["ticketing"]["secret_from"] == "environment (APPORTION_SERVICENOW_PASSWORD)"
    assert report["ticketing"]["smtp"]["secret_from"] == "keyring (apportion-ticketing)"
    assert "canary-snow-77" not in json.dumps(report)
    config = load_config(tmp_path / "scheduler.toml")
    assert config.ticketing.servicenow.table == "task"
    assert config.ticketing.smtp.starttls and config.ticketing.smtp.port == 587


@pytest.mark.parametrize(("change", "table", "key", "message"), [
    (('username = "apportion.integration"',
      'username = "apportion.integration"\npassword = "hunter2-in-the-file"'),
     "[ticketing.servicenow]", "password", "secrets do not go in the file"),
    (('table = "task"', 'table = "problem"'), "[ticketing.servicenow]", "table",
     "incident, task or sc_task"),
    (('instance_url = "https://', 'instance_url = "ftp://'), "[ticketing.servicenow]",
     "instance_url", "https://"),
    (('mode = "poll"\ninterval_seconds = 300', 'mode = "poll"\ncron = "5 * * * *"'),
     "[jobs.jamf]", "interval_seconds", 'mode "poll" runs every interval_seconds'),
    (('port = 587', 'port = "587"'), "[notifications.smtp]", "port", "must be int"),
    (('notify_from = "critical"', 'notify_from = "urgent"'), "[ticketing]", "notify_from",
     "low, medium, high, critical"),
    (('starttls = true', 'starttls = true\nstarttsl = true'), "[notifications.smtp]",
     "starttsl", "unknown key"),
    (('system = "servicenow"', 'system = "jira"'), "[ticketing]", "system",
     "no [ticketing.jira] table"),
    (('table = "task"', 'table = "task"\ntimeout_seconds = 0'), "[ticketing.servicenow]",
     "timeout_seconds", "above 0"),
])
def test_config_check_names_the_table_and_key_of_each_mistake(tmp_path, change, table, key,
                                                              message) -> None:
    old, new = change
    assert old in GOOD_CONFIG
    code, report = check(tmp_path, GOOD_CONFIG.replace(old, new))
    assert code == 1 and report["valid"] is False
    assert [(e["table"], e["key"]) for e in report["errors"]] == [(table, key)]
    assert message in report["errors"][0]["message"]
    assert "hunter2" not in json.dumps(report)


def test_every_mistake_in_a_file_is_reported_at_once(tmp_path) -> None:
    text = GOOD_CONFIG.replace('port = 587', 'port = 0').replace(
        'interval_seconds = 900', 'interval_seconds = -1').replace(
        '[jobs.tickets]', '[jobs.tickets]\napi_token = "x"')
    code, report = check(tmp_path, text)
    assert code == 1
    assert {(e["table"], e["key"]) for e in report["errors"]} == {
        ("[notifications.smtp]", "port"), ("[jobs.tickets]", "interval_seconds"),
        ("[jobs.tickets]", "api_token")}


def test_a_source_that_times_out_or_is_throttled_counts_as_busy_not_broken() -> None:
    """What makes a polled job back off, read through the adapters' own wrapping errors."""
    from client.scheduler import busy_reason
    from connectors.inventory.jamf import JamfError, JamfProClient
    from connectors.ticketing import TicketingError
    from tests.integration.test_inventory_jamf_api import FakeJamf, basic

    jamf = FakeJamf()
    jamf.mode = "hang"
    try:
        with JamfProClient(basic(jamf, timeout=0.3)) as client, \
                pytest.raises(JamfError) as hung:
            client.computers()
        jamf.mode = "error"
        with JamfProClient(basic(jamf)) as client, pytest.raises(JamfError) as broken:
            client.computers()
    finally:
        jamf.close()
    assert busy_reason(hung.value) == "timed out"  # kept as the context of "from None"
    assert busy_reason(broken.value) is None  # a 500 is a fault, not load
    assert busy_reason(TicketingError("x", system="Jira", status=503)) == "HTTP 503"
    assert busy_reason(TicketingError("x", system="Jira", status=400)) is None


def test_a_polled_job_catches_up_with_one_run_for_its_latest_interval() -> None:
    job = JobConfig("tickets", "tickets", every_seconds=60)
    since = datetime(2026, 11, 20, 9, 0, 30, tzinfo=UTC)
    assert job.mode == "poll" and JobConfig("p", "post_journals", cron="0 * * * *").mode == "batch"
    assert job.last_due_before(DUE + timedelta(seconds=42), since) == DUE
    assert job.last_due_before(since + timedelta(seconds=20), since) is None

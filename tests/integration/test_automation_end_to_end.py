"""Month-end without anyone at a desk, end to end through the scheduler's own jobs: the nightly
anomaly job finds what was planted in a generated billing history, the tickets job opens one
issue per finding in a fake Jira Cloud over loopback (and mails the cost centre's owner through
a local SMTP sink), runs again without duplicating anything, and closes the issue of a finding
that clears. A polled job whose service desk answers 429 backs off and comes back."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from client.scheduler import Scheduler, load_config
from connectors.billing import import_billing_file
from ledger.finding import FindingStatus
from ledger.reference import CostCentre
from ledger.scheduling import RunOutcome
from ledger.services import reference_data
from ledger.services.anomalies import review_finding
from ledger.staging import staged
from tests.billing_support import write_focus
from tests.integration.test_anomaly_detection import SPIKE_DAY, TODAY, history
from tests.integration.test_ticketing_jira import EMAIL, TOKEN, FakeJira, _adf_text
from tests.integration.test_ticketing_mail import FakeMailbox, LoopbackController
from tests.integration.test_ticketing_transport import loopback

NIGHT = datetime(2026, 11, 27, 5, 30, tzinfo=UTC)
OWNER = "amara.berg@meridian.example"


@pytest.fixture
def jira() -> Iterator[tuple[FakeJira, str]]:
    fake = FakeJira()
    with loopback(fake) as url:
        yield fake, url


@pytest.fixture
def mailbox() -> Iterator[tuple[FakeMailbox, int]]:
    handler = FakeMailbox()
    controller = LoopbackController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def company(app, monkeypatch):
    monkeypatch.setenv("APPORTION_JIRA_API_TOKEN", TOKEN)
    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre("2010", "Field Sales EMEA", owner=OWNER),
            CostCentre("5010", "Product Engineering")]))
        uow.commit()
    return app


def write_config(tmp_path: Path, jira_url: str, smtp_port: int | None = None) -> Path:
    """The scheduler file an operator would write: no secret in it."""
    text = f"""
[jobs.anomalies]
kind = "anomaly_detection"
mode = "batch"
cron = "30 5 * * *"
days = 7

[jobs.tickets]
kind = "tickets"
mode = "poll"
interval_seconds = 300
max_backoff_seconds = 1800

[ticketing]
system = "jira"
notify_from = "high"

[ticketing.jira]
site_url = "{jira_url}"
project = "OPS"
issue_type = "Task"
user_email = "{EMAIL}"
timeout_seconds = 5
"""
    if smtp_port is not None:
        text += f"""
[notifications.smtp]
host = "127.0.0.1"
port = {smtp_port}
starttls = false
from = "Apportion <apportion@example.com>"
"""
    path = tmp_path / "scheduler.toml"
    path.write_text(text)
    return path


def open_issues(fake: FakeJira) -> list[str]:
    return sorted(key for key, issue in fake.issues.items() if issue.status != "Done")


def test_each_finding_yields_one_jira_issue_which_closes_when_the_finding_clears(
        company, clock, jira, mailbox, tmp_path) -> None:
    fake, url = jira
    mails, smtp_port = mailbox
    # A quarter of office-day rhythm with one spike, and yesterday's EC2 cost untagged.
    rows = history(spike=True, untagged_day=TODAY - timedelta(days=1))
    import_billing_file(company.cost_facts(), write_focus(tmp_path / "billing.csv", rows))
    scheduler = Scheduler(company, load_config(write_config(tmp_path, url, smtp_port)),
                          holder="host-a:1")

    found = scheduler.fire("anomalies", NIGHT)
    first = scheduler.fire("tickets", NIGHT)
    again = scheduler.fire("tickets", NIGHT + timedelta(minutes=5))

    assert found.outcome is RunOutcome.SUCCEEDED and found.counts["new"] == 3
    assert first.counts == {"opened": 3, "updated": 0, "closed": 0, "notified": 3}
    assert again.counts == {"opened": 0, "updated": 0, "closed": 0, "notified": 0}
    assert len(fake.issues) == 3 and all(not i.comments for i in fake.issues.values())
    keys = sorted(i.properties["apportion.finding"]["key"] for i in fake.issues.values())
    assert keys == [f"anomaly:cost-spike:cost-centre:2010:{SPIKE_DAY}",
                    f"anomaly:cost-spike:service_name:AmazonEC2:{SPIKE_DAY}",
                    "anomaly:untagged-growth:cost-centre"]
    spike_issue = next(i for i in fake.issues.values()
                       if "cost-centre:2010" in i.properties["apportion.finding"]["key"])
    assert "2010" in _adf_text(spike_issue.fields["description"])
    # Only the cost centre with an owner gets mail, once, about its own spike.
    assert [m["To"] for m in mails.messages()] == [OWNER]
    assert "2010" in mails.messages()[0]["Subject"]

    # The next night the untagged cost is gone: that finding clears and its issue closes.
    clock.current += timedelta(days=1)
    cleared = scheduler.fire("anomalies", NIGHT + timedelta(days=1))
    closing = scheduler.fire("tickets", NIGHT + timedelta(days=1))
    assert cleared.counts["cleared"] == 1
    assert closing.counts == {"opened": 0, "updated": 0, "closed": 1, "notified": 0}
    assert len(fake.issues) == 3 and len(open_issues(fake)) == 2
    done = next(i for i in fake.issues.values() if i.status == "Done")
    assert done.properties["apportion.finding"]["key"] == "anomaly:untagged-growth:cost-centre"

    # A spike someone dismisses closes too, with the reason on the issue.
    with company.uow() as uow:
        spike = next(f for f in uow.findings.list(statuses=[FindingStatus.OPEN])
                     if f.kind == "cost_spike" and f.finding.cost_centre == "2010")
        review_finding(uow=uow, finding_id=spike.id, status=FindingStatus.DISMISSED,
                       reason="planned load test for the sales campaign")
        uow.commit()
    scheduler.fire("tickets", NIGHT + timedelta(days=1, minutes=5))
    assert spike_issue.status == "Done" and len(fake.issues) == 3
    assert "planned load test" in _adf_text(spike_issue.comments[-1])
    assert len(mails.messages()) == 1


def test_a_polled_service_desk_that_answers_429_is_left_alone_longer_each_time(
        company, clock, jira, tmp_path) -> None:
    fake, url = jira
    import_billing_file(company.cost_facts(), write_focus(tmp_path / "billing.csv",
                                                          history(spike=True)))
    scheduler = Scheduler(company, load_config(write_config(tmp_path, url)), holder="a:1",
                          rng=random.Random(7))
    scheduler.fire("anomalies", NIGHT)
    throttled = (429, {"errorMessages": ["Rate limit exceeded."]})

    fake.fail_next = throttled
    first = scheduler.fire("tickets")
    assert first.outcome is RunOutcome.FAILED and "HTTP 429" in first.message
    assert first.counts["busy"] == "HTTP 429" and first.counts["busy_streak"] == 1
    assert 300 <= first.counts["backoff_seconds"] <= 600  # interval x 2, half of it jitter
    resume = datetime.fromisoformat(first.counts["retry_at"])

    clock.current += timedelta(seconds=300)  # the next regular tick: still backing off
    assert scheduler.fire("tickets") is None and fake.issues == {}

    clock.current = resume
    fake.fail_next = throttled
    second = scheduler.fire("tickets")
    assert second.counts["busy_streak"] == 2 and 600 <= second.counts["backoff_seconds"] <= 1200

    # Refused again and again: the delay stops growing at max_backoff_seconds.
    for _ in range(4):
        clock.current = scheduler.backing_off_until("tickets")
        fake.fail_next = throttled
        capped = scheduler.fire("tickets")
    assert capped.counts["busy_streak"] == 6 and 900 <= capped.counts["backoff_seconds"] <= 1800

    clock.current = scheduler.backing_off_until("tickets")
    recovered = scheduler.fire("tickets")
    assert recovered.outcome is RunOutcome.SUCCEEDED and recovered.counts["opened"] == 2
    assert "busy" not in recovered.counts and scheduler.backing_off_until("tickets") is None
    clock.current += timedelta(seconds=300)  # back to the base interval
    assert scheduler.fire("tickets").outcome is RunOutcome.SUCCEEDED
    with company.uow(read_only=True) as uow:
        outcomes = [r.outcome for r in uow.job_runs.history("tickets")]
    assert outcomes == [RunOutcome.SUCCEEDED] * 2 + [RunOutcome.FAILED] * 6


def test_tickets_sync_by_hand_does_what_the_job_does(company, jira, tmp_path) -> None:
    import json

    from click.testing import CliRunner

    from client.cli import cli

    fake, url = jira
    import_billing_file(company.cost_facts(), write_focus(tmp_path / "billing.csv",
                                                          history(spike=True)))
    config = write_config(tmp_path, url)
    Scheduler(company, load_config(config)).fire("anomalies", NIGHT)
    runs = [CliRunner().invoke(cli, ["--db", company.url, "tickets", "sync", "--config",
                                     str(config), "--json"]) for _ in range(2)]
    assert [r.exit_code for r in runs] == [0, 0], runs[0].output
    first, second = (json.loads(r.stdout) for r in runs)
    assert sorted(first["opened"]) == [f"anomaly:cost-spike:cost-centre:2010:{SPIKE_DAY}",
                                       f"anomaly:cost-spike:service_name:AmazonEC2:{SPIKE_DAY}"]
    assert second == {"opened": [], "updated": [], "closed": [], "notified": [],
                      "failed_notifications": []}
    assert len(fake.issues) == 2
    told = CliRunner().invoke(cli, ["--db", company.url, "tickets", "sync", "--config",
                                    str(config)])
    assert told.exit_code == 0, told.output
    assert told.stdout == "Tickets: 0 opened, 0 updated, 0 closed; 0 owner(s) mailed.\n"


def test_without_a_token_the_tickets_job_fails_saying_where_to_put_it(company, jira, tmp_path,
                                                                      monkeypatch) -> None:
    fake, url = jira
    monkeypatch.delenv("APPORTION_JIRA_API_TOKEN")
    scheduler = Scheduler(company, load_config(write_config(tmp_path, url)))
    run = scheduler.fire("tickets", NIGHT)
    assert run.outcome is RunOutcome.FAILED and fake.calls == []
    assert "APPORTION_JIRA_API_TOKEN" in run.message and "apportion-ticketing" in run.message
    assert "busy" not in run.counts  # a missing secret is not a loaded source: no back-off

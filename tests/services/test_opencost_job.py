"""The scheduler's ``opencost_pull`` job against a fake OpenCost on loopback: it asks for the
window its schedule implies, stores the usage as ``apportion import opencost URL`` does (the
same answer twice changes nothing), and a throttled or unavailable OpenCost makes a polled job
back off instead of failing as broken."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from click.testing import CliRunner

from client.cli import cli
from client.scheduler import JobConfig, Scheduler, SchedulerConfig, parse_config
from connectors.kubernetes import scheduled_window
from ledger.errors import InputError
from ledger.scheduling import RunOutcome
from tests.integration.test_kubernetes_import import _FakeOpenCost

OCTOBER = "2026-10-01T00:00:00Z,2026-11-01T00:00:00Z"


class _Throttling(_FakeOpenCost):
    """The fixture's OpenCost, answering ``status`` instead while it is set."""

    status: ClassVar[int | None] = None
    queries: ClassVar[list[dict[str, list[str]]]] = []

    def do_GET(self) -> None:
        if self.status is not None:
            self.send_error(self.status)
            return
        super().do_GET()


@pytest.fixture
def opencost() -> Iterator[type[_Throttling]]:
    from http.server import ThreadingHTTPServer

    _Throttling.status, _Throttling.queries = None, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Throttling)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Throttling.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield _Throttling
    finally:
        server.shutdown()
        server.server_close()


def scheduler(app, **options) -> Scheduler:
    mode = {"every_seconds": 600} if options.pop("poll", False) else {"cron": "0 3 * * *"}
    job = JobConfig("k8s", "opencost_pull", options=options, max_backoff_seconds=3600, **mode)
    return Scheduler(app, SchedulerConfig({"k8s": job}, lease_seconds=60), holder="a:1")


def stored(app) -> list[tuple[str, str, int]]:
    with app.uow(read_only=True) as uow:
        return uow.k8s_usage.summary()


def test_the_job_pulls_the_month_once_as_the_command_would(app, opencost) -> None:
    jobs = scheduler(app, url=opencost.url, window="previous_month")
    run = jobs.fire("k8s", datetime(2026, 11, 1, 3, 0, tzinfo=UTC))
    assert run.outcome is RunOutcome.SUCCEEDED, run.message
    assert run.counts == {"window": OCTOBER, "imported": 1, "unchanged": 0, "records": 3,
                          "replaced": 0}
    query = opencost.queries[-1]
    assert (query["window"], query["aggregate"], query["accumulate"]) == (
        [OCTOBER], ["namespace"], ["true"])
    assert stored(app) == [("prod-eu", "2026-10", 3)]
    again = jobs.fire("k8s", datetime(2026, 11, 2, 3, 0, tzinfo=UTC))
    assert (again.counts["imported"], again.counts["unchanged"]) == (0, 1)
    with app.uow(read_only=True) as uow:
        actions = [e.event.action for e in uow.audit.chain()]
    assert actions.count("k8s_usage.import") == 1
    if app.engine.dialect.name == "sqlite":  # on PostgreSQL the CLI is the database login
        result = CliRunner().invoke(cli, ["--db", app.url, "import", "opencost", opencost.url,
                                          "--window", OCTOBER, "--json"])
        assert json.loads(result.output)["unchanged"] is True  # the same service path


def test_a_daily_pull_asks_for_the_month_so_far_and_on_the_first_for_the_whole_month() -> None:
    assert scheduled_window("month_to_date", datetime(2026, 11, 27, 3, 0, tzinfo=UTC)) == (
        "2026-11-01T00:00:00Z,2026-11-27T00:00:00Z")
    assert scheduled_window("month_to_date", datetime(2026, 11, 1, 0, 30, tzinfo=UTC)) == OCTOBER
    assert scheduled_window("previous_month", datetime(2026, 1, 15, tzinfo=UTC)) == (
        "2025-12-01T00:00:00Z,2026-01-01T00:00:00Z")
    assert scheduled_window("lastweek", datetime(2026, 1, 15, tzinfo=UTC)) == "lastweek"


def test_a_throttled_opencost_is_left_alone_then_asked_again(app, opencost, clock) -> None:
    jobs = scheduler(app, url=opencost.url, poll=True)
    opencost.status = 429
    run = jobs.fire("k8s", clock.now())
    assert run.outcome is RunOutcome.FAILED
    assert (run.counts["busy"], run.counts["busy_streak"]) == ("HTTP 429", 1)
    assert jobs.backing_off_until("k8s") is not None
    assert jobs.fire("k8s", clock.now() + timedelta(seconds=1)) is None  # left alone
    clock.current += timedelta(seconds=run.counts["backoff_seconds"] + 1)
    opencost.status = 503
    run = jobs.fire("k8s", clock.now())
    assert (run.counts["busy"], run.counts["busy_streak"]) == ("HTTP 503", 2)
    assert stored(app) == []
    clock.current += timedelta(seconds=run.counts["backoff_seconds"] + 1)
    opencost.status = None
    run = jobs.fire("k8s", clock.now())
    assert run.outcome is RunOutcome.SUCCEEDED and run.counts["imported"] == 1
    assert opencost.queries[-1]["window"] == ["2026-11-01T00:00:00Z,2026-11-27T00:00:00Z"]
    assert jobs.backing_off_until("k8s") is None


def test_a_broken_opencost_or_a_missing_url_is_a_failure_not_load(app, opencost,
                                                                  clock) -> None:
    opencost.status = 500
    run = scheduler(app, url=opencost.url, poll=True).fire("k8s", clock.now())
    assert run.outcome is RunOutcome.FAILED and "busy" not in run.counts
    assert "HTTP 500" in run.message
    run = scheduler(app, cluster="prod-eu").fire("k8s", clock.now() + timedelta(minutes=10))
    assert run.outcome is RunOutcome.FAILED and "url" in run.message
    config = parse_config('[jobs.k8s]\nkind = "opencost_pull"\ncron = "0 3 * * *"\n'
                          'url = "http://opencost:9003"\ncluster = "prod-eu"\n', "s.toml")
    assert config.jobs["k8s"].options == {"url": "http://opencost:9003", "cluster": "prod-eu"}
    with pytest.raises(InputError) as caught:
        parse_config('[jobs.k8s]\nkind = "opencost_pull"\ncron = "0 3 * * *"\n'
                     'timeout_seconds = 0\n', "s.toml")
    assert (caught.value.row, caught.value.field) == ("[jobs.k8s]", "timeout_seconds")

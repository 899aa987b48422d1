"""The operation runner: work off the UI thread, results on it, writes broadcast what changed."""

from __future__ import annotations

import threading

import pytest

from client.gui.operations import Cancelled, OperationRunner, concerns
from ledger.reference import CostCentre
from ledger.services import reference_data
from ledger.services.base import Changes
from ledger.staging import staged


@pytest.fixture
def app(month_end_app):
    """A copy of the demo database: copying a file is quicker than migrating a new one."""
    return month_end_app


@pytest.fixture
def runner(app):
    runner = OperationRunner(app)
    yield runner
    runner.shutdown(wait=True)


def test_a_query_runs_on_the_database_worker_and_answers_on_the_ui_thread(qtbot, runner):
    seen = {}

    def work(uow):
        seen["worker"] = threading.current_thread().name
        return uow.actor.login

    with qtbot.waitSignal(runner.finished, timeout=30000):
        runner.query(work, success=lambda login: seen.update(
            login=login, callback=threading.current_thread()))
    assert seen["worker"].startswith("apportion-db")
    assert seen["callback"] is threading.main_thread()
    assert seen["login"] == "admin"


def test_a_write_commits_and_tells_the_views_what_changed(qtbot, app, runner):
    def work(uow, _ctx):
        return reference_data.import_cost_centres(
            uow=uow, cost_centres=staged([CostCentre("4100", "Sales")]))

    with qtbot.waitSignal(runner.changed, timeout=30000) as broadcast:
        runner.write(work)
    changes = broadcast.args[0]
    assert concerns(changes, {"cost_centre"}) and not concerns(changes, {"journal"})
    with app.uow(read_only=True) as uow:
        assert uow.cost_centres.get("4100") is not None


def test_a_cancelled_write_leaves_the_database_as_it_was(qtbot, app, runner):
    started, failures = threading.Event(), []

    def work(uow, ctx):
        reference_data.import_cost_centres(
            uow=uow, cost_centres=staged([CostCentre("4200", "Marketing")]))
        started.set()
        while True:  # a long import, checking for cancellation as it goes
            ctx.progress(1, 10, "importing")

    operation = runner.write(work, failure=failures.append)
    assert started.wait(5)
    with qtbot.waitSignal(runner.finished, timeout=30000):
        operation.cancel()
    assert isinstance(failures[0], Cancelled)
    with app.uow(read_only=True) as uow:
        assert uow.cost_centres.get("4200") is None


def test_a_failure_reaches_the_ui_with_the_services_reason(qtbot, runner):
    failures = []
    with qtbot.waitSignal(runner.finished, timeout=30000):
        runner.write(lambda uow, _ctx: reference_data.import_cost_centres(
            uow=uow, cost_centres=staged([CostCentre("4300", "X", parent="9999")])),
            failure=failures.append)
    assert "parent cost centre 9999 does not exist" in str(failures[0])


def test_database_work_is_serialised_and_network_work_runs_in_parallel(qtbot, runner):
    both_in = threading.Barrier(2, timeout=5)
    overlapping, database = [], []

    def network(_ctx):
        both_in.wait()  # only returns if the two calls run at the same time
        overlapping.append(True)

    def on_database(_ctx):
        database.append(threading.current_thread().name)

    with qtbot.waitSignals([runner.finished] * 4, timeout=30000):
        runner.run(network, title="ERP a", network=True)
        runner.run(network, title="ERP b", network=True)
        runner.run(on_database, title="db 1")
        runner.run(on_database, title="db 2")
    assert overlapping == [True, True]
    assert len(set(database)) == 1


def test_progress_reaches_the_ui_thread(qtbot, runner):
    reports = []
    runner.progressed.connect(lambda operation: reports.append(operation.progress))

    def work(ctx):
        for done in range(1, 4):
            ctx.progress(done, 3, f"step {done}")

    with qtbot.waitSignal(runner.finished, timeout=30000):
        runner.run(work, title="steps")
    qtbot.waitUntil(lambda: bool(reports))
    assert reports[-1].done == 3 and reports[-1].total == 3


def test_a_write_returning_a_value_and_changes_gives_the_value_to_the_view(qtbot, runner):
    values = []
    with qtbot.waitSignal(runner.changed, timeout=30000) as broadcast:
        runner.write(lambda _uow, _ctx: (42, Changes(frozenset({"journal"}), created=1)),
                     success=values.append)
    qtbot.waitUntil(lambda: values == [42])
    assert broadcast.args[0].created == 1


def test_a_slow_read_does_not_hold_up_the_database_worker(qtbot, runner):
    release, answered = threading.Event(), []

    def slow(uow):
        release.wait(5)  # a reconciliation count over a big estate
        return "slow"

    runner.query(slow, success=answered.append, slow=True, title="slow")
    with qtbot.waitSignal(runner.finished, timeout=30000):
        runner.query(lambda uow: "page", success=answered.append, title="a page")
    assert answered == ["page"]
    release.set()
    qtbot.waitUntil(lambda: answered == ["page", "slow"], timeout=30000)

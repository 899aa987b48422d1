"""The scheduler's month-end allocation job: a draft run of the previous month, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

from client.scheduler import JobConfig, Scheduler, SchedulerConfig
from connectors.billing import detect_importer
from ledger.services.costs import import_billing
from tests.services.allocation_support import AllocationCompany, focus_file, rules


def test_the_allocation_job_drafts_the_previous_month_once(app, tmp_path) -> None:
    company = AllocationCompany(app)
    company.save_rules(rules(), login=app.login)
    company.activate(1)
    path = focus_file(tmp_path / "october.csv", [
        ("ACC-1", "Amazon Elastic Compute Cloud", "i-1", "75.25", {"CostCenter": "1010"})])
    with app.uow() as uow:
        import_billing(uow=uow, store=app.cost_facts(), path=path,
                       importer=detect_importer(path))
        uow.commit()
    job = JobConfig("allocation", "allocation", cron="0 3 2 * *")
    scheduler = Scheduler(app, SchedulerConfig({"allocation": job}, lease_seconds=60))
    first = scheduler.fire("allocation", datetime(2026, 11, 2, 3, 0, tzinfo=UTC))
    assert first is not None and first.outcome.value == "succeeded"
    assert first.counts["period"] == "2026-10" and first.counts["journals"] == 1
    again = scheduler.fire("allocation", datetime(2026, 11, 2, 4, 0, tzinfo=UTC))
    assert again is not None and again.counts["unchanged"] is True
    with app.uow(read_only=True) as uow:
        assert len(uow.allocation_runs.list(period="2026-10")) == 1
        assert len(uow.journals.list(period="2026-10")) == 1

"""Budgets against real cost facts (a FOCUS file through the columnar store), the alerts they
raise as findings, and provisioning requests checked against them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from connectors.billing import import_billing_file
from ledger.access import Role
from ledger.budget import Budget, QuotaMode
from ledger.errors import InputError, InputErrors, PermissionDeniedError
from ledger.finding import FindingStatus
from ledger.provisioning import ProvisioningRequest, RequestStatus
from ledger.services import budgets, provisioning
from ledger.services.provisioning import PolicyRefusal
from ledger.services.users import grant_role
from ledger.staging import staged
from tests.billing_support import focus_row, write_focus

D = Decimal
#: 1010's actual cost per month: six months of history, then November so far (to the 27th).
MONTHLY = {5: "1000", 6: "1100", 7: "900", 8: "1000", 9: "1200", 10: "1000", 11: "2600"}


@pytest.fixture
def spend(ledger, tmp_path):
    app = ledger.app
    rows = [focus_row(date(2026, month, 5), "AmazonEC2", D(cost), tags={"cost-centre": "1010"})
            for month, cost in MONTHLY.items()]
    rows.append(focus_row(date(2026, 11, 6), "AmazonS3", D("7"), tags={"team": "x"}))
    store = app.cost_facts()
    import_billing_file(store, write_focus(tmp_path / "billing.csv", rows))
    with app.uow() as uow:
        budgets.import_budgets(uow=uow, budgets=staged([
            Budget("1010", "2026-11", D("5000"), "USD"),
            Budget("6010", "2026-11", D("100"), "USD"),
            Budget("1010", "2026-12", D("5000"), "USD")]))
        uow.commit()
    return ledger, store


def test_status_compares_actual_and_run_rate_with_budget_and_derived_quota(spend) -> None:
    ledger, store = spend
    with ledger.app.uow(read_only=True) as uow:
        statuses = {s.cost_centre: s for s in budgets.budget_status(uow=uow, store=store,
                                                                    period="2026-11")}
    centre = statuses["1010"]
    # 2600 in 26 elapsed days of 30; quota: p95 of 1000 1100 900 1000 1200 1000 = 1175, +10 %.
    assert (centre.actual, centre.forecast, centre.quota) == (D("2600"), D("3000.00"),
                                                              D("1292.50"))
    assert centre.remaining == D("2000.00") and centre.state == "over"
    assert [kind for kind, _ in centre.alerts] == ["quota_actual"]
    assert statuses["6010"].state == "ok" and statuses["6010"].actual == 0


def test_alerts_become_findings_once_and_clear_when_the_limit_is_no_longer_crossed(spend
                                                                                   ) -> None:
    ledger, store = spend
    for _ in range(2):
        with ledger.app.uow() as uow:
            report = budgets.check_budgets(uow=uow, store=store, period="2026-11")
            uow.commit()
    assert report.opened == [] and len(report.updated) == 1
    with ledger.app.uow(read_only=True) as uow:
        (finding,) = uow.findings.list(kind="quota_actual")
    assert finding.finding.key == "budget:quota_actual:1010:2026-11"
    assert finding.finding.cost_centre == "1010" and finding.status is FindingStatus.OPEN
    with ledger.app.uow() as uow:
        budgets.import_budgets(uow=uow, budgets=staged([
            Budget("1010", "2026-11", D("5000"), "USD", QuotaMode.WARN, D("2"))]))
        report = budgets.check_budgets(uow=uow, store=store, period="2026-11")
        uow.commit()
    assert report.cleared == [finding.id]


def test_a_bad_budget_file_changes_nothing_and_the_same_file_again_changes_nothing(spend
                                                                                 ) -> None:
    ledger, _ = spend
    with ledger.app.uow() as uow:
        before = uow.audit.count()
        with pytest.raises(InputErrors) as caught:
            budgets.import_budgets(uow=uow, budgets=staged([
                Budget("1010", "2027-01", D("1"), "USD"), Budget("9999", "2027-01", D("1"),
                                                                 "USD")], "budgets.csv"))
        assert caught.value.errors[0].row == 2 and caught.value.errors[0].field == "cost_centre"
        again = budgets.import_budgets(uow=uow, budgets=staged([
            Budget("1010", "2026-12", D("5000.00"), "USD")]))
        assert not again.changed and uow.audit.count() == before


def _request(cost: str, **changes) -> ProvisioningRequest:
    fields = {"kind": "cloud", "name": "analytics-db", "cost_centre": "1010", "owner": "ana",
              "environment": "production", "monthly_cost": D(cost), "currency": "USD",
              "period": "2026-12", "tags": (("cost-centre", "1010"), ("owner", "ana"),
                                            ("environment", "production"))}
    return ProvisioningRequest(**{**fields, **changes})  # type: ignore[arg-type]


def _ask(ledger, store, request, login: str = "carol"):
    with ledger.as_(login)() as uow:
        stored = provisioning.request_provisioning(uow=uow, request=request, store=store)
        uow.commit()
    return stored


def _approve(ledger, store, request_id: int, login: str):
    with ledger.as_(login)() as uow:
        decided = provisioning.approve_request(uow=uow, request_id=request_id, store=store)
        uow.commit()
    return decided


def test_requests_are_checked_approved_by_another_and_escalated_to_a_controller(spend) -> None:
    ledger, store = spend
    with pytest.raises(PolicyRefusal, match="environment"):
        _ask(ledger, store, _request("10", tags=(("cost-centre", "1010"), ("owner", "ana"))))
    with ledger.app.uow() as uow:  # erin approves and may also request
        grant_role(uow=uow, login="erin", role=Role.COST_ANALYST)
        uow.commit()
    first = _ask(ledger, store, _request("1000"), "erin")
    assert first.status is RequestStatus.PENDING
    with pytest.raises(PermissionDeniedError, match="maker-checker"):
        _approve(ledger, store, first.id, "erin")
    assert _approve(ledger, store, first.id, "bob").status is RequestStatus.APPROVED
    # December's quota is the p95 of June to November plus 10 % (2475.00); 1000 approved plus
    # 3000 more crosses it: a warning quota escalates to a controller.
    second = _ask(ledger, store, _request("3000"))
    assert second.status is RequestStatus.ESCALATED and "2475.00" in (second.escalation or "")
    with pytest.raises(PermissionDeniedError, match="controller"):
        _approve(ledger, store, second.id, "bob")
    assert _approve(ledger, store, second.id, "dave").decided_by == "dave"
    big = _ask(ledger, store, _request("6000", period="2027-01"))
    assert big.status is RequestStatus.ESCALATED and "no budget" in (big.escalation or "")
    with ledger.as_("bob")() as uow:
        with pytest.raises(InputError, match="reason"):
            provisioning.reject_request(uow=uow, request_id=big.id, reason=" ")
        rejected = provisioning.reject_request(uow=uow, request_id=big.id, reason="use spot")
        uow.commit()
    assert rejected.status is RequestStatus.REJECTED and rejected.reason == "use spot"


def test_a_blocking_quota_refuses_the_request_and_stores_nothing(spend) -> None:
    ledger, store = spend
    with ledger.app.uow() as uow:
        budgets.import_budgets(uow=uow, budgets=staged([
            Budget("1010", "2026-12", D("50000"), "USD", QuotaMode.BLOCK)]))
        uow.commit()
    with pytest.raises(PolicyRefusal, match="quota"):
        _ask(ledger, store, _request("2500"))
    with ledger.app.uow(read_only=True) as uow:
        assert uow.provisioning.list() == []


def test_the_scheduler_job_raises_this_months_alerts(spend, clock) -> None:
    from client.scheduler import JOB_KINDS, JobConfig, JobContext

    ledger, _ = spend
    context = JobContext(ledger.app, JobConfig("budgets", "budget_alerts", "0 7 * * *"),
                         clock.now(), gateway_factory=lambda *_: None)
    assert JOB_KINDS["budget_alerts"](context) == {"opened": 1, "updated": 0, "cleared": 0}
    with ledger.app.uow(read_only=True) as uow:
        assert [f.finding.key for f in uow.findings.list(kind="quota_actual")] == [
            "budget:quota_actual:1010:2026-11"]

"""The demo company's policy (client/demo_policy.py): loaded once, one of each decision in the
demo month, every cent conserved, and one review overdue on the dashboard."""

from __future__ import annotations

from decimal import Decimal

from client.demo import load_demo, run_month_end
from ledger.services.status import status_summary

D = Decimal
HRL = {"4010", "4020", "4030", "4040", "4050"}


def test_the_demo_policy_shows_each_decision_in_the_demo_month(demo_app) -> None:
    again = load_demo(demo_app)  # the second load changes nothing, the policy included
    assert again.created == again.updated == 0
    with demo_app.uow(read_only=True) as uow:
        assert [(v.name, v.status.value) for v in uow.policies.versions()] == [
            ("meridian", "active")]
        assert status_summary(uow=uow)["overdue_reviews"] == 1  # the network pool's review

    run = run_month_end(demo_app, "2026-10").allocation
    report = run.result.policy
    reasons: dict[str, list] = {}
    for entry in report.exclusions:
        reasons.setdefault(entry.reason, []).append(entry)
    assert "below_capitalisation_threshold" not in reasons  # every asset is above 500.00
    # Route 53 per resource is under 500.00: from the network pool into the cloud split.
    (immaterial,) = reasons["immaterial"]
    assert (immaterial.origin, immaterial.pool, immaterial.to_pool) == (
        "billing", "network", "cloud")
    assert D(0) < immaterial.amount < D(1000)
    assert {e.reference.split("-")[0] for e in reasons["owned_by_business_unit"]} == {"DT"}
    assert {e.to_pool for e in reasons["criticality_tier"]} == {"network"}
    tiered = sum((e.amount for e in reasons["criticality_tier"]), D(0))
    network_gear = sum((li.amount for li in run.result.lines
                        if li.pool == "network" and li.cost_centre == "6050"
                        and li.rule.startswith("depreciation")), D(0))
    assert network_gear == tiered and not any(
        li.charged for li in run.result.lines if li.rule.startswith("depreciation"))
    # People and Legal in shadow chargeback: both figures, nothing of theirs posted.
    shadow = [f for f in report.modes if f.business_unit == "HRL"]
    assert shadow and all(f.mode.value == "shadow" and f.posted == 0 for f in shadow)
    assert any(f.chargeback > 0 for f in shadow)
    assert not any(li.charged for li in run.result.lines if li.cost_centre in HRL)
    total = run.result.source_total["USD"].quantize(D("0.01"))
    assert run.result.allocated_total["USD"] + run.result.unallocated_total["USD"] == total
    with demo_app.uow(read_only=True) as uow:
        assert uow.policies.report(run.run_id)["policy"] == "meridian@1"
        posted_to = {li.cost_centre for j in run.journal_ids
                     for li in uow.journals.get(j).lines}
    assert run.journal_ids and not posted_to & HRL

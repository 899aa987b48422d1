"""The cost of running the demo company's allocation: its own pool against what it allocated,
and the manual decisions of each period counted from the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from client.demo import run_month_end
from ledger.allocation.engine import ManualCost
from ledger.running_cost import is_manual
from ledger.services import journals
from ledger.services.allocation import import_manual_costs
from ledger.services.running_cost import running_cost_report
from ledger.staging import Staged


def test_running_cost_per_allocated_unit_and_manual_decisions_per_period(demo_app,
                                                                         clock) -> None:
    clock.current = datetime(2026, 10, 31, 18, 0, tzinfo=UTC)
    month_end = run_month_end(demo_app, "2026-10")
    with demo_app.uow() as uow:
        import_manual_costs(uow=uow, costs=[
            Staged(ManualCost("OPS-2026-10-H", "2026-10", "allocation-ops", Decimal("2400.00"),
                              "USD", "FinOps analyst, 32 h at 75.00")),
            Staged(ManualCost("OPS-2026-10-I", "2026-10", "allocation-ops", Decimal("187.45"),
                              "USD", "database and runner")),
            Staged(ManualCost("DC-2026-10", "2026-10", "facilities", Decimal("999.00"), "USD")),
        ])
        uow.commit()
    clock.current = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    as_user = demo_app.uow.as_user if demo_app.is_sqlite else (lambda _login: demo_app.uow)
    with as_user("carol")() as uow:
        drafts = [j.id for j in uow.journals.list(statuses=["draft"], period="2026-10")]
        for journal_id in drafts:
            journals.submit_journal(uow=uow, journal_id=journal_id)
        uow.commit()
    rejected = 0
    if demo_app.is_sqlite:  # on PostgreSQL the test's login is the administrator, no approver
        with as_user("dave")() as uow:
            journals.reject_journal(uow=uow, journal_id=drafts[0], reason="wrong headcount")
            uow.commit()
        rejected = 1

    with demo_app.uow(read_only=True) as uow:
        rows = {r.period: r for r in running_cost_report(uow=uow, periods=["2026-10",
                                                                           "2026-11"])}
        manual = [(e.event.occurred_at.month, e.event.action) for e in uow.audit.chain()
                  if is_manual(e.event.action)]
    allocated = month_end.allocation.result.allocated_total["USD"]
    october, november = rows["2026-10"], rows["2026-11"]
    assert october.running_cost == {"USD": Decimal("2587.45")}  # the facilities cost is not it
    assert october.allocated == {"USD": allocated}
    assert october.per_allocated_unit("USD") == (Decimal("2587.45") / allocated).quantize(
        Decimal("0.000001"))
    assert october.manual_decisions == sum(1 for month, _ in manual if month == 10)
    assert october.decisions_by_action["manual_cost.save"] == 3
    # November also holds the demo's loading (rules imported and activated, asset transfers).
    assert november.manual_decisions == sum(1 for month, _ in manual if month == 11)
    assert november.decisions_by_action["journal.submit"] == len(drafts)
    assert november.decisions_by_action.get("journal.reject", 0) == rejected
    assert november.decisions_by_action["rules.activate"] == 1
    assert november.per_allocated_unit("USD") is None  # nothing allocated in November
    assert not is_manual("allocation.run") and not is_manual("journal.posted")

"""The demo's month of cloud billing: generated the same every time, with the tag mess of a
real estate, and allocated by the demo rule set to the cent."""

from __future__ import annotations

from decimal import Decimal

from client import demo_allocation
from ledger.money import round_to_currency
from ledger.services.licences import seat_costs


def test_the_generated_month_is_the_same_every_time_and_messy_like_a_real_one() -> None:
    rows = demo_allocation.billing_rows("2026-10")
    assert rows == demo_allocation.billing_rows("2026-10")
    assert rows != demo_allocation.billing_rows("2026-11")
    tags = {row["Tags"] for row in rows}
    assert {'{"CostCenter": "5010"}', '{"cost-center": "3010"}', '{"CC": "2040"}',
            '{"Team": "Data-Science"}', '{"Team": "platfrom"}', "NULL"} <= tags
    assert len(rows) > 1000


def test_the_demo_month_allocates_its_own_total_and_reports_what_it_cannot_place(demo_app
                                                                                  ) -> None:
    rows = demo_allocation.billing_rows("2026-10")
    expected = sum((Decimal(r["EffectiveCost"]) for r in rows), Decimal(0))
    factory = demo_app.uow.as_user("carol") if demo_app.is_sqlite else demo_app.uow
    with factory() as uow:
        run = demo_allocation.run(uow, demo_app, "2026-10")
        uow.commit()
    result = run.result
    with factory() as uow:
        seats = seat_costs(uow, "2026-10")
    billed = sum((s.line.amount for s in result.inputs if s.line.origin == "billing"), Decimal(0))
    assert billed == expected  # the generated file's own sum, exactly
    total = expected + sum((s.amount for s in seats), Decimal(0))
    assert result.source_total == {"USD": total}
    assert result.allocated_total["USD"] + result.unallocated_total["USD"] == (
        round_to_currency(total, "USD"))
    reasons = {(g.reason.value, g.detail) for g in result.unallocated}
    assert ("unknown_tag_value", "tag team = 'platfrom' is not in rule M040's values") in reasons
    assert any(reason == "cost_centre_not_valid" and "'9999'" in detail
               for reason, detail in reasons)
    kinds = {(li.cost_centre, li.rule, li.kind.value) for li in result.lines}
    assert ("5010", "M010", "direct") in kinds  # data transfer follows its sending resource
    assert ("5010", "M020", "idle") in kinds  # unused reservations: charged to their buyer
    assert ("5050", "M040", "direct") in kinds  # "Data-Science" in the wrong case
    assert ("1020", "M040", "direct") in kinds  # "owner-team" is an alias of team
    licences = {(li.cost_centre, li.amount) for li in result.lines if li.pool == "licences"}
    assert seats and sum(a for _, a in licences) == sum(s.amount for s in seats)
    assert run.journal_ids
    with factory() as uow:
        again = demo_allocation.run(uow, demo_app, "2026-10")
        uow.commit()
    assert again.unchanged and again.journal_ids == run.journal_ids
    summary = demo_allocation.summary(run)
    assert summary["ruleset"] == "demo@1" and summary["journal_ids"] == list(run.journal_ids)

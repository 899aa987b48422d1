"""The demo's month of cloud billing: generated the same every time, with the tag mess of a
real estate, its shared clusters, functions and spot capacity, and allocated by the demo rule
set to the cent."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from client import demo_allocation, demo_cloud
from ledger.money import round_to_currency
from ledger.services import reports
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
    by_origin: dict[str, Decimal] = defaultdict(Decimal)
    for source in result.inputs:
        by_origin[source.line.origin] += source.line.amount
    # The clusters' and the spot capacity's rows reach the rules split (origin kubernetes and
    # spot), each part to the cent of what was billed; with the rest, the file's own sum.
    assert by_origin["kubernetes"] == demo_cloud.billing_total("cluster")
    assert by_origin["spot"] == demo_cloud.billing_total("spot")
    billed = by_origin["billing"] + by_origin["kubernetes"] + by_origin["spot"]
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
    assert {("2040", "M021", "direct"), ("5050", "M021", "direct"),
            ("1010", "M022", "direct"), ("6010", "kubernetes:cloud", "direct"),
            ("5020", "M023", "direct"), ("2040", "M024", "direct"),
            ("1020", "S400", "shared")} <= kinds  # namespaces, labels, idle owner, spot, ...
    gateway = {li.cost_centre: li.amount for li in result.lines if li.pool == "gateway"}
    assert sum(gateway.values()) == demo_cloud.billing_total("gateway")
    assert gateway["2040"] == Decimal("322.00")  # 9.2 of the 12 million requests
    licences = {(li.cost_centre, li.amount) for li in result.lines if li.pool == "licences"}
    assert seats and sum(a for _, a in licences) == sum(s.amount for s in seats)
    assert run.journal_ids
    # A team's statement says which namespace, label or workload it paid for, and how.
    with factory() as uow:
        bases = {(code, li.rule): li.basis for code in ("2040", "1010", "5020", "6010")
                 for li in reports.statement(uow=uow, cost_centre=code, period="2026-10").lines
                 if li.kind == "direct"}
    assert bases["2040", "M021"].startswith(
        "charged directly: namespace web-shop of cluster meridian-eks: 26.9003 % of the cluster")
    assert "workloads labelled team=manufacturing of cluster meridian-aks" in bases["1010", "M022"]
    assert bases["5020", "M023"] == ("charged directly: workloads driver-ci, firmware-ci on "
                                     "i-ci-runner by CPU credits burned and run hours")
    assert bases["6010", "kubernetes:cloud"].startswith(
        "charged directly: idle capacity of cluster meridian-aks")
    with factory() as uow:
        again = demo_allocation.run(uow, demo_app, "2026-10")
        uow.commit()
    assert again.unchanged and again.journal_ids == run.journal_ids
    summary = demo_allocation.summary(run)
    assert summary["ruleset"] == "demo@1" and summary["journal_ids"] == list(run.journal_ids)

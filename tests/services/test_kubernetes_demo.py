"""The demo's cloud-native month: the shared cluster, the functions and the gateway allocate
their own total to the cent, every team's namespace is charged, and a rerun changes nothing."""

from __future__ import annotations

from decimal import Decimal

from client import demo_cloud

D = Decimal


def test_the_demo_cluster_month_conserves_its_total_and_charges_every_team(demo_app) -> None:
    factory = demo_app.uow.as_user("carol") if demo_app.is_sqlite else demo_app.uow
    with factory() as uow:
        outcome = demo_cloud.run(uow, demo_app, "2026-10")
        summary = demo_cloud.summary(outcome, uow)
        uow.commit()
    total = demo_cloud.billing_total()
    assert outcome.result.source_total == {"USD": total}
    assert outcome.result.allocated_total["USD"] == total  # nothing unplaced
    charged = {row["cost_centre"]: row["amount"] for row in summary["by_cost_centre"]}
    assert {"2040", "5050", "3010", "1020"} <= charged.keys()
    assert sum(charged.values()) == total
    shares = {(s["kind"], s["key"]) for s in summary["cluster_shares"]}
    assert shares == {("namespace", n) for n in ("web-shop", "data-pipeline", "erp-api",
                                                 "tracking")}
    idle = sum(D(s["idle"]) for s in summary["cluster_shares"])
    assert D(20) < idle < D(30)  # about a quarter of the cluster sits idle
    with factory() as uow:
        again = demo_cloud.run(uow, demo_app, "2026-10")
        uow.commit()
    assert again.result.fingerprint == outcome.result.fingerprint

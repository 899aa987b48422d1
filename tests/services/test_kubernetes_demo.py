"""The demo month's cloud-native part: the shared clusters split exactly to namespaces and
labels, the functions, the gateway and the spot capacity are charged to the teams that used
them, idle capacity is shown, and a rerun changes nothing."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from client import demo_cloud

D = Decimal


def test_the_demo_clusters_split_exactly_to_namespaces_and_labels(demo_app) -> None:
    factory = demo_app.uow.as_user("carol") if demo_app.is_sqlite else demo_app.uow
    with factory() as uow:
        outcome = demo_cloud.run(uow, demo_app, "2026-10")
        summary = demo_cloud.summary(outcome, uow)
        uow.commit()
    assert outcome.dry_run and outcome.ruleset == "demo@1"
    # Every part of the estate is charged exactly what it was billed, none of it unplaced.
    assert summary["charged"] == summary["billed"]
    assert summary["billed"]["cluster"] == D("10451.35")
    charged = {row["cost_centre"]: row["amount"] for row in summary["by_cost_centre"]}
    assert "(unallocated)" not in charged
    assert sum(charged.values()) == demo_cloud.billing_total()
    by_share: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    centres: dict[tuple[str, str], set[str]] = defaultdict(set)
    for share in summary["shares"]:
        by_share[share["resource"], share["key"]] += share["amount"]
        centres[share["resource"], share["key"]].add(share["cost_centre"])
    eks = {k: a for (r, k), a in by_share.items() if r == demo_cloud.CLUSTER}
    assert set(eks) == set(demo_cloud.NAMESPACES)  # system namespaces spread over the teams
    assert sum(eks.values()) == D("7250.75")  # nodes + volumes + load balancer, to the cent
    assert {k: centres["meridian-eks", k] for k in eks} == {
        "web-shop": {"2040"}, "data-pipeline": {"5050"}, "erp-api": {"3010"},
        "tracking": {"1020"}}
    aks = {k: a for (r, k), a in by_share.items() if r == demo_cloud.LABEL_CLUSTER}
    assert set(aks) == {"manufacturing", "finance", "6010"}  # labels, and the idle owner
    assert sum(aks.values()) == D("3200.60")
    assert centres["meridian-aks", "manufacturing"] == {"1010"}
    shares = {(s["cluster"], s["kind"], s["key"]): s for s in summary["cluster_shares"]}
    assert set(shares) == {("meridian-eks", "namespace", n) for n in demo_cloud.NAMESPACES} | {
        ("meridian-aks", "label", "manufacturing"), ("meridian-aks", "label", "finance"),
        ("meridian-aks", "idle", "6010")}
    eks_idle = sum(D(s["idle"]) for (c, _, _), s in shares.items() if c == "meridian-eks")
    assert D(20) < eks_idle < D(30)  # about a quarter of the cluster sits idle
    assert sum(D(s["percent"]) for (c, _, _), s in shares.items()
               if c == "meridian-eks") == D(100)
    # Spot: by run hours; the burstable runner's credits by the credits each job burned.
    spot = {(s["resource"], s["key"]): (s["cost_centre"], s["amount"])
            for s in summary["shares"] if s["kind"] == "spot"}
    assert sum(a for (r, _), (_, a) in spot.items() if r == "sfr-batch-spot") == D("1480.00")
    assert {c for (r, _), (c, _) in spot.items() if r == "i-ci-runner"} == {"5020"}
    with factory() as uow:
        again = demo_cloud.run(uow, demo_app, "2026-10")
        uow.commit()
    assert again.result.fingerprint == outcome.result.fingerprint


def test_cloud_demo_prints_the_cloud_part_of_the_demo_month_as_one_json_document(demo_app
                                                                                  ) -> None:
    import json

    from click.testing import CliRunner

    from client.cli import cli

    result = CliRunner().invoke(cli, ["--db", demo_app.url, "cloud-demo", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ruleset"] == "demo@1" and data["period"] == "2026-10"
    assert data["charged"] == data["billed"] == {
        "cluster": "10451.35", "functions": "275.70", "gateway": "420.00", "spot": "1614.65"}
    with demo_app.uow(read_only=True) as uow:  # a dry run: the month's journals untouched
        assert uow.allocation_runs.list(period="2026-10") == []

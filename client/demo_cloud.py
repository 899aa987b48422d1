"""The cloud-native part of the demo month: shared clusters, functions, spot capacity.

Meridian runs one EKS cluster, ``meridian-eks``, for four teams' namespaces (the web shop, the
data pipeline, the ERP API, parcel tracking) plus ``kube-system`` and ``monitoring``, the
cluster's own shared namespaces; a quarter of its capacity sits idle and is spread over the teams
by their cost. Its nodes, volumes and load balancer are billed as three resources tagged
``cluster = meridian-eks``; the workload usage is what OpenCost would report. Manufacturing and
Finance share a smaller AKS cluster, ``meridian-aks``, split by the workloads' ``team`` label;
its idle capacity is charged to IT Infrastructure, which bought it. Two teams run Lambda
functions behind one API gateway, which is split by the functions' invocations. Data Science
and Product Engineering run batch jobs on a spot fleet and the embedded team a burstable CI
runner, split by run hours and CPU credits.

All of it is part of the demo's month (:mod:`client.demo_allocation` adds :func:`charges` to the
generated billing and calls :func:`load` before the run; ``resources/rules/demo.toml`` holds the
``[[clusters]]``, ``[[spot]]`` and mapping rules), so the month's allocation run, its journals
and ``apportion explain`` show the namespace, label and idle shares. :func:`run` is what
``apportion cloud-demo`` shows: the month allocated as a dry run, and :func:`summary` the part of
it these charges make.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from client.bootstrap import App
from connectors.kubernetes import read_spot_runs_csv, read_usage_csv
from ledger.ports import UnitOfWork
from ledger.services import allocation, kubernetes, spot
from ledger.services.base import Changes

CLUSTER = "meridian-eks"
LABEL_CLUSTER = "meridian-aks"
#: cluster -> namespace -> (labels, CPU core-hours requested, used, RAM GiB-hours requested,
#: used); ``__idle__`` is the capacity nobody requested or used.
USAGE: dict[str, dict[str, tuple[str, int, int, int, int]]] = {
    CLUSTER: {
        "web-shop": ("team=web", 2976, 2232, 11904, 13392),
        "data-pipeline": ("team=data-science", 4464, 5952, 23808, 20832),
        "erp-api": ("team=erp", 1488, 744, 5952, 4464),
        "tracking": ("team=logistics", 744, 1116, 2976, 3720),
        "kube-system": ("", 372, 300, 1488, 1200),
        "monitoring": ("", 372, 372, 2976, 2976),
        "__idle__": ("", 3720, 3720, 14880, 14880),
    },
    LABEL_CLUSTER: {
        "mes-line-1": ("team=manufacturing", 1116, 980, 4464, 4100),
        "mes-line-2": ("team=manufacturing", 744, 700, 2976, 2800),
        "ledger-sync": ("team=finance", 558, 400, 2232, 1900),
        "kube-system": ("", 186, 150, 744, 700),
        "__idle__": ("", 868, 868, 3472, 3472),
    },
}
#: The demo's EKS namespaces (for the tests and the cloud-demo summary).
NAMESPACES = tuple(n for n in USAGE[CLUSTER] if n not in ("kube-system", "monitoring",
                                                           "__idle__"))


@dataclass(frozen=True)
class Charge:
    """One monthly billing row of the cloud-native estate."""

    part: str  # cluster, functions, gateway or spot: what the cloud-demo summary groups by
    sub_account: str
    service: str
    resource: str
    cost: str
    quantity: str
    unit: str
    tags: dict[str, str] = field(default_factory=dict)
    description: str = ""


CHARGES = (
    Charge("cluster", "prod-platform", "Amazon Elastic Compute Cloud", "i-eks-node-group-1",
           "6240.00", "4464", "Hours", {"cluster": CLUSTER}),
    Charge("cluster", "prod-platform", "Amazon Elastic Block Store", "vol-eks-data", "812.40",
           "2400", "GB-Mo", {"cluster": CLUSTER}),
    Charge("cluster", "prod-platform", "Elastic Load Balancing", "elb-eks-ingress", "198.35",
           "744", "Hours", {"cluster": CLUSTER}),
    Charge("cluster", "az-manufacturing", "Azure Kubernetes Service", "aks-nodepool-1",
           "2890.00", "2232", "Hours", {"cluster": LABEL_CLUSTER}),
    Charge("cluster", "az-manufacturing", "Storage", "aks-managed-disks", "310.60", "1200",
           "GB-Mo", {"cluster": LABEL_CLUSTER}),
    Charge("functions", "prod-web", "AWS Lambda", "fn-price-check", "41.20", "9200000",
           "Requests", {"CostCenter": "2040"}),
    Charge("functions", "prod-web", "AWS Lambda", "fn-price-check", "133.85", "8030000",
           "GB-Seconds", {"CostCenter": "2040"}),
    Charge("functions", "logistics-tracking", "AWS Lambda", "fn-parcel-events", "12.60",
           "2800000", "Requests", {"CostCenter": "1020"}),
    Charge("functions", "logistics-tracking", "AWS Lambda", "fn-parcel-events", "88.05",
           "5280000", "GB-Seconds", {"CostCenter": "1020"}),
    Charge("gateway", "shared-services", "Amazon API Gateway", "api-public", "420.00",
           "12000000", "Requests"),
    Charge("spot", "prod-data", "Amazon Elastic Compute Cloud", "sfr-batch-spot", "1480.00",
           "2976", "Hours", description="Spot instance hours"),
    Charge("spot", "dev-embedded", "Amazon Elastic Compute Cloud", "i-ci-runner", "96.40",
           "744", "Hours", description="t3.xlarge instance hours"),
    Charge("spot", "dev-embedded", "Amazon Elastic Compute Cloud", "i-ci-runner", "38.25",
           "850", "vCPU-Hours", description="T3 CPU Credits"),
)
#: (resource, workload, first day, first hour, last day, last hour or None: still running,
#: interrupted, CPU credits) of the month's runs on the spot fleet and the burstable runner.
RUNS = (
    ("sfr-batch-spot", "demand-forecast", 1, 0, 21, 6, False, 0),
    ("sfr-batch-spot", "demand-forecast", 22, 0, None, None, False, 0),
    ("sfr-batch-spot", "rig-simulation", 3, 8, 9, 2, True, 0),
    ("sfr-batch-spot", "rig-simulation", 10, 0, 27, 18, False, 0),
    ("i-ci-runner", "firmware-ci", 1, 0, None, None, False, 640),
    ("i-ci-runner", "driver-ci", 14, 0, 28, 0, False, 210),
)


def billing_total(part: str | None = None) -> Decimal:
    """What the cloud-native rows cost in a month (of one ``part``, or all of them)."""
    return sum((Decimal(c.cost) for c in CHARGES if part in (None, c.part)), Decimal(0))


def usage_csv(period: str) -> str:
    """The month's workload usage of both clusters as a plain usage CSV (deterministic)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("period", "cluster", "namespace", "cpu_core_hours_requested",
                     "cpu_core_hours_used", "ram_gb_hours_requested", "ram_gb_hours_used",
                     "labels"))
    for cluster, namespaces in USAGE.items():
        for namespace, (labels, cpu_req, cpu_use, ram_req, ram_use) in namespaces.items():
            writer.writerow((period, cluster, namespace, cpu_req, cpu_use, ram_req, ram_use,
                             labels))
    return out.getvalue()


def _instant(period: str, day: int | None, hour: int | None) -> str:
    return "" if day is None else f"{period}-{day:02d}T{hour or 0:02d}:00:00Z"


def runs_csv(period: str) -> str:
    """The month's runs on the spot fleet and the burstable runner (deterministic)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("resource_id", "workload", "started_at", "ended_at", "interrupted",
                     "cpu_credits"))
    for resource, workload, day, hour, end_day, end_hour, interrupted, credits in RUNS:
        writer.writerow((resource, workload, _instant(period, day, hour),
                         _instant(period, end_day, end_hour), str(interrupted).lower(),
                         credits))
    return out.getvalue()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(uow: UnitOfWork, app: App, period: str) -> Changes:
    """Store the month's cluster usage and spot runs (each file once by its content)."""
    folder = app.costfacts_dir.parent
    usage_path = _write(folder / f"demo-k8s-usage-{period}.csv", usage_csv(period))
    usage = read_usage_csv(usage_path)
    stored = kubernetes.import_usage(
        uow=uow, source=usage.source, kind=usage.kind, records=usage.records,
        sha256=hashlib.sha256(usage_path.read_bytes()).hexdigest(),
        reason="demo company: cluster usage")
    runs_path = _write(folder / f"demo-spot-runs-{period}.csv", runs_csv(period))
    runs = read_spot_runs_csv(runs_path)
    ran = spot.import_runs(uow=uow, source=runs.source, records=runs.records,
                           sha256=hashlib.sha256(runs_path.read_bytes()).hexdigest(),
                           reason="demo company: spot and burstable runs")
    created = int(not stored.unchanged) + int(not ran.unchanged)
    return Changes(frozenset({"k8s_usage", "spot_runs"}), created=created,
                   unchanged=2 - created)


def run(uow: UnitOfWork, app: App, period: str) -> allocation.AllocationRun:
    """Load the demo month (billing, usage, runs, function drivers) and allocate it by the
    demo rule set as a dry run: the split shows without replacing the month's journals."""
    from client import demo_allocation

    store = demo_allocation.load_month(uow, app, period)
    return allocation.allocate(uow=uow, store=store, period=period,
                               ruleset=demo_allocation.RULESET, dry_run=True)


def _part(line: Any) -> str | None:
    """Which cloud-native part an input cost line is (None: the rest of the month)."""
    if line.origin in ("kubernetes", "spot"):
        return "cluster" if line.origin == "kubernetes" else "spot"
    resource = line.attribute("resource_id")
    return next((c.part for c in CHARGES if c.resource == resource and c.part in (
        "functions", "gateway")), None)


def _money(amount: Decimal) -> Decimal:
    """``amount`` to the cent when that is exact (a split to the cent reads as one), else as
    it is: nothing is rounded away."""
    cents = amount.quantize(Decimal("0.01"))
    return cents if cents == amount else amount


def summary(outcome: allocation.AllocationRun, uow: UnitOfWork) -> dict[str, Any]:
    """The cloud-native part of the month: what each cluster share, function, gateway and spot
    workload was charged to which cost centre, and the clusters' namespace and label shares."""
    result = outcome.result
    shares: dict[tuple[str, str, str, str], Decimal] = defaultdict(Decimal)
    by_centre: dict[str, Decimal] = defaultdict(Decimal)
    parts: dict[str, Decimal] = defaultdict(Decimal)
    for source in result.inputs:
        part = _part(source.line)
        if part is None or part == "gateway":
            continue
        attrs = dict(source.line.attributes)
        key = (attrs.get("k8s_cluster") or source.line.attribute("resource_id") or "",
               attrs.get("k8s_share") or part, attrs.get("k8s_key") or dict(
                   source.line.tags).get("workload", ""), source.cost_centre or "")
        shares[key] += source.line.amount
        parts[part] += source.line.amount
        by_centre[source.cost_centre or "(unallocated)"] += source.line.amount
    for line in result.lines:  # the gateway, split by the functions' invocations
        if line.pool == "gateway":
            by_centre[line.cost_centre] += line.amount
            parts["gateway"] += line.amount
    return {"ruleset": outcome.ruleset, "period": outcome.period,
            "billed": {p: billing_total(p) for p in ("cluster", "functions", "gateway", "spot")},
            "charged": {p: _money(a) for p, a in sorted(parts.items())},
            "shares": [{"resource": r, "kind": k, "key": n, "cost_centre": c,
                        "amount": _money(a)} for (r, k, n, c), a in sorted(shares.items())],
            "by_cost_centre": [{"cost_centre": c, "currency": "USD", "amount": _money(a)}
                               for c, a in sorted(by_centre.items())],
            "cluster_shares": kubernetes.namespace_shares(
                uow=uow, period=outcome.period,
                ruleset=allocation.resolve(uow, outcome.ruleset).ruleset())}

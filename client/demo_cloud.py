"""The demo's cloud-native month: a shared Kubernetes cluster, a few functions, spot capacity.

Meridian runs one EKS cluster, ``meridian-eks``, for four teams' namespaces (the web shop, the
data pipeline, the ERP API, parcel tracking) plus ``kube-system`` and ``monitoring``; a quarter of
its capacity sits idle. Its nodes, volumes and load balancer are billed as three resources tagged
``cluster = meridian-eks``; the workload usage is what OpenCost would report. Two teams run
Lambda functions behind one API gateway, which is split by the functions' invocations.

Everything is generated (same period, same data) and kept apart from the demo's main billing:
:func:`run` imports this month into its own cost fact store (``demo-cloud-costfacts`` next to the
main one), stores the usage and the rule set ``demo-cloud`` (never activated, so the demo's own
rule set stays the one active) and allocates it as a dry run, which shows the split without
replacing the month's allocation journals.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from decimal import Decimal
from typing import Any

from client.bootstrap import App
from connectors.billing import detect_importer
from connectors.kubernetes import read_usage_csv
from ledger.costfacts import CostFactStore
from ledger.ports import UnitOfWork
from ledger.services import allocation, kubernetes
from ledger.services.base import Changes
from ledger.services.costs import import_billing

CLUSTER = "meridian-eks"
RULESET = "demo-cloud"
#: namespace -> (team label, CPU core-hours requested, used, RAM GiB-hours requested, used)
NAMESPACES = {
    "web-shop": ("web", 2976, 2232, 11904, 13392),
    "data-pipeline": ("data-science", 4464, 5952, 23808, 20832),
    "erp-api": ("erp", 1488, 744, 5952, 4464),
    "tracking": ("logistics", 744, 1116, 2976, 3720),
    "kube-system": ("", 372, 300, 1488, 1200),
    "monitoring": ("", 372, 372, 2976, 2976),
}
IDLE_HOURS = (3720, 14880)  # CPU core-hours and GiB-hours nobody requested or used
#: (service, resource, monthly cost, consumed quantity, unit, tags)
BILLING = (
    ("Amazon Elastic Compute Cloud", "i-eks-node-group-1", "6240.00", "4464", "Hours",
     {"cluster": CLUSTER}),
    ("Amazon Elastic Block Store", "vol-eks-data", "812.40", "2400", "GB-Mo",
     {"cluster": CLUSTER}),
    ("Elastic Load Balancing", "elb-eks-ingress", "198.35", "744", "Hours", {"cluster": CLUSTER}),
    ("AWS Lambda", "fn-price-check", "41.20", "9200000", "Requests", {"CostCenter": "2040"}),
    ("AWS Lambda", "fn-price-check", "133.85", "8030000", "GB-Seconds", {"CostCenter": "2040"}),
    ("AWS Lambda", "fn-parcel-events", "12.60", "2800000", "Requests", {"CostCenter": "1020"}),
    ("AWS Lambda", "fn-parcel-events", "88.05", "5280000", "GB-Seconds", {"CostCenter": "1020"}),
    ("Amazon API Gateway", "api-public", "420.00", "12000000", "Requests", {}),
)
COLUMNS = ("BillingPeriodStart", "ChargePeriodStart", "ProviderName", "BillingAccountId",
           "SubAccountId", "ServiceName", "ResourceId", "ChargeCategory", "BilledCost",
           "EffectiveCost", "BillingCurrency", "ConsumedQuantity", "ConsumedUnit", "Tags")

RULES = """
# The demo's cloud-native rules: a shared cluster split by namespace, functions by their tags,
# the API gateway by the functions' invocations.
[ruleset]
name = "demo-cloud"
version = 1
effective_from = 2026-01-01
expense_account = "6900"
recovery_account = "7990"
central_cost_centre = "6010"
default_pool = "cloud"

[tag_keys]
cost_centre = ["CostCenter", "cc"]

[[pools]]
id = "cloud"
name = "Public cloud"
owner = "6010"

[[mapping]]
id = "K010"
description = "Namespaces map to teams by their team label, like any team tag"
when = { tags = { namespace = "*" } }
cost_centre_from_tag = "team"
values = { web = "2040", data-science = "5050", erp = "3010", logistics = "1020" }

[[mapping]]
id = "K020"
description = "Functions and everything else tagged with a cost centre"
when = { tags = { cost_centre = "*" } }
cost_centre_from_tag = "cost_centre"

[[mapping]]
id = "K030"
description = "The API gateway in front of the functions is a shared platform"
when = { service_name = "*API Gateway*" }
shared = true

[[shared]]
id = "K-CALLS"
pool = "cloud"
driver = "invocations"
targets = ["2040", "1020"]

[[clusters]]
id = "eks"
description = "meridian-eks: nodes, volumes and the ingress load balancer"
cluster = "meridian-eks"
basis = "max"
cpu_percent = "60"
idle = "weighted"
system_namespaces = ["kube-system", "monitoring"]
"""


def usage_csv(period: str) -> str:
    """The month's workload usage as a plain usage CSV (deterministic)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("period", "cluster", "namespace", "cpu_core_hours_requested",
                     "cpu_core_hours_used", "ram_gb_hours_requested", "ram_gb_hours_used",
                     "labels"))
    for namespace, (team, cpu_req, cpu_use, ram_req, ram_use) in NAMESPACES.items():
        writer.writerow((period, CLUSTER, namespace, cpu_req, cpu_use, ram_req, ram_use,
                         f"team={team}" if team else ""))
    writer.writerow((period, CLUSTER, "__idle__", IDLE_HOURS[0], IDLE_HOURS[0], IDLE_HOURS[1],
                     IDLE_HOURS[1], ""))
    return out.getvalue()


def billing_csv(period: str) -> str:
    """The month's cluster, function and gateway billing as a FOCUS CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for service, resource, cost, quantity, unit, tags in BILLING:
        writer.writerow((f"{period}-01 00:00:00", f"{period}-01 00:00:00", "AWS",
                         "MRD-AWS-PAYER", "prod-platform", service, resource, "Usage", cost,
                         cost, "USD", quantity, unit, json.dumps(tags) if tags else "NULL"))
    return out.getvalue()


def billing_total() -> Decimal:
    return sum((Decimal(row[2]) for row in BILLING), Decimal(0))


def store_of(app: App) -> CostFactStore:
    return CostFactStore(app.costfacts_dir.parent / "demo-cloud-costfacts")


def load(uow: UnitOfWork, app: App, period: str) -> Changes:
    """Store the rule set (once), the month's usage and billing (each once by content)."""
    changes = Changes(frozenset({"ruleset"}), unchanged=1)
    if uow.rulesets.latest(RULESET) is None:
        _, changes = allocation.import_ruleset(uow=uow, text=RULES, source="demo-cloud.toml",
                                               reason="demo company: cloud-native")
    folder = app.costfacts_dir.parent
    folder.mkdir(parents=True, exist_ok=True)
    usage_path = folder / f"demo-k8s-usage-{period}.csv"
    usage_path.write_text(usage_csv(period), encoding="utf-8")
    usage = read_usage_csv(usage_path)
    kubernetes.import_usage(uow=uow, source=usage.source, kind=usage.kind, records=usage.records,
                            sha256=hashlib.sha256(usage_path.read_bytes()).hexdigest(),
                            reason="demo company: cluster usage")
    billing_path = folder / f"demo-cloud-billing-{period}.csv"
    billing_path.write_text(billing_csv(period), encoding="utf-8")
    store = store_of(app)
    import_billing(uow=uow, store=store, path=billing_path, importer=detect_importer(billing_path))
    return changes


def run(uow: UnitOfWork, app: App, period: str) -> allocation.AllocationRun:
    """Load the month, derive the function drivers and allocate it as a dry run."""
    load(uow, app, period)
    store = store_of(app)
    kubernetes.derive_serverless_drivers(uow=uow, store=store, period=period,
                                         ruleset=f"{RULESET}@1")
    return allocation.allocate(uow=uow, store=store, period=period, ruleset=f"{RULESET}@1",
                               dry_run=True)


def summary(outcome: allocation.AllocationRun, uow: UnitOfWork) -> dict[str, Any]:
    """Per cost centre what the cluster, the functions and the gateway cost, and the shares."""
    result = outcome.result
    return {"ruleset": outcome.ruleset, "period": outcome.period,
            "source_total": {c: round(t, 2) for c, t in result.source_total.items()},
            "allocated_total": dict(result.allocated_total),
            "unallocated_total": dict(result.unallocated_total),
            "by_cost_centre": [{"cost_centre": c, "currency": cur, "amount": a}
                               for c, cur, a in outcome.by_cost_centre()],
            "cluster_shares": kubernetes.namespace_shares(
                uow=uow, period=outcome.period,
                ruleset=allocation.resolve(uow, f"{RULESET}@1").ruleset())}

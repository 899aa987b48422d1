"""The demo's allocation: a month of generated FOCUS billing, the demo rule set, a run.

:func:`billing_rows` is pure (same period and seed, same rows): about 1,800 daily rows of AWS
and Azure usage for Meridian Components, with the tag mess real companies have: the cost-centre
key spelt ``CostCenter``, ``cost-center``, ``CC`` or ``costcentre``; team names in the wrong
case; accounts with no tags at all (sandboxes, shared services); a typo (``platfrom``) and a
cost centre that does not exist (``9999``), which stay unallocated and are reported; unused
reservations (idle, charged to their buyer with a penalty); data transfer that follows the
resource that sent it; tax and support shared by headcount. The cloud-native estate of
:mod:`client.demo_cloud` (shared clusters, functions behind an API gateway, spot capacity) is
billed in the same month, as monthly rows with their consumed quantities.

:func:`load_rules` stores and activates ``resources/rules/demo.toml`` (once); :func:`run` writes
the month's billing file, imports it (idempotent: the same content is imported once), stores the
clusters' usage and the spot runs, derives the function drivers and runs the allocation as the
demo's cost analyst, replacing its own drafts when run again.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from client import demo_cloud
from client.bootstrap import App
from connectors.billing import detect_importer
from ledger.ports import UnitOfWork
from ledger.services import allocation, kubernetes
from ledger.services.base import Changes
from ledger.services.costs import import_billing

SEED = 20261001
RULESET = "demo"
COLUMNS = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
           "ProviderName", "BillingAccountId", "BillingAccountName", "SubAccountId",
           "SubAccountName", "ServiceName", "ServiceCategory", "ResourceId", "RegionId",
           "ChargeCategory", "ChargeDescription", "BilledCost", "EffectiveCost", "ListCost",
           "BillingCurrency", "ConsumedQuantity", "ConsumedUnit", "Tags")


@dataclass(frozen=True)
class Account:
    """A sub-account of the demo's cloud estate: its tags and its monthly spend by service."""

    provider: str
    billing_account: str
    sub_account: str
    region: str
    tags: dict[str, str]
    services: dict[str, int]  # service name -> monthly cost in whole dollars


AWS, AZURE = "AWS", "Microsoft"
ACCOUNTS = (
    Account(AWS, "MRD-AWS-PAYER", "prod-platform", "eu-west-1", {"CostCenter": "5010"},
            {"Amazon Elastic Compute Cloud": 38000, "Amazon Simple Storage Service": 6200,
             "Amazon Relational Database Service": 14500, "AWS Data Transfer": 3100}),
    Account(AWS, "MRD-AWS-PAYER", "prod-data", "eu-west-1", {"Team": "Data-Science"},
            {"Amazon SageMaker": 21000, "Amazon Simple Storage Service": 4800,
             "Amazon Athena": 2300}),
    Account(AWS, "MRD-AWS-PAYER", "prod-erp", "eu-central-1", {"cost-center": "3010"},
            {"Amazon Elastic Compute Cloud": 9800, "Amazon Relational Database Service": 7400}),
    Account(AWS, "MRD-AWS-PAYER", "prod-web", "us-east-1", {"CC": "2040"},
            {"Amazon CloudFront": 2600, "Amazon Elastic Compute Cloud": 5400}),
    Account(AWS, "MRD-AWS-PAYER", "logistics-tracking", "eu-west-1",
            {"owner-team": "LOGISTICS"}, {"Amazon Elastic Compute Cloud": 6900,
                                          "Amazon DynamoDB": 1900}),
    Account(AWS, "MRD-AWS-PAYER", "sales-crm", "us-east-1", {"team": "Sales-Americas "},
            {"Amazon Elastic Compute Cloud": 3300}),
    Account(AWS, "MRD-AWS-PAYER", "sandbox-rnd", "eu-west-1", {},
            {"Amazon Elastic Compute Cloud": 4100, "Amazon Simple Storage Service": 700}),
    Account(AWS, "MRD-AWS-PAYER", "dev-embedded", "eu-west-1", {},
            {"Amazon Elastic Compute Cloud": 2900}),
    Account(AWS, "MRD-AWS-PAYER", "shared-services", "eu-west-1", {},
            {"Amazon Virtual Private Cloud": 5200, "Amazon Route 53": 900,
             "AWS Support (Business)": 4300, "AWS CloudTrail": 600}),
    Account(AWS, "MRD-AWS-PAYER", "prod-ml", "us-west-2", {"Team": "platfrom"},
            {"Amazon Elastic Compute Cloud": 2700}),
    Account(AWS, "MRD-AWS-PAYER", "legacy-reporting", "eu-west-1", {"CostCenter": "9999"},
            {"Amazon Relational Database Service": 1500}),
    Account(AZURE, "MRD-AZ-EA", "az-manufacturing", "westeurope", {"costcentre": "1010"},
            {"Virtual Machines": 12400, "Storage": 2100, "Virtual Network": 1300}),
    Account(AZURE, "MRD-AZ-EA", "az-finance", "westeurope", {"cost_center": "3010"},
            {"Virtual Machines": 3900, "Azure SQL Database": 2800}),
)
CATEGORIES = {"Amazon Elastic Compute Cloud": "Compute", "Virtual Machines": "Compute",
              "Amazon SageMaker": "AI and Machine Learning", "AWS Data Transfer": "Networking",
              "Amazon Virtual Private Cloud": "Networking", "Virtual Network": "Networking",
              "Amazon Route 53": "Networking", "Amazon CloudFront": "Networking"}
RESOURCES_PER_SERVICE = 3
UNUSED_RESERVATION = Decimal("1840.000000")
TAX_RATE = Decimal("0.07")


def _period_days(period: str) -> tuple[date, date]:
    first = date(int(period[:4]), int(period[5:7]), 1)
    after = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, after


def _row(period: str, account: Account, service: str, day: date, resource: str,
         billed: Decimal, effective: Decimal, *, category: str = "Usage",
         description: str = "", tags: dict[str, str] | None = None) -> dict[str, str]:
    first, after = _period_days(period)
    currency = "USD"
    return {
        "BillingPeriodStart": f"{first} 00:00:00", "BillingPeriodEnd": f"{after} 00:00:00",
        "ChargePeriodStart": f"{day} 00:00:00",
        "ChargePeriodEnd": f"{day + timedelta(days=1)} 00:00:00",
        "ProviderName": account.provider, "BillingAccountId": account.billing_account,
        "BillingAccountName": "Meridian Components", "SubAccountId": account.sub_account,
        "SubAccountName": account.sub_account.replace("-", " ").title(),
        "ServiceName": service, "ServiceCategory": CATEGORIES.get(service, "Other"),
        "ResourceId": resource, "RegionId": account.region, "ChargeCategory": category,
        "ChargeDescription": description or f"{service} usage",
        "BilledCost": format(billed, "f"), "EffectiveCost": format(effective, "f"),
        "ListCost": format(billed, "f"), "BillingCurrency": currency,
        "Tags": json.dumps(account.tags if tags is None else tags) if (
            account.tags if tags is None else tags) else "NULL",
    }


def billing_rows(period: str, seed: int = SEED) -> list[dict[str, str]]:
    """A month of daily FOCUS rows for the demo company (deterministic)."""
    rng = random.Random(f"{seed}-{period}")
    first, after = _period_days(period)
    days = [first + timedelta(days=n) for n in range((after - first).days)]
    rows: list[dict[str, str]] = []
    for account in ACCOUNTS:
        for service, monthly in account.services.items():
            origin = (f"i-{account.sub_account}-0" if service == "AWS Data Transfer" else None)
            for number in range(RESOURCES_PER_SERVICE):
                resource = origin or f"{service.split()[-1].lower()}-{account.sub_account}-{number}"
                daily = Decimal(monthly) / RESOURCES_PER_SERVICE / len(days)
                for day in days:
                    factor = Decimal(rng.randint(8000, 12000)) / 10000
                    cost = (daily * factor).quantize(Decimal("0.0000001"))
                    rows.append(_row(period, account, service, day, resource, cost, cost))
        if account.sub_account == "prod-platform":
            # the EC2 instances the data transfer comes from carry the account's tag
            rows.append(_row(period, account, "Amazon Elastic Compute Cloud", days[0],
                             f"i-{account.sub_account}-0", Decimal("12.5000000"),
                             Decimal("12.5000000")))
    rows += cloud_native_rows(period)
    shared = next(a for a in ACCOUNTS if a.sub_account == "shared-services")
    untagged_total = sum((Decimal(r["BilledCost"]) for r in rows), Decimal(0))
    rows.append(_row(period, shared, "Amazon Elastic Compute Cloud", days[-1], "ri-pool",
                     UNUSED_RESERVATION, UNUSED_RESERVATION, category="Usage",
                     description="Unused reserved instance hours", tags={}))
    rows.append(_row(period, shared, "Tax", days[-1], "", (untagged_total * TAX_RATE).quantize(
        Decimal("0.01")), (untagged_total * TAX_RATE).quantize(Decimal("0.01")),
        category="Tax", description="Sales tax", tags={}))
    return rows


def cloud_native_rows(period: str) -> list[dict[str, str]]:
    """The month's cluster, function, gateway and spot rows: one per resource and unit for the
    whole month, in the account that pays for it, with the tags the charge carries."""
    first, after = _period_days(period)
    accounts = {a.sub_account: a for a in ACCOUNTS}
    rows = []
    for charge in demo_cloud.CHARGES:
        cost = Decimal(charge.cost)
        row = _row(period, accounts[charge.sub_account], charge.service, first, charge.resource,
                   cost, cost, description=charge.description, tags=charge.tags)
        row.update(ChargePeriodEnd=f"{after} 00:00:00", ConsumedQuantity=charge.quantity,
                   ConsumedUnit=charge.unit)
        rows.append(row)
    return rows


def write_billing(path: Path, period: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(billing_rows(period))
    return path


def rules_text() -> str:
    return resources.files("resources.rules").joinpath("demo.toml").read_text("utf-8")


def load_rules(uow: UnitOfWork) -> Changes:
    """Store and activate the demo rule set, once (a second load changes nothing)."""
    if uow.rulesets.latest(RULESET) is not None:
        return Changes(frozenset({"ruleset"}), unchanged=1)
    saved, changes = allocation.import_ruleset(uow=uow, text=rules_text(), source="demo.toml",
                                               reason="demo company")
    return changes + allocation.activate(uow=uow, name=saved.name, version=saved.version,
                                         reason="demo company")


def load_month(uow: UnitOfWork, app: App, period: str) -> Any:
    """Import the month's billing, store its cluster usage and spot runs and derive the
    function drivers (each unchanged when already stored); the cost fact store."""
    store = app.cost_facts()
    path = write_billing(app.costfacts_dir.parent / f"demo-billing-{period}.csv", period)
    import_billing(uow=uow, store=store, path=path, importer=detect_importer(path))
    demo_cloud.load(uow, app, period)
    kubernetes.derive_serverless_drivers(uow=uow, store=store, period=period, ruleset=RULESET,
                                         reason="demo company: function invocations")
    return store


def run(uow: UnitOfWork, app: App, period: str) -> allocation.AllocationRun:
    """Load the month and allocate it (drafts replaced on a rerun)."""
    store = load_month(uow, app, period)
    return allocation.allocate(uow=uow, store=store, period=period, ruleset=RULESET)


def summary(result: allocation.AllocationRun | None) -> dict[str, Any] | None:
    """The figures the month-end prints (see the lead's note in the report)."""
    if result is None:
        return None
    currency = sorted(result.result.source_total)
    return {"run_id": result.run_id, "ruleset": result.ruleset,
            "source_total": {c: round(result.result.source_total[c], 2) for c in currency},
            "allocated_total": dict(result.result.allocated_total),
            "unallocated_total": dict(result.result.unallocated_total),
            "journal_ids": list(result.journal_ids)}

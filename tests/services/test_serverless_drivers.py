"""Serverless functions: each function's cost follows its own billing rows, and their
invocations and GB-seconds become drivers that split the shared platform (API gateway)."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.billing import detect_importer
from ledger.errors import InputError
from ledger.services import kubernetes
from ledger.services.costs import import_billing
from tests.services.allocation_support import AllocationCompany

D = Decimal
COLUMNS = ("BillingPeriodStart", "ChargePeriodStart", "ProviderName", "BillingAccountId",
           "SubAccountId", "ServiceName", "ResourceId", "ChargeCategory", "BilledCost",
           "EffectiveCost", "BillingCurrency", "ConsumedQuantity", "ConsumedUnit", "Tags")
ROWS = [  # service, resource, cost, quantity, unit, tags
    ("AWS Lambda", "fn-checkout", "0.60", "3000000", "Requests", {"CostCenter": "1010"}),
    ("AWS Lambda", "fn-checkout", "2.50", "150000", "GB-Seconds", {"CostCenter": "1010"}),
    ("AWS Lambda", "fn-report", "0.20", "1000000", "Requests", {"cc": "2010"}),
    ("AWS Lambda", "fn-report", "7.50", "450000", "GB-Seconds", {"cc": "2010"}),
    ("AWS Lambda", "fn-orphan", "0.01", "5000", "Requests", {}),
    ("Amazon API Gateway", "api-1", "35.00", "4000000", "Requests", {}),
]
RULES = """
[ruleset]
name = "it"
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
id = "TAGGED"
when = { tags = { cost_centre = "*" } }
cost_centre_from_tag = "cost_centre"

[[mapping]]
id = "PLATFORM"
when = { service_name = "*API Gateway*" }
shared = true

[[shared]]
id = "BY-CALLS"
pool = "cloud"
driver = "invocations"
targets = ["1010", "2010"]
"""


def write_focus(path: Path) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for service, resource, cost, quantity, unit, tags in ROWS:
            writer.writerow(["2026-10-01 00:00:00", "2026-10-05 00:00:00", "AWS", "ACC-1",
                             "sub-1", service, resource, "Usage", cost, cost, "USD", quantity,
                             unit, json.dumps(tags) if tags else "NULL"])
    return path


@pytest.fixture
def company(app, tmp_path):
    company = AllocationCompany(app)
    company.save_rules(RULES)
    company.activate(1)
    store = app.cost_facts()
    path = write_focus(tmp_path / "functions.csv")
    with company.as_("carol")() as uow:
        import_billing(uow=uow, store=store, path=path, importer=detect_importer(path))
        uow.commit()
    return company, store


def test_function_usage_becomes_drivers_that_split_the_platform(company) -> None:
    company, store = company
    with company.as_("carol")() as uow:
        kubernetes.derive_serverless_drivers(uow=uow, store=store, period="2026-10")
        uow.commit()
    with company.app.uow(read_only=True) as uow:
        drivers = {(q.driver, q.cost_centre): q.quantity
                   for name in ("invocations", "gb_seconds")
                   for q in uow.drivers.for_period(name, "2026-10")}
    # the untagged function and the API gateway's own requests are not a team's use
    assert drivers == {("invocations", "1010"): D(3000000), ("invocations", "2010"): D(1000000),
                       ("gb_seconds", "1010"): D(150000), ("gb_seconds", "2010"): D(450000)}
    outcome = company.run(store=store)
    totals = {centre: amount for centre, _, amount in outcome.by_cost_centre()}
    # own functions: 1010 0.60 + 2.50, 2010 0.20 + 7.50; the gateway's 35.00 by calls 3 : 1
    assert totals["1010"] == D("3.10") + D("26.25")
    assert totals["2010"] == D("7.70") + D("8.75")
    assert outcome.result.unallocated_total["USD"] == D("0.01")  # the untagged function


def test_derived_again_changes_nothing(company) -> None:
    company, store = company
    for _ in range(2):
        with company.as_("carol")() as uow:
            changes = kubernetes.derive_serverless_drivers(uow=uow, store=store,
                                                           period="2026-10")
            uow.commit()
    assert changes.created == 0 and changes.updated == 0


def test_a_period_without_functions_is_refused(company) -> None:
    company, store = company
    with company.as_("carol")() as uow, pytest.raises(InputError, match="no function usage"):
        kubernetes.derive_serverless_drivers(uow=uow, store=store, period="2026-09")

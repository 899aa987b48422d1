"""Azure cost exports (Enterprise Agreement and Microsoft Customer Agreement) as cost facts.

EA exports use PascalCase names (``CostInBillingCurrency``), MCA exports camelCase
(``costInBillingCurrency``); columns are matched without regard to case. Dates are US style
(``9/2/2023``) or ISO; a row covers one day. Tags in EA exports are a JSON fragment without the
braces (``"tagA": "x","tagB": "y"``), in MCA exports a JSON object; both are accepted. Files
often start with a UTF-8 byte order mark and use CRLF line ends.

Mapping: ChargeType Usage/Purchase/Tax as themselves, Refund as Credit, RoundingAdjustment as
Adjustment, UnusedReservation and UnusedSavingsPlan as Usage (FOCUS treats unused commitment as
usage). EffectiveCost is the cost column as exported: import the amortised export to get
amortised effective costs. ListCost is PayGPrice x Quantity. ServiceCategory comes from the
FinOps toolkit's service table by ConsumedService.
"""

from __future__ import annotations

import collections
import csv
from functools import cache
from importlib import resources

from connectors.billing.mapping import Columns, TabularImporter, lookup_sql

#: Columns that identify an Azure cost export (any spelling).
AZURE_SIGNATURE = ("MeterCategory", "SubscriptionId", "SubscriptionGuid")
AZURE_COST_COLUMNS = ("CostInBillingCurrency", "Cost", "PreTaxCost")

CHARGE_TYPE_CATEGORIES = {
    "Usage": "Usage",
    "Purchase": "Purchase",
    "Tax": "Tax",
    "Refund": "Credit",
    "RoundingAdjustment": "Adjustment",
    "UnusedReservation": "Usage",
    "UnusedSavingsPlan": "Usage",
}


@cache
def consumed_service_categories() -> dict[str, str]:
    """lower(ConsumedService) -> the FOCUS ServiceCategory most rows of the table give it."""
    votes: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    table = resources.files("connectors.billing") / "data" / "finops_toolkit_services.csv"
    with table.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            service = (row.get("ConsumedService") or "").strip().lower()
            category = (row.get("ServiceCategory") or "").strip()
            if service and category:
                votes[service][category] += 1
    return {service: counts.most_common(1)[0][0] for service, counts in votes.items()}


class AzureCostImporter(TabularImporter):
    """An Azure EA or MCA cost export (CSV) as cost facts."""

    @property
    def format_name(self) -> str:  # type: ignore[override]
        mca = "costInBillingCurrency" in self.header or "billingAccountId" in self.header
        return f"azure-{'mca' if mca else 'ea'}-{self.kind}"

    def mapping(self, cols: Columns) -> dict[str, str]:
        day = cols.timestamp("Date", "UsageDateTime", "UsageDate", required=True, not_null=True)
        period_start = cols.timestamp("BillingPeriodStartDate", "BillingPeriodStart")
        quantity = cols.number("Quantity", "UsageQuantity")
        price = cols.number("PayGPrice")
        charge_type = cols.find("ChargeType")
        consumed = cols.text("ConsumedService")
        currency = cols.text("BillingCurrencyCode", "BillingCurrency", "Currency", required=True)
        location = cols.text("ResourceLocation", "ResourceLocationNormalized", "Location")
        # 12 + 12 decimals keep the product within DECIMAL(38,24) before it is rounded to 18.
        list_cost = (
            f"CAST(CAST({price} AS DECIMAL(38,12)) * CAST({quantity} AS DECIMAL(38,12)) "
            f"AS DECIMAL(38,18))"
        )
        return {
            "billing_period": f"strftime(coalesce({period_start}, {day}), '%Y-%m')",
            "charge_period_start": day,
            "charge_period_end": f"{day} + INTERVAL 1 DAY",
            "provider": "'Microsoft'",
            "billing_account_id": cols.text("BillingAccountId", "EnrollmentNumber",
                                            required=True),
            "billing_account_name": cols.text("BillingAccountName"),
            "sub_account_id": cols.text("SubscriptionId", "SubscriptionGuid", required=True),
            "sub_account_name": cols.text("SubscriptionName"),
            "service_name": cols.text("MeterCategory", required=True),
            "service_category": lookup_sql(f"lower({consumed})", consumed_service_categories(),
                                           "Other"),
            "resource_id": cols.text("ResourceId", "InstanceId", "InstanceName"),
            "resource_name": cols.text("ResourceName"),
            "region": f"lower(replace({location}, ' ', ''))",
            "charge_category": (
                cols.one_of(charge_type, CHARGE_TYPE_CATEGORIES, what="ChargeType")
                if charge_type is not None
                else "'Usage'"
            ),
            "charge_class": "CAST(NULL AS VARCHAR)",
            "charge_description": cols.text("ProductName", "Product", "MeterName"),
            "pricing_quantity": quantity,
            "pricing_unit": cols.text("UnitOfMeasure"),
            "consumed_quantity": quantity,
            "consumed_unit": cols.text("UnitOfMeasure"),
            "billed_cost": cols.number(*AZURE_COST_COLUMNS, required=True, not_null=True),
            "effective_cost": cols.number(*AZURE_COST_COLUMNS, required=True, not_null=True),
            "list_cost": list_cost,
            "contracted_cost": "CAST(NULL AS DECIMAL(38,18))",
            "billing_currency": f"upper({currency})",
            # MCA exports say invoiceId; EA exports have none (InvoiceSectionId is not one).
            "invoice_id": cols.text("InvoiceId"),
            "tags": cols.json_tags(cols.find("Tags"), braces_optional=True),
        }

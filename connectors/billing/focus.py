"""FinOps FOCUS 1.0 to 1.2 cost and usage files (CSV or Parquet) as cost facts.

FOCUS columns map one to one (BilledCost -> billed_cost ...). Versions differ in a few names:
1.3 renames ProviderName to ServiceProviderName; 1.0-preview had UsageQuantity for
ConsumedQuantity and no ContractedCost. Tags is a JSON object; the sample files from the FOCUS
project write nulls as the literal string ``NULL``.
"""

from __future__ import annotations

from connectors.billing.mapping import Columns, TabularImporter

FOCUS_CHARGE_CATEGORIES = {c: c for c in ("Usage", "Purchase", "Tax", "Credit", "Adjustment")}

#: Columns that identify a FOCUS file.
FOCUS_SIGNATURE = ("BilledCost", "ChargePeriodStart", "BillingPeriodStart", "ChargeCategory")
#: Columns new in each version, to name the version in the manifest.
_VERSION_MARKERS = (
    ("1.2", ("InvoiceId", "PricingCurrency", "BillingAccountType")),
    ("1.1", ("ServiceSubcategory", "SkuMeter", "CapacityReservationId")),
)


def focus_version(header: tuple[str, ...]) -> str:
    """The FOCUS version the header looks like (the newest whose new columns are present)."""
    present = {name.casefold() for name in header}
    for version, markers in _VERSION_MARKERS:
        if any(marker.casefold() in present for marker in markers):
            return version
    return "1.0"


class FocusImporter(TabularImporter):
    """A FOCUS file (CSV or Parquet) as cost facts."""

    null_strings = ("NULL",)

    @property
    def format_name(self) -> str:  # type: ignore[override]
        return f"focus-{focus_version(self.header)}-{self.kind}"

    def mapping(self, cols: Columns) -> dict[str, str]:
        period_start = cols.timestamp("BillingPeriodStart", required=True, not_null=True)
        return {
            "billing_period": f"strftime({period_start}, '%Y-%m')",
            "charge_period_start": cols.timestamp("ChargePeriodStart", required=True,
                                                  not_null=True),
            "charge_period_end": cols.timestamp("ChargePeriodEnd"),
            "provider": cols.text("ProviderName", "ServiceProviderName", required=True),
            "billing_account_id": cols.text("BillingAccountId", required=True),
            "billing_account_name": cols.text("BillingAccountName"),
            "sub_account_id": cols.text("SubAccountId"),
            "sub_account_name": cols.text("SubAccountName"),
            "service_name": cols.text("ServiceName", required=True),
            "service_category": cols.text("ServiceCategory"),
            "resource_id": cols.text("ResourceId"),
            "resource_name": cols.text("ResourceName"),
            "region": cols.text("RegionId", "Region", "RegionName"),
            "charge_category": cols.one_of(cols.require("ChargeCategory"),
                                           FOCUS_CHARGE_CATEGORIES, what="ChargeCategory"),
            "charge_class": cols.text("ChargeClass"),
            "charge_description": cols.text("ChargeDescription"),
            "pricing_quantity": cols.number("PricingQuantity"),
            "pricing_unit": cols.text("PricingUnit"),
            "consumed_quantity": cols.number("ConsumedQuantity", "UsageQuantity"),
            "consumed_unit": cols.text("ConsumedUnit", "UsageUnit"),
            "billed_cost": cols.number("BilledCost", required=True, not_null=True),
            "effective_cost": cols.number("EffectiveCost", required=True, not_null=True),
            "list_cost": cols.number("ListCost"),
            "contracted_cost": cols.number("ContractedCost"),
            "billing_currency": f"upper({cols.text('BillingCurrency', required=True)})",
            "invoice_id": cols.text("InvoiceId"),  # FOCUS 1.2; NULL in older files
            "tags": cols.json_tags(cols.find("Tags")),
        }

"""AWS Cost and Usage Reports (CUR, legacy CSV with ``lineItem/...`` columns) as cost facts.

The mapping follows the FinOps Foundation's FOCUS converters:

- ChargeCategory from ``lineItem/LineItemType``: usage lines (Usage, DiscountedUsage,
  SavingsPlanCoveredUsage, SavingsPlanNegation) are Usage; fees for commitments (Fee, RIFee,
  SavingsPlanUpfrontFee, SavingsPlanRecurringFee) Purchase; Tax is Tax; Credit and the
  discounts (Discount, BundledDiscount, EdpDiscount, PrivateRateDiscount) Credit; Refund
  Adjustment. An unknown type is an error, so that no charge is silently misfiled.
- BilledCost is the unblended cost; EffectiveCost the amortised cost: the reservation's or
  savings plan's effective cost for covered usage, the unused part for RIFee and
  SavingsPlanRecurringFee, zero for SavingsPlanNegation, SavingsPlanUpfrontFee and upfront
  reservation fees (their cost reaches the usage they cover), the unblended cost otherwise.
- ListCost is ``pricing/publicOnDemandCost``; the invoice id is ``bill/InvoiceId``.
- Each ``resourceTags/<key>`` column becomes a tag; ``user:`` (user-defined tags) is dropped
  from the key, ``aws:`` kept. Empty values mean "not tagged".
"""

from __future__ import annotations

from connectors.billing.mapping import Columns, TabularImporter, lookup_sql, sql_name, sql_text

#: Columns that identify a CUR file.
CUR_SIGNATURE = ("lineItem/LineItemType", "lineItem/UnblendedCost")

LINE_ITEM_CHARGE_CATEGORIES = {
    "Usage": "Usage",
    "DiscountedUsage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage",
    "Fee": "Purchase",
    "RIFee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase",
    "Tax": "Tax",
    "Credit": "Credit",
    "Discount": "Credit",
    "BundledDiscount": "Credit",
    "EdpDiscount": "Credit",
    "PrivateRateDiscount": "Credit",
    "Refund": "Adjustment",
}

#: FOCUS ServiceCategory of common product codes; others are "Other".
PRODUCT_CATEGORIES = {
    "AmazonEC2": "Compute", "AWSLambda": "Compute", "AmazonECS": "Compute",
    "AmazonEKS": "Compute", "AmazonLightsail": "Compute", "AWSCloudShell": "Developer Tools",
    "AmazonS3": "Storage", "AmazonEFS": "Storage", "AmazonGlacier": "Storage",
    "AWSBackup": "Storage", "AmazonFSx": "Storage",
    "AmazonRDS": "Databases", "AmazonDynamoDB": "Databases", "AmazonElastiCache": "Databases",
    "AmazonRedshift": "Databases", "AmazonDocDB": "Databases",
    "AWSDataTransfer": "Networking", "AmazonVPC": "Networking", "AmazonCloudFront": "Networking",
    "AmazonRoute53": "Networking", "AWSELB": "Networking", "AWSDirectConnect": "Networking",
    "AWSQueueService": "Integration", "AmazonSNS": "Integration", "AmazonStates": "Integration",
    "AmazonMQ": "Integration", "AmazonApiGateway": "Integration", "AWSEvents": "Integration",
    "AWSGlue": "Analytics", "AmazonAthena": "Analytics", "AmazonKinesis": "Analytics",
    "AmazonES": "Analytics", "AmazonQuickSight": "Analytics",
    "AmazonCloudWatch": "Management and Governance", "AWSCloudTrail": "Management and Governance",
    "AWSConfig": "Management and Governance", "AWSCostExplorer": "Management and Governance",
    "AWSMigrationHubRefactorSpaces": "Migration", "AWSIoT": "Internet of Things",
    "awskms": "Security", "AWSSecretsManager": "Security", "AmazonGuardDuty": "Security",
    "AWSSecurityHub": "Security", "AWSShield": "Security", "awswaf": "Security",
    "AmazonCognito": "Identity", "AmazonSageMaker": "AI and Machine Learning",
    "AmazonBedrock": "AI and Machine Learning",
}


def _tag_key(column: str) -> str:
    key = column.split("/", 1)[1]
    return key.removeprefix("user:")


class AwsCurImporter(TabularImporter):
    """An AWS CUR CSV file as cost facts."""

    @property
    def format_name(self) -> str:  # type: ignore[override]
        return f"aws-cur-{self.kind}"

    def mapping(self, cols: Columns) -> dict[str, str]:
        line_type = cols.require("lineItem/LineItemType")
        unblended = cols.number("lineItem/UnblendedCost", required=True, not_null=True)
        zero = "CAST(0 AS DECIMAL(38,18))"
        ri_effective = cols.number("reservation/EffectiveCost")
        sp_effective = cols.number("savingsPlan/SavingsPlanEffectiveCost")
        sp_commitment = cols.number("savingsPlan/TotalCommitmentToDate")
        sp_used = cols.number("savingsPlan/UsedCommitment")
        ri_unused_upfront = cols.number("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod")
        ri_unused_recurring = cols.number("reservation/UnusedRecurringFee")
        reservation_arn = cols.text("reservation/ReservationARN")
        kind = sql_name(line_type)
        effective = (
            f"CASE {kind} "
            f"WHEN 'SavingsPlanCoveredUsage' THEN coalesce({sp_effective}, {zero}) "
            f"WHEN 'SavingsPlanRecurringFee' THEN coalesce({sp_commitment}, {zero}) "
            f"- coalesce({sp_used}, {zero}) "
            f"WHEN 'SavingsPlanNegation' THEN {zero} "
            f"WHEN 'SavingsPlanUpfrontFee' THEN {zero} "
            f"WHEN 'DiscountedUsage' THEN coalesce({ri_effective}, {zero}) "
            f"WHEN 'RIFee' THEN coalesce({ri_unused_upfront}, {zero}) "
            f"+ coalesce({ri_unused_recurring}, {zero}) "
            f"ELSE CASE WHEN {kind} = 'Fee' AND {reservation_arn} IS NOT NULL THEN {zero} "
            f"ELSE {unblended} END END"
        )
        tag_columns = [c for c in cols.header if c.casefold().startswith("resourcetags/")]
        keys: dict[str, str] = {}
        for column in tag_columns:
            keys.setdefault(_tag_key(column), column)  # first column wins on a clash
        if keys:
            entries = ", ".join(
                f"{{'key': {sql_text(key)}, 'value': NULLIF({sql_name(column)}, '')}}"
                for key, column in sorted(keys.items())
            )
            tags = f"map_from_entries(list_filter([{entries}], e -> e.value IS NOT NULL))"
        else:
            tags = "MAP {}::MAP(VARCHAR, VARCHAR)"
        product_code = cols.text("lineItem/ProductCode")
        period_start = cols.timestamp("bill/BillingPeriodStartDate", required=True, not_null=True)
        usage_amount = cols.number("lineItem/UsageAmount")
        unit = cols.text("pricing/unit")
        return {
            "billing_period": f"strftime({period_start}, '%Y-%m')",
            "charge_period_start": cols.timestamp("lineItem/UsageStartDate", required=True,
                                                  not_null=True),
            "charge_period_end": cols.timestamp("lineItem/UsageEndDate"),
            "provider": "'AWS'",
            "billing_account_id": cols.text("bill/PayerAccountId", required=True),
            "billing_account_name": cols.text("bill/PayerAccountName"),
            "sub_account_id": cols.text("lineItem/UsageAccountId"),
            "sub_account_name": cols.text("lineItem/UsageAccountName"),
            "service_name": f"coalesce({cols.text('product/ProductName')}, {product_code})",
            "service_category": lookup_sql(product_code, PRODUCT_CATEGORIES, "Other"),
            "resource_id": cols.text("lineItem/ResourceId"),
            "resource_name": "CAST(NULL AS VARCHAR)",
            "region": f"coalesce({cols.text('product/regionCode')}, {cols.text('product/region')})",
            "charge_category": cols.one_of(line_type, LINE_ITEM_CHARGE_CATEGORIES,
                                           what="line item type"),
            "charge_class": "CAST(NULL AS VARCHAR)",
            "charge_description": cols.text("lineItem/LineItemDescription"),
            "pricing_quantity": usage_amount,
            "pricing_unit": unit,
            "consumed_quantity": (
                f"CASE WHEN {kind} IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage') "
                f"THEN {usage_amount} END"
            ),
            "consumed_unit": (
                f"CASE WHEN {kind} IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage') "
                f"THEN {unit} END"
            ),
            "billed_cost": unblended,
            "effective_cost": effective,
            "list_cost": cols.number("pricing/publicOnDemandCost"),
            "contracted_cost": "CAST(NULL AS DECIMAL(38,18))",
            "billing_currency": f"upper({cols.text('lineItem/CurrencyCode', required=True)})",
            # Empty until AWS issues the month's invoice (a CUR exported earlier has none).
            "invoice_id": cols.text("bill/InvoiceId"),
            "tags": tags,
        }

"""Generated FOCUS billing files for tests: the real fixture's header, rows we choose."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

FOCUS_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "billing" / \
    "focus_1.0_sample_1000rows.csv"


def focus_header() -> list[str]:
    with FOCUS_FIXTURE.open(newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


def focus_row(day: date, service: str, cost: Decimal, *, tags: dict[str, str] | None = None,
              resource: str | None = None, account: str = "111122223333") -> dict[str, str]:
    """One daily usage row of ``cost`` USD for ``service`` on ``day``."""
    start = datetime(day.year, day.month, day.day)
    month = date(day.year, day.month, 1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return {
        "BilledCost": str(cost), "EffectiveCost": str(cost), "ListCost": str(cost),
        "ContractedCost": str(cost), "BillingCurrency": "USD",
        "BillingAccountId": account, "BillingAccountName": "Meridian",
        "SubAccountId": account, "SubAccountName": "Meridian prod",
        "BillingPeriodStart": f"{month} 00:00:00", "BillingPeriodEnd": f"{next_month} 00:00:00",
        "ChargePeriodStart": f"{start:%Y-%m-%d %H:%M:%S}",
        "ChargePeriodEnd": f"{start + timedelta(days=1):%Y-%m-%d %H:%M:%S}",
        "ChargeCategory": "Usage", "ChargeFrequency": "Usage-Based",
        "ChargeDescription": f"{service} usage", "ProviderName": "AWS",
        "PublisherName": "AWS", "InvoiceIssuerName": "AWS", "ServiceName": service,
        "ServiceCategory": "Compute", "RegionId": "eu-west-1", "RegionName": "EU (Ireland)",
        "ResourceId": resource or f"{service.lower()}-shared", "PricingQuantity": "1",
        "PricingUnit": "Hours", "ConsumedQuantity": "1", "ConsumedUnit": "Hours",
        "Tags": json.dumps(tags or {}),
    }


def write_focus(path: Path, rows: list[dict[str, str]]) -> Path:
    header = focus_header()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, quoting=csv.QUOTE_NONNUMERIC)
        writer.writeheader()
        for row in rows:
            writer.writerow({name: row.get(name, "NULL") for name in header})
    return path

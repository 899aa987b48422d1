"""The transfer charges read from a real AWS CUR agree with the CUR's own transfer types."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from connectors.billing import import_billing_file
from ledger.costfacts import CostFactStore
from ledger.services.transfer import transfer_charges

CUR = Path(__file__).resolve().parents[1] / "fixtures" / "billing" / \
    "aws_cur_sample_anonymous.csv"
#: product/transferType (a column our classifier does not read) -> the kind it should give
KINDS = {"InterRegion Outbound": "inter-region", "AWS Outbound": "egress",
         "IntraRegion": "inter-zone", "IntraRegion-xAZ-In": "inter-zone",
         "IntraRegion-xAZ-Out": "inter-zone"}


def test_charges_by_kind_match_the_cur_transfer_types(tmp_path) -> None:
    expected: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    with CUR.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            kind = KINDS.get(row["product/transferType"])
            if kind and row["lineItem/LineItemType"] == "Usage":
                expected[kind][0] += 1
                expected[kind][1] += Decimal(row["lineItem/UnblendedCost"])
    store = CostFactStore(tmp_path / "facts")
    import_billing_file(store, CUR)

    found: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    for charge in transfer_charges(store, "2023-11"):
        found[charge.kind][0] += charge.rows
        found[charge.kind][1] += charge.amount
    # inbound ("data transfer from", "-AWS-In-Bytes") and the tax on transfer are left out
    assert dict(found) == dict(expected)
    assert expected["inter-region"] == [343, Decimal("0.0000676821")]

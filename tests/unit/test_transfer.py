"""Transfer charges split over originating teams by bytes: classification and exact shares."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.transfer import (
    UNOWNED,
    FlowAggregate,
    TransferCharge,
    assign_transfer_cost,
    billing_transfer_kind,
    flow_kind,
    totals_by_owner,
)


def flow(resource: str, owner: str | None, kind: str | None, size: int,
         region: str = "eu-west-1") -> FlowAggregate:
    return FlowAggregate("2026-10", resource, owner, f"{region}a", region, "x", kind, size, 1)


@pytest.mark.parametrize(("texts", "kind"), [
    (("AWS Data Transfer", "$0.01 per GB - regional data transfer - in/out/between EC2 AZs"),
     "inter-zone"),
    (("AWS Data Transfer", "EUW1-DataTransfer-Regional-Bytes"), "inter-zone"),
    (("AWS Data Transfer", "$0.02 per GB - EU (Ireland) data transfer to EU (Frankfurt)"),
     "inter-region"),
    (("AWS Data Transfer", "EUW1-EUC1-AWS-Out-Bytes"), "inter-region"),
    (("AWS Data Transfer", "$0.09 per GB - first 10 TB / month data transfer out"), "egress"),
    (("Bandwidth", "Inter Availability Zone Data Transfer"), "inter-zone"),
    (("Bandwidth", "Inter-Region Data Transfer Out"), "inter-region"),
    (("Bandwidth", "Standard Data Transfer Out"), "egress"),
    (("Amazon Elastic Compute Cloud", "$0.0416 per On Demand Linux t3.medium Instance Hour"),
     None),
    (("AWS Data Transfer", "AWS Data Transfer usage"), "any"),
    # from the real CUR fixture (tests/fixtures/billing/aws_cur_sample_anonymous.csv)
    (("Amazon S3", "$0.00 per GB - Canada (Central) data transfer from US East (Ohio)"),
     "inbound"),
    (("AWS CloudShell", "$0.000 per GB - data transfer in per month"), "inbound"),
    (("Amazon S3", "USD 0 per GB for CAN1-EUS1-AWS-In-Bytes in EU (Milan)"), "inbound"),
    (("Amazon S3", "USD 0.02 per GB for EUN1-AWS-Out-Bytes in EU (Stockholm)"), "inter-region"),
    (("AWS CloudShell", "$0.000 per GB - regional data transfer under the monthly global free "
      "tier"), "inter-zone"),
    (("AWS Step Functions", "$0.000 per GB - data transfer out under the monthly global free "
      "tier"), "egress"),
])
def test_billing_rows_are_classified_by_their_description(texts, kind) -> None:
    assert billing_transfer_kind(*texts) == kind


def test_flow_kinds_follow_zone_and_region() -> None:
    assert flow_kind("a", "r1", "a", "r1", internet=False) == "intra-zone"
    assert flow_kind("a", "r1", "b", "r1", internet=False) == "inter-zone"
    assert flow_kind("a", "r1", "c", "r2", internet=False) == "inter-region"
    assert flow_kind("a", "r1", None, None, internet=True) == "egress"
    assert flow_kind("a", "r1", None, None, internet=False) is None


def test_a_charge_splits_by_bytes_to_the_cent_with_the_largest_remainder() -> None:
    # 1.01 over 6000 and 2000 bytes: exact 0.7575 and 0.2525; the odd cent goes to web
    charge = TransferCharge("egress", "USD", Decimal("1.01"), "eu-west-1")
    shares = assign_transfer_cost([charge], [
        flow("i-web1", "web", "egress", 6000), flow("i-api1", "api", "egress", 2000),
        flow("i-api1", "api", "inter-zone", 99_999),  # other kinds do not weigh
        flow("i-far", "far", "egress", 50_000, region="us-east-1"),  # other region neither
    ])
    assert [(s.owner, s.amount, s.bytes) for s in shares] == [
        ("api", Decimal("0.25"), 2000), ("web", Decimal("0.76"), 6000)]
    assert sum(s.amount for s in shares) == Decimal("1.01")
    assert shares[1].percent == Decimal("75.00")


def test_owners_come_from_billing_when_the_mapping_has_none_and_nothing_is_lost() -> None:
    charges = [TransferCharge("inter-zone", "USD", Decimal("3.333333")),  # rounds to 3.33
               TransferCharge("inter-region", "EUR", Decimal("2.00"))]  # no flow explains it
    shares = assign_transfer_cost(charges, [
        flow("i-batch", None, "inter-zone", 1), flow("i-orphan", None, "inter-zone", 1),
        flow("i-web", "web", "inter-zone", 1),
    ], owner_of={"i-batch": "batch"})
    assert totals_by_owner(shares) == {
        ("batch", "USD"): Decimal("1.11"), ("web", "USD"): Decimal("1.11"),
        (UNOWNED, "USD"): Decimal("1.11"), (UNOWNED, "EUR"): Decimal("2.00")}


def test_a_charge_of_no_stated_kind_weighs_every_charged_kind_but_not_free_traffic() -> None:
    charge = TransferCharge("any", "USD", Decimal("10.00"), "eu-west-1")
    shares = assign_transfer_cost([charge], [
        flow("i-web", "web", "egress", 3), flow("i-api", "api", "inter-zone", 1),
        flow("i-api", "api", "intra-zone", 1000), flow("i-api", "api", None, 1000)])
    assert [(s.owner, s.amount) for s in shares] == [("api", Decimal("2.50")),
                                                    ("web", Decimal("7.50"))]

"""Data transfer: which team's traffic caused the inter-zone, inter-region and egress charges.

A cloud bill says what a gigabyte of transfer cost in a region; it does not say which workload
sent it. Flow logs do: aggregated per originating resource and destination (see
:mod:`connectors.flow_logs`), they give each owner's bytes of each kind of transfer. This module
is the pure part: classify billing rows and flows into transfer kinds, and split each transfer
charge over the owners of the originating resources in proportion to their bytes, to the minor
unit, every cent conserved (largest remainder, :func:`ledger.money.allocate`).

Kinds (:data:`TRANSFER_KINDS`):

- ``intra-zone``: both ends in the same zone (free on the major clouds; never charged here);
- ``inter-zone``: another zone of the same region;
- ``inter-region``: another region of the same provider;
- ``egress``: out to the internet.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ledger.money import allocate, currency_quantum, round_to_currency

TRANSFER_KINDS: tuple[str, ...] = ("intra-zone", "inter-zone", "inter-region", "egress")
#: Kinds a bill charges for.
CHARGED_KINDS: tuple[str, ...] = ("inter-zone", "inter-region", "egress")
#: A data-transfer charge whose kind the bill does not say ("AWS Data Transfer usage"): it
#: weighs the bytes of every charged kind from its region.
ANY_KIND = "any"
#: Who carries the bytes of a resource nobody owns (and a charge no flow explains).
UNOWNED = "(unowned)"

# Billing descriptions and usage types, most specific first. AWS CUR usage types and
# descriptions ("EUW1-DataTransfer-Regional-Bytes", "regional data transfer - in/out/between EC2
# AZs", "EUW1-EUC1-AWS-Out-Bytes", "data transfer to EU (Frankfurt)", "DataTransfer-Out-Bytes");
# Azure meters ("Inter Availability Zone Data Transfer", "Inter-Region Data Transfer Out",
# "Intra Continental Data Transfer Out", "Standard Data Transfer Out"). Inbound transfer
# ("data transfer from ...", "...-AWS-In-Bytes") is free on the major clouds and never split;
# inter-AZ transfer is charged in both directions, so its "-xAZ-In-" rows stay inter-zone.
_KIND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("inter-zone", re.compile(
        r"regional[- ]bytes|regional data transfer|inter[- ]?(availability[- ]?)?zone|"
        r"between (ec2 )?azs|inter[- ]?az\b|cross[- ]?az|-xaz-", re.IGNORECASE)),
    ("inbound", re.compile(
        r"data transfer (from|in\b)|-in-bytes|\binbound\b", re.IGNORECASE)),
    ("inter-region", re.compile(
        r"inter[- ]?region|intra[- ]continental|inter[- ]continental|-aws-out-bytes|"
        r"data transfer to (?!internet)", re.IGNORECASE)),
    ("egress", re.compile(
        r"datatransfer-out-bytes|data transfer out|internet egress|egress|out to internet|"
        r"bandwidth", re.IGNORECASE)),
)
_TRANSFER_ROW = re.compile(r"data ?transfer|bandwidth|egress|-bytes\b", re.IGNORECASE)


def billing_transfer_kind(*texts: str | None) -> str | None:
    """The transfer kind a billing row charges for, from its service name, usage type or
    description: one of :data:`CHARGED_KINDS`, ``"inbound"``, :data:`ANY_KIND` when it is data
    transfer of no stated kind, None when it is not a data-transfer charge."""
    text = " | ".join(t for t in texts if t)
    if not _TRANSFER_ROW.search(text):
        return None
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(text):
            return kind
    return ANY_KIND


def flow_kind(
    source_zone: str | None,
    source_region: str | None,
    destination_zone: str | None,
    destination_region: str | None,
    *,
    internet: bool,
) -> str | None:
    """The kind of transfer from a source to a destination; None when it cannot be told."""
    if internet:
        return "egress"
    if source_region is None or destination_region is None:
        return None
    if source_region != destination_region:
        return "inter-region"
    if source_zone is not None and source_zone == destination_zone:
        return "intra-zone"
    return "inter-zone"


@dataclass(frozen=True, slots=True)
class FlowAggregate:
    """Bytes one resource sent to one destination in a period, summed from flow-log records.

    Attributes:
        destination: ``zone:<zone>``, ``region:<region>``, ``internet`` or ``unknown``.
        kind: one of :data:`TRANSFER_KINDS`, or None when the destination is unknown.
    """

    period: str
    resource_id: str
    owner: str | None
    source_zone: str | None
    source_region: str | None
    destination: str
    kind: str | None
    bytes: int
    records: int


@dataclass(frozen=True, slots=True)
class TransferCharge:
    """What the bill charges for one kind of transfer, optionally in one source region."""

    kind: str
    currency: str
    amount: Decimal
    region: str | None = None
    rows: int = 0


@dataclass(frozen=True, slots=True)
class TransferShare:
    """An owner's share of a transfer charge, with the bytes it was weighed by."""

    kind: str
    currency: str
    region: str | None
    owner: str
    bytes: int
    charge_bytes: int
    amount: Decimal
    resources: tuple[str, ...]

    @property
    def percent(self) -> Decimal:
        """The owner's share of the charge's bytes, in percent (2 places)."""
        if not self.charge_bytes:
            return Decimal(100)
        return (Decimal(100) * self.bytes / self.charge_bytes).quantize(Decimal("0.01"))


def assign_transfer_cost(
    charges: Iterable[TransferCharge],
    flows: Iterable[FlowAggregate],
    *,
    owner_of: dict[str, str] | None = None,
) -> list[TransferShare]:
    """Split each charge over the owners of the resources that originated its kind of traffic.

    A charge with a ``region`` weighs only flows from that region. Owners come from the flow
    aggregate, else ``owner_of[resource_id]`` (e.g. the resource's team tag in billing), else
    :data:`UNOWNED`. A charge no flow explains goes to :data:`UNOWNED` whole, so nothing is
    lost. Each charge is rounded to the minor unit once, then split by the largest remainder,
    so the shares of a charge sum exactly to it.
    """
    owner_of = owner_of or {}
    flows = [f for f in flows if f.kind in CHARGED_KINDS and f.bytes > 0]
    shares: list[TransferShare] = []
    for charge in sorted(charges, key=lambda c: (c.kind, c.currency, c.region or "")):
        weights: dict[str, int] = defaultdict(int)
        resources: dict[str, set[str]] = defaultdict(set)
        for flow in flows:
            if charge.kind != ANY_KIND and flow.kind != charge.kind:
                continue
            if charge.region is not None and flow.source_region != charge.region:
                continue
            owner = flow.owner or owner_of.get(flow.resource_id) or UNOWNED
            weights[owner] += flow.bytes
            resources[owner].add(flow.resource_id)
        shares.extend(_split(charge, weights, resources))
    return shares


def _split(
    charge: TransferCharge, weights: dict[str, int], resources: dict[str, set[str]]
) -> list[TransferShare]:
    total = round_to_currency(charge.amount, charge.currency)
    owners = sorted(weights)
    if not owners:
        return [TransferShare(charge.kind, charge.currency, charge.region, UNOWNED, 0, 0,
                              total, ())]
    parts = allocate(total, [weights[o] for o in owners],
                     quantum=currency_quantum(charge.currency))
    charge_bytes = sum(weights.values())
    return [
        TransferShare(charge.kind, charge.currency, charge.region, owner, weights[owner],
                      charge_bytes, part, tuple(sorted(resources[owner])))
        for owner, part in zip(owners, parts, strict=True)
    ]


def totals_by_owner(shares: Sequence[TransferShare]) -> dict[tuple[str, str], Decimal]:
    """(owner, currency) -> the owner's transfer cost over all kinds."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for share in shares:
        totals[(share.owner, share.currency)] += share.amount
    return dict(totals)

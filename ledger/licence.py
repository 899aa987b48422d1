"""Software licences: what the contracts entitle us to, what discovery sees installed, and the gap.

Plain frozen values and pure functions (no storage):

- an :class:`Entitlement` is one purchase: publisher, product, an optional version range, a
  metric (per user, per device, per core, per processor, concurrent, subscription seat), a
  quantity, a term and a unit cost;
- an :class:`Installation` is one product on one discovered device, as the tool named it;
- a :class:`SeatAssignment` gives one seat of an entitlement to a user or a device, and through
  it to a cost centre;
- :func:`compliance_position` puts them together per product and metric: entitled, consumed,
  surplus or shortfall, and the true-up cost of the shortfall at the unit cost.

Discovery tools name one product many ways ("Microsoft Visio Professional 2021 - en-us",
"Visio Professional 2021 (x64)", publisher "Microsoft Corporation"); :func:`product_key` and
:func:`publisher_key` fold them to one key so that installations meet their entitlements.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.errors import InputError
from ledger.money import normalise_currency, round_to_currency, to_decimal


class LicenceMetric(enum.StrEnum):
    """What one licence unit covers, and so what a unit of consumption is."""

    PER_USER = "per_user"
    PER_DEVICE = "per_device"
    PER_CORE = "per_core"
    PER_PROCESSOR = "per_processor"
    CONCURRENT = "concurrent"
    SUBSCRIPTION_SEAT = "subscription_seat"


class CostBasis(enum.StrEnum):
    """What period the unit cost pays for: a one-off (perpetual) price, a month or a year."""

    PERPETUAL = "perpetual"
    MONTHLY = "monthly"
    ANNUAL = "annual"


class AssigneeKind(enum.StrEnum):
    USER = "user"
    DEVICE = "device"


def _enum(kind: type[enum.StrEnum], value: object, field: str) -> enum.StrEnum:
    try:
        return kind(str(value).strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        allowed = ", ".join(k.value for k in kind)
        raise InputError(f"must be one of {allowed}", field=field, value=value) from None


# --- names --------------------------------------------------------------------------------------

#: Words that say how a product was packaged, not which product it is.
_NOISE_WORDS = frozenset({
    "x64", "x86", "amd64", "arm64", "64bit", "32bit", "64", "32", "bit", "edition", "version",
    "the", "for", "update", "installer", "msi", "setup",
})
#: Corporate suffixes dropped from publisher names ("Adobe Systems Incorporated" -> "adobe").
_CORPORATE = frozenset({
    "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc",
    "gmbh", "ag", "sa", "plc", "bv", "systems", "software", "technologies", "group",
})
_BRACKETS = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_LANGUAGE = re.compile(r"(?<![a-z0-9])[a-z]{2}-[a-z]{2}(?![a-z0-9])")
_DOTTED_VERSION = re.compile(r"(?<![a-z0-9])v?\d+(?:\.\d+)+[a-z0-9]*(?![a-z0-9])")
_BIT_WORDS = re.compile(r"(?<![a-z0-9])(64|32)[\s-]?bit(?![a-z0-9])")
_NOT_WORD = re.compile(r"[^a-z0-9+#]+")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    for mark in ("(r)", "(tm)", "(c)", "®", "™", "©"):
        text = text.replace(mark, " ")
    return text


def publisher_key(publisher: str | None) -> str | None:
    """The key of a publisher's name: case folded, corporate suffixes dropped; None if empty."""
    if publisher is None or not publisher.strip():
        return None
    words = [w for w in _NOT_WORD.split(_fold(publisher)) if w and w not in _CORPORATE]
    return " ".join(words) or None


def product_key(product: str, publisher: str | None = None) -> str:
    """The key of a product's name, the same for the spellings discovery tools use.

    Folded case and width; trademark signs, bracketed notes ("(x64)", "(64-bit)"), language
    tags ("en-us"), dotted version numbers ("16.0.1234") and packaging words dropped; the
    publisher's name dropped from the front. Plain numbers stay: "Office 2019" and "Office
    2021" are different products.
    """
    text = _fold(product)
    text = _BRACKETS.sub(" ", text)
    text = _LANGUAGE.sub(" ", text)
    text = _BIT_WORDS.sub(" ", text)
    text = _DOTTED_VERSION.sub(" ", text)
    words = [w for w in _NOT_WORD.split(text) if w and w not in _NOISE_WORDS]
    publisher_words = (publisher_key(publisher) or "").split()
    if publisher_words and words[: len(publisher_words)] == publisher_words \
            and len(words) > len(publisher_words):
        words = words[len(publisher_words):]
    return " ".join(words)


def _version_parts(version: str) -> tuple[int, ...] | None:
    parts = re.findall(r"\d+", version)
    return tuple(int(p) for p in parts) if parts else None


def version_in_range(version: str | None, first: str | None, last: str | None) -> bool:
    """True when ``version`` lies in ``[first, last]``, comparing numbers part by part.

    ``last`` is a prefix bound: ``last="16"`` takes every 16.x. An unknown version is in range
    only when the range is open (no bound), since it cannot be proved either way.
    """
    if first is None and last is None:
        return True
    parts = _version_parts(version or "")
    if parts is None:
        return False
    if first is not None and (low := _version_parts(first)) is not None and parts < low:
        return False
    if last is not None and (high := _version_parts(last)) is not None \
            and parts[: len(high)] > high:
        return False
    return True


# --- values -------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Entitlement:
    """One licence purchase.

    Attributes:
        key: the entitlement's identifier, unique (a contract line, a Snipe-IT serial).
        publisher: who makes the product ("Microsoft"); None when the source does not say
            (installations then match on the product name alone).
        product: the product as the contract names it ("Visio Professional 2021").
        metric: what one unit covers (:class:`LicenceMetric`).
        quantity: units bought (users, devices, cores ...), > 0.
        unit_cost: the price of one unit in ``currency`` for one ``cost_basis`` period, >= 0.
        currency: ISO 4217 code.
        cost_basis: perpetual (one-off), monthly or annual.
        term_start, term_end: the term, inclusive; None is open-ended.
        version_from, version_to: the versions covered (inclusive; ``version_to`` is a prefix
            bound, "16" covers 16.x); None is unbounded.
        source: where the entitlement was imported from.
    """

    key: str
    publisher: str | None
    product: str
    metric: LicenceMetric
    quantity: int
    unit_cost: Decimal
    currency: str = "USD"
    cost_basis: CostBasis = CostBasis.PERPETUAL
    term_start: date | None = None
    term_end: date | None = None
    version_from: str | None = None
    version_to: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        for name in ("key", "product"):
            value = getattr(self, name)
            if value is None or not str(value).strip():
                raise InputError(f"an entitlement needs a {name}", field=name)
            object.__setattr__(self, name, " ".join(str(value).split()))
        publisher = " ".join(str(self.publisher or "").split())
        object.__setattr__(self, "publisher", publisher or None)
        if len(self.key) > 200:
            raise InputError("the key is longer than 200 characters", field="key", value=self.key)
        object.__setattr__(self, "metric", _enum(LicenceMetric, self.metric, "metric"))
        object.__setattr__(self, "cost_basis", _enum(CostBasis, self.cost_basis, "cost_basis"))
        object.__setattr__(self, "currency", normalise_currency(self.currency))
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int) \
                or self.quantity <= 0:
            raise InputError("the quantity must be a whole number above zero", field="quantity",
                             value=self.quantity)
        cost = to_decimal(self.unit_cost)
        if cost < 0:
            raise InputError("the unit cost cannot be negative", field="unit_cost",
                             value=self.unit_cost)
        object.__setattr__(self, "unit_cost", cost)
        if self.term_start and self.term_end and self.term_end < self.term_start:
            raise InputError("the term ends before it starts", field="term_end",
                             value=self.term_end)

    @property
    def publisher_key(self) -> str | None:
        return publisher_key(self.publisher)

    @property
    def product_key(self) -> str:
        return product_key(self.product, self.publisher)

    def active_on(self, day: date) -> bool:
        return ((self.term_start is None or self.term_start <= day)
                and (self.term_end is None or day <= self.term_end))

    def active_between(self, first: date, last: date) -> bool:
        return ((self.term_start is None or self.term_start <= last)
                and (self.term_end is None or first <= self.term_end))


@dataclass(frozen=True, slots=True)
class Installation:
    """One product installed on one discovered device.

    Attributes:
        source, record_id: the discovery record of the device (see ``ledger.discovery``).
        product, publisher, version: as the tool named them.
        hostname, owner, asset_tag: the device as the tool saw it, so that per-user metrics
            count its user and costs reach its cost centre.
        cores, processors: the device's counts, when the tool reports them (per-core and
            per-processor metrics); None when unknown.
    """

    source: str
    record_id: str
    product: str
    publisher: str | None = None
    version: str | None = None
    hostname: str | None = None
    owner: str | None = None
    asset_tag: str | None = None
    cores: int | None = None
    processors: int | None = None

    @property
    def device(self) -> str:
        return f"{self.source}:{self.record_id}"


@dataclass(frozen=True, slots=True)
class SeatAssignment:
    """One seat of an entitlement given to a user or a device.

    Attributes:
        entitlement: the entitlement's key.
        assignee_kind: user or device.
        assignee: the user's login or e-mail, or the device's asset tag.
        cost_centre: who pays for the seat; for a device, None means the register asset's.
        since: the first day the seat is held (None: from the entitlement's start).
    """

    entitlement: str
    assignee_kind: AssigneeKind
    assignee: str
    cost_centre: str | None = None
    since: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "assignee_kind",
                           _enum(AssigneeKind, self.assignee_kind, "assignee_kind"))
        if not self.assignee or not self.assignee.strip():
            raise InputError("a seat goes to a user or a device", field="assignee")
        text = self.assignee.strip()
        object.__setattr__(self, "assignee", text.casefold() if "@" in text else text)

    @property
    def ident(self) -> tuple[str, str, str]:
        return (self.entitlement, self.assignee_kind.value, self.assignee)


# --- the position -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ProductPosition:
    """The compliance position of one product under one metric on one day.

    Attributes:
        publisher, product: as the most recent active entitlement names them.
        metric: the metric the quantities count.
        entitled: units bought under entitlements active on the day.
        consumed: units in use: distinct devices (per device), distinct users (per user), cores
            or processors of the devices (per core / per processor), assigned seats
            (concurrent, subscription seat: discovery cannot see these).
        surplus: ``entitled - consumed`` when positive, else 0.
        shortfall: ``consumed - entitled`` when positive, else 0.
        unit_cost, currency: the unit cost of the most recently started active entitlement
            (what buying more would cost); None when nothing is entitled.
        true_up_cost: ``shortfall * unit_cost`` rounded to the currency's minor unit.
        installations: matching installations counted (versions in range).
        assigned: seats assigned.
        estimated: True when a per-core or per-processor count was unknown for some device
            and one unit was counted for it.
    """

    publisher: str | None
    product: str
    metric: LicenceMetric
    entitled: int
    consumed: int
    surplus: int
    shortfall: int
    unit_cost: Decimal | None
    currency: str | None
    true_up_cost: Decimal
    installations: int
    assigned: int
    estimated: bool = False

    @property
    def status(self) -> str:
        return "shortfall" if self.shortfall else "surplus" if self.surplus else "balanced"


def _matches(installation: Installation, entitlement: Entitlement) -> bool:
    installed_publisher = publisher_key(installation.publisher)
    wanted_publisher = entitlement.publisher_key
    if installed_publisher is not None and wanted_publisher is not None \
            and installed_publisher != wanted_publisher:
        return False
    # Strip the entitlement's publisher from the installed name, so that a tool that reports
    # no publisher ("Microsoft Visio Professional 2021") still meets "Visio Professional 2021".
    return product_key(installation.product, entitlement.publisher) == entitlement.product_key


def _consumed(metric: LicenceMetric, installs: Sequence[Installation],
              seats: Sequence[SeatAssignment]) -> tuple[int, bool]:
    if metric is LicenceMetric.PER_DEVICE:
        devices = {i.device for i in installs}
        devices |= {s.assignee for s in seats if s.assignee_kind is AssigneeKind.DEVICE}
        return len(devices), False
    if metric is LicenceMetric.PER_USER:
        # A device with no known user counts as one user of its own.
        users = {(i.owner.casefold() if i.owner else f"device {i.device}") for i in installs}
        users |= {s.assignee for s in seats if s.assignee_kind is AssigneeKind.USER}
        return len(users), False
    if metric in (LicenceMetric.PER_CORE, LicenceMetric.PER_PROCESSOR):
        per_device: dict[str, int | None] = {}
        for i in installs:
            per_device[i.device] = i.cores if metric is LicenceMetric.PER_CORE else i.processors
        estimated = any(n is None for n in per_device.values())
        return sum(n if n is not None else 1 for n in per_device.values()), estimated
    return len(seats), False


def compliance_position(entitlements: Iterable[Entitlement],
                        installations: Iterable[Installation],
                        assignments: Iterable[SeatAssignment], *, on: date,
                        ) -> list[ProductPosition]:
    """The position per (publisher, product, metric) of the entitlements active ``on`` the day.

    An installation counts against a product when its name and publisher meet the product's
    (:func:`product_key`) and its version lies in the range of at least one active entitlement
    of that product. Products are sorted by publisher and product.
    """
    groups: dict[tuple[str | None, str, LicenceMetric], list[Entitlement]] = defaultdict(list)
    every = list(entitlements)
    for entitlement in every:
        if entitlement.active_on(on):
            groups[(entitlement.publisher_key, entitlement.product_key,
                    entitlement.metric)].append(entitlement)
    active_keys = {e.key: group for group, members in groups.items() for e in members}
    seats_by_group: dict[tuple[str | None, str, LicenceMetric], list[SeatAssignment]] = \
        defaultdict(list)
    for seat in assignments:
        group = active_keys.get(seat.entitlement)
        if group is not None and (seat.since is None or seat.since <= on):
            seats_by_group[group].append(seat)
    # Names are matched once per distinct (product, publisher) spelling, not once per device.
    by_name: dict[tuple[str, str | None], list[Installation]] = defaultdict(list)
    for installation in installations:
        by_name[(installation.product, installation.publisher)].append(installation)

    positions = []
    for group, members in groups.items():
        metric = group[2]
        members.sort(key=lambda e: (e.term_start or date.min, e.key))
        latest = members[-1]
        installs = [i for found in by_name.values() if _matches(found[0], latest)
                    for i in found
                    if any(version_in_range(i.version, e.version_from, e.version_to)
                           for e in members)]
        seats = seats_by_group.get(group, [])
        consumed, estimated = _consumed(metric, installs, seats)
        entitled = sum(e.quantity for e in members)
        shortfall = max(consumed - entitled, 0)
        positions.append(ProductPosition(
            publisher=latest.publisher, product=latest.product, metric=metric,
            entitled=entitled, consumed=consumed, surplus=max(entitled - consumed, 0),
            shortfall=shortfall, unit_cost=latest.unit_cost, currency=latest.currency,
            true_up_cost=round_to_currency(latest.unit_cost * shortfall, latest.currency),
            installations=len(installs), assigned=len(seats), estimated=estimated))
    positions.sort(key=lambda p: ((p.publisher or "").casefold(), p.product.casefold(),
                                  p.metric.value))
    return positions


# --- seat costs ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SeatCost:
    """The cost of the seats one cost centre holds of one product in one period.

    Attributes:
        cost_centre: who holds the seats.
        product: the entitlement's product name (publisher first: "Microsoft 365 E3").
        amount: the cost in ``currency``, rounded to its minor unit (a debit, positive).
        currency: ISO 4217 code.
        seats: how many seats the amount is for.
    """

    cost_centre: str
    product: str
    amount: Decimal
    currency: str
    seats: int


def period_share(basis: CostBasis) -> Decimal:
    """The part of one unit cost that falls in one month: 1 (monthly), 1/12 (annual), 0
    (perpetual: a one-off price reaches cost pools through depreciation, not by the month)."""
    return {CostBasis.MONTHLY: Decimal(1), CostBasis.ANNUAL: Decimal(1) / 12,
            CostBasis.PERPETUAL: Decimal(0)}[basis]


def _display_name(entitlement: Entitlement) -> str:
    """"Adobe Acrobat Pro" for (Adobe, Acrobat Pro); "Microsoft 365 E3" stays as it is."""
    publisher, product = entitlement.publisher, entitlement.product
    if publisher is None or product.casefold().startswith(publisher.split()[0].casefold()):
        return product
    return f"{publisher} {product}"


def seat_costs_for(entitlements: Iterable[Entitlement], seats: Iterable[tuple[SeatAssignment,
                   str | None]], *, first: date, last: date) -> list[SeatCost]:
    """The cost of assigned seats in the month ``first``..``last`` per cost centre and product.

    ``seats`` pairs each assignment with the cost centre it resolves to (None: unknown, left
    out). Amounts are summed exactly per (cost centre, product, currency) and rounded once.
    """
    by_key = {e.key: e for e in entitlements}
    totals: dict[tuple[str, str, str], tuple[Decimal, int]] = {}
    for seat, centre in seats:
        entitlement = by_key.get(seat.entitlement)
        if entitlement is None or centre is None or not entitlement.active_between(first, last):
            continue
        if seat.since is not None and seat.since > last:
            continue
        share = entitlement.unit_cost * period_share(entitlement.cost_basis)
        if not share:
            continue
        name = _display_name(entitlement)
        key = (centre, name, entitlement.currency)
        amount, count = totals.get(key, (Decimal(0), 0))
        totals[key] = (amount + share, count + 1)
    return [SeatCost(centre, name, round_to_currency(amount, currency), currency, count)
            for (centre, name, currency), (amount, count) in sorted(totals.items())]

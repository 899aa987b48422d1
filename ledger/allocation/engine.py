"""The allocation run: a pure function of (period, rule-set version, input facts).

:func:`allocate_period` takes cost lines from any number of sources (billing cost groups from the
cost fact store, depreciation charges, manual entries), maps them to pools and cost centres with
the rule set's mapping rules, splits shared pools by their drivers (step-down in the declared
order, or reciprocally), applies each pool's idle policy and chargeback model, and quantises the
result once, at the end, to the currency's minor unit with :func:`ledger.money.allocate`.

Invariants, checked on every run (a violation raises :class:`ConservationError`, which would be a
bug, never an input problem):

- sums are exact (Decimal in, :class:`~fractions.Fraction` inside) until the final quantisation;
- per currency, allocated + unallocated = the source total rounded to the minor unit, exactly;
- every journal entry balances (:class:`~ledger.journal.JournalEntry` cannot be built otherwise).

Quantisation is two-level: each pool's exact total (and the unallocated total) is rounded by
largest remainder against the currency's rounded source total, then each pool's lines against
the pool's rounded total, so that a pool's journal recovers exactly its own lines. Positive and
negative lines (credits) are split separately (:func:`_quantise`); a line is then within two
minor units of its exact amount (one in the usual case of a pool without credits).

Mapping rules are evaluated once per distinct cost line (a billing cost group is already one
distinct key of currency, dimensions and tags: thousands, not millions, DESIGN.md section 5);
only the dimensions that some rule reads are asked from the store, with all tags (grouping by
the whole tag map is cheaper in DuckDB than filtering it row by row), or none when no rule
reads a tag. Transfers between service pools are rounded one by one (they appear in journals
only).

Sign convention: a positive amount is a cost charged to the cost centre, a negative one a credit.
"""

from __future__ import annotations

import calendar
import enum
import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, Inexact, Rounded, localcontext
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

from ledger.allocation.rules import (
    GROUP_ATTRIBUTES,
    POOL_PREFIX,
    Chargeback,
    CostBasis,
    IdlePolicy,
    MappingRule,
    Match,
    Pool,
    RuleSet,
    SharedRule,
    canonical_key,
    content_hash,
    normalise_key,
)
from ledger.books import PeriodCharge
from ledger.costfacts import CostGroup
from ledger.errors import ApportionError, InputError
from ledger.journal import JournalEntry, JournalLine, Side
from ledger.money import allocate, currency_quantum, normalise_currency, round_to_currency
from ledger.reference import CostCentre, DriverQuantity

# -- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CostLine:
    """One input amount of the run: a billing cost group, a depreciation charge, a manual cost.

    Attributes:
        origin: the source kind: ``billing``, ``depreciation``, ``manual`` ...
        currency: ISO 4217 code.
        amount: exact, source precision (up to 18 decimals); a credit is negative.
        attributes: (name, value) pairs the mapping rules can match (billing dimensions).
        tags: (raw key, value) pairs as the source spelled them.
        rows: how many source rows it sums.
        cost_centre: set when the source already knows it (depreciation, a manual charge):
            mapping rules are skipped and the line is a direct cost of ``pool``.
        pool: the pool of a line with a known cost centre, or the pool whose shared amount a
            line without one joins (a manual data-centre power bill ...); None for billing.
        reference: the source's own reference (asset and book, manual entry id).
    """

    origin: str
    currency: str
    amount: Decimal
    attributes: tuple[tuple[str, str | None], ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    rows: int = 1
    cost_centre: str | None = None
    pool: str | None = None
    reference: str = ""

    def attribute(self, name: str) -> str | None:
        for key, value in self.attributes:
            if key == name:
                return value
        return None

    def identity(self) -> str:
        """A deterministic text of the line's identity, cheaper than :meth:`key_text`."""
        return repr((self.origin, self.currency, self.attributes, self.tags, self.cost_centre,
                     self.pool, self.reference))

    def key_text(self) -> str:
        """A canonical text of the line's identity (not its amount): fingerprint and explain."""
        return json.dumps([self.origin, self.currency, list(map(list, self.attributes)),
                           list(map(list, self.tags)), self.cost_centre, self.pool,
                           self.reference], ensure_ascii=False, separators=(",", ":"))


@runtime_checkable
class AllocationSource(Protocol):
    """Gives the cost lines of a period. ``attributes`` and ``tag_keys`` say what the rules read
    (a source may give more); ``tag_keys`` holds normalised canonical keys and the aliases that
    lead to them (``aliases``: normalised raw key -> canonical)."""

    def lines(self, *, period: str, cost_basis: CostBasis, attributes: Sequence[str],
              tag_keys: frozenset[str], aliases: Mapping[str, str]) -> Iterable[CostLine]: ...


class BillingSource:
    """Billing cost groups of a :class:`~ledger.costfacts.CostSource` (the cost fact store),
    grouped by the dimensions the rules read and all tags (none when no rule reads a tag)."""

    def __init__(self, source: Any, *, origin: str = "billing") -> None:
        self.source = source
        self.origin = origin

    def lines(self, *, period: str, cost_basis: CostBasis, attributes: Sequence[str],
              tag_keys: frozenset[str], aliases: Mapping[str, str]) -> Iterator[CostLine]:
        # All tags: DuckDB groups by the whole tag map faster than it can filter each row's
        # map down to the keys the rules read, and distinct keys stay few either way.
        raw_keys: list[str] | None = None if tag_keys else []
        column = cost_basis.column
        group: CostGroup
        for group in self.source.groups(period=period, by=tuple(attributes), tag_keys=raw_keys):
            yield CostLine(origin=group.origin if group.origin != "billing" else self.origin,
                           currency=group.currency, amount=getattr(group, column),
                           attributes=group.dimensions, tags=group.tags, rows=group.rows)


class DepreciationSource:
    """Depreciation charges (already per cost centre): direct costs of one pool."""

    def __init__(self, charges: Iterable[PeriodCharge], *, pool: str) -> None:
        self.charges = tuple(charges)
        self.pool = pool

    def lines(self, *, period: str, **_: Any) -> Iterator[CostLine]:
        for charge in self.charges:
            if charge.period != period:
                continue
            yield CostLine(origin="depreciation", currency=charge.currency, amount=charge.amount,
                           attributes=(("asset_tag", charge.asset_tag), ("book", charge.book)),
                           cost_centre=charge.cost_centre, pool=self.pool,
                           reference=f"{charge.asset_tag}/{charge.book}")


@dataclass(frozen=True, slots=True)
class ManualCost:
    """A cost entered by hand (data-centre power, service-desk salaries).

    Attributes:
        id: the entry's reference.
        pool: the pool it belongs to.
        amount: exact; a credit is negative.
        cost_centre: charge it directly to this cost centre; None: into the pool's shared amount.
    """

    id: str
    period: str
    pool: str
    amount: Decimal
    currency: str
    description: str = ""
    cost_centre: str | None = None


class ManualSource:
    """Manual cost entries."""

    def __init__(self, entries: Iterable[ManualCost]) -> None:
        self.entries = tuple(entries)

    def lines(self, *, period: str, **_: Any) -> Iterator[CostLine]:
        for entry in self.entries:
            if entry.period != period:
                continue
            yield CostLine(origin="manual", currency=normalise_currency(entry.currency),
                           amount=entry.amount, attributes=(("description", entry.description),),
                           cost_centre=entry.cost_centre, pool=entry.pool, reference=entry.id)


# -- outputs ---------------------------------------------------------------------------------


class LineKind(enum.StrEnum):
    """Why an allocation line exists."""

    DIRECT = "direct"  # a mapping rule (or the source) named the cost centre
    SHARED = "shared"  # a share of a pool, by its shared rule
    IDLE = "idle"  # idle capacity or unused commitment, charged per the pool's idle policy
    IDLE_PENALTY = "idle_penalty"  # the penalty surcharge on idle charged to its owner
    PENALTY_REBATE = "penalty_rebate"  # that surcharge credited back to the pool's consumers
    SUBSIDY = "subsidy"  # the share of a subsidised pool absorbed by the central cost centre
    RATE_DIFFERENCE = "rate_difference"  # pool cost minus what a rate card recovered
    EXCEPTION = "exception"  # moved by an approved exception (ledger.allocation.exceptions)


class Reason(enum.StrEnum):
    """Why an amount stayed unallocated."""

    NO_RULE_MATCHED = "no_rule_matched"
    UNKNOWN_TAG_VALUE = "unknown_tag_value"
    INVALID_COST_CENTRE = "cost_centre_not_valid"
    ORIGIN_NOT_MAPPED = "origin_resource_not_mapped"
    NO_DRIVER_QUANTITY = "no_driver_quantity"
    NO_SHARED_RULE = "pool_has_no_shared_rule"


class AllocationError(ApportionError):
    """The rule set cannot be applied to this period (not effective, circular pools ...)."""


class ConservationError(AllocationError):
    """Allocated plus unallocated differs from the source total: a bug, never bad input."""


@dataclass(frozen=True, slots=True)
class AllocationLine:
    """An allocated amount per (cost centre, pool, rule, account, kind) and currency.

    Attributes:
        amount: quantised to the currency's minor unit; a credit is negative.
        exact: the unrounded amount (a Fraction: shares of a split need not be decimals).
        charged: goes into the pool's journal (not showback, not the pool owner itself).
    """

    cost_centre: str
    pool: str
    rule: str
    account: str
    kind: LineKind
    currency: str
    amount: Decimal
    exact: Fraction
    charged: bool


@dataclass(frozen=True, slots=True)
class UnallocatedLine:
    """An amount no rule could place, per (reason, detail, pool) and currency.

    Attributes:
        detail: what to fix, e.g. ``tag team = 'platfrom' is not in rule M20's values``.
        pool: the pool concerned, if any.
        rule: the rule concerned, if any.
    """

    reason: Reason
    detail: str
    pool: str | None
    rule: str | None
    currency: str
    amount: Decimal
    exact: Fraction


@dataclass(frozen=True, slots=True)
class SourceInput:
    """One input cost line and where the mapping sent it: the lineage behind every amount.

    Attributes:
        kind: ``direct``, ``shared``, ``idle`` or ``unallocated``.
    """

    line: CostLine
    kind: str
    pool: str | None
    cost_centre: str | None
    rule: str | None
    reason: Reason | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PoolTransfer:
    """Part of a service pool passed on to another pool (step-down or reciprocal).

    Attributes:
        amount: rounded to the minor unit on its own (it appears in journals only).
    """

    from_pool: str
    to_pool: str
    rule: str
    currency: str
    amount: Decimal
    exact: Fraction


@dataclass(frozen=True, slots=True)
class PoolSplit:
    """What a pool with a shared rule split in one currency.

    Attributes:
        own: its shared amount from sources (mapping rules with ``shared``, manual costs).
        received: (from pool, exact amount) passed on to it by other pools.
        total: own + received (reciprocal: the solved total).
        shares: (target, exact fraction of total) as the rule set them, targets being cost
            centres, ``pool:<id>``, ``idle`` or ``unallocated``.
    """

    pool: str
    rule: str
    currency: str
    own: Fraction
    received: tuple[tuple[str, Fraction], ...]
    total: Fraction
    shares: tuple[tuple[str, Fraction], ...]


@dataclass(frozen=True, slots=True)
class AllocationResult:
    """The outcome of :func:`allocate_period`.

    Attributes:
        fingerprint: sha256 of the inputs (rule-set hash, period, every source line's identity
            and exact amount, driver quantities, valid cost centres): equal inputs, equal print.
        source_total: per currency, the exact sum of the inputs.
        allocated_total, unallocated_total: per currency, quantised; their sum is the source
            total rounded to the minor unit.
        journals: one balanced draft entry per charged pool and currency.
        dimensions, by_tags: what billing cost lines were grouped by (for finding their rows).
    """

    period: str
    ruleset: str
    ruleset_hash: str
    cost_basis: CostBasis
    fingerprint: str
    lines: tuple[AllocationLine, ...]
    unallocated: tuple[UnallocatedLine, ...]
    transfers: tuple[PoolTransfer, ...]
    splits: tuple[PoolSplit, ...]
    inputs: tuple[SourceInput, ...]
    journals: tuple[JournalEntry, ...]
    source_total: Mapping[str, Decimal]
    allocated_total: Mapping[str, Decimal]
    unallocated_total: Mapping[str, Decimal]
    dimensions: tuple[str, ...] = field(default=())
    by_tags: bool = False
    exceptions: tuple[Any, ...] = field(default=())  # AppliedException, see exceptions.py
    policy: Any = None  # PolicyReport, see ledger.policy (applied by the service)

    def by_cost_centre(self) -> dict[tuple[str, str], Decimal]:
        """Allocated amount per (cost centre, currency), sorted by cost centre."""
        totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for line in self.lines:
            totals[(line.cost_centre, line.currency)] += line.amount
        return dict(sorted(totals.items()))

    def unmatched_tags(self) -> dict[tuple[str, str], Decimal]:
        """Exact unallocated amount per (raw tag key, value) of the unallocated inputs: which
        tags the rules do not know. Inputs without tags count under ``("", "")``."""
        found: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for source in self.inputs:
            if source.kind != "unallocated":
                continue
            for pair in source.line.tags or (("", ""),):
                found[pair] += source.line.amount
        return dict(sorted(found.items()))


# -- mapping ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Outcome:
    kind: str  # direct, shared, idle, origin, unallocated
    pool: str | None
    cost_centre: str | None
    rule: str | None
    reason: Reason | None = None
    detail: str = ""


class _Condition:
    """One attribute or tag condition of a rule, memoised per value (values repeat a lot)."""

    __slots__ = ("memo", "name", "patterns")

    def __init__(self, name: str, patterns: Sequence[Any]) -> None:
        self.name = name
        self.patterns = tuple(patterns)
        self.memo: dict[str | None, bool] = {}

    def holds(self, value: str | None) -> bool:
        found = self.memo.get(value)
        if found is None:
            found = any(p.matches(value) for p in self.patterns)
            self.memo[value] = found
        return found


class _CompiledMatch:
    __slots__ = ("attributes", "missing", "tags")

    def __init__(self, match: Match) -> None:
        self.attributes = tuple(_Condition(n, p) for n, p in match.attributes)
        self.tags = tuple(_Condition(k, p) for k, p in match.tags)
        self.missing = match.missing_tags

    def holds(self, attributes: Mapping[str, str | None], tags: Mapping[str, str]) -> bool:
        for condition in self.attributes:
            if not condition.holds(attributes.get(condition.name)):
                return False
        for condition in self.tags:
            if not condition.holds(tags.get(condition.name)):
                return False
        return all(key not in tags for key in self.missing)


class _Mapper:
    """First-match mapping of cost lines to (pool, cost centre), cached per distinct key."""

    def __init__(self, ruleset: RuleSet, valid: Mapping[str, str]) -> None:
        self.rules = [(rule, _CompiledMatch(rule.match), dict(rule.values))
                      for rule in ruleset.mapping]
        self.aliases = ruleset.key_aliases()
        self.valid = valid
        self.cache: dict[tuple[Any, ...], _Outcome] = {}

    def canonical_tags(self, raw: Iterable[tuple[str, str]]) -> dict[str, str]:
        tags: dict[str, str] = {}
        for key, value in sorted(raw):
            if value is None or not value.strip():
                continue
            tags.setdefault(canonical_key(key, self.aliases), value.strip())
        return tags

    def outcome(self, line: CostLine) -> _Outcome:
        key = (line.origin, line.attributes, line.tags)
        found = self.cache.get(key)
        if found is None:
            found = self._evaluate(line)
            self.cache[key] = found
        return found

    def _evaluate(self, line: CostLine) -> _Outcome:
        attributes = dict(line.attributes)
        attributes["origin"] = line.origin
        tags = self.canonical_tags(line.tags)
        unknown: str | None = None
        unknown_rule: MappingRule | None = None
        for rule, match, values in self.rules:
            if not match.holds(attributes, tags):
                continue
            if rule.shared:
                return _Outcome("shared", rule.pool, None, rule.id)
            if rule.idle:
                return _Outcome("idle", rule.pool, None, rule.id)
            if rule.origin_resource:
                return _Outcome("origin", rule.pool, None, rule.id)
            if rule.cost_centre_from_tag is not None:
                value = tags.get(rule.cost_centre_from_tag)
                if value is None:
                    continue
                if rule.values:
                    code = values.get(normalise_key(value))
                    if code is None:
                        if unknown is None:
                            unknown = (f"tag {rule.cost_centre_from_tag} = {value!r} is not in "
                                       f"rule {rule.id}'s values")
                            unknown_rule = rule
                        continue
                else:
                    code = value
            else:
                assert rule.cost_centre is not None
                code = rule.cost_centre
            valid = self.valid.get(normalise_key(code))
            if valid is None:
                return _Outcome("unallocated", rule.pool, None, rule.id,
                                Reason.INVALID_COST_CENTRE,
                                f"{code!r} from rule {rule.id} is not a cost centre valid in "
                                f"the period")
            return _Outcome("direct", rule.pool, valid, rule.id)
        if unknown is not None:
            assert unknown_rule is not None
            return _Outcome("unallocated", None, None, unknown_rule.id,
                            Reason.UNKNOWN_TAG_VALUE, unknown)
        return _Outcome("unallocated", None, None, None, Reason.NO_RULE_MATCHED,
                        "no mapping rule matched")


def _rules_read(ruleset: RuleSet) -> tuple[tuple[str, ...], frozenset[str]]:
    """The billing dimensions and canonical tag keys that the mapping rules read."""
    names: set[str] = {"provider"}
    keys: set[str] = set()
    for rule in ruleset.mapping:
        names.update(name for name, _ in rule.match.attributes)
        keys.update(key for key, _ in rule.match.tags)
        keys.update(rule.match.missing_tags)
        if rule.cost_centre_from_tag is not None:
            keys.add(rule.cost_centre_from_tag)
        if rule.origin_resource:
            names.add("resource_id")
    return tuple(n for n in GROUP_ATTRIBUTES if n in names), frozenset(keys)


# -- exact arithmetic ------------------------------------------------------------------------


def _round_fraction(value: Fraction, quantum: Decimal) -> Decimal:
    """``value`` rounded to a multiple of ``quantum``, halves away from zero: the same policy
    as :data:`ledger.money.ROUNDING`, for an exact value that need not be a decimal."""
    units = abs(value) / Fraction(quantum)
    whole = math.floor(units + Fraction(1, 2))
    with localcontext(prec=_PRECISION):
        return (Decimal(whole if value >= 0 else -whole) * quantum).quantize(quantum)


def _integer_weights(values: Sequence[Fraction]) -> list[int]:
    """Fractions scaled to integers in the same proportions (what :func:`allocate` takes)."""
    scale = 1
    for value in values:
        scale = math.lcm(scale, value.denominator)
    return [int(value * scale) for value in values]


def _quantise(exact: Sequence[Fraction], total: Decimal, quantum: Decimal) -> list[Decimal]:
    """Parts of ``total`` (already quantised) in proportion to the signed ``exact`` amounts,
    which sum to ``total`` up to rounding. Positive and negative amounts are split separately
    by largest remainder (:func:`ledger.money.allocate`); with both present, the positive side
    gets the rounded sum of the positive amounts and the negative side the rest, so the parts
    always sum to ``total``. A zero amount gets zero."""
    positive = [i for i, value in enumerate(exact) if value > 0]
    negative = [i for i, value in enumerate(exact) if value < 0]
    parts = [Decimal(0) * quantum] * len(exact)
    if not negative:
        positive_total = total
    elif not positive:
        positive_total = Decimal(0) * quantum
    else:
        positive_total = _round_fraction(sum((exact[i] for i in positive), Fraction(0)), quantum)
    negative_total = total - positive_total
    if positive:
        for index, part in zip(positive, allocate(positive_total, _integer_weights(
                [exact[i] for i in positive]), quantum=quantum), strict=True):
            parts[index] = part
    elif positive_total:
        raise ConservationError("a positive remainder with no positive line to carry it")
    if negative:
        for index, part in zip(negative, allocate(negative_total, _integer_weights(
                [-exact[i] for i in negative]), quantum=quantum), strict=True):
            parts[index] = part
    elif negative_total:
        raise ConservationError(f"{negative_total} left over with no negative line to carry it")
    return parts


def _solve(matrix: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction] | None:
    """Gaussian elimination with exact fractions; None when the system is singular."""
    size = len(rhs)
    rows = [[*row, value] for row, value in zip(matrix, rhs, strict=True)]
    for column in range(size):
        pivot = next((r for r in range(column, size) if rows[r][column] != 0), None)
        if pivot is None:
            return None
        rows[column], rows[pivot] = rows[pivot], rows[column]
        head = rows[column][column]
        rows[column] = [value / head for value in rows[column]]
        for r in range(size):
            if r != column and rows[r][column] != 0:
                factor = rows[r][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[column], strict=True)]
    return [rows[r][size] for r in range(size)]


def _tiered_price(volume: Fraction, rule: SharedRule) -> Fraction:
    """The rate card's price of the whole ``volume``: each tier's price on its band."""
    price = Fraction(0)
    lower = Fraction(0)
    for tier in rule.tiers:
        upper = Fraction(tier.up_to) if tier.up_to is not None else None
        band = (min(volume, upper) if upper is not None else volume) - lower
        if band <= 0:
            break
        price += band * Fraction(tier.price)
        if upper is None:
            break
        lower = upper
    return price


# -- the run ---------------------------------------------------------------------------------

IDLE = "idle"
UNALLOCATED = "unallocated"
#: Decimal digits for exact sums: 20 integer + 18 fractional digits per amount, with room.
_PRECISION = 80


def _period_bounds(period: str) -> tuple[date, date]:
    try:
        year, month = int(period[:4]), int(period[5:7])
        if len(period) != 7 or period[4] != "-":
            raise ValueError(period)
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    except ValueError:
        raise InputError("must be YYYY-MM", field="period", value=period) from None


def _valid_codes(cost_centres: Iterable[CostCentre], start: date, end: date) -> dict[str, str]:
    valid = {}
    for centre in cost_centres:
        if ((centre.valid_from is None or centre.valid_from <= end)
                and (centre.valid_to is None or centre.valid_to >= start)):
            valid[normalise_key(centre.code)] = centre.code
    return valid


def _shares(rule: SharedRule, ruleset: RuleSet, drivers: Mapping[str, Mapping[str, Fraction]],
            valid: Mapping[str, str], pool: Pool) -> list[tuple[str, Fraction]]:
    """Targets and their fractions (summing to 1) for one pool's shared rule. Invalid cost
    centres and missing driver quantities become ``unallocated``; unused capacity ``idle``."""
    def resolve(target: str) -> str:
        if target.startswith(POOL_PREFIX):
            return target
        return valid.get(normalise_key(target), UNALLOCATED)

    if rule.percent:
        raw = [(resolve(t), Fraction(p) / 100) for t, p in rule.percent]
    elif rule.even:
        raw = [(resolve(t), Fraction(1, len(rule.targets))) for t in rule.targets]
    else:
        assert rule.driver is not None
        quantities = drivers.get(rule.driver, {})
        weights = []
        for target in rule.targets:
            centre = (ruleset.pool(target[len(POOL_PREFIX):]).owner
                      if target.startswith(POOL_PREFIX) else target)
            weights.append((resolve(target), quantities.get(normalise_key(centre), Fraction(0))))
        used = sum((w for _, w in weights), Fraction(0))
        capacity = Fraction(rule.capacity) if rule.capacity is not None else None
        if capacity is not None and pool.idle is not IdlePolicy.SPREAD and used < capacity:
            raw = [(t, w / capacity) for t, w in weights] + [(IDLE, (capacity - used) / capacity)]
        elif used == 0:
            return [(UNALLOCATED, Fraction(1))]
        else:
            raw = [(t, w / used) for t, w in weights]
    merged: dict[str, Fraction] = {}
    for target, share in raw:
        if share:
            merged[target] = merged.get(target, Fraction(0)) + share
    return list(merged.items())


class _Ledger:
    """Exact amounts being built up for one currency: Decimal sums (in an exact context) while
    the sources are read, Fractions from :meth:`exact` on, when shares need not be decimals."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, str, str, LineKind], Any] = defaultdict(Decimal)
        self.unallocated: dict[tuple[Reason, str, str | None, str | None], Any] = (
            defaultdict(Decimal))
        self.transfers: dict[tuple[str, str, str], Fraction] = defaultdict(Fraction)
        self.shared: dict[str, Any] = defaultdict(Decimal)
        self.idle: dict[tuple[str, str], Any] = defaultdict(Decimal)  # (pool, rule)
        self.total: Any = Decimal(0)

    def exact(self) -> None:
        """Switch every sum to Fractions."""
        for name in ("lines", "unallocated", "shared", "idle"):
            old = getattr(self, name)
            new = defaultdict(Fraction)
            new.update((key, Fraction(value)) for key, value in old.items())
            setattr(self, name, new)
        self.total = Fraction(self.total)

    def add(self, cost_centre: str, pool: str, rule: str, kind: LineKind, amount: Fraction
            ) -> None:
        self.lines[(cost_centre, pool, rule, kind)] += amount


def allocate_period(
    *,
    period: str,
    ruleset: RuleSet,
    sources: Sequence[Any],
    drivers: Iterable[DriverQuantity] = (),
    cost_centres: Iterable[CostCentre],
) -> AllocationResult:
    """Allocate the costs of ``period`` (``YYYY-MM``) by ``ruleset``.

    ``sources`` are :class:`AllocationSource` objects, or cost sources with ``groups()`` (the
    cost fact store), which are read through :class:`BillingSource`. ``drivers`` of other
    periods are ignored. Cost centres not valid in the period are treated as unknown.

    Raises :class:`AllocationError` when the rule set is not effective in the period or its
    pools cannot be resolved, :class:`InputError` for a source line naming an unknown pool.
    """
    start, end = _period_bounds(period)
    if not (ruleset.effective_from <= end
            and (ruleset.effective_to is None or ruleset.effective_to >= start)):
        raise AllocationError(f"rule set {ruleset.label} is not effective in {period} (from "
                              f"{ruleset.effective_from} to {ruleset.effective_to or 'open'})")
    valid = _valid_codes(cost_centres, start, end)
    driver_table: dict[str, dict[str, Fraction]] = defaultdict(dict)
    driver_print = []
    for quantity in drivers:
        if quantity.period != period:
            continue
        table = driver_table[quantity.driver]
        code = normalise_key(quantity.cost_centre)
        table[code] = table.get(code, Fraction(0)) + Fraction(quantity.quantity)
        driver_print.append([quantity.driver, quantity.cost_centre,
                             _decimal_text(quantity.quantity)])
    pools = {pool.id: pool for pool in ruleset.pools}
    attributes, tag_keys = _rules_read(ruleset)
    aliases = ruleset.key_aliases()
    mapper = _Mapper(ruleset, valid)
    ledgers: dict[str, _Ledger] = defaultdict(_Ledger)
    inputs: list[SourceInput] = []
    printed: list[tuple[str, Decimal, int]] = []

    with localcontext(prec=_PRECISION, traps=[Inexact, Rounded]):
        _read_sources(sources, period, ruleset, attributes, tag_keys, aliases, pools, valid,
                      mapper, ledgers, inputs, printed)
    for ledger in ledgers.values():
        ledger.exact()
    shares = {rule.pool: _shares(rule, ruleset, driver_table, valid, pools[rule.pool])
              for rule in ruleset.shared}
    splits: list[PoolSplit] = []
    for currency, ledger in sorted(ledgers.items()):
        splits += _split_pools(currency, ledger, ruleset, pools, shares, driver_table)
        for pool in ruleset.pools:
            _apply_policies(ledger, pool, ruleset)
    lines, unallocated, transfers, journals = [], [], [], []
    source_total, allocated_total, unallocated_total = {}, {}, {}
    for currency, ledger in sorted(ledgers.items()):
        quantum = currency_quantum(currency)
        line_keys = sorted((k for k, v in ledger.lines.items() if v), key=_sort_key)
        gap_keys = sorted((k for k, v in ledger.unallocated.items() if v), key=_sort_key)
        exact = [ledger.lines[k] for k in line_keys] + [ledger.unallocated[k] for k in gap_keys]
        if sum(exact, Fraction(0)) != ledger.total:
            raise ConservationError(
                f"{currency}: lines sum to {sum(exact, Fraction(0))}, sources to {ledger.total}")
        exact_total = _exact_decimal(ledger.total)
        total = round_to_currency(exact_total, currency)
        # Two levels, so that each pool's lines sum to its own rounded total (its journal then
        # recovers the pool to the cent): pools and the unallocated amount first, then the
        # lines within each.
        groups: dict[str, list[int]] = defaultdict(list)
        for index, key in enumerate(line_keys):
            groups[key[1]].append(index)
        groups["\0unallocated"] = list(range(len(line_keys), len(exact)))
        names = sorted(groups)
        group_totals = _quantise([sum((exact[i] for i in groups[name]), Fraction(0))
                                  for name in names], total, quantum)
        parts = [Decimal(0)] * len(exact)
        for name, group_total in zip(names, group_totals, strict=True):
            members = groups[name]
            for index, part in zip(members, _quantise([exact[i] for i in members], group_total,
                                                      quantum), strict=True):
                parts[index] = part
        currency_lines = []
        for (centre, pool_id, rule, kind), amount, part in zip(
                line_keys, exact[:len(line_keys)], parts[:len(line_keys)], strict=True):
            pool = pools[pool_id]
            currency_lines.append(AllocationLine(
                cost_centre=centre, pool=pool_id, rule=rule,
                account=pool.expense_account or ruleset.expense_account, kind=kind,
                currency=currency, amount=part, exact=amount,
                charged=pool.chargeback is not Chargeback.SHOWBACK and centre != pool.owner))
        currency_gaps = [
            UnallocatedLine(reason=reason, detail=detail, pool=pool_id, rule=rule,
                            currency=currency, amount=part, exact=ledger.unallocated[key])
            for key, part in zip(gap_keys, parts[len(line_keys):], strict=True)
            for reason, detail, pool_id, rule in (key,)
        ]
        currency_transfers = [
            PoolTransfer(from_pool=a, to_pool=b, rule=rule, currency=currency,
                         amount=_round_fraction(amount, quantum), exact=amount)
            for (a, b, rule), amount in sorted(ledger.transfers.items()) if amount
        ]
        allocated = sum((line.amount for line in currency_lines), Decimal(0))
        missing = sum((gap.amount for gap in currency_gaps), Decimal(0))
        if allocated + missing != total:
            raise ConservationError(f"{currency}: allocated {allocated} + unallocated {missing} "
                                    f"!= source total {total}")
        source_total[currency] = exact_total
        allocated_total[currency] = allocated.quantize(quantum)
        unallocated_total[currency] = missing.quantize(quantum)
        lines += currency_lines
        unallocated += currency_gaps
        transfers += currency_transfers
        journals += _journals(currency, currency_lines, currency_transfers, ruleset, pools,
                              period, end)

    ruleset_hash = content_hash(ruleset)
    fingerprint = hashlib.sha256(json.dumps({
        "ruleset": ruleset_hash,
        "period": period,
        "sources": hashlib.sha256("\n".join(
            f"{key}\t{amount}\t{rows}" for key, amount, rows in sorted(
                (key, _decimal_text(amount), rows) for key, amount, rows in printed)
        ).encode()).hexdigest(),
        "drivers": sorted(driver_print),
        "cost_centres": sorted(valid.values()),
    }, sort_keys=True).encode()).hexdigest()
    return AllocationResult(
        period=period, ruleset=ruleset.label, ruleset_hash=ruleset_hash,
        cost_basis=ruleset.cost_basis, fingerprint=fingerprint, lines=tuple(lines),
        unallocated=tuple(unallocated), transfers=tuple(transfers), splits=tuple(splits),
        inputs=tuple(inputs), journals=tuple(journals), source_total=source_total,
        allocated_total=allocated_total, unallocated_total=unallocated_total,
        dimensions=attributes, by_tags=bool(tag_keys),
    )


def _read_sources(sources: Sequence[Any], period: str, ruleset: RuleSet,
                  attributes: tuple[str, ...], tag_keys: frozenset[str],
                  aliases: Mapping[str, str], pools: Mapping[str, Pool],
                  valid: Mapping[str, str], mapper: _Mapper, ledgers: dict[str, _Ledger],
                  inputs: list[SourceInput], printed: list[tuple[str, Decimal, int]]) -> None:
    """Read every source line, map it and add it to its currency's sums (Decimal, exact in the
    caller's context). Data transfer (``origin_resource``) waits until every other line has
    told which cost centre each resource belongs to."""
    deferred: list[tuple[CostLine, _Outcome]] = []
    resource_owner: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for source in sources:
        reader = source if isinstance(source, AllocationSource) else BillingSource(source)
        for line in reader.lines(period=period, cost_basis=ruleset.cost_basis,
                                 attributes=attributes, tag_keys=tag_keys, aliases=aliases):
            printed.append((line.identity(), line.amount, line.rows))
            ledger = ledgers[line.currency]
            ledger.total += line.amount
            outcome = _preset(line, pools, valid, ruleset) if (
                line.cost_centre is not None or line.pool is not None) else mapper.outcome(line)
            if outcome.kind == "origin":
                deferred.append((line, outcome))
                continue
            _book(ledger, line, outcome, inputs)
            resource = line.attribute("resource_id") if outcome.kind == "direct" else None
            if resource is not None and outcome.cost_centre is not None:
                resource_owner[resource][outcome.cost_centre] += abs(line.amount)

    for line, outcome in deferred:
        resource = line.attribute("resource_id")
        owners = resource_owner.get(resource) if resource is not None else None
        if owners:
            centre = max(sorted(owners), key=lambda code: owners[code])
            outcome = _Outcome("direct", outcome.pool, centre, outcome.rule)
        else:
            outcome = _Outcome("unallocated", outcome.pool, None, outcome.rule,
                               Reason.ORIGIN_NOT_MAPPED,
                               f"resource {resource!r} has no cost centre from other rules")
        _book(ledgers[line.currency], line, outcome, inputs)


def _decimal_text(value: Decimal) -> str:
    """Canonical text of an exact decimal (``0E-18`` and ``0`` alike, no trailing zeros)."""
    with localcontext(prec=_PRECISION):
        return format(Decimal(value).normalize(), "f") if value else "0"


def _exact_decimal(value: Fraction) -> Decimal:
    """The Decimal of a sum of decimals (its denominator is a power of ten's divisor)."""
    with localcontext(prec=_PRECISION):
        result = Decimal(value.numerator) / Decimal(value.denominator)
    if Fraction(result) != value:
        raise ConservationError(f"{value} is not an exact decimal")
    return result


def _sort_key(key: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple("" if part is None else str(part) for part in key)


def _preset(line: CostLine, pools: Mapping[str, Pool], valid: Mapping[str, str],
            ruleset: RuleSet) -> _Outcome:
    """The outcome of a line whose source named its cost centre or pool."""
    pool_id = line.pool or ruleset.default_pool
    if pool_id is None or pool_id not in pools:
        raise InputError(f"names pool {pool_id!r}, which rule set {ruleset.label} does not have",
                         source=line.origin, row=line.reference or None, field="pool",
                         value=pool_id)
    rule = f"{line.origin}:{pool_id}"
    if line.cost_centre is None:
        if ruleset.shared_rule(pool_id) is None:
            return _Outcome("unallocated", pool_id, None, rule, Reason.NO_SHARED_RULE,
                            f"pool {pool_id} has no shared rule for costs without a cost centre")
        return _Outcome("shared", pool_id, None, rule)
    centre = valid.get(normalise_key(line.cost_centre))
    if centre is None:
        return _Outcome("unallocated", pool_id, None, rule, Reason.INVALID_COST_CENTRE,
                        f"{line.cost_centre!r} from {line.origin} is not a cost centre valid in "
                        f"the period")
    return _Outcome("direct", pool_id, centre, rule)


def _book(ledger: _Ledger, line: CostLine, outcome: _Outcome, inputs: list[SourceInput]) -> None:
    amount = line.amount
    if outcome.kind == "direct":
        assert outcome.cost_centre is not None and outcome.pool is not None
        assert outcome.rule is not None
        ledger.add(outcome.cost_centre, outcome.pool, outcome.rule, LineKind.DIRECT, amount)
    elif outcome.kind == "shared":
        assert outcome.pool is not None
        ledger.shared[outcome.pool] += amount
    elif outcome.kind == "idle":
        assert outcome.pool is not None and outcome.rule is not None
        ledger.idle[(outcome.pool, outcome.rule)] += amount
    else:
        assert outcome.reason is not None
        ledger.unallocated[(outcome.reason, outcome.detail, outcome.pool, outcome.rule)] += amount
    inputs.append(SourceInput(line=line, kind=outcome.kind, pool=outcome.pool,
                              cost_centre=outcome.cost_centre, rule=outcome.rule,
                              reason=outcome.reason, detail=outcome.detail))


def _split_pools(currency: str, ledger: _Ledger, ruleset: RuleSet, pools: Mapping[str, Pool],
                 shares: Mapping[str, list[tuple[str, Fraction]]],
                 drivers: Mapping[str, Mapping[str, Fraction]]) -> list[PoolSplit]:
    """Split every pool's shared amount, solving pools that pass costs on to each other.

    Step-down is the triangular case of the same equations (a pool only passes costs on to
    pools later in the order), so one exact solver serves both methods:
    ``total_i = own_i + sum_j share_j(i) * total_j``.
    """
    order = [p for p in ruleset.processing_order() if p in shares]
    index = {pool_id: i for i, pool_id in enumerate(order)}
    size = len(order)
    matrix = [[Fraction(int(r == c)) for c in range(size)] for r in range(size)]
    for source_id in order:
        for target, share in shares[source_id]:
            if target.startswith(POOL_PREFIX):
                matrix[index[target[len(POOL_PREFIX):]]][index[source_id]] -= share
    own = [ledger.shared.get(pool_id, Fraction(0)) for pool_id in order]
    totals = _solve(matrix, own) if size else []
    if totals is None:
        raise AllocationError(f"pools {', '.join(order)} pass all their cost on to each other: "
                              f"some share must leave them for cost centres")
    for pool_id, amount in ledger.shared.items():
        if pool_id not in index and amount:  # shared cost of a pool without a shared rule
            ledger.unallocated[(Reason.NO_SHARED_RULE, f"pool {pool_id} has no shared rule",
                                pool_id, None)] += amount
    splits = []
    for pool_id, total in zip(order, totals, strict=True):
        rule = ruleset.shared_rule(pool_id)
        assert rule is not None
        received = tuple(
            (other, totals[index[other]] * share)
            for other in order for target, share in shares[other]
            if target == POOL_PREFIX + pool_id and totals[index[other]] * share
        )
        if not total and not own[index[pool_id]] and not received:
            continue
        splits.append(PoolSplit(pool=pool_id, rule=rule.id, currency=currency,
                                own=own[index[pool_id]], received=received, total=total,
                                shares=tuple(shares[pool_id])))
        targets = shares[pool_id]
        if rule.tiers:
            volume_of = drivers.get(rule.driver or "", {})
            volume = sum((volume_of.get(normalise_key(t), Fraction(0)) for t in rule.targets),
                         Fraction(0))
            recovered = _tiered_price(volume, rule)
            for target, share in targets:
                if target != UNALLOCATED:
                    ledger.add(target, pool_id, rule.id, LineKind.SHARED, recovered * share)
                elif volume:
                    ledger.unallocated[(Reason.INVALID_COST_CENTRE,
                                        f"a target of rule {rule.id} is not a valid cost centre",
                                        pool_id, rule.id)] += recovered * share
            ledger.add(pools[pool_id].owner, pool_id, rule.id, LineKind.RATE_DIFFERENCE,
                       total - recovered)
            continue
        for target, share in targets:
            amount = total * share
            if target.startswith(POOL_PREFIX):
                ledger.transfers[(pool_id, target[len(POOL_PREFIX):], rule.id)] += amount
            elif target == IDLE:
                ledger.idle[(pool_id, rule.id)] += amount
            elif target == UNALLOCATED:
                reason = (Reason.NO_DRIVER_QUANTITY if share == 1 and rule.driver
                          else Reason.INVALID_COST_CENTRE)
                detail = (f"no {rule.driver} quantity for pool {pool_id}'s targets"
                          if reason is Reason.NO_DRIVER_QUANTITY
                          else f"a target of rule {rule.id} is not a valid cost centre")
                ledger.unallocated[(reason, detail, pool_id, rule.id)] += amount
            else:
                ledger.add(target, pool_id, rule.id, LineKind.SHARED, amount)
    return splits


def _apply_policies(ledger: _Ledger, pool: Pool, ruleset: RuleSet) -> None:
    """Idle policy, then the chargeback model, on one pool's exact lines."""
    def consumers() -> list[tuple[tuple[str, str, str, LineKind], Fraction]]:
        return [(key, amount) for key, amount in ledger.lines.items()
                if key[1] == pool.id and key[3] in (LineKind.DIRECT, LineKind.SHARED)
                and amount > 0 and key[0] != pool.owner]

    for (pool_id, rule), idle in sorted(ledger.idle.items()):
        if pool_id != pool.id or not idle:
            continue
        using = consumers()
        used = sum((amount for _, amount in using), Fraction(0))
        if pool.idle is IdlePolicy.SPREAD and used:
            for (centre, _, consumer_rule, _), amount in using:
                ledger.add(centre, pool.id, consumer_rule, LineKind.IDLE, idle * amount / used)
        elif pool.idle is IdlePolicy.CENTRAL:
            ledger.add(ruleset.central_cost_centre, pool.id, rule, LineKind.IDLE, idle)
        else:  # owner, or spread with nobody to spread over
            owner = pool.idle_owner or pool.owner
            ledger.add(owner, pool.id, rule, LineKind.IDLE, idle)
            penalty = min(idle * Fraction(pool.idle_penalty_percent) / 100, used)
            if penalty > 0 and used:
                ledger.add(owner, pool.id, rule, LineKind.IDLE_PENALTY, penalty)
                for (centre, _, consumer_rule, _), amount in using:
                    ledger.add(centre, pool.id, consumer_rule, LineKind.PENALTY_REBATE,
                               -penalty * amount / used)
    if pool.chargeback is Chargeback.SUBSIDY:
        share = Fraction(pool.subsidy_percent) / 100
        central = ruleset.central_cost_centre
        for (centre, pool_id, rule, kind), amount in list(ledger.lines.items()):
            if (pool_id != pool.id or centre in (central, pool.owner) or not amount
                    or kind in (LineKind.SUBSIDY, LineKind.RATE_DIFFERENCE)):
                continue
            ledger.lines[(centre, pool_id, rule, kind)] = amount - amount * share
            ledger.add(central, pool.id, rule, LineKind.SUBSIDY, amount * share)


def _journals(currency: str, lines: Sequence[AllocationLine], transfers: Sequence[PoolTransfer],
              ruleset: RuleSet, pools: Mapping[str, Pool], period: str, day: date
              ) -> list[JournalEntry]:
    """One draft entry per charged pool in ``currency``: debit each cost centre's IT expense
    account (a negative amount is a credit), credit the IT recovery account on the pool's owner
    with the sum; a pool passing cost on to another debits that pool's owner. Showback pools
    and lines on the owner itself book nothing. Balanced by construction."""
    per_pool: dict[str, dict[tuple[str, str], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for line in lines:
        if line.charged and line.amount:
            per_pool[line.pool][(line.cost_centre, line.account)] += line.amount
    for transfer in transfers:
        source, target = pools[transfer.from_pool], pools[transfer.to_pool]
        if (source.chargeback is not Chargeback.SHOWBACK and target.owner != source.owner
                and transfer.amount):
            account = source.expense_account or ruleset.expense_account
            per_pool[source.id][(target.owner, account)] += transfer.amount
    entries = []
    for pool in ruleset.pools:
        charges = {key: amount for key, amount in sorted(per_pool.get(pool.id, {}).items())
                   if amount}
        if not charges:
            continue
        ref = f"{ruleset.label}:{pool.id}"
        journal_lines = [
            JournalLine(account, Side.DEBIT if amount > 0 else Side.CREDIT, abs(amount),
                        currency, cost_centre=centre, memo=f"{pool.name} {period}",
                        source_ref=ref)
            for (centre, account), amount in charges.items()
        ]
        recovered = sum(charges.values(), Decimal(0))
        if recovered:
            journal_lines.append(JournalLine(
                ruleset.recovery_account, Side.CREDIT if recovered > 0 else Side.DEBIT,
                abs(recovered), currency, cost_centre=pool.owner,
                memo=f"IT cost recovery {pool.name} {period}", source_ref=ref))
        if len(journal_lines) < 2:
            continue
        entries.append(JournalEntry(day, f"IT chargeback {period}: {pool.name} ({currency})",
                                    tuple(journal_lines), source="allocation",
                                    reference=f"{ruleset.label} {period} {pool.id}"))
    return entries


__all__ = [
    "AllocationError",
    "AllocationLine",
    "AllocationResult",
    "AllocationSource",
    "BillingSource",
    "ConservationError",
    "CostLine",
    "DepreciationSource",
    "LineKind",
    "ManualCost",
    "ManualSource",
    "PoolSplit",
    "PoolTransfer",
    "Reason",
    "SourceInput",
    "UnallocatedLine",
    "allocate_period",
]

"""Allocation rule sets: what finance reads, versions and defends.

A rule set is a TOML file (see ``resources/rules/demo.toml``) parsed into frozen values:

- ``[ruleset]``: name, version, effective dates, the cost basis (``EffectiveCost``, the amortised
  FinOps default, or ``BilledCost``), the method through service pools (``step_down`` in the
  declared ``order``, or ``reciprocal``), the GL accounts, and the central cost centre that
  absorbs what a pool does not recover;
- ``[tag_keys]``: canonical tag keys and their aliases (``cost_centre = ["CostCenter", "cc"]``);
  keys are compared trimmed and case-folded, and so are tag values;
- ``[[pools]]``: cost pools with their owner (the cost centre credited with the recovery), the
  chargeback model (``full``, ``subsidy`` with a stated share absorbed centrally, ``showback``
  with no journal) and the idle policy (``spread`` over the consumers, charged to an ``owner``
  with an optional penalty, or absorbed ``central``-ly);
- ``[[mapping]]``: ordered mapping rules, first match wins ("virtual tags"), from billing
  attributes to a cost centre, or into the pool's shared amount;
- ``[[shared]]``: how a pool's shared amount is split: by a driver (headcount, revenue, usage),
  by fixed percentages (total 100), or evenly; optionally with a capacity (the unused part is
  idle) and a tiered rate card (each consumer pays the blended rate of the whole volume).

Percentages, quantities and prices are written as strings (``"12.5"``) so that no float ever
touches them. Errors are :class:`~ledger.errors.InputError` naming the file, the rule and the
field. :func:`to_toml` writes the canonical form (what :func:`content_hash` hashes) and
:func:`diff` lists what changed between two versions, rule by rule.
"""

from __future__ import annotations

import enum
import fnmatch
import hashlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger.errors import InputError
from ledger.money import MoneyError, to_decimal
from ledger.reference import check_code

#: Attributes of a cost line a mapping rule can match, besides ``tags``.
MATCH_ATTRIBUTES: tuple[str, ...] = (
    "origin",
    "provider",
    "billing_account_id",
    "sub_account_id",
    "service_name",
    "service_category",
    "region",
    "resource_id",
    "charge_category",
    "charge_description",
)
#: Of these, the ones that are dimensions of a billing cost group (``origin`` is not).
GROUP_ATTRIBUTES: tuple[str, ...] = MATCH_ATTRIBUTES[1:]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
POOL_PREFIX = "pool:"


class CostBasis(enum.StrEnum):
    """Which cost column is allocated: amortised (FinOps default for chargeback) or invoiced."""

    EFFECTIVE = "EffectiveCost"
    BILLED = "BilledCost"

    @property
    def column(self) -> str:
        return "effective_cost" if self is CostBasis.EFFECTIVE else "billed_cost"


class Method(enum.StrEnum):
    """How service pools that serve each other are resolved."""

    STEP_DOWN = "step_down"
    RECIPROCAL = "reciprocal"


class Chargeback(enum.StrEnum):
    """Per pool: recover everything, recover less a subsidy, or only show (no journal)."""

    FULL = "full"
    SUBSIDY = "subsidy"
    SHOWBACK = "showback"


class IdlePolicy(enum.StrEnum):
    """Who pays for idle capacity and unused commitment of a pool."""

    SPREAD = "spread"  # the consumers, in proportion to what they use
    OWNER = "owner"  # the pool's idle owner (who bought the capacity), plus an optional penalty
    CENTRAL = "central"  # the rule set's central cost centre absorbs it


def normalise_key(key: str) -> str:
    """How tag keys and values are compared: trimmed and case-folded."""
    return key.strip().casefold()


def canonical_key(key: str, aliases: Mapping[str, str]) -> str:
    """The normalised canonical key of a raw tag key, given :meth:`RuleSet.key_aliases`."""
    normal = normalise_key(key)
    return aliases.get(normal, normal)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A case-insensitive glob (``*``, ``?``, ``[abc]``) over one attribute or tag value."""

    text: str
    regex: re.Pattern[str] = field(compare=False, repr=False)

    @classmethod
    def of(cls, text: str) -> Pattern:
        return cls(text, re.compile(fnmatch.translate(normalise_key(text)), re.DOTALL))

    def matches(self, value: str | None) -> bool:
        return value is not None and self.regex.match(normalise_key(value)) is not None


@dataclass(frozen=True, slots=True)
class Match:
    """Conditions of a mapping rule: all given attributes must match (any of their patterns).

    Attributes:
        attributes: (attribute, patterns) pairs, attribute one of :data:`MATCH_ATTRIBUTES`.
        tags: (canonical tag key, patterns) pairs; ``"*"`` means the tag is present.
        missing_tags: canonical tag keys that must be absent (or empty).
    """

    attributes: tuple[tuple[str, tuple[Pattern, ...]], ...] = ()
    tags: tuple[tuple[str, tuple[Pattern, ...]], ...] = ()
    missing_tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MappingRule:
    """An ordered mapping rule: the first rule whose :class:`Match` holds decides.

    Exactly one target: ``cost_centre`` (a fixed code), ``cost_centre_from_tag`` (the value of
    that canonical tag, looked up in ``values`` when given: a value not in the table makes the
    rule not match, and is reported as an unknown tag value if no later rule matches),
    ``shared`` (into the pool's shared amount, split by its shared rule),
    ``origin_resource`` (the cost centre that the same resource id was mapped to by other
    rules: data transfer goes to the team whose resource originated it) or ``idle`` (idle
    capacity or unused commitment of the pool, which follows the pool's idle policy).

    Tag keys (in ``match`` and ``cost_centre_from_tag``) are canonical and normalised
    (:func:`normalise_key`); ``values`` keys are normalised tag values.
    """

    id: str
    pool: str
    match: Match
    description: str = ""
    cost_centre: str | None = None
    cost_centre_from_tag: str | None = None
    values: tuple[tuple[str, str], ...] = ()
    shared: bool = False
    origin_resource: bool = False
    idle: bool = False


@dataclass(frozen=True, slots=True)
class Tier:
    """One step of a rate card: ``price`` per driver unit for the volume up to ``up_to``."""

    price: Decimal
    up_to: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SharedRule:
    """How a pool's shared amount is split among its targets.

    Exactly one basis: ``driver`` (quantities per cost centre and period; a target pool weighs
    with its owner's quantity), ``percent`` (per target, totalling 100) or ``even``.

    Attributes:
        targets: cost-centre codes and ``pool:<id>`` references, in the order written.
        capacity: for a driver split, the capacity in driver units; what the targets do not use
            of it is idle and follows the pool's idle policy.
        tiers: a rate card on the total driver volume: the targets are charged the tiered price
            of the whole volume, each at the same blended rate; the difference from the pool's
            cost stays with the owner.
    """

    id: str
    pool: str
    targets: tuple[str, ...]
    description: str = ""
    driver: str | None = None
    percent: tuple[tuple[str, Decimal], ...] = ()
    even: bool = False
    capacity: Decimal | None = None
    tiers: tuple[Tier, ...] = ()


@dataclass(frozen=True, slots=True)
class Pool:
    """A cost pool.

    Attributes:
        owner: the cost centre that holds the pool's cost and is credited with the recovery.
        subsidy_percent: for :attr:`Chargeback.SUBSIDY`, the share absorbed by the central
            cost centre (0 < s < 100).
        idle_owner: who pays idle under :attr:`IdlePolicy.OWNER` (default: the owner).
        idle_penalty_percent: surcharge on idle charged to its owner; it is credited back to
            the pool's consumers, so nothing is created.
        expense_account: overrides the rule set's expense account for this pool.
    """

    id: str
    name: str
    owner: str
    chargeback: Chargeback = Chargeback.FULL
    subsidy_percent: Decimal = Decimal(0)
    idle: IdlePolicy = IdlePolicy.SPREAD
    idle_owner: str | None = None
    idle_penalty_percent: Decimal = Decimal(0)
    expense_account: str | None = None


@dataclass(frozen=True, slots=True)
class RuleSet:
    """A versioned, effective-dated allocation rule set. See the module docstring.

    Attributes:
        tag_aliases: (canonical key, aliases) pairs; the canonical key is its own alias.
        order: the declared step-down order of service pools (others follow in pool order).
        default_pool: the pool of a mapping rule that names none.
    """

    name: str
    version: int
    effective_from: date
    cost_basis: CostBasis
    expense_account: str
    recovery_account: str
    central_cost_centre: str
    pools: tuple[Pool, ...]
    mapping: tuple[MappingRule, ...]
    shared: tuple[SharedRule, ...] = ()
    effective_to: date | None = None
    method: Method = Method.STEP_DOWN
    order: tuple[str, ...] = ()
    tag_aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    default_pool: str | None = None
    description: str = ""
    #: ``[[clusters]]``: Kubernetes cluster splits (:class:`ledger.kubernetes.ClusterRule`).
    clusters: tuple[Any, ...] = ()
    #: ``[[spot]]``: spot and burstable splits by run (:class:`ledger.cloud_usage.SpotRule`).
    spot: tuple[Any, ...] = ()
    #: ``[[transfer]]``: data transfer split by flow-log bytes
    #: (:class:`ledger.transfer_split.TransferRule`).
    transfer: tuple[Any, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def pool(self, pool_id: str) -> Pool:
        for pool in self.pools:
            if pool.id == pool_id:
                return pool
        raise KeyError(pool_id)

    def shared_rule(self, pool_id: str) -> SharedRule | None:
        return next((rule for rule in self.shared if rule.pool == pool_id), None)

    def is_effective_on(self, day: date) -> bool:
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    def key_aliases(self) -> dict[str, str]:
        """Normalised raw tag key -> normalised canonical key (see :func:`canonical_key`)."""
        aliases: dict[str, str] = {}
        for canonical, names in self.tag_aliases:
            aliases[normalise_key(canonical)] = normalise_key(canonical)
            for name in names:
                aliases[normalise_key(name)] = normalise_key(canonical)
        return aliases

    def processing_order(self) -> tuple[str, ...]:
        """Pools in the order they are split: the declared order, then the rest as written."""
        rest = tuple(p.id for p in self.pools if p.id not in self.order)
        return (*self.order, *rest)


# -- parsing ---------------------------------------------------------------------------------


class _Reader:
    """Reads one TOML table of a rule file, naming the file, rule and field in every error."""

    def __init__(self, data: Mapping[str, Any], source: str, where: str) -> None:
        if not isinstance(data, Mapping):
            raise InputError(f"{where} must be a table", source=source, row=where)
        self.data = data
        self.source = source
        self.where = where
        self.used: set[str] = set()

    def error(self, message: str, name: str | None = None, value: object = None) -> InputError:
        return InputError(message, source=self.source, row=self.where, field=name, value=value)

    def get(self, name: str, kinds: type | tuple[type, ...], *, required: bool = False,
            default: Any = None) -> Any:
        self.used.add(name)
        if name not in self.data:
            if required:
                raise self.error("is missing", name)
            return default
        value = self.data[name]
        allowed = kinds if isinstance(kinds, tuple) else (kinds,)
        if isinstance(value, datetime) and datetime not in allowed:
            raise self.error("must be a date (YYYY-MM-DD), without a time", name, value)
        if isinstance(value, bool) and bool not in allowed:
            raise self.error(f"must be {_kind_names(kinds)}, not a boolean", name, value)
        if not isinstance(value, kinds):
            raise self.error(f"must be {_kind_names(kinds)}, got {value!r}", name, value)
        return value

    def text(self, name: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.get(name, str, required=required, default=default)
        if value is not None and required and not value.strip():
            raise self.error("must not be empty", name, value)
        return value.strip() if isinstance(value, str) else value

    def identifier(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        if not _ID.match(value):
            raise self.error("must be 1-64 letters, digits or _ . - and start with a letter or "
                             "digit", name, value)
        return value

    def decimal(self, name: str, *, default: Decimal | None = None) -> Decimal | None:
        value = self.get(name, (str, int, float), default=None)
        if value is None:
            return default
        return self.to_decimal(value, name)

    def to_decimal(self, value: object, name: str) -> Decimal:
        if isinstance(value, float):
            raise self.error(f'write numbers as text, e.g. "{value}" (no floats in money)', name,
                             value)
        try:
            return to_decimal(value)  # type: ignore[arg-type]
        except MoneyError as exc:
            raise self.error(str(exc), name, value) from None

    def enum(self, name: str, kind: type[enum.StrEnum], default: enum.StrEnum) -> Any:
        value = self.text(name)
        if value is None:
            return default
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise self.error(f"must be one of {allowed}", name, value) from None

    def strings(self, name: str, *, required: bool = False) -> tuple[str, ...]:
        value = self.get(name, (str, list), required=required)
        if value is None:
            return ()
        items = [value] if isinstance(value, str) else value
        for item in items:
            if not isinstance(item, str) or not item.strip():
                raise self.error("must be text or a list of non-empty texts", name, value)
        return tuple(item.strip() for item in items)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(f"unknown field(s) {', '.join(unknown)}", unknown[0])


def _kind_names(kinds: type | tuple[type, ...]) -> str:
    names = {str: "text", int: "an integer", bool: "true or false", list: "a list",
             dict: "a table", date: "a date (YYYY-MM-DD)"}
    group = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(names.get(kind, kind.__name__) for kind in group)


def _percent(reader: _Reader, name: str, value: Decimal | None) -> Decimal:
    if value is None:
        return Decimal(0)
    if value < 0 or value > 100:
        raise reader.error("must be between 0 and 100", name, value)
    return value


def _check_code(reader: _Reader, name: str, value: str) -> str:
    try:
        return check_code(value, field=name)
    except InputError:
        raise reader.error("must be a cost-centre code (letters, digits, _ . - /)", name,
                           value) from None


def _parse_match(reader: _Reader, aliases: Mapping[str, str]) -> Match:
    raw = reader.get("when", dict, default={})
    when = _Reader(raw, reader.source, f"{reader.where}.when")
    attributes = []
    for name in MATCH_ATTRIBUTES:
        patterns = when.strings(name)
        if patterns:
            attributes.append((name, tuple(Pattern.of(p) for p in patterns)))
    tags = []
    tag_table = when.get("tags", dict, default={})
    tag_reader = _Reader(tag_table, reader.source, f"{reader.where}.when.tags")
    for key in tag_table:
        patterns = tag_reader.strings(key, required=True)
        tags.append((canonical_key(key, aliases), tuple(Pattern.of(p) for p in patterns)))
    missing = tuple(canonical_key(key, aliases) for key in when.strings("missing_tags"))
    when.finish()
    return Match(tuple(attributes), tuple(tags), missing)


def _parse_mapping(reader: _Reader, aliases: Mapping[str, str], default_pool: str | None
                   ) -> MappingRule:
    rule_id = reader.identifier("id")
    reader.where = f"mapping rule {rule_id}"
    pool = reader.text("pool") or default_pool
    if pool is None:
        raise reader.error("names no pool and the rule set has no default_pool", "pool")
    match = _parse_match(reader, aliases)
    cost_centre = reader.text("cost_centre")
    if cost_centre is not None:
        cost_centre = _check_code(reader, "cost_centre", cost_centre)
    from_tag = reader.text("cost_centre_from_tag")
    if from_tag is not None:
        from_tag = canonical_key(from_tag, aliases)
    values_table = reader.get("values", dict, default={})
    values_reader = _Reader(values_table, reader.source, f"{reader.where}.values")
    values = []
    for key in values_table:
        code = values_reader.text(key, required=True)
        assert code is not None
        values.append((normalise_key(key), _check_code(values_reader, key, code)))
    if values and from_tag is None:
        raise reader.error("a values table needs cost_centre_from_tag", "values")
    shared = reader.get("shared", bool, default=False)
    origin = reader.get("origin_resource", bool, default=False)
    idle = reader.get("idle", bool, default=False)
    targets = [cost_centre is not None, from_tag is not None, shared, origin, idle]
    if sum(targets) != 1:
        raise reader.error("needs exactly one target: cost_centre, cost_centre_from_tag, "
                           "shared = true, origin_resource = true or idle = true", "cost_centre")
    rule = MappingRule(
        id=rule_id, pool=pool, match=match, description=reader.text("description") or "",
        cost_centre=cost_centre, cost_centre_from_tag=from_tag,
        values=tuple(sorted(values)), shared=shared, origin_resource=origin, idle=idle,
    )
    reader.finish()
    return rule


def _parse_shared(reader: _Reader) -> SharedRule:
    rule_id = reader.identifier("id")
    reader.where = f"shared rule {rule_id}"
    pool = reader.text("pool", required=True)
    assert pool is not None
    targets = reader.strings("targets")
    driver = reader.text("driver")
    even = reader.get("even", bool, default=False)
    percent_table = reader.get("percent", dict, default={})
    percent_reader = _Reader(percent_table, reader.source, f"{reader.where}.percent")
    percent = tuple((key.strip(), percent_reader.to_decimal(value, key))
                    for key, value in percent_table.items())
    if sum([driver is not None, even, bool(percent)]) != 1:
        raise reader.error("needs exactly one basis: driver = \"...\", even = true or a "
                           "percent table", "driver")
    if percent:
        if targets:
            raise reader.error("a percent split names its targets in the percent table",
                               "targets")
        targets = tuple(key for key, _ in percent)
        total = sum((value for _, value in percent), Decimal(0))
        if total != 100:
            raise reader.error(f"percentages must total 100, they total {total}", "percent",
                               total)
        for key, value in percent:
            if value < 0:
                raise percent_reader.error("must not be negative", key, value)
    from ledger.catalogue_targets import is_service_driver

    if not targets and not is_service_driver(driver):  # a service's targets: its subscribers
        raise reader.error("needs at least one target", "targets")
    if len(set(targets)) != len(targets):
        raise reader.error("names a target twice", "targets", targets)
    for target in targets:
        if target.startswith(POOL_PREFIX):
            if target[len(POOL_PREFIX):] == pool:
                raise reader.error("a pool cannot be its own target", "targets", target)
        else:
            _check_code(reader, "targets", target)
    capacity = reader.decimal("capacity")
    if capacity is not None and (driver is None or capacity <= 0):
        raise reader.error("a capacity needs a driver and must be positive", "capacity", capacity)
    tiers = []
    for number, raw in enumerate(reader.get("tiers", list, default=[]), start=1):
        tier_reader = _Reader(raw, reader.source, f"{reader.where}.tiers[{number}]")
        price = tier_reader.decimal("price")
        if price is None or price < 0:
            raise tier_reader.error("needs a price of zero or more", "price", price)
        up_to = tier_reader.decimal("up_to")
        tier_reader.finish()
        tiers.append(Tier(price, up_to))
    if tiers:
        if driver is None:
            raise reader.error("a rate card (tiers) needs a driver", "tiers")
        bounds = [t.up_to for t in tiers]
        if bounds[-1] is not None or any(b is None for b in bounds[:-1]):
            raise reader.error("every tier but the last needs up_to; the last has none", "tiers")
        limits = [b for b in bounds if b is not None]
        if limits != sorted(set(limits)) or (limits and limits[0] <= 0):
            raise reader.error("tier limits must be positive and increasing", "tiers")
        if capacity is not None or any(t.startswith(POOL_PREFIX) for t in targets):
            raise reader.error("a rate card charges cost centres only, without a capacity",
                               "tiers")
    rule = SharedRule(id=rule_id, pool=pool, targets=targets,
                      description=reader.text("description") or "", driver=driver,
                      percent=percent, even=even, capacity=capacity, tiers=tuple(tiers))
    reader.finish()
    return rule


def _parse_pool(reader: _Reader) -> Pool:
    pool_id = reader.identifier("id")
    reader.where = f"pool {pool_id}"
    owner = _check_code(reader, "owner", reader.text("owner", required=True) or "")
    chargeback = reader.enum("chargeback", Chargeback, Chargeback.FULL)
    subsidy = _percent(reader, "subsidy_percent", reader.decimal("subsidy_percent"))
    if chargeback is Chargeback.SUBSIDY and not 0 < subsidy < 100:
        raise reader.error("a subsidy pool needs subsidy_percent between 0 and 100",
                           "subsidy_percent", subsidy)
    if chargeback is not Chargeback.SUBSIDY and subsidy:
        raise reader.error("only a subsidy pool takes subsidy_percent", "subsidy_percent",
                           subsidy)
    idle = reader.enum("idle", IdlePolicy, IdlePolicy.SPREAD)
    idle_owner = reader.text("idle_owner")
    if idle_owner is not None:
        idle_owner = _check_code(reader, "idle_owner", idle_owner)
    penalty = reader.decimal("idle_penalty_percent", default=Decimal(0))
    assert penalty is not None
    if penalty < 0:
        raise reader.error("must not be negative", "idle_penalty_percent", penalty)
    if (penalty or idle_owner) and idle is not IdlePolicy.OWNER:
        raise reader.error('idle_owner and idle_penalty_percent need idle = "owner"',
                           "idle_owner" if idle_owner else "idle_penalty_percent")
    pool = Pool(id=pool_id, name=reader.text("name") or pool_id, owner=owner,
                chargeback=chargeback, subsidy_percent=subsidy, idle=idle,
                idle_owner=idle_owner, idle_penalty_percent=penalty,
                expense_account=reader.text("expense_account"))
    reader.finish()
    return pool


def parse_ruleset(text: str, *, source: str = "<rules>") -> RuleSet:
    """Parse and check the TOML text of a rule set. Raises :class:`InputError`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=source) from None
    top = _Reader(data, source, "rule file")
    head = _Reader(top.get("ruleset", dict, required=True), source, "[ruleset]")
    version = head.get("version", int, required=True)
    if version < 1:
        raise head.error("must be 1 or more", "version", version)
    effective_from = head.get("effective_from", date, required=True)
    effective_to = head.get("effective_to", date)
    if effective_to is not None and effective_to < effective_from:
        raise head.error("is before effective_from", "effective_to", effective_to)
    name = head.identifier("name")
    cost_basis = head.enum("cost_basis", CostBasis, CostBasis.EFFECTIVE)
    method = head.enum("method", Method, Method.STEP_DOWN)
    expense = head.text("expense_account", required=True)
    recovery = head.text("recovery_account", required=True)
    central = _check_code(head, "central_cost_centre",
                          head.text("central_cost_centre", required=True) or "")
    default_pool = head.text("default_pool")
    order = head.strings("order")
    description = head.text("description") or ""
    head.finish()

    alias_table = top.get("tag_keys", dict, default={})
    alias_reader = _Reader(alias_table, source, "[tag_keys]")
    tag_aliases = []
    seen: dict[str, str] = {}
    for canonical in alias_table:
        names = alias_reader.strings(canonical)
        for name_ in (canonical, *names):
            other = seen.setdefault(normalise_key(name_), canonical)
            if other != canonical:
                raise alias_reader.error(f"{name_!r} is already an alias of {other!r}", canonical,
                                         name_)
        tag_aliases.append((canonical.strip(), names))
    aliases = {key: normalise_key(canonical) for key, canonical in seen.items()}

    pools = tuple(_parse_pool(_Reader(raw, source, f"pool {i}"))
                  for i, raw in enumerate(top.get("pools", list, required=True), start=1))
    mapping = tuple(_parse_mapping(_Reader(raw, source, f"mapping rule {i}"), aliases,
                                   default_pool)
                    for i, raw in enumerate(top.get("mapping", list, default=[]), start=1))
    shared = tuple(_parse_shared(_Reader(raw, source, f"shared rule {i}"))
                   for i, raw in enumerate(top.get("shared", list, default=[]), start=1))
    from ledger.kubernetes import parse_clusters

    clusters = parse_clusters(top.get("clusters", list, default=[]), source,
                              pools=tuple(p.id for p in pools))
    from ledger.cloud_usage import parse_spot

    spot = parse_spot(top.get("spot", list, default=[]), source)
    from ledger.transfer_split import parse_transfer

    transfer = parse_transfer(top.get("transfer", list, default=[]), source,
                              pools=tuple(p.id for p in pools))
    top.finish()
    ruleset = RuleSet(
        name=name, version=version, effective_from=effective_from, effective_to=effective_to,
        cost_basis=cost_basis, method=method, expense_account=expense or "",
        recovery_account=recovery or "", central_cost_centre=central, pools=pools,
        mapping=mapping, shared=shared, order=order, tag_aliases=tuple(tag_aliases),
        default_pool=default_pool, description=description, clusters=clusters, spot=spot,
        transfer=transfer,
    )
    _check_references(ruleset, source)
    return ruleset


def _check_references(ruleset: RuleSet, source: str) -> None:
    """Cross-checks: unique ids, pools that exist, a step-down order that flows forward."""
    pool_ids = [p.id for p in ruleset.pools]
    if not pool_ids:
        raise InputError("a rule set needs at least one pool", source=source, field="pools")
    for kind, ids in (("pool", pool_ids), ("mapping rule", [r.id for r in ruleset.mapping]),
                      ("shared rule", [r.id for r in ruleset.shared])):
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise InputError(f"{kind} id {duplicates[0]} is used twice", source=source,
                             row=f"{kind} {duplicates[0]}", field="id", value=duplicates[0])
    rule_ids = [r.id for r in ruleset.mapping] + [r.id for r in ruleset.shared]
    if len(set(rule_ids)) != len(rule_ids):
        twice = sorted({i for i in rule_ids if rule_ids.count(i) > 1})[0]
        raise InputError(f"rule id {twice} is used by a mapping and a shared rule",
                         source=source, row=f"rule {twice}", field="id", value=twice)
    known = set(pool_ids)
    if ruleset.default_pool is not None and ruleset.default_pool not in known:
        raise InputError("is not a pool of this rule set", source=source, row="[ruleset]",
                         field="default_pool", value=ruleset.default_pool)
    for pool_id in ruleset.order:
        if pool_id not in known:
            raise InputError("names a pool that does not exist", source=source,
                             row="[ruleset]", field="order", value=pool_id)
    if len(set(ruleset.order)) != len(ruleset.order):
        raise InputError("names a pool twice", source=source, row="[ruleset]", field="order")
    for rule in ruleset.mapping:
        if rule.pool not in known:
            raise InputError("is not a pool of this rule set", source=source,
                             row=f"mapping rule {rule.id}", field="pool", value=rule.pool)
        if rule.shared and ruleset.shared_rule(rule.pool) is None:
            raise InputError(f"pool {rule.pool} has no shared rule to split shared cost by",
                             source=source, row=f"mapping rule {rule.id}", field="shared")
    position = {pool_id: index for index, pool_id in enumerate(ruleset.processing_order())}
    split_pools: set[str] = set()
    for rule in ruleset.shared:
        where = f"shared rule {rule.id}"
        if rule.pool not in known:
            raise InputError("is not a pool of this rule set", source=source, row=where,
                             field="pool", value=rule.pool)
        if rule.pool in split_pools:
            raise InputError(f"pool {rule.pool} has two shared rules; give it one", source=source,
                             row=where, field="pool", value=rule.pool)
        split_pools.add(rule.pool)
        for target in rule.targets:
            if not target.startswith(POOL_PREFIX):
                continue
            target_pool = target[len(POOL_PREFIX):]
            if target_pool not in known:
                raise InputError("names a pool that does not exist", source=source, row=where,
                                 field="targets", value=target)
            if ruleset.shared_rule(target_pool) is None:
                raise InputError(f"pool {target_pool} has no shared rule to pass on what it "
                                 f"receives", source=source, row=where, field="targets",
                                 value=target)
            if (ruleset.method is Method.STEP_DOWN
                    and position[target_pool] < position[rule.pool]):
                raise InputError(
                    f"in step-down order pool {target_pool} is closed before {rule.pool}: "
                    f"move it later in [ruleset] order, or use method = \"reciprocal\"",
                    source=source, row=where, field="targets", value=target)


def load_ruleset(path: Path | str) -> RuleSet:
    """Read and parse a rule file; errors name the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read the rule file: {exc.strerror}", source=path.name) from None
    return parse_ruleset(text, source=path.name)


# -- writing, hashing, diff ------------------------------------------------------------------


def _q(value: str) -> str:
    """A TOML basic string."""
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\t", "\\t"))
    return f'"{escaped}"'


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_\-]+", key) else _q(key)


def _strings(values: Sequence[str]) -> str:
    if len(values) == 1:
        return _q(values[0])
    return "[" + ", ".join(_q(v) for v in values) + "]"


def _dec(value: Decimal) -> str:
    return _q(format(value.normalize(), "f"))


def _patterns(patterns: Sequence[Pattern]) -> str:
    return _strings([p.text for p in patterns])


def _match_toml(match: Match) -> str | None:
    parts = [f"{name} = {_patterns(patterns)}" for name, patterns in match.attributes]
    if match.tags:
        tags = ", ".join(f"{_key(k)} = {_patterns(p)}" for k, p in match.tags)
        parts.append(f"tags = {{ {tags} }}")
    if match.missing_tags:
        parts.append(f"missing_tags = {_strings(list(match.missing_tags))}")
    return "{ " + ", ".join(parts) + " }" if parts else None


def to_toml(ruleset: RuleSet) -> str:
    """The canonical TOML text of ``ruleset``: deterministic, parses back to an equal rule set.

    Comments of the original file are not kept; the order of rules is (it matters).
    """
    out = ["# Apportion allocation rule set (canonical form, written by Apportion)", "",
           "[ruleset]", f"name = {_q(ruleset.name)}", f"version = {ruleset.version}"]
    if ruleset.description:
        out.append(f"description = {_q(ruleset.description)}")
    out.append(f"effective_from = {ruleset.effective_from.isoformat()}")
    if ruleset.effective_to is not None:
        out.append(f"effective_to = {ruleset.effective_to.isoformat()}")
    out += [f"cost_basis = {_q(ruleset.cost_basis.value)}",
            f"method = {_q(ruleset.method.value)}",
            f"expense_account = {_q(ruleset.expense_account)}",
            f"recovery_account = {_q(ruleset.recovery_account)}",
            f"central_cost_centre = {_q(ruleset.central_cost_centre)}"]
    if ruleset.default_pool is not None:
        out.append(f"default_pool = {_q(ruleset.default_pool)}")
    if ruleset.order:
        out.append(f"order = [{', '.join(_q(p) for p in ruleset.order)}]")
    if ruleset.tag_aliases:
        out += ["", "[tag_keys]"]
        out += [f"{_key(k)} = [{', '.join(_q(a) for a in names)}]"
                for k, names in ruleset.tag_aliases]
    for pool in ruleset.pools:
        out += ["", "[[pools]]", f"id = {_q(pool.id)}", f"name = {_q(pool.name)}",
                f"owner = {_q(pool.owner)}", f"chargeback = {_q(pool.chargeback.value)}"]
        if pool.chargeback is Chargeback.SUBSIDY:
            out.append(f"subsidy_percent = {_dec(pool.subsidy_percent)}")
        out.append(f"idle = {_q(pool.idle.value)}")
        if pool.idle_owner is not None:
            out.append(f"idle_owner = {_q(pool.idle_owner)}")
        if pool.idle_penalty_percent:
            out.append(f"idle_penalty_percent = {_dec(pool.idle_penalty_percent)}")
        if pool.expense_account is not None:
            out.append(f"expense_account = {_q(pool.expense_account)}")
    for rule in ruleset.mapping:
        out += ["", "[[mapping]]", f"id = {_q(rule.id)}"]
        if rule.description:
            out.append(f"description = {_q(rule.description)}")
        out.append(f"pool = {_q(rule.pool)}")
        when = _match_toml(rule.match)
        if when:
            out.append(f"when = {when}")
        if rule.cost_centre is not None:
            out.append(f"cost_centre = {_q(rule.cost_centre)}")
        if rule.cost_centre_from_tag is not None:
            out.append(f"cost_centre_from_tag = {_q(rule.cost_centre_from_tag)}")
        if rule.values:
            out.append("values = { " + ", ".join(f"{_key(k)} = {_q(v)}" for k, v in rule.values)
                       + " }")
        if rule.shared:
            out.append("shared = true")
        if rule.origin_resource:
            out.append("origin_resource = true")
        if rule.idle:
            out.append("idle = true")
    for rule in ruleset.shared:
        out += ["", "[[shared]]", f"id = {_q(rule.id)}"]
        if rule.description:
            out.append(f"description = {_q(rule.description)}")
        out.append(f"pool = {_q(rule.pool)}")
        if rule.driver is not None:
            out.append(f"driver = {_q(rule.driver)}")
        if rule.even:
            out.append("even = true")
        if rule.percent:
            out.append("percent = { " + ", ".join(f"{_key(k)} = {_dec(v)}"
                                                  for k, v in rule.percent) + " }")
        else:
            out.append(f"targets = [{', '.join(_q(t) for t in rule.targets)}]")
        if rule.capacity is not None:
            out.append(f"capacity = {_dec(rule.capacity)}")
        if rule.tiers:
            tiers = []
            for tier in rule.tiers:
                bound = f"up_to = {_dec(tier.up_to)}, " if tier.up_to is not None else ""
                tiers.append(f"{{ {bound}price = {_dec(tier.price)} }}")
            out.append(f"tiers = [{', '.join(tiers)}]")
    from ledger.kubernetes import clusters_toml

    out += clusters_toml(ruleset.clusters)
    from ledger.cloud_usage import spot_toml

    out += spot_toml(ruleset.spot)
    from ledger.transfer_split import transfer_toml

    out += transfer_toml(ruleset.transfer)
    return "\n".join(out) + "\n"


def content_hash(ruleset: RuleSet) -> str:
    """sha256 (hex) of the canonical TOML: equal rule sets hash equally, whatever their
    comments, key order or spelling of numbers."""
    return hashlib.sha256(to_toml(ruleset).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class RuleChange:
    """One difference between two rule sets.

    Attributes:
        kind: ``added``, ``removed``, ``changed`` or ``moved`` (a mapping rule's position,
            which matters because the first match wins).
        section: ``ruleset``, ``tag_keys``, ``pool``, ``mapping`` or ``shared``.
        id: the rule, pool or field concerned.
        fields: for ``changed``: (field, old, new) as canonical text.
    """

    kind: str
    section: str
    id: str
    fields: tuple[tuple[str, str, str], ...] = ()

    def __str__(self) -> str:
        detail = "; ".join(f"{name}: {old} -> {new}" for name, old, new in self.fields)
        return f"{self.kind} {self.section} {self.id}" + (f" ({detail})" if detail else "")


def _field_text(value: object) -> str:
    if isinstance(value, Match):
        return _match_toml(value) or "{ }"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, tuple):
        return "[" + ", ".join(_field_text(v) for v in value) + "]"
    if isinstance(value, Tier):
        return f"{_field_text(value.up_to)}@{_field_text(value.price)}"
    return "" if value is None else str(value)


def _compare(section: str, old: Sequence[Any], new: Sequence[Any], *, ordered: bool
             ) -> list[RuleChange]:
    changes = []
    old_ids = [item.id for item in old]
    new_ids = [item.id for item in new]
    old_by_id = {item.id: item for item in old}
    new_by_id = {item.id: item for item in new}
    for item in new:
        if item.id not in old_by_id:
            changes.append(RuleChange("added", section, item.id))
            continue
        before = old_by_id[item.id]
        differences = tuple(
            (f.name, _field_text(getattr(before, f.name)), _field_text(getattr(item, f.name)))
            for f in fields(item) if f.name != "id"
            and _field_text(getattr(before, f.name)) != _field_text(getattr(item, f.name))
        )
        if differences:
            changes.append(RuleChange("changed", section, item.id, differences))
    changes += [RuleChange("removed", section, i) for i in old_ids if i not in new_by_id]
    if ordered:
        common_old = [i for i in old_ids if i in new_by_id]
        common_new = [i for i in new_ids if i in old_by_id]
        for position, rule_id in enumerate(common_new):
            if common_old.index(rule_id) != position:
                changes.append(RuleChange("moved", section, rule_id, (
                    ("position", str(common_old.index(rule_id) + 1), str(position + 1)),)))
    return changes


def diff(old: RuleSet, new: RuleSet) -> list[RuleChange]:
    """What changed from ``old`` to ``new``: header fields, tag aliases, pools and rules."""
    head = tuple(
        (f.name, _field_text(getattr(old, f.name)), _field_text(getattr(new, f.name)))
        for f in fields(RuleSet)
        if f.name not in ("pools", "mapping", "shared", "tag_aliases", "clusters", "spot",
                          "transfer")
        and _field_text(getattr(old, f.name)) != _field_text(getattr(new, f.name))
    )
    changes = [RuleChange("changed", "ruleset", "header", head)] if head else []
    old_aliases, new_aliases = dict(old.tag_aliases), dict(new.tag_aliases)
    for key in sorted(set(old_aliases) | set(new_aliases)):
        if old_aliases.get(key) != new_aliases.get(key):
            changes.append(RuleChange("changed", "tag_keys", key, (
                ("aliases", _field_text(old_aliases.get(key)), _field_text(new_aliases.get(key))),
            )))
    changes += _compare("pool", old.pools, new.pools, ordered=False)
    changes += _compare("mapping", old.mapping, new.mapping, ordered=True)
    changes += _compare("shared", old.shared, new.shared, ordered=False)
    changes += _compare("cluster", old.clusters, new.clusters, ordered=False)
    changes += _compare("spot", old.spot, new.spot, ordered=False)
    changes += _compare("transfer", old.transfer, new.transfer, ordered=False)
    return changes

"""Data transfer inside an allocation run: transfer billing lines split by flow-log bytes.

:mod:`ledger.transfer` splits a period's transfer charges over the teams whose resources sent
the bytes, as a report beside the allocation. A rule set with ``[[transfer]]`` rules makes the
run itself do it: :class:`TransferSplitSource` wraps the run's billing source (as the cluster
and spot splits do) and replaces each inter-zone, inter-region or egress usage line by one line
per owner of the bytes that the line's kind of traffic from its region carried, largest
remainder (:func:`ledger.money.allocate`) to the line's own last digit, so the parts add up to
the line exactly and the run's conservation check covers the split.

The owner's part is charged either through the ordinary mapping rules (``charge_to = "tag"``:
the line carries the tag ``owner_tag = <owner>``, and a rule such as
``cost_centre_from_tag = "team"`` places it) or straight to the owner as a cost-centre code
(``charge_to = "cost_centre"``, in ``pool``). Bytes nobody owns keep the line's own tags, so
that part goes where the line would have gone. A transfer line no flow explains passes through
as billed, marked with the ``transfer_unsplit`` attribute and counted in
:attr:`TransferSplitSource.unsplit`: never dropped, always reported.
"""

from __future__ import annotations

import enum
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from ledger.errors import InputError
from ledger.money import allocate
from ledger.transfer import ANY_KIND, CHARGED_KINDS, UNOWNED, FlowAggregate, billing_transfer_kind

#: The origin of a split line (``apportion explain`` shows it with each source).
TRANSFER_ORIGIN = "transfer"
#: The kinds a rule splits unless it says otherwise: every charged kind and "data transfer" of
#: no stated kind (which weighs the bytes of every charged kind).
RULE_KINDS: tuple[str, ...] = (*CHARGED_KINDS, ANY_KIND)
#: Attributes of a split line: the rule, the kind, the owner, its bytes and the charge's bytes.
RULE_ATTRIBUTE = "transfer_rule"
KIND_ATTRIBUTE = "transfer_kind"
OWNER_ATTRIBUTE = "transfer_owner"
BYTES_ATTRIBUTE = "transfer_bytes"
CHARGE_BYTES_ATTRIBUTE = "transfer_charge_bytes"
RESOURCES_ATTRIBUTE = "transfer_resources"
#: Attribute of a transfer line that passed through unsplit (its kind): no flow explained it.
UNSPLIT_ATTRIBUTE = "transfer_unsplit"
#: Billing dimensions the split reads besides what the rules read.
NEEDED_ATTRIBUTES: tuple[str, ...] = ("service_name", "charge_description", "charge_category",
                                      "region")
#: How many resources a split line names (the rest are counted).
MAX_RESOURCES = 10


class ChargeTo(enum.StrEnum):
    """Where an owner's part goes."""

    TAG = "tag"  # tagged owner_tag = owner; the mapping rules place it
    COST_CENTRE = "cost_centre"  # the owner is a cost-centre code: charged to it directly


@dataclass(frozen=True, slots=True)
class TransferRule:
    """A ``[[transfer]]`` table: which transfer lines the run splits by bytes, and how.

    Attributes:
        kinds: the billing kinds split (:data:`RULE_KINDS`).
        owner_tag: the tag the owner's line carries, and the billing tag that names a
            resource's owner when the flow-log mapping leaves it blank.
        pool: for ``charge_to = "cost_centre"``: the pool (default: the rule set's default).
    """

    id: str
    kinds: tuple[str, ...] = RULE_KINDS
    owner_tag: str = "team"
    charge_to: ChargeTo = ChargeTo.TAG
    pool: str | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class _Weights:
    """The owners of one kind of traffic from one region: bytes and resources per owner."""

    owners: tuple[str, ...]
    bytes: tuple[int, ...]
    resources: tuple[tuple[str, ...], ...]

    @property
    def total(self) -> int:
        return sum(self.bytes)


def owner_weights(flows: Iterable[FlowAggregate], kind: str, region: str | None,
                  owner_of: Mapping[str, str]) -> _Weights:
    """Bytes per owner of ``kind`` traffic (every charged kind for :data:`ANY_KIND`) sent from
    ``region`` (from anywhere when None); owners as :func:`ledger.transfer.assign_transfer_cost`
    finds them: the flow's, else ``owner_of[resource]``, else :data:`UNOWNED`."""
    sums: dict[str, int] = defaultdict(int)
    resources: dict[str, set[str]] = defaultdict(set)
    for flow in flows:
        if flow.kind not in CHARGED_KINDS or flow.bytes <= 0:
            continue
        if kind != ANY_KIND and flow.kind != kind:
            continue
        if region is not None and flow.source_region != region:
            continue
        owner = flow.owner or owner_of.get(flow.resource_id) or UNOWNED
        sums[owner] += flow.bytes
        resources[owner].add(flow.resource_id)
    owners = tuple(sorted(sums))
    return _Weights(owners, tuple(sums[o] for o in owners),
                    tuple(tuple(sorted(resources[o])) for o in owners))


def _quantum(amount: Decimal) -> Decimal:
    """The amount's last significant digit, at least the cent: a bill's 1.01 (stored with 18
    decimals) splits into cents, as a person would by hand; an amortised 0.123456 into
    millionths. Either way the parts add up to the line exactly."""
    exponent = amount.normalize().as_tuple().exponent
    return Decimal(1).scaleb(min(int(exponent), -2))  # type: ignore[arg-type]


def _resources_text(resources: Sequence[str]) -> str:
    shown = ", ".join(resources[:MAX_RESOURCES])
    more = len(resources) - MAX_RESOURCES
    return f"{shown} and {more} more" if more > 0 else shown


class TransferSplitSource:
    """Billing with the transfer usage lines split by the owners' bytes (module docstring).

    ``flows`` are the period's flow-log aggregates; ``owner_of`` maps an owner tag to the
    owners that billing names for resources the flow-log mapping left without one.
    """

    def __init__(self, inner: Any, rules: Sequence[TransferRule],
                 flows: Sequence[FlowAggregate], *,
                 owner_of: Mapping[str, Mapping[str, str]] | None = None,
                 default_pool: str | None = None) -> None:
        self.inner, self.rules = inner, tuple(rules)
        self.flows = tuple(flows)
        self.owner_of = owner_of or {}
        self.default_pool = default_pool
        self._weights: dict[tuple[str, str, str | None], _Weights] = {}
        #: (kind, region, currency) -> the amount of transfer lines no flow explained.
        self.unsplit: dict[tuple[str, str | None, str], Decimal] = defaultdict(Decimal)
        #: (kind, region, owner, currency) -> the amount the owners were given.
        self.split: dict[tuple[str, str | None, str, str], Decimal] = defaultdict(Decimal)

    def lines(self, *, attributes: Sequence[str], tag_keys: frozenset[str],
              **kwargs: Any) -> Iterator[Any]:
        extra = tuple(a for a in NEEDED_ATTRIBUTES if a not in attributes)
        aliases: Mapping[str, str] = kwargs.get("aliases") or {}
        for line in self.inner.lines(attributes=(*attributes, *extra),
                                     tag_keys=tag_keys | {"*"}, **kwargs):
            kind, rule = self._rule_of(line)
            if rule is None or kind is None or not line.amount:
                yield line
                continue
            region = line.attribute("region")
            weights = self.weights(rule, kind, region)
            if not weights.total:
                self.unsplit[kind, region, line.currency] += line.amount
                yield replace(line, attributes=(*line.attributes, (UNSPLIT_ATTRIBUTE, kind)))
                continue
            yield from self._split(rule, kind, region, line, weights, aliases)

    def _rule_of(self, line: Any) -> tuple[str | None, TransferRule | None]:
        if line.cost_centre is not None or line.pool is not None:
            return None, None  # not a billing line
        if (line.attribute("charge_category") or "Usage") != "Usage":
            return None, None  # tax, credits and adjustments follow their own rules
        kind = billing_transfer_kind(line.attribute("service_name"),
                                     line.attribute("charge_description"))
        if kind not in RULE_KINDS:
            return None, None  # not transfer, or inbound (free)
        return kind, next((r for r in self.rules if kind in r.kinds), None)

    def weights(self, rule: TransferRule, kind: str, region: str | None) -> _Weights:
        key = (rule.owner_tag, kind, region)
        if key not in self._weights:
            self._weights[key] = owner_weights(self.flows, kind, region,
                                               self.owner_of.get(rule.owner_tag, {}))
        return self._weights[key]

    def _split(self, rule: TransferRule, kind: str, region: str | None, line: Any,
               weights: _Weights, aliases: Mapping[str, str]) -> Iterator[Any]:
        parts = allocate(line.amount, weights.bytes, quantum=_quantum(line.amount))
        owner_key = _normal(rule.owner_tag)
        owner_key = aliases.get(owner_key, owner_key)
        for owner, size, resources, amount in zip(weights.owners, weights.bytes,
                                                  weights.resources, parts, strict=True):
            if not amount:
                continue
            self.split[kind, region, owner, line.currency] += amount
            attributes = (*line.attributes, (RULE_ATTRIBUTE, rule.id), (KIND_ATTRIBUTE, kind),
                          (OWNER_ATTRIBUTE, owner), (BYTES_ATTRIBUTE, str(size)),
                          (CHARGE_BYTES_ATTRIBUTE, str(weights.total)),
                          (RESOURCES_ATTRIBUTE, _resources_text(resources)))
            reference = f"{kind}/{region or '*'}/{owner}"
            if owner == UNOWNED:  # nobody's bytes: where the line itself would have gone
                yield replace(line, origin=TRANSFER_ORIGIN, amount=amount,
                              attributes=attributes, reference=reference)
            elif rule.charge_to is ChargeTo.COST_CENTRE:
                yield replace(line, origin=TRANSFER_ORIGIN, amount=amount,
                              attributes=attributes, reference=reference, cost_centre=owner,
                              pool=rule.pool or self.default_pool)
            else:
                tags = (*(t for t in line.tags
                          if aliases.get(_normal(t[0]), _normal(t[0])) != owner_key),
                        (rule.owner_tag, owner))
                yield replace(line, origin=TRANSFER_ORIGIN, amount=amount,
                              attributes=attributes, tags=tags, reference=reference)


def _normal(key: str) -> str:
    return key.strip().casefold()


# -- rule file ----------------------------------------------------------------------------------


def parse_transfer(raw: Sequence[Any], source: str, *, pools: Sequence[str] = ()
                   ) -> tuple[TransferRule, ...]:
    """The ``[[transfer]]`` tables of a rule file (errors name the file, rule and field). A
    kind may be split by one rule only; ``pools`` are the rule set's pool ids."""
    from ledger.allocation.rules import _Reader

    rules: list[TransferRule] = []
    taken: dict[str, str] = {}
    for index, table in enumerate(raw, start=1):
        reader = _Reader(table, source, f"transfer rule {index}")
        rule = TransferRule(
            id=reader.identifier("id"),
            kinds=reader.strings("kinds") if "kinds" in table else RULE_KINDS,
            owner_tag=reader.text("owner_tag") or "team",
            charge_to=reader.enum("charge_to", ChargeTo, ChargeTo.TAG),
            pool=reader.text("pool"), description=reader.text("description") or "")
        reader.finish()
        _check(reader, rule, pools, taken)
        # Kinds in their canonical order: the same rule, however written, hashes the same.
        rules.append(replace(rule, kinds=tuple(k for k in RULE_KINDS if k in rule.kinds)))
    ids = [r.id for r in rules]
    for rule_id in ids:
        if ids.count(rule_id) > 1:
            raise InputError("duplicate transfer rule id", source=source, field="id",
                             value=rule_id)
    return tuple(rules)


def _check(reader: Any, rule: TransferRule, pools: Sequence[str], taken: dict[str, str]
           ) -> None:
    if not rule.kinds:
        raise reader.error(f"must name at least one kind ({', '.join(RULE_KINDS)})", "kinds")
    for kind in rule.kinds:
        if kind not in RULE_KINDS:
            raise reader.error(f"must be kinds of {', '.join(RULE_KINDS)}", "kinds", kind)
        if kind in taken:
            raise reader.error(f"{kind} is already split by transfer rule {taken[kind]}",
                               "kinds", kind)
        taken[kind] = rule.id
    if not rule.owner_tag.strip():
        raise reader.error("must not be empty", "owner_tag")
    if rule.pool is not None:
        if rule.charge_to is not ChargeTo.COST_CENTRE:
            raise reader.error('a pool is for charge_to = "cost_centre"', "pool", rule.pool)
        if rule.pool not in pools:
            raise reader.error(f"is not a pool of the rule set ({', '.join(pools)})", "pool",
                               rule.pool)


def transfer_toml(rules: Sequence[TransferRule]) -> list[str]:
    """The canonical TOML lines of ``rules`` (nothing when there are none: the content hash of
    a rule set without transfer rules is what it was before they existed)."""
    out: list[str] = []
    for rule in rules:
        out += ["", "[[transfer]]", f"id = {json.dumps(rule.id)}"]
        if rule.description:
            out.append(f"description = {json.dumps(rule.description)}")
        out += [f"kinds = {json.dumps(list(rule.kinds))}",
                f"owner_tag = {json.dumps(rule.owner_tag)}",
                f"charge_to = {json.dumps(rule.charge_to.value)}"]
        if rule.pool is not None:
            out.append(f"pool = {json.dumps(rule.pool)}")
    return out

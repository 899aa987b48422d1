"""Shared Kubernetes clusters: who used the nodes, disks and load balancers the bill charges.

A cloud bill says what a cluster's nodes cost, not which team ran on them. Workload usage
(from OpenCost, Kubecost or a plain CSV) says, per namespace and period, how many CPU-core-hours
and RAM-GB-hours were requested and used; a ``[[clusters]]`` rule of the rule set says how to turn
that into shares of the cluster's billed cost:

- ``basis``: weigh each namespace by what it ``request``-ed, what it ``usage``-d, or the larger
  of the two (``max``, the OpenCost default: a workload pays for what it reserved, and for what
  it burst above that);
- ``cpu_percent``: the share of node cost that pays for CPU (the rest pays for RAM): a namespace's
  share is ``cpu% x its CPU-hours / cluster CPU capacity + ram% x its GB-hours / RAM capacity``;
- capacity is what the workloads took under ``max`` plus the idle hours the source reports (the
  ``__idle__`` allocation of OpenCost and Kubecost); what the basis leaves unused is idle;
- ``idle``: ``even`` (every tenant namespace the same), ``weighted`` (in proportion to its cost)
  or ``owner`` (all of it to ``idle_owner``, the cost centre that bought the capacity);
- ``system_namespaces`` (``kube-system`` ...) are a shared pool: their share goes to the tenant
  namespaces in proportion to their own;
- ``by``: ``namespace`` or ``label:<key>`` (a label's value, e.g. ``label:team``).

The split is exact: every recipient's share is a :class:`~fractions.Fraction`, and an amount is
split once, by the largest-remainder method of :func:`ledger.money.allocate`, so the parts add up
to the amount to its last digit (to the cent for an amount in cents). The parts become cost lines
tagged ``namespace`` (or the label), so the rule set's ordered mapping rules map them to cost
centres exactly as they map tags; the idle owner's part is a direct cost of the rule's pool.
"""

from __future__ import annotations

import enum
import functools
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Any

from ledger.errors import InputError
from ledger.money import allocate

IDLE = "__idle__"
#: Namespaces of the cluster itself, shared by its tenants unless the rule says otherwise.
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
#: Attributes a split cost line carries, so explain shows where it came from.
CLUSTER_ATTRIBUTE, SHARE_ATTRIBUTE, KEY_ATTRIBUTE = "k8s_cluster", "k8s_share", "k8s_key"
ORIGIN = "kubernetes"


class Basis(enum.StrEnum):
    """What a namespace is weighed by."""

    REQUEST = "request"
    USAGE = "usage"
    MAX = "max"


class IdleShare(enum.StrEnum):
    """Who pays for the capacity nobody used."""

    EVEN = "even"
    WEIGHTED = "weighted"
    OWNER = "owner"


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One workload's usage in one period, as the source reported it.

    Attributes:
        period: ``YYYY-MM`` of the window start.
        namespace: :data:`IDLE` for the idle capacity the source reports.
        cpu_request, cpu_usage: CPU-core-hours.
        ram_request, ram_usage: RAM-GB-hours (GiB).
        labels: (key, value) pairs, sorted.
        controller, pod: where the source names them.
    """

    cluster: str
    period: str
    namespace: str
    cpu_request: Decimal
    cpu_usage: Decimal
    ram_request: Decimal
    ram_usage: Decimal
    labels: tuple[tuple[str, str], ...] = ()
    controller: str = ""
    pod: str = ""

    def cpu(self, basis: Basis) -> Decimal:
        return _pick(basis, self.cpu_request, self.cpu_usage)

    def ram(self, basis: Basis) -> Decimal:
        return _pick(basis, self.ram_request, self.ram_usage)

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)


def _pick(basis: Basis, request: Decimal, usage: Decimal) -> Decimal:
    if basis is Basis.REQUEST:
        return request
    if basis is Basis.USAGE:
        return usage
    return max(request, usage)


@dataclass(frozen=True, slots=True)
class ClusterRule:
    """A ``[[clusters]]`` rule: which billing lines are the cluster's and how they split.

    Attributes:
        cluster: the cluster's name, as the usage records and the cluster tag spell it.
        tag: the billing tag key whose value names the cluster (matched case-insensitively).
        resource_ids: glob patterns of resource ids that are the cluster's (nodes, volumes).
        by: ``namespace`` or ``label:<key>``.
        cpu_percent: share of node cost paying for CPU; the rest pays for RAM.
        idle_owner: the cost centre charged all idle under :attr:`IdleShare.OWNER`.
        pool: the pool of the idle owner's direct cost (default: the rule set's default pool).
    """

    id: str
    cluster: str
    tag: str = "cluster"
    resource_ids: tuple[str, ...] = ()
    by: str = "namespace"
    basis: Basis = Basis.MAX
    cpu_percent: Decimal = Decimal(50)
    idle: IdleShare = IdleShare.WEIGHTED
    idle_owner: str | None = None
    pool: str | None = None
    system_namespaces: tuple[str, ...] = SYSTEM_NAMESPACES
    description: str = ""

    @property
    def label_key(self) -> str | None:
        return self.by.split(":", 1)[1] if self.by.startswith("label:") else None

    def matches(self, tags: Iterable[tuple[str, str]], resource_id: str | None) -> bool:
        """True when a billing line is this cluster's: by its cluster tag or its resource id."""
        from ledger.allocation.rules import normalise_key

        key, name = normalise_key(self.tag), normalise_key(self.cluster)
        if any(normalise_key(k) == key and normalise_key(v) == name for k, v in tags):
            return True
        return any(_pattern(p).matches(resource_id) for p in self.resource_ids)


@functools.lru_cache(maxsize=256)
def _pattern(text: str) -> Any:
    """A compiled resource-id glob (compiled once: every billing line of a run asks)."""
    from ledger.allocation.rules import Pattern

    return Pattern.of(text)


@dataclass(frozen=True, slots=True)
class Share:
    """One recipient of a cluster's cost and how its fraction was made up.

    ``kind`` is ``namespace`` or ``label`` (a tenant), ``system`` (a system namespace with no
    tenant to share it), or ``idle`` (the idle owner's part). ``own``, ``system`` and ``idle``
    are the fractions of the cluster's cost that make up :attr:`fraction`.
    """

    kind: str
    key: str
    own: Fraction
    system: Fraction = Fraction(0)
    idle: Fraction = Fraction(0)
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def fraction(self) -> Fraction:
        return self.own + self.system + self.idle


# -- the split ----------------------------------------------------------------------------------


def _ratio(part: Decimal, whole: Decimal) -> Fraction:
    return Fraction(part) / Fraction(whole) if whole else Fraction(0)


def _group_key(rule: ClusterRule, record: UsageRecord) -> str:
    label = rule.label_key
    return record.namespace if label is None else (record.label(label) or "")


def shares(rule: ClusterRule, records: Sequence[UsageRecord]) -> list[Share]:
    """The exact shares of a cluster's cost for one period (they add up to 1).

    Raises :class:`InputError` when the records give the cluster no capacity at all.
    """
    workloads = [r for r in records if r.namespace != IDLE]
    idle_cpu = sum((r.cpu_request for r in records if r.namespace == IDLE), Decimal(0))
    idle_ram = sum((r.ram_request for r in records if r.namespace == IDLE), Decimal(0))
    cpu_capacity = sum((r.cpu(Basis.MAX) for r in workloads), idle_cpu)
    ram_capacity = sum((r.ram(Basis.MAX) for r in workloads), idle_ram)
    cpu_weight = Fraction(rule.cpu_percent) / 100
    if not ram_capacity:
        cpu_weight = Fraction(1)
    elif not cpu_capacity:
        cpu_weight = Fraction(0)
    if not cpu_capacity and not ram_capacity:
        raise InputError(f"cluster {rule.cluster}: the usage shows no CPU or RAM capacity",
                         source=f"cluster rule {rule.id}", field="usage")
    own: dict[str, Fraction] = defaultdict(Fraction)
    system_own: dict[str, Fraction] = defaultdict(Fraction)
    namespaces: dict[str, list[UsageRecord]] = defaultdict(list)
    system = {s.casefold() for s in rule.system_namespaces}
    for record in workloads:
        part = (cpu_weight * _ratio(record.cpu(rule.basis), cpu_capacity)
                + (1 - cpu_weight) * _ratio(record.ram(rule.basis), ram_capacity))
        if record.namespace.casefold() in system:
            system_own[record.namespace] += part
        else:
            key = _group_key(rule, record)
            own[key] += part
            namespaces[key].append(record)
    used = sum(own.values(), Fraction(0)) + sum(system_own.values(), Fraction(0))
    idle = max(Fraction(0), 1 - used)
    scale = 1 / used if used > 1 else Fraction(1)  # over capacity: no idle, shares rescaled
    return _distribute(rule, {k: v * scale for k, v in own.items()},
                       {k: v * scale for k, v in system_own.items()}, idle, namespaces)


def _distribute(rule: ClusterRule, own: Mapping[str, Fraction], system_own: Mapping[str, Fraction],
                idle: Fraction, namespaces: Mapping[str, list[UsageRecord]]) -> list[Share]:
    """Spread the system namespaces over the tenants, then the idle per the rule's policy."""
    tenants = sorted(k for k, v in own.items() if v > 0)
    tenant_total = sum((own[k] for k in tenants), Fraction(0))
    system_total = sum(system_own.values(), Fraction(0))
    result: list[Share] = []
    kind = "namespace" if rule.label_key is None else "label"
    with_system = {k: own[k] + (system_total * own[k] / tenant_total if tenant_total else 0)
                   for k in tenants}
    for key in tenants:
        idle_part = Fraction(0)
        if rule.idle is IdleShare.EVEN:
            idle_part = idle / len(tenants)
        elif rule.idle is IdleShare.WEIGHTED:
            idle_part = idle * with_system[key] / sum(with_system.values())
        result.append(Share(kind, key, own[key], with_system[key] - own[key], idle_part,
                            _tags(rule, key, namespaces[key])))
    owned = rule.idle is IdleShare.OWNER
    if not tenants:  # nobody to share the system namespaces with: they pay for themselves
        result += _without_tenants(system_own, Fraction(0) if owned else idle)
    if owned and idle > 0:
        result.append(Share("idle", rule.idle_owner or "", Fraction(0), idle=idle))
    return [share for share in result if share.fraction > 0]


def _without_tenants(system_own: Mapping[str, Fraction], idle: Fraction) -> list[Share]:
    """No tenant used the cluster: the system namespaces carry it, idle included; with none of
    those either, the whole cost is an :data:`IDLE` namespace line the mapping rules see (and
    report as unallocated unless a rule places it): never dropped."""
    total = sum(system_own.values(), Fraction(0))
    if not total:
        return [Share("namespace", IDLE, Fraction(0), idle=idle, tags=(("namespace", IDLE),))]
    return [Share("system", k, v, idle=idle * v / total, tags=(("namespace", k),))
            for k, v in sorted(system_own.items()) if v > 0]


def _tags(rule: ClusterRule, key: str, records: Sequence[UsageRecord]) -> tuple[tuple[str, str],
                                                                                  ...]:
    """The tags a tenant's cost line carries: its namespace (or label) and, for a namespace,
    the labels all its workloads agree on (so ``cost_centre_from_tag = "team"`` works)."""
    label = rule.label_key
    if label is not None:
        return ((label, key),) if key else ()
    common = set(records[0].labels) if records else set()
    for record in records[1:]:
        common &= set(record.labels)
    return (("namespace", key), *sorted(p for p in common if p[0].casefold() != "namespace"))


def split(amount: Decimal, parts: Sequence[Share], *, quantum: Decimal | None = None,
          weights: Sequence[int] | None = None) -> list[tuple[Share, Decimal]]:
    """Split ``amount`` over ``parts`` by their fractions, to ``quantum`` (default: the
    amount's own last digit, at least the cent), so that the parts add up to it exactly.
    ``weights`` are the parts' :func:`integer_weights` when the caller has them already."""
    if quantum is None:
        exponent = amount.as_tuple().exponent
        quantum = Decimal(1).scaleb(min(int(exponent), -2))  # type: ignore[arg-type]
    weights = integer_weights(parts) if weights is None else weights
    if not any(weights):
        raise InputError("the cluster's shares are all zero", field="usage")
    return list(zip(parts, allocate(amount, weights, quantum=quantum), strict=True))


def integer_weights(parts: Sequence[Share]) -> list[int]:
    """Integer weights proportional to the parts' exact fractions, for :func:`split`."""
    fractions = [p.fraction for p in parts]
    common = math.lcm(*(f.denominator for f in fractions)) if fractions else 1
    return [int(f * common) for f in fractions]


# -- the allocation source ----------------------------------------------------------------------


class ClusterSplitSource:
    """Billing with the clusters' lines split by namespace (or label) usage.

    Wraps the billing source of a run: a billing line that a cluster rule matches (by cluster
    tag or resource id) and whose cluster has usage for the period is replaced by one line per
    share, tagged with its namespace or label, origin :data:`ORIGIN`; every other line passes
    through unchanged. ``usage`` maps a cluster name to its records of the period.
    """

    def __init__(self, inner: Any, rules: Sequence[ClusterRule],
                 usage: Mapping[str, Sequence[UsageRecord]], *, fallback_pool: str | None
                 ) -> None:
        self.inner = inner
        self.rules = tuple(rules)
        self.fallback_pool = fallback_pool
        self.shares: dict[str, list[Share]] = {
            rule.id: shares(rule, usage[rule.cluster]) for rule in self.rules
            if usage.get(rule.cluster)}
        # Once per cluster: a run splits every billing line of a cluster by the same shares.
        self.weights = {key: integer_weights(parts) for key, parts in self.shares.items()}

    def lines(self, *, attributes: Sequence[str], tag_keys: frozenset[str],
              **kwargs: Any) -> Iterator[Any]:
        wanted = tuple(attributes) + (() if "resource_id" in attributes else ("resource_id",))
        # Every tag: the cluster tag must be seen even when no mapping rule reads a tag.
        for line in self.inner.lines(attributes=wanted, tag_keys=tag_keys | {"*"}, **kwargs):
            rule = next((r for r in self.rules if r.id in self.shares
                         and r.matches(line.tags, line.attribute("resource_id"))), None)
            if rule is None:
                yield line
            else:
                yield from self._split(rule, line)

    def _split(self, rule: ClusterRule, line: Any) -> Iterator[Any]:
        for share, amount in split(line.amount, self.shares[rule.id],
                                   weights=self.weights[rule.id]):
            if not amount:
                continue
            attributes = (*line.attributes, (CLUSTER_ATTRIBUTE, rule.cluster),
                          (SHARE_ATTRIBUTE, share.kind), (KEY_ATTRIBUTE, share.key))
            reference = f"{rule.cluster}/{share.kind}/{share.key}"
            if share.kind == "idle":
                yield replace(line, origin=ORIGIN, amount=amount, attributes=attributes,
                              cost_centre=share.key, pool=rule.pool or self.fallback_pool,
                              reference=reference)
                continue
            keys = {k.casefold() for k, _ in share.tags}
            tags = (*(t for t in line.tags if t[0].casefold() not in keys), *share.tags)
            yield replace(line, origin=ORIGIN, amount=amount, attributes=attributes,
                          tags=tuple(tags), reference=reference)


# -- rule file ----------------------------------------------------------------------------------


def parse_clusters(raw: Sequence[Any], source: str, *, pools: Sequence[str] = ()
                   ) -> tuple[ClusterRule, ...]:
    """The ``[[clusters]]`` tables of a rule file. Errors name the file, rule and field;
    ``pools`` are the rule set's pool ids (a rule's ``pool`` must be one of them)."""
    from ledger.allocation.rules import _check_code, _Reader

    rules = []
    for index, table in enumerate(raw, start=1):
        reader = _Reader(table, source, f"cluster rule {index}")
        rule = ClusterRule(
            id=reader.identifier("id"), cluster=reader.text("cluster", required=True) or "",
            tag=reader.text("tag") or "cluster", resource_ids=reader.strings("resource_ids"),
            by=reader.text("by") or "namespace", basis=reader.enum("basis", Basis, Basis.MAX),
            cpu_percent=reader.decimal("cpu_percent", default=Decimal(50)) or Decimal(0),
            idle=reader.enum("idle", IdleShare, IdleShare.WEIGHTED),
            idle_owner=reader.text("idle_owner"), pool=reader.text("pool"),
            system_namespaces=(reader.strings("system_namespaces")
                               if "system_namespaces" in table else SYSTEM_NAMESPACES),
            description=reader.text("description") or "")
        reader.finish()
        _check_rule(reader, rule)
        if rule.idle_owner:
            _check_code(reader, "idle_owner", rule.idle_owner)
        if rule.pool is not None and rule.pool not in pools:
            raise reader.error(f"is not a pool of the rule set ({', '.join(pools)})", "pool",
                               rule.pool)
        rules.append(rule)
    ids = [r.id for r in rules]
    for rule_id in ids:
        if ids.count(rule_id) > 1:
            raise InputError("duplicate cluster rule id", source=source, field="id",
                             value=rule_id)
    return tuple(rules)


def _check_rule(reader: Any, rule: ClusterRule) -> None:
    if not Decimal(0) <= rule.cpu_percent <= 100:
        raise reader.error("must be between 0 and 100", "cpu_percent", rule.cpu_percent)
    if rule.by != "namespace" and not (rule.label_key and rule.label_key.strip()):
        raise reader.error('must be "namespace" or "label:<key>"', "by", rule.by)
    if rule.idle is IdleShare.OWNER and not rule.idle_owner:
        raise reader.error('is required when idle = "owner"', "idle_owner")
    if rule.idle is not IdleShare.OWNER and rule.idle_owner:
        raise reader.error('only goes with idle = "owner"', "idle_owner", rule.idle_owner)


def clusters_toml(rules: Sequence[ClusterRule]) -> list[str]:
    """The canonical TOML lines of ``rules`` (for ``to_toml`` and the content hash)."""
    out: list[str] = []
    for rule in rules:
        out += ["", "[[clusters]]", f"id = {json.dumps(rule.id)}"]
        if rule.description:
            out.append(f"description = {json.dumps(rule.description)}")
        out += [f"cluster = {json.dumps(rule.cluster)}", f"tag = {json.dumps(rule.tag)}"]
        if rule.resource_ids:
            out.append(f"resource_ids = {json.dumps(list(rule.resource_ids))}")
        out += [f"by = {json.dumps(rule.by)}", f"basis = {json.dumps(rule.basis.value)}",
                f'cpu_percent = "{format(rule.cpu_percent.normalize(), "f")}"',
                f"idle = {json.dumps(rule.idle.value)}"]
        if rule.idle_owner:
            out.append(f"idle_owner = {json.dumps(rule.idle_owner)}")
        if rule.pool:
            out.append(f"pool = {json.dumps(rule.pool)}")
        out.append(f"system_namespaces = {json.dumps(list(rule.system_namespaces))}")
    return out

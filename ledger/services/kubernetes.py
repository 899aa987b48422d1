"""Use cases of shared Kubernetes clusters: import workload usage, split clusters in a run.

An import (OpenCost, Kubecost, plain CSV) takes the single service path: the cost importer's
permission, one audit event with what was replaced, all-or-nothing. The same content (by sha256)
is taken once; a new import for a cluster and period replaces the earlier usage of that cluster
and period (a month pulled again from OpenCost is the newer truth, never added twice).

:func:`cluster_split` is the allocation run's pre-step: when the rule set has ``[[clusters]]``
rules, it wraps the billing source in :class:`ledger.kubernetes.ClusterSplitSource` with the
period's stored usage, so the clusters' billing lines reach the mapping rules already split by
namespace or label (and the engine's conservation check covers the split).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.access import Permission
from ledger.allocation import BillingSource, CostLine, RuleSet
from ledger.cloud_usage import (
    FunctionUsage,
    is_serverless,
    serverless_drivers,
)
from ledger.errors import InputError
from ledger.kubernetes import IDLE, ClusterSplitSource, UsageRecord, shares
from ledger.ports import UnitOfWork
from ledger.reference import DriverQuantity
from ledger.services.base import authorize, record_change
from ledger.staging import Staged


@dataclass(frozen=True, slots=True)
class UsageImport:
    """An import's outcome: ``unchanged`` when the same content had been imported already."""

    import_id: int | None
    source: str
    kind: str
    records: int
    clusters: tuple[tuple[str, str], ...]
    replaced: int = 0
    unchanged: bool = False


def import_usage(*, uow: UnitOfWork, source: str, kind: str, records: Sequence[UsageRecord],
                 sha256: str, reason: str | None = None) -> UsageImport:
    """Store the workload usage of one file or pull (see the module docstring)."""
    authorize(uow, Permission.IMPORT_COSTS, doing="import Kubernetes usage")
    if not records:
        raise InputError("has no usage records", source=source)
    keys = tuple(sorted({(r.cluster, r.period) for r in records}))
    existing = uow.k8s_usage.import_of(sha256)
    if existing is not None:
        return UsageImport(existing, source, kind, len(records), keys, unchanged=True)
    import_id, replaced = uow.k8s_usage.replace(
        sha256=sha256, source=source, kind=kind, records=records, at=uow.clock.now(),
        by=uow.actor.login)
    record_change(uow, action="k8s_usage.import", entity="k8s_usage_import", key=str(import_id),
                  before={"replaced_records": replaced} if replaced else None,
                  after={"source": source, "kind": kind, "sha256": sha256,
                         "records": len(records), "clusters": [list(k) for k in keys]},
                  reason=reason or f"{kind} usage from {source}")
    return UsageImport(import_id, source, kind, len(records), keys, replaced)


def usage_summary(*, uow: UnitOfWork) -> list[tuple[str, str, int]]:
    authorize(uow, Permission.READ, doing="read Kubernetes usage")
    return uow.k8s_usage.summary()


def cluster_split(uow: UnitOfWork, billing: Any, *, period: str, ruleset: RuleSet) -> Any:
    """The billing source of a run, with the rule set's clusters split (or as it was)."""
    if not ruleset.clusters or billing is None:
        return billing
    inner = billing if hasattr(billing, "lines") else BillingSource(billing)
    return ClusterSplitSource(inner, ruleset.clusters, uow.k8s_usage.for_period(period),
                              fallback_pool=ruleset.default_pool or ruleset.pools[0].id)


def namespace_shares(*, uow: UnitOfWork, period: str, ruleset: RuleSet
                     ) -> list[dict[str, Any]]:
    """Each cluster rule's shares for ``period`` as fractions (what ``explain`` prints)."""
    authorize(uow, Permission.READ, doing="read Kubernetes usage")
    usage = uow.k8s_usage.for_period(period)
    out = []
    for rule in ruleset.clusters:
        records = usage.get(rule.cluster)
        if not records:
            continue
        for share in shares(rule, records):
            out.append({"cluster": rule.cluster, "rule": rule.id, "kind": share.kind,
                        "key": share.key or IDLE, "own": _pct(share.own),
                        "system": _pct(share.system), "idle": _pct(share.idle),
                        "percent": _pct(share.fraction)})
    return out


def _pct(value: Any) -> str:
    """A fraction as a percentage with four decimals, without passing through float."""
    if not value:
        return "0"
    exact = Decimal(value.numerator * 100) / Decimal(value.denominator)
    return str(exact.quantize(Decimal("0.0001")))


# -- serverless drivers ------------------------------------------------------------------------

_DIMENSIONS = ("provider", "billing_account_id", "sub_account_id", "service_name",
               "service_category", "region", "resource_id", "charge_category",
               "charge_description")


def function_usage(store: Any, period: str) -> list[FunctionUsage]:
    """The period's function rows, summed per resource, consumed unit and tags."""
    columns = ", ".join(_DIMENSIONS)
    sql = (f"SELECT billing_currency, {columns}, map_keys(tags), map_values(tags), "  # noqa: S608
           "consumed_unit, sum(consumed_quantity)::VARCHAR, sum(effective_cost)::VARCHAR "
           "FROM cost_facts WHERE billing_period = ? AND consumed_quantity IS NOT NULL "
           f"GROUP BY ALL ORDER BY ALL")
    out = []
    with store.connect(periods=[period]) as con:
        for row in con.execute(sql, [period]).fetchall():
            currency, *dims = row[:1 + len(_DIMENSIONS)]
            keys, values, unit, quantity, cost = row[1 + len(_DIMENSIONS):]
            attributes = tuple(zip(_DIMENSIONS, dims, strict=True))
            if not is_serverless(dict(attributes)["service_name"]):
                continue
            tags = tuple(zip(keys or [], values or [], strict=True))
            line = CostLine("billing", currency, Decimal(cost or 0), attributes, tags)
            out.append(FunctionUsage(line, unit or "", Decimal(quantity)))
    return out


def derive_serverless_drivers(*, uow: UnitOfWork, store: Any, period: str,
                              ruleset: str | None = None, reason: str | None = None) -> Any:
    """Save the period's ``invocations`` and ``gb_seconds`` driver tables from the functions'
    billing, placed by the rule set's mapping rules (revisioned like an imported driver; the
    same figures again change nothing). Platform pools split by them follow function use."""
    from ledger.services.allocation import import_drivers, resolve

    authorize(uow, Permission.MANAGE_DRIVERS, doing="derive drivers")
    version = resolve(uow, ruleset, period)
    tables = serverless_drivers(function_usage(store, period), ruleset=version.ruleset(),
                                cost_centres=uow.cost_centres.list(), period=period)
    if not tables.quantities:
        raise InputError(f"no function usage of {period} maps to a cost centre by "
                         f"{version.label}", field="period", value=period)
    rows = [Staged(DriverQuantity(driver, centre, period, quantity),
                   f"billing {period}", index)
            for index, ((driver, centre), quantity) in enumerate(sorted(
                tables.quantities.items()), start=1)]
    return import_drivers(uow=uow, rows=rows, reason=reason or f"derived from the function "
                          f"billing of {period} by {version.label}")

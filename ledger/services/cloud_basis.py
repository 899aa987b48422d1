"""The basis of a statement line that came from a split cluster or spot resource, in words.

A mapping rule places a cluster's namespace lines like any tagged cost, so without this the
statement would say only "mapping rule M021 named this cost centre". A cost owner wants
to read which namespace (or label) of which cluster it was, and how its share was made up (its
own use, its part of the system namespaces, its part of the idle capacity); for spot capacity,
which workload ran on which resource and by what it was split. The run's stored lineage says
which cost lines each rule placed on the cost centre; the period's usage gives the shares.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from ledger.allocation.stored import StoredRun
from ledger.ports import UnitOfWork

#: The lineage origins of split lines (ledger.kubernetes.ORIGIN, ledger.cloud_usage.SPOT_ORIGIN).
SPLIT_ORIGINS = ("kubernetes", "spot")


def _attributes(key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The attributes and tags of a lineage row's cost-line key."""
    _origin, _currency, attributes, tags, *_ = json.loads(key)
    return dict(attributes), dict(tags)


def _cluster_text(attributes: dict[str, Any], tags: dict[str, Any],
                  shares: dict[tuple[str, str, str], Any]) -> str:
    """One cluster share in words, with how the period's usage made it up."""
    cluster, kind, key = (attributes.get("k8s_cluster", ""), attributes.get("k8s_share", ""),
                          attributes.get("k8s_key", ""))
    share = shares.get((cluster, kind, key))
    if kind == "idle":
        text = f"idle capacity of cluster {cluster}, charged to the cost centre that bought it"
        return text + (f" ({share['percent']} % of the cluster)" if share else "")
    label = next((f"{k}={v}" for k, v in sorted(tags.items()) if v == key and k != "cluster"),
                 key)
    what = {"label": f"workloads labelled {label}", "system": f"system namespace {key}"}.get(
        kind, f"namespace {key}")
    if share is None:
        return f"{what} of cluster {cluster}"
    return (f"{what} of cluster {cluster}: {share['percent']} % of the cluster (own use "
            f"{share['own']} %, system namespaces {share['system']} %, idle capacity "
            f"{share['idle']} %)")


def _spot_text(runs: dict[str, tuple[set[str], set[str]]]) -> str:
    """Per spot resource the workloads that ran on it and what split its cost."""
    return "; ".join(
        f"workload{'s' if len(workloads) > 1 else ''} {', '.join(sorted(workloads))} on "
        f"{resource} by {' and '.join(sorted(bases))}"
        for resource, (workloads, bases) in sorted(runs.items()))


def cloud_bases(uow: UnitOfWork, run: StoredRun, cost_centre: str
                ) -> dict[tuple[str, str], str]:
    """Per (rule, ``direct``) the sentence for the split cluster and spot lines the rule placed
    on ``cost_centre`` in ``run`` (empty when it placed none)."""
    found: dict[str, list[str]] = defaultdict(list)
    runs: dict[str, dict[str, tuple[set[str], set[str]]]] = defaultdict(dict)
    shares: dict[tuple[str, str, str], Any] | None = None
    for row in uow.allocation_runs.lineage(run.id):
        if row.kind != "direct" or row.cost_centre != cost_centre or row.rule is None \
                or row.origin not in SPLIT_ORIGINS:
            continue
        attributes, tags = _attributes(row.key)
        if row.origin == "spot":
            workloads, bases = runs[row.rule].setdefault(
                attributes.get("resource_id", "?"), (set(), set()))
            workloads.add(str(tags.get("workload", "?")))
            bases.add("CPU credits burned" if attributes.get("spot_basis") == "cpu_credits"
                      else "run hours")
            continue
        if shares is None:
            shares = _shares(uow, run)
        text = _cluster_text(attributes, tags, shares)
        if text not in found[row.rule]:
            found[row.rule].append(text)
    for rule, resources in runs.items():
        found[rule].append(_spot_text(resources))
    return {(rule, "direct"): "charged directly: " + "; ".join(texts)
            for rule, texts in found.items()}


def _shares(uow: UnitOfWork, run: StoredRun) -> dict[tuple[str, str, str], Any]:
    from ledger.services.kubernetes import namespace_shares

    version = uow.rulesets.get(run.ruleset_name, run.ruleset_version)
    if version is None:
        return {}
    return {(s["cluster"], s["kind"], s["key"]): s
            for s in namespace_shares(uow=uow, period=run.period, ruleset=version.ruleset())}

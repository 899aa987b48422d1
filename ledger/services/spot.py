"""Use cases of spot and burstable instances: import workload runs, split them in a run.

An import takes the single service path: the cost importer's permission, one audit event with
what was replaced, all-or-nothing (the reader refuses the whole file on any bad row). The same
content (by sha256) is taken once; a later file's run with the same resource and start time
replaces the earlier one (an open run, closed later, is the newer truth).

:func:`spot_split` is the allocation run's pre-step: when the rule set has ``[[spot]]`` rules it
wraps the billing source in :class:`ledger.cloud_usage.SpotSplitSource` with the runs of the
period, so a spot fleet's or burstable instance's billing reaches the mapping rules already
split by run-time hours (and its CPU-credit surcharges by credits burned).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from ledger.access import Permission
from ledger.allocation import BillingSource, RuleSet
from ledger.allocation.engine import _period_bounds
from ledger.cloud_usage import SpotRunRecord, SpotSplitSource
from ledger.errors import InputError
from ledger.ports import UnitOfWork
from ledger.services.base import authorize, record_change


@dataclass(frozen=True, slots=True)
class SpotImport:
    """An import's outcome: ``unchanged`` when the same content had been imported already."""

    import_id: int | None
    source: str
    records: int
    replaced: int = 0
    unchanged: bool = False


def import_runs(*, uow: UnitOfWork, source: str, records: Sequence[SpotRunRecord],
                sha256: str, reason: str | None = None) -> SpotImport:
    """Store the runs of one file (see the module docstring)."""
    authorize(uow, Permission.IMPORT_COSTS, doing="import spot runs")
    if not records:
        raise InputError("has no runs", source=source)
    existing = uow.spot_runs.import_of(sha256)
    if existing is not None:
        return SpotImport(existing, source, len(records), unchanged=True)
    import_id, replaced = uow.spot_runs.replace(sha256=sha256, source=source, records=records,
                                                at=uow.clock.now(), by=uow.actor.login)
    record_change(uow, action="spot_runs.import", entity="spot_run_import", key=str(import_id),
                  before={"replaced_runs": replaced} if replaced else None,
                  after={"source": source, "sha256": sha256, "records": len(records),
                         "resources": sorted({r.resource_id for r in records})},
                  reason=reason or f"spot runs from {source}")
    return SpotImport(import_id, source, len(records), replaced)


def runs_of(uow: UnitOfWork, period: str) -> list[SpotRunRecord]:
    """The runs going at some time in ``period``."""
    first, last = _period_bounds(period)
    return uow.spot_runs.overlapping(datetime.combine(first, time(), UTC),
                                     datetime.combine(last + timedelta(days=1), time(), UTC))


def spot_split(uow: UnitOfWork, billing: Any, *, period: str, ruleset: RuleSet) -> Any:
    """The billing source of a run, with the rule set's spot resources split (or as it was)."""
    if not getattr(ruleset, "spot", ()) or billing is None:
        return billing
    inner = billing if hasattr(billing, "lines") else BillingSource(billing)
    return SpotSplitSource(inner, ruleset.spot, runs_of(uow, period), period=period)


def spot_report(*, uow: UnitOfWork, store: Any, period: str, ruleset: RuleSet
                ) -> dict[str, Any]:
    """What the spot rules did to ``period``'s billing: the amount each workload was charged
    per resource, and the cost of matched resources that had no run (left with the resource)."""
    authorize(uow, Permission.READ, doing="read spot runs")
    source = spot_split(uow, store, period=period, ruleset=ruleset)
    if not isinstance(source, SpotSplitSource):
        return {"split": [], "unsplit": []}
    for _ in source.lines(period=period, cost_basis=ruleset.cost_basis,
                          attributes=(), tag_keys=frozenset(), aliases={}):
        pass
    hours: dict[tuple[str, str], Decimal] = {}
    for resource, runs in source.runs.items():
        for run in runs:
            hours[resource, run.workload] = hours.get((resource, run.workload), Decimal(0)) \
                + run.hours
    return {
        "split": [{"resource_id": r, "workload": w, "currency": c, "amount": a,
                   "hours": hours.get((r, w), Decimal(0))}
                  for (r, w, c), a in sorted(source.split.items())],
        "unsplit": [{"resource_id": r, "currency": c, "amount": a}
                    for (r, c), a in sorted(source.unsplit.items())]}

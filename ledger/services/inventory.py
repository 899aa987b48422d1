"""Use cases of inventory: storing what discovery saw, reconciling it with the register, and
the asset manager's decisions on what disagrees.

Imports stream: devices arrive as an iterator and are stored in batches, so a million-row SCCM
export never sits in memory; the unit of work commits all of them or none (the caller commits).
An import whose content hash was imported before from the same source changes nothing, and so
does a record identical to the stored one.

Reconciliation loads the normalised keys the database stores into DuckDB
(:mod:`ledger.reconciliation_sql`) with every recorded decision, so that links, rejections,
accepted conflicts and decommissions survive every later import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ledger.access import Permission
from ledger.asset import (
    Asset,
    AssetEvent,
    AssetEventKind,
    LifecycleEvent,
    LifecycleEventKind,
    LifecycleStatus,
)
from ledger.discovery import DeviceRef, DiscoveredDevice
from ledger.errors import InputError, NotFoundError
from ledger.ports import UnitOfWork
from ledger.reconciliation import (
    TAKEN_FIELD,
    Decision,
    DecisionKind,
    Finding,
    Outcome,
    Reconciliation,
    RegisterEntry,
    attribute_conflicts,
)
from ledger.reconciliation_sql import KeyTables, SqlReconciliation, match
from ledger.services import licences
from ledger.services.base import Changes, authorize, record_change
from ledger.staging import Staged

#: Devices stored per batch (one lookup and one insert statement each).
BATCH = 2_000

#: Days without a sighting after which an in-service asset is missing.
DEFAULT_MISSING_DAYS = 30


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one import did.

    Attributes:
        import_id: the stored import (the earlier one when ``already_imported``).
        source, kind, file, sha256: where from, the importer, and the content hash.
        records: devices read; created, updated, unchanged: what happened to them.
        already_imported: the same content from the same source was imported before; nothing
            was changed.
        gone: records the source reported deleted that are now marked gone (counted in
            ``created`` or ``updated`` too).
    """

    import_id: int
    source: str
    kind: str
    file: str
    sha256: str
    records: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    already_imported: bool = False
    gone: int = 0

    @property
    def message(self) -> str:
        if self.already_imported:
            return (f"{self.file} was imported before (import {self.import_id}); "
                    "nothing changed")
        deleted = f", {self.gone} deleted in the source" if self.gone else ""
        return (f"imported {self.records} {self.source} record(s) from {self.file}: "
                f"{self.created} new, {self.updated} changed, {self.unchanged} unchanged"
                f"{deleted}")


def _merge_partial(device: DiscoveredDevice, stored: DiscoveredDevice) -> DiscoveredDevice:
    """A partial inventory (GLPI sends changed sections only) over the stored record."""
    filled: dict[str, Any] = {}
    for name in ("seen_at", "hostname", "fqdn", "serial", "hardware_uuid", "cloud_resource_id",
                 "manufacturer", "model", "os", "owner", "location", "cost_centre",
                 "asset_tag", "macs", "software"):
        if not getattr(device, name) and getattr(stored, name):
            filled[name] = getattr(stored, name)
    return replace(device, partial=False, **filled) if filled else replace(device,
                                                                           partial=False)


def import_discovery(
    *,
    uow: UnitOfWork,
    source: str,
    kind: str,
    file: str,
    sha256: str,
    devices: Iterable[Staged[DiscoveredDevice]],
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Store every device of one file (or pull) of ``source``, all or none.

    ``devices`` may be a generator that raises :class:`~ledger.errors.InputError` on a bad
    row: nothing is then stored (the caller does not commit). Installed software goes to the
    licence records through :func:`ledger.services.licences.record_installations` in the same
    unit of work. ``progress`` is called with the number of devices stored after each batch.
    """
    authorize(uow, Permission.IMPORT_INVENTORY, doing="import discovery records")
    earlier = uow.inventory.import_by_hash(source, sha256)
    if earlier is not None:
        return ImportResult(earlier.id, source, kind, file, sha256, earlier.records,
                            unchanged=earlier.records, already_imported=True)
    import_id = uow.inventory.start_import(source=source, kind=kind, file=file, sha256=sha256,
                                           at=uow.clock.now(), by=uow.actor.login)
    created = updated = unchanged = records = gone = 0
    for batch in _batches(devices, BATCH):
        values = [item.value for item in batch]
        _check_batch(batch, source)
        partial = [d.record_id for d in values if d.partial]
        if partial:
            stored = uow.inventory.stored(source, partial)
            values = [_merge_partial(d, stored[d.record_id]) if d.record_id in stored
                      else replace(d, partial=False) if d.partial else d for d in values]
        result = uow.inventory.save_batch(import_id, values)
        licences.record_installations(uow, source=source, devices=values)
        _record_gone(uow, source, import_id, result.gone)
        created += result.created
        updated += result.updated
        unchanged += result.unchanged
        gone += len(result.gone)
        records += len(values)
        if progress is not None:
            progress(records)
    if records == 0:
        raise InputError("the file holds no device", source=file)
    uow.inventory.finish_import(import_id, records=records, created=created, updated=updated)
    outcome = ImportResult(import_id, source, kind, file, sha256, records, created, updated,
                           unchanged, gone=gone)
    summary = {"source": source, "kind": kind, "file": file, "sha256": sha256,
               "records": records, "created": created, "updated": updated}
    if gone:
        summary["gone"] = gone
    record_change(uow, action="discovery.import", entity="discovery_import",
                  key=str(import_id), after=summary)
    return outcome


def _record_gone(uow: UnitOfWork, source: str, import_id: int,
                 gone: Sequence[tuple[str, datetime]]) -> None:
    """One audit event per record marked deleted: the record is kept, marked, never erased,
    and the trail says which import reported the deletion and when the source captured it."""
    for record_id, gone_at in gone:
        record_change(uow, action="discovery.gone", entity="discovery_record",
                      key=f"{source}:{record_id}"[:200], before={"gone_at": None},
                      after={"gone_at": gone_at, "import": import_id})


def _check_batch(batch: list[Staged[DiscoveredDevice]], source: str) -> None:
    """Every record of the right source, once (the importers check the whole file; this is
    the last guard before the database's unique constraint)."""
    first: dict[str, Staged[DiscoveredDevice]] = {}
    for item in batch:
        if item.value.source != source:
            raise item.error(f"a {item.value.source} record in a {source} import",
                             field="source")
        held = first.setdefault(item.value.record_id, item)
        if held is not item:
            raise item.error(f"record {item.value.record_id} appears twice (first at row "
                             f"{held.row})", field="record_id", value=item.value.record_id)


def _batches(items: Iterable[Staged[DiscoveredDevice]], size: int,
             ) -> Iterator[list[Staged[DiscoveredDevice]]]:
    batch: list[Staged[DiscoveredDevice]] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- reconciliation -------------------------------------------------------------------------

@contextmanager
def _matched(uow: UnitOfWork, missing_days: int, as_of: datetime | None = None,
             ) -> Iterator[SqlReconciliation]:
    if missing_days < 0:
        raise InputError("the days before an asset is missing cannot be negative",
                         field="missing_days", value=missing_days)
    with KeyTables() as tables:
        tables.load_register(uow.inventory.register_key_rows())
        tables.load_devices(uow.inventory.device_key_rows())
        yield match(tables, as_of=as_of or uow.clock.now(),
                    missing_after=timedelta(days=missing_days),
                    decisions=uow.inventory.decisions())


def reconciliation_counts(*, uow: UnitOfWork, missing_days: int = DEFAULT_MISSING_DAYS,
                          ) -> dict[str, int]:
    """``{"matched", "conflicts", "unregistered", "missing", "duplicates", "records",
    "deleted"}`` with the recorded decisions applied; computed in SQL at any scale."""
    authorize(uow, Permission.READ, doing="reconcile the inventory")
    with _matched(uow, missing_days) as result:
        return result.counts()


def reconcile_inventory(*, uow: UnitOfWork, missing_days: int = DEFAULT_MISSING_DAYS,
                        outcome: Outcome | None = None) -> Reconciliation:
    """Every finding (or those of one outcome) with evidence, confidence and decisions."""
    authorize(uow, Permission.READ, doing="reconcile the inventory")
    with _matched(uow, missing_days) as result:
        return result.reconciliation(outcome)


@dataclass(frozen=True, slots=True)
class MissingAsset:
    """An in-service asset no source has seen for the given number of days."""

    tag: str
    name: str
    cost_centre: str | None
    owner: str | None
    last_seen: datetime | None


def last_seen(*, uow: UnitOfWork, days: int = DEFAULT_MISSING_DAYS) -> list[MissingAsset]:
    """In-service assets not seen by any discovery source for ``days`` days (never seen:
    ``last_seen`` None), decommission decisions applied; for the staleness anomaly."""
    authorize(uow, Permission.READ, doing="read when assets were last seen")
    with _matched(uow, days) as result:
        missing = result.reconciliation(Outcome.MISSING).findings
    found = []
    for finding in missing:
        asset = uow.assets.get(finding.asset_tag or "")
        if asset is not None:
            found.append(MissingAsset(asset.tag, asset.name, asset.cost_centre, asset.owner,
                                      finding.last_seen))
    return found


# --- decisions ------------------------------------------------------------------------------

def decide(*, uow: UnitOfWork, kind: DecisionKind | str, asset_tag: str,
           device: DeviceRef | None = None, reason: str) -> Changes:
    """Record a person's decision on a finding, with who and why, and apply what follows.

    - accept: the pair's present disagreements are accepted (a new one shows again);
    - link / reject: the device is paired with the asset by hand / never paired with it;
    - decommission: the asset is retired (a decommission lifecycle event);
    - take_owner / take_location: the register takes the discovered value (a reassignment);
    - take_cost_centre: the asset is transferred to the discovered cost centre (a
      reassignment, and a transfer for depreciation).
    """
    authorize(uow, Permission.RECONCILE_INVENTORY, doing="decide on reconciliation findings")
    try:
        kind = DecisionKind(kind)
    except ValueError:
        raise InputError(f"must be one of {', '.join(DecisionKind)}", field="kind",
                         value=kind) from None
    if not reason or not reason.strip():
        raise InputError("a decision needs a reason", field="reason")
    asset = uow.assets.get(asset_tag)
    if asset is None:
        raise NotFoundError(f"asset {asset_tag} does not exist; see: apportion reconcile list")
    discovered = None
    if kind is not DecisionKind.DECOMMISSION:
        if device is None:
            raise InputError(f"a {kind} decision names the discovery record (SOURCE:ID)",
                             field="device")
        discovered = uow.inventory.device(device)
        if discovered is None:
            raise NotFoundError(f"discovery record {device} does not exist; see: apportion "
                                "reconcile list")
    now = uow.clock.now()
    conflicts = (attribute_conflicts(RegisterEntry.from_asset(asset), discovered)
                 if discovered else ())
    value = None
    if kind in TAKEN_FIELD:
        assert discovered is not None
        value = getattr(discovered, TAKEN_FIELD[kind])
        if not value:
            raise InputError(f"{device} reports no {TAKEN_FIELD[kind]}",
                             field=TAKEN_FIELD[kind])
    decision = Decision(kind=kind, asset_tag=asset.tag, device=device if discovered else None,
                        decided_by=uow.actor.login, decided_at=now, reason=reason.strip(),
                        conflicts=conflicts if kind is DecisionKind.ACCEPT else (),
                        owner=value)
    decision_id = uow.inventory.add_decision(decision)
    record_change(uow, action=f"reconciliation.{kind.value}", entity="asset", key=asset.tag,
                  after=decision, reason=decision.reason)
    changes = Changes(frozenset({"reconciliation_decision"}), created=1, ids=(decision_id,))
    return changes + _follow(uow, asset, decision)


def _follow(uow: UnitOfWork, asset: Asset, decision: Decision) -> Changes:
    """The register changes and lifecycle events a decision brings."""
    today = decision.decided_at.date()
    kind = decision.kind
    if kind is DecisionKind.DECOMMISSION:
        if asset.status is not LifecycleStatus.IN_SERVICE:
            raise InputError(f"asset {asset.tag} is {asset.status}, not in service",
                             field="asset_tag", value=asset.tag)
        _save(uow, asset, replace(asset, status=LifecycleStatus.RETIRED), decision)
        return _event(uow, decision, LifecycleEventKind.DECOMMISSION, "status",
                      asset.status.value, LifecycleStatus.RETIRED.value)
    if kind not in TAKEN_FIELD:
        return Changes()
    name = TAKEN_FIELD[kind]
    before = getattr(asset, name)
    if kind is DecisionKind.TAKE_COST_CENTRE:
        from ledger.services.assets import record_asset_event

        centre = uow.cost_centres.get(decision.owner or "")
        if centre is None:
            raise InputError(f"the discovered cost centre {decision.owner} does not exist",
                             field="cost_centre", value=decision.owner)
        changes = record_asset_event(uow=uow, event=AssetEvent(
            asset.tag, AssetEventKind.TRANSFER, today, to_cost_centre=centre.code,
            note=decision.reason))
    else:
        _save(uow, asset, replace(asset, **{name: decision.owner}), decision)
        changes = Changes(frozenset({"asset"}), updated=1)
    return changes + _event(uow, decision, LifecycleEventKind.REASSIGNMENT, name, before,
                            decision.owner)


def _save(uow: UnitOfWork, before: Asset, after: Asset, decision: Decision) -> None:
    uow.assets.save(after)
    record_change(uow, action="asset.update", entity="asset", key=after.tag, before=before,
                  after=after, reason=decision.reason)


def _event(uow: UnitOfWork, decision: Decision, kind: LifecycleEventKind, attribute: str,
           before: str | None, after: str | None) -> Changes:
    event = LifecycleEvent(decision.asset_tag, kind, decision.decided_at.date(), attribute,
                           before, after, decision.reason, decision.decided_by)
    event_id = uow.inventory.add_lifecycle_event(event)
    record_change(uow, action=f"asset.lifecycle.{kind.value}", entity="asset",
                  key=decision.asset_tag, after=event, reason=decision.reason)
    return Changes(frozenset({"asset_lifecycle_event"}), created=1, ids=(event_id,))


def record_lifecycle_event(*, uow: UnitOfWork, event: LifecycleEvent) -> Changes:
    """Record a deployment, upgrade ... by hand (reconciliation decisions record their own)."""
    authorize(uow, Permission.MANAGE_ASSETS, doing="record lifecycle events")
    if uow.assets.get(event.asset_tag) is None:
        raise InputError(f"asset {event.asset_tag} does not exist", field="asset_tag",
                         value=event.asset_tag)
    event = replace(event, recorded_by=event.recorded_by or uow.actor.login)
    event_id = uow.inventory.add_lifecycle_event(event)
    record_change(uow, action=f"asset.lifecycle.{event.kind.value}", entity="asset",
                  key=event.asset_tag, after=event, reason=event.note or None)
    return Changes(frozenset({"asset_lifecycle_event"}), created=1, ids=(event_id,))


def lifecycle_events(*, uow: UnitOfWork, tag: str | None = None) -> list[LifecycleEvent]:
    authorize(uow, Permission.READ, doing="read lifecycle events")
    return uow.inventory.lifecycle_events(tag)


def finding_key(finding: Finding) -> str:
    """A short stable name of a finding for people: ``outcome tag device``."""
    return " ".join(p for p in (finding.outcome.value, finding.asset_tag,
                                str(finding.device) if finding.device else None) if p)

"""Repositories of inventory: discovery imports and records, decisions, lifecycle events.

Discovery records are written in batches with SQLAlchemy Core (a million-row SCCM export is
a thousand statements, not a million ORM objects), each compared with what is stored so that
re-importing the same content changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ledger.asset import LifecycleEvent, LifecycleEventKind
from ledger.discovery import (
    DeviceRef,
    DiscoveredDevice,
    Software,
    cloud_resource_key,
    fold,
    hostname_key,
    normalise_asset_tag,
    normalise_serial,
    owner_key,
    uuid_key,
)
from ledger.persistence.inventory_records import (
    AssetLifecycleEventRecord,
    DiscoveryImportRecord,
    DiscoveryRecordRecord,
    ReconciliationDecisionRecord,
)
from ledger.persistence.records import AssetRecord
from ledger.reconciliation import Conflict, Decision, DecisionKind
from ledger.reconciliation_sql import device_model_key, micros

#: Records looked up per statement when comparing a batch with what is stored.
_LOOKUP_CHUNK = 500

_DEVICE_FIELDS = ("seen_at", "hostname", "fqdn", "serial", "hardware_uuid", "cloud_resource_id",
                  "asset_tag", "manufacturer", "model", "os", "owner", "location",
                  "cost_centre", "partial")


@dataclass(frozen=True, slots=True)
class DiscoveryImport:
    """One stored import: its id, source, file and content hash, and what it did."""

    id: int
    source: str
    kind: str
    file: str
    sha256: str
    records: int
    created: int
    updated: int
    imported_at: datetime
    imported_by: str


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch did; ``gone``: the records newly marked deleted, with when."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    gone: tuple[tuple[str, datetime], ...] = ()


def device_raw(device: DiscoveredDevice) -> dict[str, Any]:
    """The device's attributes as JSON (software apart), for storage and comparison."""
    raw: dict[str, Any] = {}
    for name in _DEVICE_FIELDS:
        value = getattr(device, name)
        raw[name] = value.isoformat() if isinstance(value, datetime) else value
    raw["macs"] = list(device.macs)
    return raw


def _software(device: DiscoveredDevice) -> list[list[str | None]]:
    return [[s.publisher, s.product, s.version] for s in device.software]


def _device_values(device: DiscoveredDevice) -> dict[str, Any]:
    values = {name: getattr(device, name) for name in _DEVICE_FIELDS}
    values.update(
        source=device.source, record_id=device.record_id, macs=";".join(device.macs) or None,
        serial_key=normalise_serial(device.serial),
        tag_key=normalise_asset_tag(device.asset_tag),
        hostname_key=hostname_key(device.hostname) or hostname_key(device.fqdn),
        uuid_key=uuid_key(device.hardware_uuid),
        cloud_key=cloud_resource_key(device.cloud_resource_id),
        owner_key=owner_key(device.owner), location_key=fold(device.location),
        model_key=device_model_key(device.model), cost_centre_key=fold(device.cost_centre),
        raw=device_raw(device), software=_software(device), gone_at=device.gone_at)
    return values


def _device(record: DiscoveryRecordRecord) -> DiscoveredDevice:
    return DiscoveredDevice(
        source=record.source, record_id=record.record_id, seen_at=record.seen_at,
        hostname=record.hostname, fqdn=record.fqdn, serial=record.serial,
        macs=tuple(record.macs.split(";")) if record.macs else (),
        hardware_uuid=record.hardware_uuid, cloud_resource_id=record.cloud_resource_id,
        manufacturer=record.manufacturer, model=record.model, os=record.os,
        owner=record.owner, location=record.location, cost_centre=record.cost_centre,
        asset_tag=record.asset_tag, partial=record.partial,
        software=tuple(Software(*item) for item in record.software or ()),
        gone_at=record.gone_at)


def _before(seen_at: datetime | None, gone_at: datetime) -> bool:
    """Whether a sighting is no later than a deletion (an unknown time is not later)."""
    return seen_at is None or seen_at <= gone_at


def _import(record: DiscoveryImportRecord) -> DiscoveryImport:
    return DiscoveryImport(record.id, record.source, record.kind, record.file, record.sha256,
                           record.records, record.created, record.updated, record.imported_at,
                           record.imported_by)


class SqlAlchemyInventoryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- imports -------------------------------------------------------------------------

    def import_by_hash(self, source: str, sha256: str) -> DiscoveryImport | None:
        record = self.session.scalars(select(DiscoveryImportRecord).where(
            DiscoveryImportRecord.source == source,
            DiscoveryImportRecord.sha256 == sha256)).first()
        return None if record is None else _import(record)

    def imports(self) -> list[DiscoveryImport]:
        return [_import(r) for r in self.session.scalars(
            select(DiscoveryImportRecord).order_by(DiscoveryImportRecord.id))]

    def start_import(self, *, source: str, kind: str, file: str, sha256: str, at: datetime,
                     by: str) -> int:
        record = DiscoveryImportRecord(source=source, kind=kind, file=file[:500], sha256=sha256,
                                       records=0, created=0, updated=0, imported_at=at,
                                       imported_by=by)
        self.session.add(record)
        self.session.flush()
        return record.id

    def finish_import(self, import_id: int, *, records: int, created: int, updated: int) -> None:
        self.session.execute(update(DiscoveryImportRecord).where(
            DiscoveryImportRecord.id == import_id).values(records=records, created=created,
                                                          updated=updated))

    # --- discovery records ---------------------------------------------------------------

    def stored(self, source: str, record_ids: Sequence[str]) -> dict[str, DiscoveredDevice]:
        """The stored devices of ``source`` among ``record_ids``."""
        found: dict[str, DiscoveredDevice] = {}
        for start in range(0, len(record_ids), _LOOKUP_CHUNK):
            chunk = record_ids[start:start + _LOOKUP_CHUNK]
            for record in self.session.scalars(select(DiscoveryRecordRecord).where(
                    DiscoveryRecordRecord.source == source,
                    DiscoveryRecordRecord.record_id.in_(chunk))):
                found[record.record_id] = _device(record)
        return found

    def save_batch(self, import_id: int, devices: Sequence[DiscoveredDevice]) -> BatchResult:
        """Insert new records, update changed ones, leave identical ones alone.

        A device reported deleted (``gone_at``) marks the stored record gone and changes
        nothing else of it (a deletion carries identifiers only); a deletion not seen before
        is stored as a gone record, so reconciliation can still name its asset. A record
        already gone stays as it was, and so does one seen after the reported deletion. A
        live sighting after the deletion brings the record back.
        """
        if not devices:
            return BatchResult()
        source = devices[0].source
        existing = self._existing(source, [d.record_id for d in devices])
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        gone_updates: list[dict[str, Any]] = []
        gone: list[tuple[str, datetime]] = []
        unchanged = 0
        for device in devices:
            values = _device_values(device)
            held = existing.get(device.record_id)
            if held is None:
                inserts.append({**values, "import_id": import_id})
                if device.gone_at is not None:
                    gone.append((device.record_id, device.gone_at))
            elif device.gone_at is not None:
                pk, _, _, seen_at, gone_at = held
                if gone_at is not None or (seen_at is not None and seen_at > device.gone_at):
                    unchanged += 1
                else:
                    gone_updates.append({"id": pk, "gone_at": device.gone_at})
                    gone.append((device.record_id, device.gone_at))
            elif held[4] is not None and _before(device.seen_at, held[4]):
                unchanged += 1  # a sighting older than the reported deletion
            elif held[4] is None and held[1] == values["raw"] and held[2] == values["software"]:
                unchanged += 1
            else:
                updates.append({**values, "id": held[0], "import_id": import_id})
        table = DiscoveryRecordRecord
        if inserts:
            self.session.execute(insert(table), inserts)
        if updates:
            self.session.execute(update(table), updates)
        if gone_updates:
            self.session.execute(update(table), gone_updates)
        return BatchResult(len(inserts), len(updates) + len(gone_updates), unchanged,
                           tuple(gone))

    def _existing(self, source: str, ids: Sequence[str],
                  ) -> dict[str, tuple[int, dict[str, Any], list[Any], datetime | None,
                                   datetime | None]]:
        """(id, raw, software, seen_at, gone_at) of the stored records among ``ids``."""
        table = DiscoveryRecordRecord
        existing = {}
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            rows = self.session.execute(select(
                table.record_id, table.id, table.raw, table.software, table.seen_at,
                table.gone_at).where(table.source == source,
                                     table.record_id.in_(ids[start:start + _LOOKUP_CHUNK])))
            for record_id, *held in rows:
                existing[record_id] = tuple(held)
        return existing  # type: ignore[return-value]

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(DiscoveryRecordRecord)) or 0

    def count_by_source(self) -> dict[str, int]:
        rows = self.session.execute(select(DiscoveryRecordRecord.source, func.count())
                                    .group_by(DiscoveryRecordRecord.source))
        return {source: count for source, count in rows}

    def device(self, ref: DeviceRef) -> DiscoveredDevice | None:
        record = self.session.scalars(select(DiscoveryRecordRecord).where(
            DiscoveryRecordRecord.source == ref.source,
            DiscoveryRecordRecord.record_id == ref.record_id)).first()
        return None if record is None else _device(record)

    def devices(self) -> list[DiscoveredDevice]:
        return [_device(r) for r in self.session.scalars(
            select(DiscoveryRecordRecord).order_by(DiscoveryRecordRecord.source,
                                                   DiscoveryRecordRecord.record_id))]

    # --- key rows for the matching ---------------------------------------------------------

    def register_key_rows(self, batch: int = 10_000) -> Iterator[tuple[Any, ...]]:
        """Rows of :data:`ledger.reconciliation_sql.REGISTER_COLUMNS`, streamed."""
        a = AssetRecord
        query = select(a.tag, a.status, a.serial_key, a.uuid_key, a.cloud_key, a.tag_key,
                       a.hostname_key, a.macs, a.owner_key, a.location_key, a.model_key,
                       a.owner, a.location, a.model, a.cost_centre).order_by(a.tag)
        result = self.session.execute(query.execution_options(yield_per=batch))
        for pos, (tag, status, serial, uuid, cloud, tag_k, host, macs, owner_k, location_k,
                  model_k, owner, location, model, centre) in enumerate(result):
            yield (pos, tag, status, serial, uuid, cloud, tag_k, host, macs, owner_k,
                   location_k, model_k, fold(centre), owner, location, model, centre)

    def device_key_rows(self, batch: int = 10_000) -> Iterator[tuple[Any, ...]]:
        """Rows of :data:`ledger.reconciliation_sql.DEVICE_COLUMNS`, streamed."""
        d = DiscoveryRecordRecord
        query = select(d.source, d.record_id, d.seen_at, d.serial_key, d.uuid_key, d.cloud_key,
                       d.tag_key, d.hostname_key, d.macs, d.owner_key, d.location_key,
                       d.model_key, d.cost_centre_key, d.owner, d.location, d.model,
                       d.cost_centre, d.gone_at).order_by(d.id)
        result = self.session.execute(query.execution_options(yield_per=batch))
        for pos, (source, record_id, seen_at, *rest, gone_at) in enumerate(result):
            yield (pos, source, record_id, micros(seen_at), *rest, micros(gone_at))

    # --- decisions -------------------------------------------------------------------------

    def add_decision(self, decision: Decision) -> int:
        record = ReconciliationDecisionRecord(
            kind=decision.kind.value, asset_tag=decision.asset_tag,
            device_source=decision.device.source if decision.device else None,
            device_record_id=decision.device.record_id if decision.device else None,
            decided_by=decision.decided_by, decided_at=decision.decided_at,
            reason=decision.reason,
            conflicts=[[c.field, c.register_value, c.discovered_value]
                       for c in decision.conflicts],
            value=decision.owner)
        self.session.add(record)
        self.session.flush()
        return record.id

    def decisions(self) -> list[Decision]:
        return [Decision(
            kind=DecisionKind(r.kind), asset_tag=r.asset_tag,
            device=DeviceRef(r.device_source, r.device_record_id) if r.device_source else None,
            decided_by=r.decided_by, decided_at=r.decided_at, reason=r.reason,
            conflicts=tuple(Conflict(*c) for c in r.conflicts or ()), owner=r.value)
            for r in self.session.scalars(select(ReconciliationDecisionRecord)
                                          .order_by(ReconciliationDecisionRecord.id))]

    # --- lifecycle events ------------------------------------------------------------------

    def add_lifecycle_event(self, event: LifecycleEvent) -> int:
        record = AssetLifecycleEventRecord(
            asset_tag=event.asset_tag, kind=event.kind.value, occurred=event.occurred,
            attribute=event.attribute, before=event.before, after=event.after,
            note=event.note, recorded_by=event.recorded_by)
        self.session.add(record)
        self.session.flush()
        return record.id

    def lifecycle_events(self, tag: str | None = None) -> list[LifecycleEvent]:
        query = select(AssetLifecycleEventRecord).order_by(AssetLifecycleEventRecord.occurred,
                                                           AssetLifecycleEventRecord.id)
        if tag is not None:
            query = query.where(AssetLifecycleEventRecord.asset_tag == tag)
        return [LifecycleEvent(r.asset_tag, LifecycleEventKind(r.kind), r.occurred,
                               r.attribute, r.before, r.after, r.note, r.recorded_by)
                for r in self.session.scalars(query)]

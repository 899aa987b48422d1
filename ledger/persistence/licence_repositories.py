"""Repositories for licences, software installations, quality rules and saved column mappings.

They convert between the records of :mod:`ledger.persistence.licence_records` and the plain
values of :mod:`ledger.licence`, :mod:`ledger.quality` and
:mod:`ledger.services.asset_mapping`; nothing else sees a record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.orm import Session

from ledger.licence import Entitlement, Installation, SeatAssignment
from ledger.persistence.licence_records import (
    AssetMappingRecord,
    LicenceAssignmentRecord,
    LicenceEntitlementRecord,
    QualityRuleSetRecord,
    SoftwareInstallationRecord,
)
from ledger.services.asset_mapping import AssetMapping

_ENTITLEMENT_FIELDS = ("publisher", "product", "metric", "quantity", "unit_cost", "currency",
                       "cost_basis", "term_start", "term_end", "version_from", "version_to",
                       "source")
_INSTALLATION_FIELDS = ("product", "publisher", "version", "hostname", "owner", "asset_tag",
                        "cores", "processors")


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session


def _entitlement(r: LicenceEntitlementRecord) -> Entitlement:
    return Entitlement(r.key, r.publisher, r.product, r.metric, r.quantity, r.unit_cost,  # type: ignore[arg-type]
                       r.currency, r.cost_basis, r.term_start, r.term_end,  # type: ignore[arg-type]
                       r.version_from, r.version_to, r.source)


def _assignment(r: LicenceAssignmentRecord) -> SeatAssignment:
    return SeatAssignment(r.entitlement_key, r.assignee_kind, r.assignee,  # type: ignore[arg-type]
                          r.cost_centre, r.since)


def _installation(r: SoftwareInstallationRecord) -> Installation:
    return Installation(r.source, r.record_id, r.product, r.publisher, r.version, r.hostname,
                        r.owner, r.asset_tag, r.cores, r.processors)


class SqlAlchemyLicenceRepository(_Repository):
    """Entitlements, seat assignments and the installations discovery reported."""

    def entitlements(self) -> list[Entitlement]:
        query = select(LicenceEntitlementRecord).order_by(LicenceEntitlementRecord.key)
        return [_entitlement(r) for r in self.session.scalars(query)]

    def entitlement(self, key: str) -> Entitlement | None:
        record = self.session.get(LicenceEntitlementRecord, key)
        return None if record is None else _entitlement(record)

    def save_entitlement(self, entitlement: Entitlement, *, new: bool = False) -> None:
        record = None if new else self.session.get(LicenceEntitlementRecord, entitlement.key)
        if record is None:
            record = LicenceEntitlementRecord(key=entitlement.key)
            self.session.add(record)
        for name in _ENTITLEMENT_FIELDS:
            value = getattr(entitlement, name)
            setattr(record, name, getattr(value, "value", value))

    def assignments(self, entitlement: str | None = None) -> list[SeatAssignment]:
        query = select(LicenceAssignmentRecord).order_by(
            LicenceAssignmentRecord.entitlement_key, LicenceAssignmentRecord.assignee_kind,
            LicenceAssignmentRecord.assignee)
        if entitlement is not None:
            query = query.where(LicenceAssignmentRecord.entitlement_key == entitlement)
        return [_assignment(r) for r in self.session.scalars(query)]

    def add_assignment(self, seat: SeatAssignment) -> None:
        self.session.add(LicenceAssignmentRecord(
            entitlement_key=seat.entitlement, assignee_kind=seat.assignee_kind.value,
            assignee=seat.assignee, cost_centre=seat.cost_centre, since=seat.since))
        self.session.flush()  # the entitlement must exist before the seat (foreign key)

    def remove_assignment(self, seat: SeatAssignment) -> None:
        self.session.execute(delete(LicenceAssignmentRecord).where(
            LicenceAssignmentRecord.entitlement_key == seat.entitlement,
            LicenceAssignmentRecord.assignee_kind == seat.assignee_kind.value,
            LicenceAssignmentRecord.assignee == seat.assignee))

    def count_entitlements(self) -> int:
        return self.session.scalar(select(func.count()).select_from(
            LicenceEntitlementRecord)) or 0

    def count_installations(self) -> int:
        return self.session.scalar(select(func.count()).select_from(
            SoftwareInstallationRecord)) or 0

    def installations(self, *, batch: int = 10_000) -> Iterator[Installation]:
        """Every installation, read in batches (a large estate has millions)."""
        query = select(SoftwareInstallationRecord).order_by(SoftwareInstallationRecord.id)
        for record in self.session.scalars(query.execution_options(yield_per=batch)):
            yield _installation(record)

    def installations_of(self, source: str, record_ids: Iterable[str],
                         ) -> dict[str, list[Installation]]:
        """The stored installations of some devices of ``source``, by record id."""
        found: dict[str, list[Installation]] = defaultdict(list)
        ids = list(dict.fromkeys(record_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            query = (select(SoftwareInstallationRecord)
                     .where(tuple_(SoftwareInstallationRecord.source,
                                   SoftwareInstallationRecord.record_id)
                            .in_([(source, i) for i in chunk]))
                     .order_by(SoftwareInstallationRecord.id))
            for record in self.session.scalars(query):
                found[record.record_id].append(_installation(record))
        return found

    def replace_installations(self, source: str, record_id: str,
                              installations: Sequence[Installation]) -> None:
        self.session.execute(delete(SoftwareInstallationRecord).where(
            SoftwareInstallationRecord.source == source,
            SoftwareInstallationRecord.record_id == record_id))
        self.session.add_all(SoftwareInstallationRecord(
            source=source, record_id=record_id,
            **{name: getattr(i, name) for name in _INSTALLATION_FIELDS}) for i in installations)


class SqlAlchemyQualityRuleRepository(_Repository):
    """The stored rule sets, as plain data (parsed by :func:`ledger.quality.parse_rules`)."""

    def get(self, name: str) -> dict[str, Any] | None:
        record = self.session.get(QualityRuleSetRecord, name)
        return None if record is None else dict(record.rules)

    def save(self, name: str, rules: dict[str, Any], *, at: datetime, by: str) -> None:
        record = self.session.get(QualityRuleSetRecord, name)
        if record is None:
            record = QualityRuleSetRecord(name=name)
            self.session.add(record)
        record.rules = rules
        record.updated_at = at
        record.updated_by = by


class SqlAlchemyAssetMappingRepository(_Repository):
    """Saved column mappings for register loads."""

    def get(self, name: str) -> AssetMapping | None:
        record = self.session.get(AssetMappingRecord, name)
        return None if record is None else AssetMapping(record.name, dict(record.columns),
                                                        dict(record.defaults), record.sheet)

    def list(self) -> list[AssetMapping]:
        query = select(AssetMappingRecord).order_by(AssetMappingRecord.name)
        return [AssetMapping(r.name, dict(r.columns), dict(r.defaults), r.sheet)
                for r in self.session.scalars(query)]

    def save(self, mapping: AssetMapping, *, at: datetime, by: str) -> None:
        record = self.session.get(AssetMappingRecord, mapping.name)
        if record is None:
            record = AssetMappingRecord(name=mapping.name)
            self.session.add(record)
        record.columns = dict(mapping.columns)
        record.defaults = dict(mapping.defaults)
        record.sheet = mapping.sheet
        record.updated_at = at
        record.updated_by = by

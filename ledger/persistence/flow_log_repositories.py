"""Repository of flow-log imports and their data-transfer aggregates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ledger.persistence.flow_log_records import FlowLogAggregateRecord, FlowLogImportRecord
from ledger.transfer import FlowAggregate


@dataclass(frozen=True, slots=True)
class FlowLogImport:
    """One stored flow-log import."""

    id: int
    file: str
    sha256: str
    format: str
    records: int
    counted: int
    imported_at: datetime
    imported_by: str


def _import_of(record: FlowLogImportRecord) -> FlowLogImport:
    return FlowLogImport(record.id, record.file, record.sha256, record.format, record.records,
                         record.counted, record.imported_at, record.imported_by)


class SqlAlchemyFlowLogRepository:
    """Flow-log imports and aggregates in the database."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, sha256: str) -> FlowLogImport | None:
        record = self.session.scalars(
            select(FlowLogImportRecord).where(FlowLogImportRecord.sha256 == sha256)
        ).one_or_none()
        return None if record is None else _import_of(record)

    def add(self, *, file: str, sha256: str, format: str, records: int, counted: int,
            imported_at: datetime, imported_by: str,
            aggregates: Sequence[FlowAggregate]) -> FlowLogImport:
        """Store an import and its aggregates (in one statement for the aggregates)."""
        record = FlowLogImportRecord(
            file=file, sha256=sha256, format=format, records=records, counted=counted,
            imported_at=imported_at, imported_by=imported_by,
        )
        self.session.add(record)
        self.session.flush()
        if aggregates:
            self.session.execute(insert(FlowLogAggregateRecord), [
                {"import_id": record.id, "period": a.period, "resource_id": a.resource_id,
                 "owner": a.owner, "source_zone": a.source_zone,
                 "source_region": a.source_region, "destination": a.destination,
                 "kind": a.kind, "bytes": a.bytes, "records": a.records}
                for a in aggregates
            ])
        return _import_of(record)

    def imports(self) -> list[FlowLogImport]:
        return [_import_of(r) for r in self.session.scalars(
            select(FlowLogImportRecord).order_by(FlowLogImportRecord.id))]

    def aggregates(self, period: str) -> list[FlowAggregate]:
        """The period's aggregates summed over all imports."""
        a = FlowLogAggregateRecord
        rows = self.session.execute(
            select(a.period, a.resource_id, func.max(a.owner), func.max(a.source_zone),
                   func.max(a.source_region), a.destination, a.kind,
                   func.sum(a.bytes), func.sum(a.records))
            .where(a.period == period)
            .group_by(a.period, a.resource_id, a.destination, a.kind)
            .order_by(a.resource_id, a.destination, a.kind)
        ).all()
        return [FlowAggregate(r[0], r[1], r[2], r[3], r[4], r[5], r[6], int(r[7]), int(r[8]))
                for r in rows]

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(FlowLogImportRecord)) or 0

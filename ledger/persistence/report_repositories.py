"""Repositories of reports: disputes, forecasts and benchmarks (records <-> plain values)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ledger.errors import ConflictError
from ledger.persistence.report_records import (
    BenchmarkRecord,
    DisputeRecord,
    ForecastRecord,
    KnownChangeRecord,
)
from ledger.reports.disputes import Dispute, DisputeStatus
from ledger.reports.forecast import ForecastPoint, KnownChange

_DISPUTE_FIELDS = ("period", "run_id", "cost_centre", "pool", "rule", "currency", "amount",
                   "reason", "raised_by", "raised_at", "reviewed_by", "answer", "correction",
                   "journal_id", "decided_at")


def _dispute(record: DisputeRecord) -> Dispute:
    return Dispute(id=record.id, status=DisputeStatus(record.status),
                   **{name: getattr(record, name) for name in _DISPUTE_FIELDS})


class SqlAlchemyDisputeRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, dispute: Dispute) -> int:
        record = DisputeRecord(status=dispute.status.value,
                               **{name: getattr(dispute, name) for name in _DISPUTE_FIELDS})
        self.session.add(record)
        self.session.flush()
        return record.id

    def get(self, dispute_id: int) -> Dispute | None:
        record = self.session.get(DisputeRecord, dispute_id)
        return _dispute(record) if record else None

    def list(self, *, period: str | None = None, status: str | None = None,
             cost_centre: str | None = None) -> list[Dispute]:
        query = select(DisputeRecord).order_by(DisputeRecord.id)
        if period:
            query = query.where(DisputeRecord.period == period)
        if status:
            query = query.where(DisputeRecord.status == status)
        if cost_centre:
            query = query.where(DisputeRecord.cost_centre == cost_centre)
        return [_dispute(r) for r in self.session.scalars(query)]

    def transition(self, dispute_id: int, *, expected: DisputeStatus, to: DisputeStatus,
                   **fields: Any) -> None:
        """Move a dispute on, refusing if someone moved it meanwhile (optimistic check)."""
        record = self.session.get(DisputeRecord, dispute_id)
        if record is None or record.status != expected.value:
            raise ConflictError(f"dispute {dispute_id} changed meanwhile; look at it again")
        record.status = to.value
        for name, value in fields.items():
            setattr(record, name, value)
        self.session.flush()


class SqlAlchemyForecastRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def save(self, cost_centre: str, points: Sequence[ForecastPoint], *, made_in: str,
             made_by: str, made_at: datetime) -> int:
        """Store ``points`` made in ``made_in``, replacing a forecast of the same period made
        in the same period; returns how many were new or changed."""
        changed = 0
        for point in points:
            record = self.session.scalars(select(ForecastRecord).where(
                ForecastRecord.cost_centre == cost_centre, ForecastRecord.period == point.period,
                ForecastRecord.currency == point.currency,
                ForecastRecord.made_in == made_in)).first()
            if record is None:
                self.session.add(ForecastRecord(
                    cost_centre=cost_centre, period=point.period, currency=point.currency,
                    amount=point.amount, method=point.method, made_in=made_in,
                    made_by=made_by, made_at=made_at))
                changed += 1
            elif record.amount != point.amount or record.method != point.method:
                record.amount, record.method = point.amount, point.method
                record.made_by, record.made_at = made_by, made_at
                changed += 1
        self.session.flush()
        return changed

    def list(self, *, cost_centre: str | None = None
             ) -> list[tuple[str, str, str, Decimal, str]]:
        """``(cost centre, period, currency, amount, made in)``, oldest first."""
        query = select(ForecastRecord).order_by(ForecastRecord.period, ForecastRecord.made_in,
                                                ForecastRecord.cost_centre)
        if cost_centre:
            query = query.where(ForecastRecord.cost_centre == cost_centre)
        return [(r.cost_centre, r.period, r.currency, r.amount, r.made_in)
                for r in self.session.scalars(query)]


class SqlAlchemyBenchmarkRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def all(self) -> dict[str, tuple[Decimal, str | None]]:
        return {r.kpi: (r.value, r.source)
                for r in self.session.scalars(select(BenchmarkRecord))}

    def set(self, kpi: str, value: Decimal, *, source: str | None, updated_by: str,
            updated_at: datetime) -> tuple[Decimal, str | None] | None:
        """Set a benchmark; returns what it was (None: new)."""
        record = self.session.get(BenchmarkRecord, kpi)
        before = (record.value, record.source) if record else None
        if record is None:
            self.session.add(BenchmarkRecord(kpi=kpi, value=value, source=source,
                                             updated_by=updated_by, updated_at=updated_at))
        else:
            record.value, record.source = value, source
            record.updated_by, record.updated_at = updated_by, updated_at
        self.session.flush()
        return before


def _known_change(record: KnownChangeRecord) -> KnownChange:
    return KnownChange(record.cost_centre, record.from_period, record.reason, record.amount,
                       record.percent, record.currency, record.to_period, record.pool or None,
                       record.service or None, record.id)


class SqlAlchemyKnownChangeRepository:
    """Known changes of the forecast, keyed by (cost centre, from, pool, service, reason)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self, *, cost_centre: str | None = None) -> list[KnownChange]:
        query = select(KnownChangeRecord).order_by(KnownChangeRecord.cost_centre,
                                                   KnownChangeRecord.from_period,
                                                   KnownChangeRecord.id)
        if cost_centre is not None:
            query = query.filter_by(cost_centre=cost_centre)
        return [_known_change(r) for r in self.session.scalars(query)]

    def find(self, key: tuple[str, str, str, str, str]) -> KnownChange | None:
        centre, start, pool, service, reason = key
        record = self.session.scalars(select(KnownChangeRecord).filter_by(
            cost_centre=centre, from_period=start, pool=pool, service=service,
            reason=reason)).first()
        return None if record is None else _known_change(record)

    def save(self, change: KnownChange, *, by: str, at: datetime) -> int:
        """Insert or update the change with the same key; returns its id."""
        centre, start, pool, service, reason = change.key
        record = self.session.scalars(select(KnownChangeRecord).filter_by(
            cost_centre=centre, from_period=start, pool=pool, service=service,
            reason=reason)).first()
        if record is None:
            record = KnownChangeRecord(cost_centre=centre, from_period=start, pool=pool,
                                       service=service, reason=reason)
            self.session.add(record)
        record.to_period, record.amount, record.percent = (change.to_period, change.amount,
                                                           change.percent)
        record.currency, record.updated_by, record.updated_at = change.currency, by, at
        self.session.flush()
        return record.id

    def remove(self, change_id: int) -> KnownChange | None:
        record = self.session.get(KnownChangeRecord, change_id)
        if record is None:
            return None
        found = _known_change(record)
        self.session.delete(record)
        self.session.flush()
        return found

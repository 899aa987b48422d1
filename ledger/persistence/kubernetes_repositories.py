"""Repository of Kubernetes usage: converts between :mod:`ledger.persistence.kubernetes_records`
and :class:`ledger.kubernetes.UsageRecord`; nothing else sees a record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, or_, select, tuple_
from sqlalchemy.orm import Session

from ledger.cloud_usage import SpotRunRecord as SpotRun
from ledger.kubernetes import UsageRecord
from ledger.persistence.kubernetes_records import (
    K8sUsageImportRecord,
    K8sUsageRecord,
    SpotRunImportRecord,
    SpotRunRecord,
)

#: Stored precision of hours: a millionth of a core-hour or GiB-hour is far below any bill.
HOURS = Decimal("0.000001")


def _record(r: K8sUsageRecord) -> UsageRecord:
    return UsageRecord(r.cluster, r.period, r.namespace, r.cpu_request, r.cpu_usage,
                       r.ram_request, r.ram_usage, tuple((k, v) for k, v in r.labels),
                       r.controller, r.pod)


class SqlAlchemyKubernetesUsageRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def import_of(self, sha256: str) -> int | None:
        return self.session.scalar(select(K8sUsageImportRecord.id)
                                   .where(K8sUsageImportRecord.sha256 == sha256))

    def replace(self, *, sha256: str, source: str, kind: str, records: Sequence[UsageRecord],
                at: datetime, by: str) -> tuple[int, int]:
        """Store ``records`` as one import; earlier usage of the same (cluster, period) pairs
        is replaced. Returns (import id, records replaced)."""
        keys = sorted({(r.cluster, r.period) for r in records})
        replaced = 0
        if keys:
            replaced = self.session.execute(delete(K8sUsageRecord).where(
                tuple_(K8sUsageRecord.cluster, K8sUsageRecord.period).in_(keys))).rowcount
        batch = K8sUsageImportRecord(sha256=sha256, source=source[:1000], kind=kind,
                                     records=len(records), imported_at=at, imported_by=by)
        self.session.add(batch)
        self.session.flush()
        self.session.add_all(K8sUsageRecord(
            import_id=batch.id, cluster=r.cluster, period=r.period, namespace=r.namespace,
            controller=r.controller, pod=r.pod, labels=[list(p) for p in r.labels],
            cpu_request=r.cpu_request.quantize(HOURS), cpu_usage=r.cpu_usage.quantize(HOURS),
            ram_request=r.ram_request.quantize(HOURS), ram_usage=r.ram_usage.quantize(HOURS))
            for r in records)
        self.session.flush()
        return batch.id, replaced

    def for_period(self, period: str) -> dict[str, list[UsageRecord]]:
        """The period's usage by cluster."""
        out: dict[str, list[UsageRecord]] = {}
        rows = self.session.scalars(select(K8sUsageRecord).where(K8sUsageRecord.period == period)
                                    .order_by(K8sUsageRecord.id))
        for row in rows:
            out.setdefault(row.cluster, []).append(_record(row))
        return out

    def summary(self) -> list[tuple[str, str, int]]:
        """(cluster, period, records) of everything stored."""
        rows = self.session.execute(select(K8sUsageRecord.cluster, K8sUsageRecord.period,
                                           func.count()).group_by(K8sUsageRecord.cluster,
                                                                  K8sUsageRecord.period)
                                    .order_by(K8sUsageRecord.cluster, K8sUsageRecord.period))
        return [(c, p, n) for c, p, n in rows]

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(K8sUsageRecord)) or 0


class SqlAlchemySpotRunRepository:
    """Runs on spot and burstable resources: one import per file content; a later import
    replaces the runs of the same resource and start time (the newer truth, never added)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def import_of(self, sha256: str) -> int | None:
        return self.session.scalar(select(SpotRunImportRecord.id)
                                   .where(SpotRunImportRecord.sha256 == sha256))

    def replace(self, *, sha256: str, source: str, records: Sequence[SpotRun],
                at: datetime, by: str) -> tuple[int, int]:
        """Store ``records`` as one import. Returns (import id, runs replaced)."""
        keys = sorted({(r.resource_id, r.started_at) for r in records})
        replaced = 0
        for resource, started in keys:
            replaced += self.session.execute(delete(SpotRunRecord).where(
                SpotRunRecord.resource_id == resource,
                SpotRunRecord.started_at == started)).rowcount
        batch = SpotRunImportRecord(sha256=sha256, source=source[:1000], records=len(records),
                                    imported_at=at, imported_by=by)
        self.session.add(batch)
        self.session.flush()
        self.session.add_all(SpotRunRecord(
            import_id=batch.id, resource_id=r.resource_id, workload=r.workload,
            started_at=r.started_at, ended_at=r.ended_at, interrupted=r.interrupted,
            cpu_credits=r.cpu_credits.quantize(HOURS)) for r in records)
        self.session.flush()
        return batch.id, replaced

    def overlapping(self, start: datetime, end: datetime) -> list[SpotRun]:
        """Runs that were going at some time in [start, end)."""
        rows = self.session.scalars(select(SpotRunRecord).where(
            SpotRunRecord.started_at < end,
            or_(SpotRunRecord.ended_at.is_(None), SpotRunRecord.ended_at > start))
            .order_by(SpotRunRecord.id))
        return [SpotRun(r.resource_id, r.workload, r.started_at, r.ended_at, r.interrupted,
                        r.cpu_credits) for r in rows]

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(SpotRunRecord)) or 0

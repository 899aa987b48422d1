"""Repositories of the allocation policy: its versions and the completed rule reviews.

They convert between the records of :mod:`ledger.persistence.policy_records` and the values of
:mod:`ledger.policy` and :mod:`ledger.reviews`; nothing outside ``ledger.persistence`` sees a
record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ledger.errors import ConflictError
from ledger.persistence.policy_records import (
    PolicyReviewRecord,
    PolicyRunReportRecord,
    PolicyVersionRecord,
)
from ledger.policy import PolicyVersion, VersionStatus
from ledger.reviews import CompletedReview


def _version(r: PolicyVersionRecord) -> PolicyVersion:
    return PolicyVersion(version=r.version, name=r.name, status=VersionStatus(r.status),
                         effective_from=r.effective_from, text=r.text,
                         content_hash=r.content_hash, author=r.author, created_at=r.created_at,
                         reason=r.reason, parent_version=r.parent_version,
                         activated_by=r.activated_by, activated_at=r.activated_at)


class SqlAlchemyPolicyRepository:
    """Policy versions: :meth:`add` inserts; content is never updated afterwards."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def versions(self) -> list[PolicyVersion]:
        return [_version(r) for r in self.session.scalars(
            select(PolicyVersionRecord).order_by(PolicyVersionRecord.version))]

    def get(self, version: int) -> PolicyVersion | None:
        record = self.session.get(PolicyVersionRecord, version)
        return None if record is None else _version(record)

    def latest(self) -> PolicyVersion | None:
        record = self.session.scalars(select(PolicyVersionRecord).order_by(
            PolicyVersionRecord.version.desc()).limit(1)).first()
        return None if record is None else _version(record)

    def active(self) -> PolicyVersion | None:
        record = self.session.scalars(select(PolicyVersionRecord).filter_by(
            status=VersionStatus.ACTIVE.value)).first()
        return None if record is None else _version(record)

    def add(self, version: PolicyVersion) -> None:
        self.session.add(PolicyVersionRecord(
            version=version.version, name=version.name, status=version.status.value,
            effective_from=version.effective_from, text=version.text,
            content_hash=version.content_hash, parent_version=version.parent_version,
            author=version.author, created_at=version.created_at, reason=version.reason))
        try:
            self.session.flush()
        except IntegrityError:
            raise ConflictError(f"policy version {version.version} was saved by someone else "
                                "meanwhile; export the latest and try again") from None

    def set_status(self, version: int, *, expected: VersionStatus, status: VersionStatus,
                   by: str | None = None, at: datetime | None = None) -> None:
        """Move a version's status, refusing when someone moved it meanwhile."""
        record = self.session.get(PolicyVersionRecord, version)
        if record is None or record.status != expected.value:
            raise ConflictError(f"policy version {version} is no longer {expected.value}; "
                                "reload it")
        record.status = status.value
        if status is VersionStatus.ACTIVE:
            record.activated_by, record.activated_at = by, at
        self.session.flush()

    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(PolicyVersionRecord)) or 0

    def save_report(self, run_id: int, *, policy: str, report: dict[str, Any],
                    at: datetime) -> None:
        """Keep a stored run's policy report with it (once: a run is stored once)."""
        self.session.add(PolicyRunReportRecord(run_id=run_id, policy=policy, report=report,
                                               created_at=at))
        self.session.flush()

    def report(self, run_id: int) -> dict[str, Any] | None:
        """The policy report of stored run ``run_id``; None when no policy was active."""
        record = self.session.get(PolicyRunReportRecord, run_id)
        return None if record is None else dict(record.report)


class SqlAlchemyReviewRepository:
    """Completed rule reviews, appended only."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, review: CompletedReview) -> int:
        record = PolicyReviewRecord(
            subject=review.subject, due_on=review.due_on, completed_on=review.completed_on,
            reviewer=review.reviewer, outcome=review.outcome, notes=review.notes,
            checklist=list(review.checklist), created_at=review.created_at)
        self.session.add(record)
        self.session.flush()
        return record.id

    def list(self, subject: str | None = None) -> list[CompletedReview]:
        query = select(PolicyReviewRecord).order_by(PolicyReviewRecord.id)
        if subject is not None:
            query = query.filter_by(subject=subject)
        return [CompletedReview(r.id, r.subject, r.due_on, r.completed_on, r.reviewer,
                                r.outcome, r.notes, tuple(r.checklist), r.created_at)
                for r in self.session.scalars(query)]

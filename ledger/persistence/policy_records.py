"""Records of allocation policy: scope, ownership, granularity, charging modes, reviews.

Declared on the one :class:`~ledger.persistence.records.Base`; imported by
:mod:`ledger.persistence.schema` so that Alembic and the repositories see every table.

A policy version's text and hash never change once saved (only its status moves, as for rule
sets); a completed review is appended and never edited (its outcome is also in the audit trail).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.persistence.records import Base
from ledger.persistence.types import UtcDateTime


class PolicyVersionRecord(Base):
    """One saved version of the allocation policy."""

    __tablename__ = "policy_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))
    effective_from: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    parent_version: Mapped[int | None] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    activated_by: Mapped[str | None] = mapped_column(String(200))
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PolicyReviewRecord(Base):
    """One completed rule review: subject (``ruleset:NAME``, ``pool:ID``), who, when, the
    outcome and the checklist as it was found."""

    __tablename__ = "policy_reviews"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(100), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    completed_on: Mapped[date] = mapped_column(Date)
    reviewer: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text)
    checklist: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PolicyRunReportRecord(Base):
    """What the policy did to one stored allocation run (``report_json`` of its
    :class:`~ledger.policy.PolicyReport`), kept with the run so that statements read it by run
    id. Written once with the run and never changed."""

    __tablename__ = "policy_run_reports"

    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_runs.id"), primary_key=True)
    policy: Mapped[str] = mapped_column(String(80))
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

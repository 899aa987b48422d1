"""Scheduled jobs: what a run is, and how a due time is claimed exactly once.

APScheduler only says *when*; this module and the ``job_runs`` table say *whether*: a scheduler
claims a job's due time by inserting its run (the pair is unique), so of two schedulers only
one runs each fire; a run left ``running`` by a killed scheduler is marked interrupted and run
again (every job is idempotent); after downtime the last missed fire of each job runs once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class RunOutcome(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class JobRun:
    """One run of a job.

    Attributes:
        job: the job's name.
        scheduled_for: the due time it ran for (UTC).
        attempt: 1, or more when an interrupted run was redone.
        holder: which scheduler ran it (host:pid).
        outcome: running, succeeded, failed, skipped or interrupted.
        counts: what it did, e.g. ``{"posted": 3}``.
        message: an error or the reason it was skipped.
    """

    id: int
    job: str
    scheduled_for: datetime
    attempt: int
    holder: str
    started_at: datetime
    finished_at: datetime | None
    outcome: RunOutcome
    counts: dict[str, Any] = field(default_factory=dict)
    message: str | None = None

"""Rule reviews: a calendar per rule set and pool, a checklist, and what is overdue.

Rules drift: a driver stops being measured, a new business unit appears that no rule covers, a
mapping rule matches nothing any more, a pool's unallocated share creeps up. The policy sets a
review interval (quarterly by default) and a reviewer per subject (``ruleset:NAME`` or
``pool:ID``); this module computes when each review is due from the last one completed, and the
checklist a reviewer answers. Pure: the services give it the facts.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ledger.errors import InputError
from ledger.policy import Policy, ReviewEntry

OUTCOMES = ("no_change", "changes_needed", "changes_made")


@dataclass(frozen=True, slots=True)
class CompletedReview:
    """A review as completed: ``checklist`` holds (item, finding) pairs as JSON lists."""

    id: int
    subject: str
    due_on: date
    completed_on: date
    reviewer: str
    outcome: str
    notes: str
    checklist: tuple[Any, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DueReview:
    """A subject's next review: when due, by whom, and whether it is overdue on ``today``."""

    subject: str
    reviewer: str | None
    every_months: int
    due_on: date
    last_completed: date | None
    overdue: bool


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months``, clamped to the month's last day (31 Jan + 1 = 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def calendar_of(policy: Policy, subjects: Sequence[str]) -> list[ReviewEntry]:
    """The review calendar: the policy's own entries, and every other subject with the
    policy's default interval and reviewer."""
    own = {entry.subject: entry for entry in policy.reviews}
    entries = [ReviewEntry(entry.subject, entry.reviewer or policy.reviewer,
                           entry.every_months or policy.review_months, entry.last_reviewed)
               for entry in policy.reviews]
    entries += [ReviewEntry(subject, policy.reviewer, policy.review_months)
                for subject in subjects if subject not in own]
    return sorted(entries, key=lambda e: e.subject)


def due_reviews(entries: Sequence[ReviewEntry], completed: Sequence[CompletedReview], *,
                start: date, today: date) -> list[DueReview]:
    """Each subject's next due date: its last completion (recorded, or the calendar's
    ``last_reviewed`` from before reviews were recorded; else ``start``, when the rule set
    took effect) plus its interval."""
    last: dict[str, date] = {}
    for review in completed:
        if review.completed_on > last.get(review.subject, date.min):
            last[review.subject] = review.completed_on
    found = []
    for entry in entries:
        months = entry.every_months or 3
        since = max((d for d in (last.get(entry.subject), entry.last_reviewed) if d),
                    default=None)
        due = add_months(since or start, months)
        found.append(DueReview(entry.subject, entry.reviewer, months, due, since, due < today))
    return found


def check_outcome(outcome: str, notes: str) -> tuple[str, str]:
    if outcome not in OUTCOMES:
        raise InputError(f"must be one of {', '.join(OUTCOMES)}", field="outcome",
                         value=outcome)
    if not notes or not notes.strip():
        raise InputError("a review needs notes: what was checked and decided", field="notes")
    return outcome, notes.strip()


def rising(shares: Sequence[tuple[str, Mapping[str, float]]]) -> list[str]:
    """Pools whose unallocated share grew over the last runs (``shares``: per period, oldest
    first, pool -> unallocated share): strictly higher in the latest than in the one before."""
    if len(shares) < 2:
        return []
    (_, before), (_, after) = shares[-2], shares[-1]
    return sorted(pool for pool, share in after.items() if share > before.get(pool, 0.0))


__all__ = ["OUTCOMES", "CompletedReview", "DueReview", "add_months", "calendar_of",
           "check_outcome", "due_reviews", "rising"]

"""Use cases of rule reviews: the calendar with what is due or overdue, the checklist found in
the stored runs, and completing a review (stored and in the audit trail).

Subjects are every active rule set (``ruleset:NAME``) and each of its pools (``pool:ID``); the
active policy sets their interval (quarterly by default) and reviewer. A subject never reviewed
is due one interval after its rule set was activated.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.access import Permission
from ledger.allocation.stored import RunStatus, StoredRun
from ledger.errors import NotFoundError, PermissionDeniedError
from ledger.policy import Policy
from ledger.ports import UnitOfWork
from ledger.reviews import (
    CompletedReview,
    DueReview,
    calendar_of,
    check_outcome,
    due_reviews,
    rising,
)
from ledger.services.base import Changes, authorize, business_units_of, record_change
from ledger.services.policy import active_policy


@dataclass(frozen=True, slots=True)
class CheckItem:
    """One checklist item: ``ok`` False means the reviewer should look at ``finding``."""

    item: str
    ok: bool
    finding: str


def _subjects(uow: UnitOfWork) -> dict[str, tuple[str, date]]:
    """subject -> (rule-set name, the day its active version was activated)."""
    found: dict[str, tuple[str, date]] = {}
    for version in uow.rulesets.active():
        start = (version.activated_at or version.created_at).date()
        found[f"ruleset:{version.name}"] = (version.name, start)
        for pool in version.ruleset().pools:
            found.setdefault(f"pool:{pool.id}", (version.name, start))
    return found


def _due(uow: UnitOfWork) -> list[tuple[DueReview, str]]:
    subjects = _subjects(uow)
    policy = active_policy(uow) or Policy("default", 1, date.min)
    today = uow.clock.now().date()
    completed = uow.reviews.list()
    found = []
    for entry in calendar_of(policy, sorted(subjects)):
        if entry.subject not in subjects:
            continue  # a calendar entry for a rule set or pool no longer active
        name, start = subjects[entry.subject]
        found += [(due, name) for due in due_reviews([entry], completed, start=start,
                                                     today=today)]
    return found


def list_reviews(*, uow: UnitOfWork) -> list[DueReview]:
    """Every subject's next review, overdue ones first."""
    authorize(uow, Permission.READ, doing="list rule reviews")
    return sorted((due for due, _ in _due(uow)), key=lambda d: (not d.overdue, d.due_on,
                                                                 d.subject))


def overdue_count(uow: UnitOfWork) -> int:
    """How many reviews are overdue (the dashboard's figure; the caller has authorised)."""
    return sum(1 for due, _ in _due(uow) if due.overdue)


def checklist(*, uow: UnitOfWork, subject: str) -> list[CheckItem]:
    """The checklist of ``subject`` as the stored runs of its rule set show it."""
    authorize(uow, Permission.READ, doing="read review checklists")
    due = {d.subject: name for d, name in _due(uow)}
    if subject not in due:
        raise NotFoundError(f"{subject} is not on the review calendar; subjects: "
                            f"{', '.join(sorted(due)) or 'none (activate a rule set)'}")
    return _checklist(uow, due[subject], subject)


def _runs(uow: UnitOfWork, name: str) -> list[StoredRun]:
    """The current (not superseded) runs of rule set ``name``, oldest period first."""
    return sorted((r for r in uow.allocation_runs.list() if r.ruleset_name == name
                   and r.status is not RunStatus.SUPERSEDED), key=lambda r: r.period)


def _checklist(uow: UnitOfWork, name: str, subject: str) -> list[CheckItem]:
    pool = subject.split(":", 1)[1] if subject.startswith("pool:") else None
    active = next(v for v in uow.rulesets.active(name))
    ruleset = active.ruleset()
    runs = _runs(uow, name)
    latest = runs[-1] if runs else None
    items = []
    shared = [s for s in ruleset.shared if s.driver and (pool is None or s.pool == pool)]
    items.append(_drivers(uow, shared, latest))
    mapping = [m.id for m in ruleset.mapping if pool is None or m.pool == pool]
    used = {s.rule for s in uow.allocation_runs.lineage(latest.id)} if latest else set()
    idle = [rule for rule in mapping if rule not in used]
    items.append(CheckItem("rules that matched nothing", not idle,
                           f"matched nothing in {latest.period if latest else 'any run'}: "
                           f"{', '.join(idle)}" if idle else "every rule matched something"))
    items.append(_coverage(uow, latest))
    shares = [(run.period, _unallocated_shares(uow, run)) for run in runs[-2:]]
    grown = [p for p in rising(shares) if pool is None or p == pool]
    items.append(CheckItem("pools with rising unallocated share", not grown,
                           f"rising: {', '.join(grown)}" if grown else
                           "no pool's unallocated share rose"))
    return items


def _drivers(uow: UnitOfWork, shared: list[Any], latest: StoredRun | None) -> CheckItem:
    item = "drivers still measurable"
    if not shared:
        return CheckItem(item, True, "no pool is split by a driver")
    if latest is None:
        return CheckItem(item, False, "no run yet to measure the drivers against")
    missing = sorted({s.driver for s in shared
                      if not uow.drivers.for_period(s.driver, latest.period)})
    return CheckItem(item, not missing,
                     f"no quantities in {latest.period}: {', '.join(missing)}" if missing
                     else f"{len(shared)} driver(s) measured in {latest.period}")


def _coverage(uow: UnitOfWork, latest: StoredRun | None) -> CheckItem:
    """Business units with cost centres but no allocated cost (new ones, not yet covered)."""
    units = business_units_of(uow, [c.code for c in uow.cost_centres.list()]) - {None}
    charged = business_units_of(uow, [li.cost_centre for li in uow.allocation_runs.lines(
        latest.id)]) if latest else frozenset()
    missing = sorted(str(u) for u in units - charged)
    return CheckItem("business units not covered", not missing,
                     f"no allocated cost: {', '.join(missing)}" if missing else
                     "every business unit is charged")


def _unallocated_shares(uow: UnitOfWork, run: StoredRun) -> dict[str, float]:
    allocated: dict[str, Decimal] = defaultdict(Decimal)
    gaps: dict[str, Decimal] = defaultdict(Decimal)
    for line in uow.allocation_runs.lines(run.id):
        allocated[line.pool] += abs(line.amount)
    for gap in uow.allocation_runs.gaps(run.id):
        if gap.pool:
            gaps[gap.pool] += abs(gap.amount)
    return {pool: float(gaps[pool] / (gaps[pool] + allocated[pool]))
            for pool in set(allocated) | set(gaps) if gaps[pool] + allocated[pool]}


def complete_review(*, uow: UnitOfWork, subject: str, outcome: str, notes: str
                    ) -> tuple[int, list[CheckItem], Changes]:
    """Record that ``subject`` was reviewed, with the checklist as found, the outcome and
    notes; the calendar's reviewer (if it names one) must be the one completing it."""
    authorize(uow, Permission.REVIEW_RULES, doing="complete rule reviews")
    outcome, notes = check_outcome(outcome, notes)
    due = {d.subject: (d, name) for d, name in _due(uow)}
    if subject not in due:
        raise NotFoundError(f"{subject} is not on the review calendar; subjects: "
                            f"{', '.join(sorted(due)) or 'none (activate a rule set)'}")
    review, name = due[subject]
    if review.reviewer and review.reviewer != uow.actor.login:
        raise PermissionDeniedError(f"the review of {subject} is {review.reviewer}'s; "
                                    f"{uow.actor.login} cannot complete it")
    items = _checklist(uow, name, subject)
    now = uow.clock.now()
    checked: tuple[Any, ...] = tuple([i.item, i.ok, i.finding] for i in items)
    review_id = uow.reviews.add(CompletedReview(0, subject, review.due_on, now.date(),
                                                uow.actor.login, outcome, notes, checked, now))
    record_change(uow, action="review.complete", entity="review", key=subject,
                  before={"due_on": review.due_on, "overdue": review.overdue},
                  after={"id": review_id, "outcome": outcome, "checklist": list(checked)},
                  reason=notes)
    return review_id, items, Changes(frozenset({"review"}), created=1, ids=(str(review_id),))


def history(*, uow: UnitOfWork, subject: str | None = None) -> list[CompletedReview]:
    authorize(uow, Permission.READ, doing="read rule reviews")
    return uow.reviews.list(subject)


__all__ = ["CheckItem", "checklist", "complete_review", "history", "list_reviews",
           "overdue_count"]

"""Rule reviews: quarterly by default from the rule set's activation, overdue on the
dashboard, a checklist found in the stored runs, completion by the named reviewer recorded in
the audit trail (and the next review due a quarter later)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from ledger.errors import InputError, PermissionDeniedError
from ledger.services import reviews
from ledger.services.status import status_summary
from tests.services.test_policy_runs import PolicyCompany, manual, policy

REVIEWED = policy() + """
[reviews]
every_months = 3
reviewer = "dave"

[[reviews.calendar]]
subject = "pool:staff"
reviewer = "carol"
every_months = 1
"""


@pytest.fixture
def company(app, clock) -> PolicyCompany:
    clock.current = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    company = PolicyCompany(app)  # the rule set is activated on 2026-06-01
    company.set_policy(REVIEWED)
    clock.current = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
    return company


def test_reviews_are_due_a_quarter_after_activation_and_overdue_ones_come_first(company) -> None:
    with company.app.uow(read_only=True) as uow:
        found = {d.subject: d for d in reviews.list_reviews(uow=uow)}
        overdue = reviews.overdue_count(uow)
    assert found["ruleset:it"].due_on == date(2026, 9, 1) and found["ruleset:it"].overdue
    assert found["ruleset:it"].reviewer == "dave"
    assert (found["pool:staff"].due_on, found["pool:staff"].reviewer) == (date(2026, 7, 1),
                                                                          "carol")
    assert set(found) == {"ruleset:it", "pool:hardware", "pool:cloud", "pool:overhead",
                          "pool:staff", "pool:tier1"}
    assert overdue == 6


def test_the_checklist_names_rules_that_matched_nothing_and_missing_coverage(company) -> None:
    company.run(costs=[manual("power", "cloud", "100.00")], ruleset="it@1")
    with company.app.uow(read_only=True) as uow:
        items = {i.item: i for i in reviews.checklist(uow=uow, subject="ruleset:it")}
    assert not items["rules that matched nothing"].ok
    assert "M1" in items["rules that matched nothing"].finding
    assert not items["business units not covered"].ok
    assert "IT" in items["business units not covered"].finding
    assert items["drivers still measurable"].ok


def test_completing_a_review_is_audited_and_moves_the_next_due_date(company) -> None:
    with company.as_("carol")() as uow, pytest.raises(PermissionDeniedError, match="dave"):
        reviews.complete_review(uow=uow, subject="ruleset:it", outcome="no_change",
                                notes="checked")
    with company.as_("dave")() as uow, pytest.raises(InputError, match="notes"):
        reviews.complete_review(uow=uow, subject="ruleset:it", outcome="no_change", notes=" ")
    with company.as_("dave")() as uow:
        review_id, items, _ = reviews.complete_review(
            uow=uow, subject="ruleset:it", outcome="changes_needed", notes="M1 matches nothing")
        uow.commit()
    with company.app.uow(read_only=True) as uow:
        found = {d.subject: d for d in reviews.list_reviews(uow=uow)}
        event = [c.event for c in uow.audit.chain() if c.event.action == "review.complete"]
        status = status_summary(uow=uow)
    assert found["ruleset:it"].due_on == date(2027, 2, 27) and not found["ruleset:it"].overdue
    assert found["ruleset:it"].last_completed == date(2026, 11, 27)
    assert [(e.key, e.after["outcome"], e.reason) for e in event] == [
        ("ruleset:it", "changes_needed", "M1 matches nothing")]
    assert len(event[0].after["checklist"]) == len(items) == 4
    assert status["overdue_reviews"] == 5 and review_id >= 1


def test_a_review_done_before_the_tool_counts_from_its_date_and_one_after_it_wins(app) -> None:
    company = PolicyCompany(app)  # rule set activated today, 2026-11-27: nothing due yet
    company.set_policy(policy() + """
[[reviews.calendar]]
subject = "pool:cloud"
reviewer = "dave"
last_reviewed = 2026-05-15
""")
    with company.app.uow(read_only=True) as uow:
        found = {d.subject: d for d in reviews.list_reviews(uow=uow)}
        status = status_summary(uow=uow)
        text = uow.policies.active().text
    assert "last_reviewed = 2026-05-15" in text  # kept in the saved version
    assert (found["pool:cloud"].due_on, found["pool:cloud"].overdue) == (date(2026, 8, 15), True)
    assert found["pool:cloud"].last_completed == date(2026, 5, 15)
    assert not found["ruleset:it"].overdue and status["overdue_reviews"] == 1
    with company.as_("dave")() as uow:
        reviews.complete_review(uow=uow, subject="pool:cloud", outcome="no_change",
                                notes="split still right")
        uow.commit()
    with company.app.uow(read_only=True) as uow:
        found = {d.subject: d for d in reviews.list_reviews(uow=uow)}
    assert (found["pool:cloud"].due_on, found["pool:cloud"].overdue) == (date(2027, 2, 27), False)

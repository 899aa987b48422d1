"""Use cases of disputes: a cost owner disputes a charge line, a cost analyst reviews it and
accepts it (drafting and submitting the correcting journal, which another person approves) or
rejects it with an answer; and the dispute report with the rates per period, pool and rule.

Whoever raised a dispute may not decide it (maker-checker, as for journals).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ledger.access import Permission
from ledger.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from ledger.money import to_decimal
from ledger.ports import UnitOfWork
from ledger.reports.disputes import (
    Dispute,
    DisputeStatus,
    check_correction,
    correcting_entry,
    dispute_rates,
)
from ledger.services.base import Changes, authorize, record_change
from ledger.services.journals import draft_journal, submit_journal
from ledger.services.reports import current_lines, current_run

ENTITY = "dispute"


def _text(value: str | None, what: str) -> str:
    if not value or not value.strip():
        raise InputError(f"{what} is needed", field=what)
    return value.strip()


def open_dispute(*, uow: UnitOfWork, period: str, cost_centre: str, pool: str, rule: str,
                 reason: str, currency: str | None = None) -> Changes:
    """Dispute the charge of ``cost_centre`` by ``pool``/``rule`` in ``period``'s run."""
    authorize(uow, Permission.RAISE_DISPUTES, doing="raise disputes")
    reason = _text(reason, "reason")
    run = current_run(uow, period)
    lines = [li for li in uow.allocation_runs.lines(run.id)
             if (li.cost_centre, li.pool, li.rule) == (cost_centre, pool, rule)
             and (currency is None or li.currency == currency.upper())]
    if not lines:
        raise NotFoundError(f"run {run.id} ({period}) charged {cost_centre} nothing by "
                            f"{pool}/{rule}; see: apportion report statement --cost-centre "
                            f"{cost_centre} --period {period}")
    currencies = sorted({li.currency for li in lines})
    if len(currencies) > 1:
        raise InputError(f"the line is in {', '.join(currencies)}: say which with --currency",
                         field="currency")
    dispute = Dispute(0, period, run.id, cost_centre, pool, rule, currencies[0],
                      sum((li.amount for li in lines), Decimal(0)), reason, DisputeStatus.OPEN,
                      uow.actor.login, uow.clock.now())
    dispute_id = uow.disputes.add(dispute)
    record_change(uow, action="dispute.open", entity=ENTITY, key=str(dispute_id),
                  after=dispute, reason=reason)
    return Changes(frozenset({ENTITY}), created=1, ids=(dispute_id,))


def list_disputes(*, uow: UnitOfWork, period: str | None = None, status: str | None = None,
                  cost_centre: str | None = None) -> list[Dispute]:
    authorize(uow, Permission.READ, doing="list disputes")
    if status is not None:
        status = _status(status).value
    return uow.disputes.list(period=period, status=status, cost_centre=cost_centre)


def _status(text: str) -> DisputeStatus:
    try:
        return DisputeStatus(text.strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError:
        allowed = ", ".join(s.value for s in DisputeStatus)
        raise InputError(f"unknown dispute status {text!r}; use one of {allowed}",
                         field="status", value=text) from None


def _load(uow: UnitOfWork, dispute_id: int) -> Dispute:
    authorize(uow, Permission.REVIEW_DISPUTES, doing="review disputes")
    dispute = uow.disputes.get(dispute_id)
    if dispute is None:
        raise NotFoundError(f"dispute {dispute_id} does not exist; see: apportion disputes list")
    if dispute.raised_by == uow.actor.login:
        raise PermissionDeniedError(f"{uow.actor.login} raised dispute {dispute_id} and cannot "
                                    "also decide it; ask another cost analyst")
    return dispute


def _move(uow: UnitOfWork, dispute: Dispute, to: DisputeStatus, *, reason: str | None,
          **fields: Any) -> Changes:
    dispute.require(to)
    uow.disputes.transition(dispute.id, expected=dispute.status, to=to,
                            reviewed_by=uow.actor.login, **fields)
    record_change(uow, action=f"dispute.{to.value}", entity=ENTITY, key=str(dispute.id),
                  before={"status": dispute.status},
                  after={"status": to, "reviewed_by": uow.actor.login, **fields}, reason=reason)
    return Changes(frozenset({ENTITY}), updated=1, ids=(dispute.id,))


def review(*, uow: UnitOfWork, dispute_id: int) -> Changes:
    """Take a dispute under review (the owner sees someone is on it)."""
    return _move(uow, _load(uow, dispute_id), DisputeStatus.UNDER_REVIEW, reason=None)


def reject(*, uow: UnitOfWork, dispute_id: int, answer: str) -> Changes:
    """Reject a dispute with the answer the owner reads."""
    answer = _text(answer, "answer")
    return _move(uow, _load(uow, dispute_id), DisputeStatus.REJECTED, reason=answer,
                 answer=answer, decided_at=uow.clock.now())


def _entry_date(uow: UnitOfWork, period: str):
    """The period's last day while it is open, else today (a closed period is not reopened
    for a correction: the correction falls in the current period)."""
    stored = uow.periods.get(period)
    if stored is not None and stored.is_open:
        return stored.end
    return uow.clock.now().date()


def accept(*, uow: UnitOfWork, dispute_id: int, correction: Decimal | str, answer: str
           ) -> Changes:
    """Accept a dispute with a correction: the correcting journal is drafted and submitted by
    the reviewer, and approved by an approver like any journal."""
    dispute = _load(uow, dispute_id)
    answer = _text(answer, "answer")
    amount = check_correction(dispute, to_decimal(correction))
    dispute.require(DisputeStatus.ACCEPTED)
    run = uow.allocation_runs.get(dispute.run_id)
    version = uow.rulesets.get(run.ruleset_name, run.ruleset_version) if run else None
    if version is None:
        raise NotFoundError(f"the rule set of run {dispute.run_id} is gone")
    ruleset = version.ruleset()
    pool = next((p for p in ruleset.pools if p.id == dispute.pool), None)
    lines = [li for li in uow.allocation_runs.lines(dispute.run_id)
             if (li.cost_centre, li.pool, li.rule) == (dispute.cost_centre, dispute.pool,
                                                       dispute.rule)]
    if lines and not any(li.charged for li in lines):
        raise ConflictError(f"dispute {dispute.id} is of a showback line, which no journal "
                            "charged: there is nothing to correct; reject it with the answer, "
                            "or change the model")
    line = lines[0] if lines else None
    entry = correcting_entry(
        dispute, correction=amount,
        expense_account=line.account if line else ruleset.expense_account,
        recovery_account=ruleset.recovery_account,
        pool_owner=pool.owner if pool else ruleset.central_cost_centre,
        entry_date=_entry_date(uow, dispute.period))
    journal_id = draft_journal(uow=uow, entry=entry)
    submit_journal(uow=uow, journal_id=journal_id)
    changes = _move(uow, dispute, DisputeStatus.ACCEPTED, reason=answer, answer=answer,
                    correction=amount, journal_id=journal_id, decided_at=uow.clock.now())
    return changes + Changes(frozenset({"journal"}), created=1, ids=(journal_id,))


def dispute_report(*, uow: UnitOfWork, period: str | None = None) -> dict[str, Any]:
    """The disputes (of ``period``, or all) with their correcting journals' status, and the
    dispute rates per period, pool and rule."""
    authorize(uow, Permission.READ, doing="read the dispute report")
    lines = current_lines(uow)
    if period is not None:
        lines = {p: ls for p, ls in lines.items() if p == period}
    disputes = uow.disputes.list(period=period)
    journals = {}
    for dispute in disputes:
        if dispute.journal_id is not None:
            journal = uow.journals.load(dispute.journal_id)
            journals[dispute.id] = journal.status.value if journal else "deleted"
    return {"period": period, "disputes": disputes, "journal_status": journals,
            "rates": dispute_rates(lines, disputes)}

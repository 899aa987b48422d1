"""Use cases for the fiscal calendar: extending it, closing and reopening periods."""

from __future__ import annotations

from datetime import date, datetime

from ledger.access import Permission
from ledger.audit import ChainHead
from ledger.calendar import Period, PeriodStatus, current_period, parse_period_key
from ledger.errors import InputError, NotFoundError, PeriodClosedError
from ledger.ports import UnitOfWork
from ledger.services.base import Changes, authorize, record_change
from ledger.services.reference_data import fiscal_calendar


def list_periods(*, uow: UnitOfWork) -> list[Period]:
    authorize(uow, Permission.READ, doing="list periods")
    return uow.periods.list()


def get_current_period(*, uow: UnitOfWork) -> Period | None:
    """The period being worked on (see :func:`ledger.calendar.current_period`)."""
    authorize(uow, Permission.READ, doing="read the current period")
    return current_period(uow.periods.list(), uow.clock.now().date())


def extend_calendar(*, uow: UnitOfWork, first: date, last: date) -> Changes:
    """Create the missing periods from ``first`` to ``last``, open.

    Called by every service that writes dated data, so the calendar covers what is imported. An
    existing period keeps its status: a closed period is never reopened implicitly.
    """
    calendar = fiscal_calendar(uow=uow)
    created: list[str] = []
    for period in calendar.periods_between(first, last):
        if uow.periods.get(period.key) is None:
            uow.periods.add(period)
            record_change(uow, action="period.create", entity="period", key=period.key,
                          after=period)
            created.append(period.key)
    return Changes(frozenset({"period"}) if created else frozenset(), created=len(created),
                   ids=tuple(created))


def require_open_period(*, uow: UnitOfWork, day: date) -> Period:
    """The open period containing ``day``, creating it if the calendar does not reach it yet.

    Raises :class:`PeriodClosedError` when that period is closed.
    """
    extend_calendar(uow=uow, first=day, last=day)
    period = uow.periods.get(fiscal_calendar(uow=uow).period_containing(day).key)
    assert period is not None
    if not period.is_open:
        raise PeriodClosedError(
            f"period {period.key} is closed; a controller can reopen it with: "
            f"apportion periods reopen {period.key} --reason \"...\""
        )
    return period


def _existing(uow: UnitOfWork, key: str) -> Period:
    year, month = parse_period_key(key)
    period = uow.periods.get(f"{year:04d}-{month:02d}")
    if period is None:
        raise NotFoundError(f"period {key} does not exist; see: apportion periods list")
    return period


def close_period(*, uow: UnitOfWork, period: str, reason: str | None = None) -> Changes:
    """Close a period: nothing more may be written into it. Closing it again changes nothing."""
    authorize(uow, Permission.CLOSE_PERIODS, doing="close a period")
    before = _existing(uow, period)
    if not before.is_open:
        return Changes(frozenset({"period"}), unchanged=1)
    uow.periods.set_status(before.key, PeriodStatus.CLOSED)
    record_change(uow, action="period.close", entity="period", key=before.key, before=before,
                  after=before.with_status(PeriodStatus.CLOSED), reason=reason)
    # The head after the close event itself: the caller records it outside the database, it is
    # kept per close here, and the next ERP postings carry it (see posting_anchor).
    head = uow.audit.head()
    uow.close_heads.record(before.key, head, uow.clock.now(), uow.actor.login)
    return Changes(frozenset({"period"}), updated=1, ids=(before.key, str(head)))


def reopen_period(*, uow: UnitOfWork, period: str, reason: str) -> Changes:
    """Reopen a closed period; needs the permission and a reason, which the audit trail keeps."""
    authorize(uow, Permission.REOPEN_PERIODS, doing="reopen a period")
    if not reason or not reason.strip():
        raise InputError("reopening a period needs a reason (--reason \"...\")", field="reason")
    before = _existing(uow, period)
    if before.is_open:
        return Changes(frozenset({"period"}), unchanged=1)
    uow.periods.set_status(before.key, PeriodStatus.OPEN)
    record_change(uow, action="period.reopen", entity="period", key=before.key, before=before,
                  after=before.with_status(PeriodStatus.OPEN), reason=reason.strip())
    return Changes(frozenset({"period"}), updated=1, ids=(before.key,))


#: Characters of the head's hash a posting's header text carries (SAP's header text holds 25).
SHORT_HASH = 8


def short_head(head: ChainHead) -> str:
    """The short form of an audit head for an ERP header text: ``SEQUENCE:HASH8``."""
    return f"{head.sequence}:{head.hash[:SHORT_HASH]}"


def posting_anchor(uow: UnitOfWork, journal_id: int) -> str | None:
    """The short audit head a journal's ERP document carries, fixed at its first send.

    It is the head recorded at the latest period close before that send, so the ERP, a system
    outside our database, keeps a copy of every close's head in the documents that follow it:
    cutting events off the end of our chain then disagrees with the ERP. The full head is kept
    per journal (the posting log); a resend reuses it, so every attempt is the same request.
    None before any period was ever closed.
    """
    stored = uow.posting_anchors.get(journal_id)
    if stored is not None:
        return stored[2]
    latest = uow.close_heads.latest()
    if latest is None:
        return None
    period, head = latest
    short = short_head(head)
    uow.posting_anchors.set(journal_id, period, head, short)
    return short


def close_heads(*, uow: UnitOfWork, period: str | None = None
                ) -> list[tuple[str, ChainHead, datetime, str]]:
    """Every head recorded at a close (period, head, when, by whom), oldest first."""
    authorize(uow, Permission.READ_AUDIT, doing="read the heads recorded at close")
    return uow.close_heads.list(period)

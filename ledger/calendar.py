"""The fiscal calendar: monthly accounting periods grouped into fiscal years.

A period is one calendar month, named by its key ``YYYY-MM``. A fiscal year starts on the first
day of a configurable month and is named by the calendar year in which it *ends* (a fiscal year
running July 2026 to June 2027 is FY2027); with a January start the fiscal year is the calendar
year. Periods are open or closed; nothing may be written into a closed period, and a closed period
is only ever reopened explicitly, by someone allowed to, with a reason.
"""

from __future__ import annotations

import calendar as _gregorian
import enum
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date

from ledger.errors import InputError

_PERIOD_KEY = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def parse_period_key(key: str) -> tuple[int, int]:
    """``"2026-03"`` -> ``(2026, 3)``; raises :class:`InputError` for anything else."""
    match = _PERIOD_KEY.match(key.strip()) if isinstance(key, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InputError(f"{key!r} is not a period; write it as YYYY-MM, e.g. 2026-03",
                         field="period", value=key)
    return int(match.group(1)), int(match.group(2))


def period_key_of(day: date) -> str:
    """The key of the period that contains ``day``."""
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True, slots=True)
class FiscalCalendar:
    """How months group into fiscal years.

    Attributes:
        start_month: the calendar month (1-12) in which each fiscal year begins.
    """

    start_month: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.start_month <= 12:
            raise InputError("the fiscal year must start in a month from 1 to 12",
                             field="fiscal_year_start_month", value=self.start_month)

    def fiscal_year_of(self, day: date) -> int:
        """The fiscal year containing ``day``, named by the calendar year in which it ends."""
        if self.start_month == 1 or day.month < self.start_month:
            return day.year
        return day.year + 1

    def period_number_of(self, day: date) -> int:
        """1 for the first month of the fiscal year, 12 for the last."""
        return (day.month - self.start_month) % 12 + 1

    def period(self, key: str, status: PeriodStatus = PeriodStatus.OPEN) -> Period:
        year, month = parse_period_key(key)
        start = date(year, month, 1)
        end = date(year, month, _gregorian.monthrange(year, month)[1])
        return Period(
            key=f"{year:04d}-{month:02d}",
            start=start,
            end=end,
            fiscal_year=self.fiscal_year_of(start),
            number=self.period_number_of(start),
            status=status,
        )

    def period_containing(self, day: date) -> Period:
        return self.period(period_key_of(day))

    def periods_between(self, first: date, last: date) -> Iterator[Period]:
        """Every period from the one containing ``first`` to the one containing ``last``."""
        if last < first:
            first, last = last, first
        year, month = first.year, first.month
        while (year, month) <= (last.year, last.month):
            yield self.period(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def fiscal_year_periods(self, fiscal_year: int) -> list[Period]:
        """The twelve periods of ``fiscal_year``."""
        first_year = fiscal_year if self.start_month == 1 else fiscal_year - 1
        first = date(first_year, self.start_month, 1)
        last_month = (self.start_month - 2) % 12 + 1
        last_year = first_year if last_month >= self.start_month else first_year + 1
        return list(self.periods_between(first, date(last_year, last_month, 1)))


@dataclass(frozen=True, slots=True)
class Period:
    """One accounting period (a calendar month).

    Attributes:
        key: ``YYYY-MM``.
        start, end: first and last day, inclusive.
        fiscal_year: named by the calendar year in which the fiscal year ends.
        number: 1-12 within the fiscal year.
        status: open or closed.
    """

    key: str
    start: date
    end: date
    fiscal_year: int
    number: int
    status: PeriodStatus = PeriodStatus.OPEN

    @property
    def is_open(self) -> bool:
        return self.status is PeriodStatus.OPEN

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def with_status(self, status: PeriodStatus) -> Period:
        return replace(self, status=status)


def current_period(periods: Iterable[Period], today: date) -> Period | None:
    """The period being worked on: the open period containing ``today``; else the latest open
    period before today (a month-end still in progress); else the earliest open period."""
    open_periods = sorted((p for p in periods if p.is_open), key=lambda p: p.key)
    if not open_periods:
        return None
    for period in open_periods:
        if period.contains(today):
            return period
    earlier = [p for p in open_periods if p.end < today]
    return earlier[-1] if earlier else open_periods[0]

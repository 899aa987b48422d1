"""Fiscal months and years as integer indexes, so that period arithmetic is exact.

A fiscal month starts on the fiscal-year start day (1 unless configured otherwise) of a calendar
month; month index ``i`` is the fiscal month starting in calendar month ``i % 12 + 1`` of year
``i // 12``. A fiscal year is the twelve fiscal months from the fiscal-year start month and is
named by the calendar year of its last day (a year starting 2025-07-01 is fiscal year 2026;
with the default 01-01 start, fiscal year = calendar year).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from .terms import FiscalYearStart


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end (Jan 31 + 1 -> Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def month_index(day: date, start: FiscalYearStart) -> int:
    """Index of the fiscal month that contains ``day``."""
    index = day.year * 12 + day.month - 1
    return index if day.day >= start.day else index - 1


def month_start(index: int, start: FiscalYearStart) -> date:
    """First day of fiscal month ``index``."""
    year, month = divmod(index, 12)
    return date(year, month + 1, start.day)


def month_end(index: int, start: FiscalYearStart) -> date:
    """Last day of fiscal month ``index`` (inclusive)."""
    return month_start(index + 1, start) - timedelta(days=1)


def year_start_index(index: int, start: FiscalYearStart) -> int:
    """Month index of the first month of the fiscal year that contains month ``index``."""
    return index - (index - (start.month - 1)) % 12


def fiscal_year_name(index: int, start: FiscalYearStart) -> int:
    """Name of the fiscal year containing month ``index``: the calendar year it ends in."""
    return month_end(year_start_index(index, start) + 11, start).year

"""Depreciation: a pure schedule engine (no database, no I/O), exact to the minor unit.

Build :class:`DepreciationTerms` (validated on construction), call :func:`build_schedule`, and
get a :class:`Schedule` of per-period rows whose amounts sum exactly to cost - salvage, never take
the net book value below salvage, and stop at full depreciation. :func:`schedule_as_dict` gives
the JSON form. Changes after the asset is placed in service (:func:`change_estimate`,
:func:`impair`, :func:`dispose`, :func:`split_by_days`) are pure functions on a schedule.

Fiscal years are named by the calendar year they end in (with a 07-01 start, 2025-07-01 to
2026-06-30 is fiscal year 2026; with the default 01-01 start the names are calendar years).
Yearly schedules have one row per fiscal year, monthly schedules one per fiscal month (calendar
months unless the fiscal year starts on a day other than the 1st). See
:mod:`ledger.depreciation.schedule` for how amounts are computed, spread over months and rounded.
"""

from .events import Disposal, change_estimate, dispose, impair, split_by_days
from .schedule import Revision, Schedule, ScheduleRow, build_schedule, schedule_as_dict
from .terms import (
    VALID_CONVENTIONS,
    Convention,
    DepreciationError,
    DepreciationTerms,
    FiscalYearStart,
    Frequency,
    Method,
)

__all__ = [
    "VALID_CONVENTIONS",
    "Convention",
    "DepreciationError",
    "DepreciationTerms",
    "Disposal",
    "FiscalYearStart",
    "Frequency",
    "Method",
    "Revision",
    "Schedule",
    "ScheduleRow",
    "build_schedule",
    "change_estimate",
    "dispose",
    "impair",
    "schedule_as_dict",
    "split_by_days",
]

"""The fiscal calendar: periods, fiscal years and the period being worked on."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.calendar import FiscalCalendar, PeriodStatus, current_period
from ledger.errors import InputError


def test_a_calendar_year_calendar_names_the_fiscal_year_after_the_calendar_year() -> None:
    period = FiscalCalendar(1).period("2026-03")
    assert (period.start, period.end, period.fiscal_year, period.number) == (
        date(2026, 3, 1), date(2026, 3, 31), 2026, 3)


def test_a_july_fiscal_year_is_named_by_the_year_in_which_it_ends() -> None:
    calendar = FiscalCalendar(7)
    assert calendar.period("2026-07").fiscal_year == 2027
    assert calendar.period("2026-07").number == 1
    assert calendar.period("2027-06").fiscal_year == 2027
    assert calendar.period("2027-06").number == 12
    assert [p.key for p in calendar.fiscal_year_periods(2027)][::11] == ["2026-07", "2027-06"]


def test_february_ends_on_the_right_day_in_a_leap_year() -> None:
    assert FiscalCalendar().period("2028-02").end == date(2028, 2, 29)


def test_periods_between_covers_every_month_across_a_year_end() -> None:
    keys = [p.key for p in FiscalCalendar().periods_between(date(2025, 11, 15),
                                                            date(2026, 2, 1))]
    assert keys == ["2025-11", "2025-12", "2026-01", "2026-02"]


@pytest.mark.parametrize("key", ["2026-13", "2026-3", "26-03", "March", ""])
def test_a_malformed_period_key_is_refused_with_the_expected_form(key: str) -> None:
    with pytest.raises(InputError, match="YYYY-MM"):
        FiscalCalendar().period(key)


def test_the_current_period_is_the_open_one_containing_today() -> None:
    calendar = FiscalCalendar()
    periods = [calendar.period(f"2026-{m:02d}") for m in range(1, 13)]
    assert current_period(periods, date(2026, 11, 27)).key == "2026-11"


def test_after_the_last_period_the_latest_open_one_is_current() -> None:
    calendar = FiscalCalendar()
    periods = [calendar.period("2026-09"), calendar.period("2026-10", PeriodStatus.CLOSED)]
    assert current_period(periods, date(2026, 11, 27)).key == "2026-09"
    assert current_period([calendar.period("2027-01")], date(2026, 11, 27)).key == "2027-01"
    assert current_period([], date(2026, 11, 27)) is None

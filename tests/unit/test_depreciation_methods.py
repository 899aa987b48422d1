"""Depreciation methods, conventions, fiscal years and input validation: textbook cases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from ledger.depreciation import (
    VALID_CONVENTIONS,
    Convention,
    DepreciationError,
    DepreciationTerms,
    Frequency,
    Method,
    build_schedule,
    schedule_as_dict,
)
from ledger.depreciation.schedule import round_exact

D = Decimal


def terms(**given: object) -> DepreciationTerms:
    defaults: dict[str, object] = {"cost": D("10000.00"), "placed_in_service": date(2026, 1, 1),
                                   "method": Method.STRAIGHT_LINE, "currency": "USD"}
    return DepreciationTerms(**(defaults | given))  # type: ignore[arg-type]


def amounts(schedule_terms: DepreciationTerms) -> list[Decimal]:
    return [row.amount for row in build_schedule(schedule_terms).rows]


def per_fiscal_year(schedule_terms: DepreciationTerms) -> dict[int, Decimal]:
    totals: dict[int, Decimal] = {}
    for row in build_schedule(schedule_terms).rows:
        totals[row.fiscal_year] = totals.get(row.fiscal_year, D(0)) + row.amount
    return totals


# -- straight line ---------------------------------------------------------------------------

def test_straight_line_spreads_cost_less_salvage_evenly() -> None:
    schedule = build_schedule(terms(salvage=D("1000"), life_years=5))
    assert [row.amount for row in schedule.rows] == [D("1800.00")] * 5
    assert schedule.rows[-1].net_book_value == D("1000.00")
    assert schedule.total == D("9000.00")


def test_straight_line_placed_in_service_mid_year_runs_into_a_sixth_year() -> None:
    assert amounts(terms(salvage=D("1000"), life_years=5,
                         placed_in_service=date(2026, 4, 20))) == [
        D("1350.00"), D("1800.00"), D("1800.00"), D("1800.00"), D("1800.00"), D("450.00")]


def test_salvage_as_a_percent_of_cost() -> None:
    schedule = build_schedule(terms(salvage_percent=D("10"), life_years=5))
    assert schedule.salvage == D("1000.00")
    assert schedule.total == D("9000.00")


def test_each_year_is_rounded_and_the_last_absorbs_the_rest() -> None:
    assert amounts(terms(life_years=3)) == [D("3333.33"), D("3333.33"), D("3333.34")]


def test_months_share_their_year_by_largest_remainder_earlier_months_first() -> None:
    schedule = build_schedule(terms(cost=D("100.00"), life_months=3,
                                    frequency=Frequency.MONTHLY))
    assert [row.amount for row in schedule.rows] == [D("33.34"), D("33.33"), D("33.33")]
    assert [row.accumulated for row in schedule.rows] == [D("33.34"), D("66.67"), D("100.00")]


def test_no_month_carries_its_years_rounding() -> None:
    schedule = build_schedule(terms(life_years=3, frequency=Frequency.MONTHLY))
    months = [row.amount for row in schedule.rows]
    assert months[:12] == [D("277.78")] * 9 + [D("277.77")] * 3  # the year's 3333.33
    assert months[24:] == [D("277.78")] * 10 + [D("277.77")] * 2  # the last year's 3333.34
    assert sum(months) == D("10000.00")


def test_zero_decimal_currency_rounds_to_whole_yen() -> None:
    schedule = build_schedule(terms(cost=D("100000"), life_months=7, currency="JPY",
                                    frequency=Frequency.MONTHLY))
    assert all(row.amount == row.amount.to_integral() for row in schedule.rows)
    assert schedule.total == D("100000")
    assert schedule_as_dict(schedule)["total"] == "100000"


def test_cost_finer_than_the_currency_is_refused() -> None:
    with pytest.raises(DepreciationError) as caught:
        terms(cost="100.001", life_years=5)
    assert caught.value.field == "cost"


def test_salvage_above_cost_is_refused_with_a_one_line_message() -> None:
    with pytest.raises(DepreciationError) as caught:
        terms(salvage=D("12000"), life_years=5)
    assert caught.value.field == "salvage"
    assert caught.value.message == "salvage 12000 is above cost 10000"


def test_salvage_equal_to_cost_leaves_nothing_to_depreciate() -> None:
    schedule = build_schedule(terms(salvage=D("10000"), life_years=5))
    assert schedule.rows == ()
    assert schedule_as_dict(schedule) == {"schedule": [], "total": "0.00"}


@pytest.mark.parametrize(("given", "field"), [
    ({"life_years": 5, "cost": 0}, "cost"),
    ({"life_years": 5, "cost": 12.5}, "cost"),  # a float never becomes money
    ({"life_years": 5, "salvage": -1}, "salvage"),
    ({}, "life_years"),
    ({"life_years": 5, "life_months": 60}, "life_months"),
    ({"life_years": D("2.41")}, "life_years"),
    ({"life_years": 5, "method": "reducing"}, "method"),
    ({"life_years": 5, "currency": "dollars"}, "currency"),
    ({"life_years": 5, "fiscal_year_start": "07-31"}, "fiscal_year_start"),
    ({"life_years": 5, "frequency": "weekly"}, "frequency"),
    ({"life_months": 6, "convention": "half_year"}, "life_months"),
    ({"life_years": 5, "method": "declining_balance", "factor": 0}, "factor"),
    ({"life_years": 5, "method": "written_down_value"}, "annual_rate"),
    ({"life_years": 5, "method": "written_down_value", "annual_rate": 25}, "annual_rate"),
    ({"life_months": 30, "method": "sum_of_years_digits"}, "life_months"),
    ({"method": "units_of_production"}, "expected_units"),
    ({"method": "units_of_production", "expected_units": 10, "units_per_period": (-1,)},
     "units_per_period"),
    ({"method": "units_of_production", "expected_units": 10, "convention": "full_month"},
     "convention"),
    ({"method": "manual", "manual_amounts": ("5000", "4000")}, "manual_amounts"),
    ({"method": "manual", "manual_amounts": ("10000.005",)}, "manual_amounts"),
])
def test_invalid_input_names_the_field(given: dict[str, object], field: str) -> None:
    with pytest.raises(DepreciationError) as caught:
        terms(**given)
    assert caught.value.field == field
    assert "\n" not in str(caught.value)


def test_the_valid_method_and_convention_pairs() -> None:
    assert VALID_CONVENTIONS[Method.MACRS] == (Convention.HALF_YEAR, Convention.MID_QUARTER)
    assert VALID_CONVENTIONS[Method.UNITS_OF_PRODUCTION] == ()
    assert VALID_CONVENTIONS[Method.MANUAL] == ()
    assert set(VALID_CONVENTIONS[Method.STRAIGHT_LINE]) == set(Convention)


# -- conventions -----------------------------------------------------------------------------

CONVENTION_CASES = {
    # 24000 over 24 months from 2026-03-15: 1000 a month.
    Convention.FULL_MONTH: [D("10000.00"), D("12000.00"), D("2000.00")],
    Convention.MID_MONTH: [D("9500.00"), D("12000.00"), D("2500.00")],
    Convention.HALF_YEAR: [D("6000.00"), D("12000.00"), D("6000.00")],
    Convention.MID_QUARTER: [D("10500.00"), D("12000.00"), D("1500.00")],
    # 731 days from 2026-03-15 to 2028-03-15: 292, 365 and 74 of them.
    Convention.DAILY: [D("9586.87"), D("11983.58"), D("2429.55")],
}


@pytest.mark.parametrize("convention", list(CONVENTION_CASES))
def test_each_convention_places_the_first_and_last_year(convention: Convention) -> None:
    given = terms(cost=D("24000"), life_months=24, placed_in_service=date(2026, 3, 15),
                  convention=convention)
    assert amounts(given) == CONVENTION_CASES[convention]


def test_mid_month_takes_half_a_month_first_and_last() -> None:
    schedule = build_schedule(terms(cost=D("24000"), life_months=24, convention="mid_month",
                                    placed_in_service=date(2026, 3, 15), frequency="monthly"))
    assert schedule.rows[0].amount == D("500.00")
    assert schedule.rows[-1].amount == D("500.00")
    assert schedule.rows[-1].period_start == date(2028, 3, 1)
    assert len(schedule.rows) == 25


def test_daily_months_get_actual_days_over_days_in_life() -> None:
    schedule = build_schedule(terms(cost=D("731.00"), life_months=24, convention="daily",
                                    placed_in_service=date(2026, 3, 15), frequency="monthly"))
    assert schedule.rows[0].amount == D("17.00")  # 15..31 March
    assert schedule.rows[1].amount == D("30.00")  # April
    assert schedule.rows[-1].amount == D("14.00")  # 1..14 March 2028


def test_half_year_monthly_spreads_the_half_year_over_the_months_in_service() -> None:
    schedule = build_schedule(terms(cost=D("24000"), life_months=24, convention="half_year",
                                    placed_in_service=date(2026, 3, 15), frequency="monthly"))
    first_year = [row.amount for row in schedule.rows if row.fiscal_year == 2026]
    assert first_year == [D("600.00")] * 10
    assert [row.amount for row in schedule.rows if row.fiscal_year == 2028] == [D("1000.00")] * 6


# -- fiscal years ------------------------------------------------------------------------------

def test_fiscal_year_is_named_by_the_year_it_ends_in() -> None:
    schedule = build_schedule(terms(life_years=2, placed_in_service=date(2026, 3, 15),
                                    fiscal_year_start="07-01"))
    first = schedule.rows[0]
    assert (first.fiscal_year, first.period_start, first.period_end) == (
        2026, date(2025, 7, 1), date(2026, 6, 30))
    assert first.amount == D("1666.67")  # March to June: 4 of 24 months
    assert [row.fiscal_year for row in schedule.rows] == [2026, 2027, 2028]


def test_fiscal_year_starting_mid_month_has_fiscal_months() -> None:
    schedule = build_schedule(terms(cost=D("1200"), life_months=12, fiscal_year_start="04-06",
                                    placed_in_service=date(2026, 4, 6), frequency="monthly"))
    assert (schedule.rows[0].period_start, schedule.rows[0].period_end) == (
        date(2026, 4, 6), date(2026, 5, 5))
    assert {row.fiscal_year for row in schedule.rows} == {2027}
    assert schedule.rows[-1].period_end == date(2027, 4, 5)


def test_fiscal_year_naming_agrees_with_the_ledger_calendar() -> None:
    calendar = pytest.importorskip("ledger.calendar")
    fiscal_calendar = calendar.FiscalCalendar(start_month=7)
    schedule = build_schedule(terms(life_years=3, placed_in_service=date(2026, 1, 10),
                                    fiscal_year_start="07-01", frequency="monthly"))
    for row in schedule.rows:
        assert row.fiscal_year == fiscal_calendar.fiscal_year_of(row.period_start)


# -- declining balance -------------------------------------------------------------------------

def test_double_declining_balance_stops_at_the_salvage_floor() -> None:
    schedule = build_schedule(terms(method="declining_balance", factor=2, life_years=5,
                                    salvage=D("2000")))
    assert [row.amount for row in schedule.rows] == [
        D("4000.00"), D("2400.00"), D("1440.00"), D("160.00")]
    assert schedule.rows[-1].net_book_value == D("2000.00")


def test_double_declining_balance_switches_to_straight_line_when_that_gives_more() -> None:
    assert amounts(terms(method="declining_balance", life_years=5)) == [
        D("4000.00"), D("2400.00"), D("1440.00"), D("1080.00"), D("1080.00")]


def test_declining_balance_without_switch_writes_off_the_rest_in_the_last_year() -> None:
    assert amounts(terms(method="declining_balance", life_years=5, salvage=D("1000"),
                         switch_to_straight_line=False)) == [
        D("4000.00"), D("2400.00"), D("1440.00"), D("864.00"), D("296.00")]


def test_150_percent_declining_balance_half_year_matches_macrs_15_year_to_the_cent() -> None:
    # MACRS 15-year is 150 % DB, half-year, switching to SL: the first years agree exactly.
    schedule = build_schedule(terms(cost=D("100000"), method="declining_balance",
                                    factor=D("1.5"), life_years=15, convention="half_year"))
    assert [row.amount for row in schedule.rows[:4]] == [
        D("5000.00"), D("9500.00"), D("8550.00"), D("7695.00")]


# -- sum of the years' digits, written-down value, units of production, manual --------------

def test_sum_of_years_digits_textbook() -> None:
    assert amounts(terms(cost=D("16000"), salvage=D("1000"), method="sum_of_years_digits",
                         life_years=5)) == [
        D("5000.00"), D("4000.00"), D("3000.00"), D("2000.00"), D("1000.00")]


def test_sum_of_years_digits_mid_year_shares_each_asset_year_between_fiscal_years() -> None:
    assert amounts(terms(cost=D("16000"), salvage=D("1000"), method="sum_of_years_digits",
                         life_years=5, placed_in_service=date(2026, 7, 1))) == [
        D("2500.00"), D("4500.00"), D("3500.00"), D("2500.00"), D("1500.00"), D("500.00")]


def test_written_down_value_at_a_fixed_rate_writes_down_to_salvage_at_end_of_life() -> None:
    assert amounts(terms(method="written_down_value", annual_rate=D("0.25"), life_years=5,
                         salvage=D("1000"))) == [
        D("2500.00"), D("1875.00"), D("1406.25"), D("1054.69"), D("2164.06")]


def test_units_of_production_follows_actual_units() -> None:
    schedule = build_schedule(terms(cost=D("50000"), salvage=D("5000"),
                                    method="units_of_production", expected_units=100000,
                                    units_per_period=(20000, 30000, 25000, 25000)))
    assert [row.amount for row in schedule.rows] == [
        D("9000.00"), D("13500.00"), D("11250.00"), D("11250.00")]


def test_units_of_production_stops_once_the_expected_units_are_used() -> None:
    schedule = build_schedule(terms(cost=D("50000"), salvage=D("5000"),
                                    method="units_of_production", expected_units=100000,
                                    units_per_period=(20000, 30000, 40000, 30000, 9000)))
    assert [row.amount for row in schedule.rows] == [
        D("9000.00"), D("13500.00"), D("18000.00"), D("4500.00")]
    assert schedule.rows[-1].net_book_value == D("5000.00")


def test_units_of_production_to_date_is_a_partial_schedule() -> None:
    schedule = build_schedule(terms(method="units_of_production", expected_units=3,
                                    units_per_period=(1,), frequency="monthly"))
    assert [row.amount for row in schedule.rows] == [D("3333.33")]


def test_manual_schedule_keeps_the_given_amounts() -> None:
    schedule = build_schedule(terms(method="manual", salvage=D("1000"), frequency="monthly",
                                    manual_amounts=("0", "4500", "4500", "0")))
    assert [row.amount for row in schedule.rows] == [D("0.00"), D("4500.00"), D("4500.00")]
    assert schedule.rows[1].period_start == date(2026, 2, 1)


# -- monthly and yearly agree ------------------------------------------------------------------

@pytest.mark.parametrize("method", ["straight_line", "declining_balance",
                                    "sum_of_years_digits", "written_down_value"])
@pytest.mark.parametrize("convention", list(Convention))
def test_monthly_rows_sum_to_the_yearly_rows(method: str, convention: Convention) -> None:
    given = {"cost": D("98765.43"), "salvage": D("4321.09"), "life_years": 4,
             "placed_in_service": date(2025, 8, 20), "fiscal_year_start": "07-01",
             "method": method, "convention": convention, "annual_rate": D("0.3")}
    if method != "written_down_value":
        given.pop("annual_rate")
    assert per_fiscal_year(terms(**given, frequency="monthly")) == per_fiscal_year(
        terms(**given))


# -- rounding ----------------------------------------------------------------------------------

def test_exact_halves_round_away_from_zero_with_the_money_policy() -> None:
    assert round_exact(Fraction(5, 1000), "USD") == D("0.01")
    assert round_exact(Fraction(4999999, 10**9), "USD") == D("0.00")
    assert round_exact(Fraction(1, 3), "USD") == D("0.33")

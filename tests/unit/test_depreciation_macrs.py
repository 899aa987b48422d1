"""MACRS GDS: the engine reproduces IRS Publication 946 tables A-1 to A-5 cell for cell."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.depreciation import (
    Convention,
    DepreciationError,
    DepreciationTerms,
    Frequency,
    Method,
    build_schedule,
    schedule_as_dict,
)

D = Decimal
FIXTURE = Path(__file__).parents[1] / "fixtures" / "depreciation" / "macrs_irs_pub946_tables.json"
TABLES = json.loads(FIXTURE.read_text(), parse_float=Decimal)
ROUND_COST = D("100000.00")  # 1 % = 1000.00: every table cell maps to an exact amount

#: A calendar-year date in each quarter, for tables A-2 (Q1) to A-5 (Q4).
QUARTER_DATES = {"Q1_A2": date(2026, 2, 10), "Q2_A3": date(2026, 5, 20),
                 "Q3_A4": date(2026, 8, 1), "Q4_A5": date(2026, 12, 31)}


def macrs(recovery_period: int, placed: date, convention: Convention = Convention.HALF_YEAR,
          cost: Decimal = ROUND_COST, **more: object) -> DepreciationTerms:
    return DepreciationTerms(cost=cost, placed_in_service=placed, method=Method.MACRS,
                             recovery_period=recovery_period, convention=convention,
                             currency="USD", **more)


def expected_amounts(percentages: list[Decimal], cost: Decimal = ROUND_COST) -> list[Decimal]:
    return [(cost * p / 100).quantize(D("0.01")) for p in percentages]


@pytest.mark.parametrize("recovery_period", [3, 5, 7, 10, 15, 20])
def test_macrs_half_year_matches_irs_table_a1(recovery_period: int) -> None:
    percentages = TABLES["half_year_A1"][str(recovery_period)]
    schedule = build_schedule(macrs(recovery_period, date(2026, 3, 15)))
    assert [row.amount for row in schedule.rows] == expected_amounts(percentages)
    assert [row.fiscal_year for row in schedule.rows] == list(
        range(2026, 2026 + recovery_period + 1))
    assert schedule.total == ROUND_COST
    assert schedule.rows[-1].net_book_value == 0


@pytest.mark.parametrize("table", list(QUARTER_DATES))
@pytest.mark.parametrize("recovery_period", [3, 5, 7, 10, 15, 20])
def test_macrs_mid_quarter_matches_irs_tables_a2_to_a5(table: str, recovery_period: int) -> None:
    percentages = TABLES["mid_quarter_A2_to_A5"][table][str(recovery_period)]
    schedule = build_schedule(
        macrs(recovery_period, QUARTER_DATES[table], Convention.MID_QUARTER))
    assert [row.amount for row in schedule.rows] == expected_amounts(percentages)
    assert schedule.total == ROUND_COST


def test_every_fixture_column_sums_to_one_hundred_percent() -> None:
    columns = list(TABLES["half_year_A1"].values()) + [
        column for quarter in TABLES["mid_quarter_A2_to_A5"].values()
        for column in quarter.values()]
    assert len(columns) == 30
    assert all(sum(column) == 100 for column in columns)


def test_five_year_half_year_first_row_as_json() -> None:
    schedule = build_schedule(macrs(5, date(2026, 3, 15), cost=D("10000")))
    document = schedule_as_dict(schedule)
    assert document["schedule"][0] == {
        "fiscal_year": 2026, "period_start": "2026-01-01", "period_end": "2026-12-31",
        "amount": "2000.00", "accumulated": "2000.00", "net_book_value": "8000.00"}
    assert document["total"] == "10000.00"
    assert [row["amount"] for row in document["schedule"]] == [
        "2000.00", "3200.00", "1920.00", "1152.00", "1152.00", "576.00"]


def test_an_odd_cost_rounds_each_tax_year_and_the_last_year_absorbs_the_rest() -> None:
    cost = D("12345.67")
    percentages = TABLES["mid_quarter_A2_to_A5"]["Q4_A5"]["7"]
    schedule = build_schedule(macrs(7, date(2026, 11, 2), Convention.MID_QUARTER, cost=cost))
    amounts = [row.amount for row in schedule.rows]
    assert amounts[:-1] == expected_amounts(percentages, cost)[:-1]
    assert abs(amounts[-1] - cost * percentages[-1] / 100) <= D("0.04")
    assert schedule.total == cost


def test_mid_quarter_quarters_follow_the_fiscal_year_not_the_calendar() -> None:
    # Fiscal year from 07-01: August is in the first quarter, so table A-2 applies.
    schedule = build_schedule(macrs(5, date(2025, 8, 20), Convention.MID_QUARTER,
                                    fiscal_year_start="07-01"))
    assert schedule.rows[0].amount == D("35000.00")
    assert schedule.rows[0].fiscal_year == 2026
    assert schedule.rows[0].period_start == date(2025, 7, 1)


def test_monthly_macrs_keeps_every_tax_year_total_exact() -> None:
    monthly = build_schedule(macrs(7, date(2026, 3, 15), frequency=Frequency.MONTHLY))
    yearly = build_schedule(macrs(7, date(2026, 3, 15)))
    by_year: dict[int, Decimal] = {}
    for row in monthly.rows:
        by_year[row.fiscal_year] = by_year.get(row.fiscal_year, D(0)) + row.amount
    assert by_year == {row.fiscal_year: row.amount for row in yearly.rows}


def test_monthly_macrs_spreads_the_first_year_from_the_month_placed_in_service() -> None:
    monthly = build_schedule(macrs(5, date(2026, 3, 15), cost=D("10000"),
                                   frequency=Frequency.MONTHLY))
    first_year = [row for row in monthly.rows if row.fiscal_year == 2026]
    assert first_year[0].period_start == date(2026, 3, 1)
    assert [row.amount for row in first_year] == [D("200.00")] * 10  # 2000.00 over Mar-Dec
    last_year = [row for row in monthly.rows if row.fiscal_year == 2031]
    # The half-year convention ends the recovery period mid-2031: 576.00 over Jan-Jun.
    assert [row.amount for row in last_year] == [D("96.00")] * 6


def test_macrs_recovery_period_that_does_not_exist_is_refused() -> None:
    with pytest.raises(DepreciationError) as caught:
        macrs(4, date(2026, 1, 1))
    assert caught.value.field == "recovery_period"
    assert caught.value.message == (
        "MACRS recovery period 4 does not exist; use 3, 5, 7, 10, 15 or 20")


def test_macrs_refuses_salvage() -> None:
    with pytest.raises(DepreciationError) as caught:
        macrs(5, date(2026, 1, 1), salvage=D("500"))
    assert caught.value.field == "salvage"


@pytest.mark.parametrize("convention", [Convention.FULL_MONTH, Convention.MID_MONTH,
                                        Convention.DAILY])
def test_macrs_refuses_conventions_the_irs_does_not_allow_for_personal_property(
        convention: Convention) -> None:
    with pytest.raises(DepreciationError) as caught:
        macrs(5, date(2026, 1, 1), convention)
    assert caught.value.field == "convention"
    assert "half_year or mid_quarter" in caught.value.message


def test_macrs_takes_the_recovery_period_from_a_whole_year_life() -> None:
    terms = DepreciationTerms(cost=D("1000"), placed_in_service=date(2026, 1, 1),
                              method="macrs", life_years=7, currency="USD")
    assert terms.recovery_period == 7
    assert terms.convention is Convention.HALF_YEAR

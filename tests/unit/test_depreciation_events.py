"""After placing in service: disposal, transfers, changes of estimate and impairment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.depreciation import (
    DepreciationError,
    DepreciationTerms,
    Method,
    build_schedule,
    change_estimate,
    dispose,
    impair,
    split_by_days,
)

D = Decimal


def asset(**given: object) -> DepreciationTerms:
    defaults: dict[str, object] = {"cost": D("10000.00"), "placed_in_service": date(2026, 1, 1),
                                   "method": Method.STRAIGHT_LINE, "currency": "USD",
                                   "life_years": 5}
    return DepreciationTerms(**(defaults | given))  # type: ignore[arg-type]


# -- disposal ----------------------------------------------------------------------------------

def test_mid_life_disposal_prorates_the_year_by_days_and_books_a_gain() -> None:
    schedule = build_schedule(asset(cost=D("12000")))
    disposal = dispose(schedule, on=date(2028, 6, 30), proceeds=D("7000"))
    rows = disposal.schedule.rows
    assert [row.fiscal_year for row in rows] == [2026, 2027, 2028]
    assert rows[-1].amount == D("1193.44")  # 2400.00 x 182 / 366 days of 2028
    assert disposal.net_book_value == D("6006.56")
    assert disposal.gain_or_loss == D("993.44")


def test_disposal_below_net_book_value_is_a_loss() -> None:
    schedule = build_schedule(asset(cost=D("12000"), frequency="monthly"))
    disposal = dispose(schedule, on=date(2028, 6, 30), proceeds=D("5000"))
    assert disposal.schedule.rows[-1].period_start == date(2028, 6, 1)
    assert disposal.schedule.rows[-1].amount == D("200.00")  # June fully: through the 30th
    assert disposal.net_book_value == D("6000.00")
    assert disposal.gain_or_loss == D("-1000.00")


def test_disposal_mid_month_stops_depreciation_on_the_disposal_date() -> None:
    schedule = build_schedule(asset(cost=D("12000"), frequency="monthly"))
    disposal = dispose(schedule, on=date(2026, 4, 10))
    assert [row.amount for row in disposal.schedule.rows] == [
        D("200.00"), D("200.00"), D("200.00"), D("66.67")]
    assert disposal.schedule.total == D("666.67")
    assert disposal.gain_or_loss == -disposal.net_book_value


def test_disposal_after_full_depreciation_leaves_the_schedule_whole() -> None:
    schedule = build_schedule(asset(salvage=D("500")))
    disposal = dispose(schedule, on=date(2035, 1, 1), proceeds=D("800"))
    assert disposal.schedule.rows == schedule.rows
    assert disposal.gain_or_loss == D("300.00")


def test_disposal_before_service_is_refused() -> None:
    with pytest.raises(DepreciationError) as caught:
        dispose(build_schedule(asset()), on=date(2025, 12, 31))
    assert caught.value.field == "on"


# -- transfer between cost centres ---------------------------------------------------------------

def test_mid_month_transfer_splits_the_period_amount_by_days_exactly() -> None:
    shares = split_by_days(D("1000.00"), period_start=date(2026, 3, 1),
                           period_end=date(2026, 3, 31),
                           holders=[(date(2026, 1, 1), "CC-100"), (date(2026, 3, 11), "CC-200")],
                           currency="USD")
    assert shares == {"CC-100": D("322.58"), "CC-200": D("677.42")}


def test_split_of_a_schedule_row_sums_to_the_row_and_merges_a_returning_cost_centre() -> None:
    row = build_schedule(asset(cost=D("1234.56"), life_years=None, life_months=7,
                               frequency="monthly")).rows[1]
    shares = split_by_days(row.amount, period_start=row.period_start,
                           period_end=row.period_end,
                           holders=[(row.period_start, "A"), (date(2026, 2, 10), "B"),
                                    (date(2026, 2, 20), "A")],
                           currency="USD")
    assert list(shares) == ["A", "B"]
    assert sum(shares.values()) == row.amount


def test_split_needs_a_holder_from_the_period_start() -> None:
    with pytest.raises(DepreciationError) as caught:
        split_by_days(D("10"), period_start=date(2026, 3, 1), period_end=date(2026, 3, 31),
                      holders=[(date(2026, 3, 5), "A")], currency="USD")
    assert caught.value.field == "holders"


# -- change of estimate --------------------------------------------------------------------------

def test_change_of_life_and_salvage_applies_prospectively_on_net_book_value() -> None:
    schedule = change_estimate(build_schedule(asset()), effective_from=date(2028, 1, 1),
                               remaining_life_months=48, salvage=D("1000"))
    assert [row.amount for row in schedule.rows] == [
        D("2000.00"), D("2000.00"), D("1250.00"), D("1250.00"), D("1250.00"), D("1250.00")]
    assert schedule.rows[-1].net_book_value == D("1000.00")
    assert schedule.rows[-1].accumulated == D("9000.00")
    assert schedule.salvage == D("1000.00")
    assert schedule.revisions[0].kind == "change_of_estimate"


def test_change_of_salvage_only_rescales_the_remaining_periods() -> None:
    schedule = change_estimate(build_schedule(asset()), effective_from=date(2028, 1, 1),
                               salvage=D("600"))
    assert [row.amount for row in schedule.rows] == [D("2000.00")] * 2 + [D("1800.00")] * 3


@pytest.mark.parametrize("method", ["declining_balance", "sum_of_years_digits", "manual"])
def test_a_change_that_changes_nothing_leaves_the_schedule_as_it_was(method: str) -> None:
    extra = {"manual_amounts": ("1000", "5000", "4000")} if method == "manual" else {}
    original = build_schedule(asset(method=method, placed_in_service=date(2026, 5, 1),
                                    frequency="monthly", **extra))
    effective = original.rows[2].period_start
    assert change_estimate(original, effective_from=effective).rows == original.rows


def test_declining_balance_with_a_new_life_uses_factor_over_the_new_remaining_life() -> None:
    schedule = change_estimate(build_schedule(asset(method="declining_balance")),
                               effective_from=date(2027, 1, 1), remaining_life_months=24)
    # NBV 6000 after 2026; DDB over 2 years is 100 %: the first year writes off everything.
    assert [row.amount for row in schedule.rows] == [D("4000.00"), D("6000.00")]


def test_units_of_production_change_of_expected_units() -> None:
    schedule = build_schedule(asset(method="units_of_production", expected_units=1000,
                                    units_per_period=(100, 100, 100, 100)))
    changed = change_estimate(schedule, effective_from=date(2028, 1, 1), expected_units=400)
    # NBV 8000 after two years; 8000 over 400 more units: 20.00 a unit.
    assert [row.amount for row in changed.rows] == [
        D("1000.00"), D("1000.00"), D("2000.00"), D("2000.00")]


def test_change_of_estimate_must_start_a_period() -> None:
    with pytest.raises(DepreciationError) as caught:
        change_estimate(build_schedule(asset()), effective_from=date(2027, 3, 1))
    assert caught.value.field == "effective_from"
    assert "use 2027-01-01" in caught.value.message


def test_new_salvage_above_net_book_value_is_refused() -> None:
    with pytest.raises(DepreciationError) as caught:
        change_estimate(build_schedule(asset()), effective_from=date(2029, 1, 1),
                        salvage=D("5000"))
    assert caught.value.field == "salvage"


def test_macrs_tax_books_have_no_changes_of_estimate() -> None:
    schedule = build_schedule(DepreciationTerms(cost=D("1000"), placed_in_service=date(2026, 1, 1),
                                                method="macrs", recovery_period=5, currency="USD"))
    with pytest.raises(DepreciationError) as caught:
        change_estimate(schedule, effective_from=date(2027, 1, 1), remaining_life_months=12)
    assert caught.value.field == "method"


# -- impairment ----------------------------------------------------------------------------------

def test_impairment_writes_down_at_period_end_and_later_years_depreciate_the_reduced_base() -> None:
    schedule = impair(build_schedule(asset()), on=date(2027, 9, 30), amount=D("3000"))
    rows = schedule.rows
    assert [row.amount for row in rows] == [D("2000.00"), D("2000.00")] + [D("1000.00")] * 3
    assert rows[1].write_down == D("3000.00")
    assert rows[1].net_book_value == D("3000.00")
    assert rows[1].accumulated == D("4000.00")
    assert rows[-1].net_book_value == D("0.00")
    assert schedule.total == D("7000.00")  # cost - salvage - write-down


def test_impairment_with_a_shorter_remaining_life() -> None:
    schedule = impair(build_schedule(asset(frequency="monthly")), on=date(2026, 12, 15),
                      amount=D("2000"), remaining_life_months=12)
    assert schedule.rows[11].net_book_value == D("6000.00")
    assert [row.amount for row in schedule.rows[12:]] == [D("500.00")] * 12


def test_impairment_below_salvage_is_refused_unless_salvage_is_lowered() -> None:
    schedule = build_schedule(asset(salvage=D("1000")))
    with pytest.raises(DepreciationError) as caught:
        impair(schedule, on=date(2029, 6, 30), amount=D("2500"))
    assert caught.value.field == "amount"
    lowered = impair(schedule, on=date(2029, 6, 30), amount=D("2500"), salvage=D("0"))
    assert lowered.rows[-1].net_book_value == D("0.00")


def test_disposal_after_impairment_uses_the_impaired_net_book_value() -> None:
    impaired = impair(build_schedule(asset()), on=date(2026, 12, 31), amount=D("4000"))
    disposal = dispose(impaired, on=date(2027, 12, 31), proceeds=D("3000"))
    # 10000 - 2000 - 4000 write-down - 1000 (4000 over the 4 remaining years)
    assert disposal.net_book_value == D("3000.00")
    assert disposal.gain_or_loss == D("0.00")

"""Properties every schedule has, for generated assets of every method."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.depreciation import (
    VALID_CONVENTIONS,
    DepreciationTerms,
    Method,
    Schedule,
    build_schedule,
    change_estimate,
    dispose,
    impair,
    split_by_days,
)
from ledger.money import allocate

D = Decimal
FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

currencies = st.sampled_from(["USD", "JPY", "BHD"])
placed = st.dates(min_value=date(1999, 1, 1), max_value=date(2040, 12, 31))
frequencies = st.sampled_from(["yearly", "monthly"])
fiscal_starts = st.builds(lambda m, d: f"{m:02d}-{d:02d}", st.integers(1, 12),
                          st.sampled_from([1, 1, 1, 15, 28]))


@st.composite
def asset_terms(draw: st.DrawFn) -> DepreciationTerms:
    method = draw(st.sampled_from(list(Method)))
    currency = draw(currencies)
    scale = {"USD": 2, "JPY": 0, "BHD": 3}[currency]
    cost_units = draw(st.integers(1, 10**9))
    cost = D(cost_units).scaleb(-scale)
    salvage = D(draw(st.integers(0, cost_units))).scaleb(-scale)
    common: dict[str, object] = {
        "cost": cost, "placed_in_service": draw(placed), "method": method,
        "currency": currency, "frequency": draw(frequencies),
        "fiscal_year_start": draw(fiscal_starts)}
    conventions = VALID_CONVENTIONS[method]
    if conventions:
        common["convention"] = draw(st.sampled_from(conventions))
    if method is Method.MACRS:
        return DepreciationTerms(**common, recovery_period=draw(  # type: ignore[arg-type]
            st.sampled_from([3, 5, 7, 10, 15, 20])))
    common["salvage"] = salvage
    if method is Method.UNITS_OF_PRODUCTION:
        expected = draw(st.integers(1, 10**6))
        usage = draw(st.lists(st.integers(0, expected), min_size=1, max_size=30))
        # Enough usage to reach the expected total.
        return DepreciationTerms(**common, expected_units=expected,  # type: ignore[arg-type]
                                 units_per_period=(*usage, expected))
    if method is Method.MANUAL:
        weights = draw(st.lists(st.integers(0, 5), min_size=1, max_size=30).filter(any))
        base = cost - salvage
        quantum = D(1).scaleb(-scale)
        return DepreciationTerms(**common,  # type: ignore[arg-type]
                                 manual_amounts=tuple(allocate(base, weights, quantum=quantum)))
    years = draw(st.integers(1, 12))
    months = 12 * years if method is Method.SUM_OF_YEARS_DIGITS else draw(
        st.integers(12, 144))
    common["life_months"] = months
    if method is Method.DECLINING_BALANCE:
        common["factor"] = draw(st.sampled_from([D("1.25"), D("1.5"), D("2"), D("3")]))
        common["switch_to_straight_line"] = draw(st.booleans())
    if method is Method.WRITTEN_DOWN_VALUE:
        common["annual_rate"] = draw(st.sampled_from([D("0.1"), D("0.25"), D("0.4"),
                                                      D("0.95")]))
    return DepreciationTerms(**common)  # type: ignore[arg-type]


def assert_sound(schedule: Schedule, *, depreciable: Decimal) -> None:
    """Amounts non-negative and quantised, running totals consistent, NBV never below salvage,
    the total exact, nothing after full depreciation."""
    quantum = D(1).scaleb(-{"USD": 2, "JPY": 0, "BHD": 3}[schedule.currency])
    accumulated = D(0)
    nbv = schedule.terms.cost
    for row in schedule.rows:
        assert row.amount >= 0
        assert row.amount % quantum == 0
        accumulated += row.amount
        nbv -= row.amount + row.write_down
        assert row.accumulated == accumulated
        assert row.net_book_value == nbv
        assert row.net_book_value >= schedule.salvage
        assert row.period_start <= row.period_end
    assert schedule.total == depreciable
    assert schedule.net_book_value == schedule.salvage
    starts = [row.period_start for row in schedule.rows]
    assert starts == sorted(set(starts))
    # Full depreciation is reached in the last row and not before.
    assert all(row.net_book_value > schedule.salvage for row in schedule.rows[:-1])


@FAST
@given(asset_terms())
def test_every_schedule_sums_exactly_to_cost_minus_salvage(terms: DepreciationTerms) -> None:
    schedule = build_schedule(terms)
    assert_sound(schedule, depreciable=terms.depreciable_base)


@FAST
@given(asset_terms())
def test_monthly_and_yearly_schedules_agree_per_fiscal_year(terms: DepreciationTerms) -> None:
    if terms.method in (Method.UNITS_OF_PRODUCTION, Method.MANUAL):
        return  # their series are given per period, so the two frequencies differ by design

    def per_year(frequency: str) -> dict[int, Decimal]:
        totals: dict[int, Decimal] = {}
        for row in build_schedule(replace(terms, frequency=frequency)).rows:
            totals[row.fiscal_year] = totals.get(row.fiscal_year, D(0)) + row.amount
        return totals

    assert per_year("monthly") == per_year("yearly")


@FAST
@given(asset_terms(), st.data())
def test_revisions_keep_the_schedule_exact(terms: DepreciationTerms, data: st.DataObject) -> None:
    schedule = build_schedule(terms)
    if terms.method is Method.MACRS or len(schedule.rows) < 2:
        return
    index = data.draw(st.integers(1, len(schedule.rows) - 1))
    row = schedule.rows[index - 1]
    carrying = row.net_book_value
    scale = D(1).scaleb(-{"USD": 2, "JPY": 0, "BHD": 3}[terms.currency])
    write_down = D(data.draw(st.integers(0, int((carrying - schedule.salvage) / scale)))) * scale
    life = None
    if terms.method not in (Method.MANUAL, Method.UNITS_OF_PRODUCTION) and data.draw(
            st.booleans()):
        life = 12 * data.draw(st.integers(1, 5))
    salvage = schedule.salvage
    if write_down:
        revised = impair(schedule, on=row.period_end, amount=write_down,
                         remaining_life_months=life)
    else:
        salvage = D(data.draw(st.integers(0, int(carrying / scale)))) * scale
        revised = change_estimate(schedule, effective_from=schedule.rows[index].period_start,
                                  remaining_life_months=life, salvage=salvage)
    assert revised.rows[:index - 1] == schedule.rows[:index - 1]
    depreciable = terms.cost - salvage - write_down
    if terms.method is Method.UNITS_OF_PRODUCTION and revised.net_book_value != revised.salvage:
        return  # usage series ran out under the revised expectation
    assert_sound(revised, depreciable=depreciable)


@FAST
@given(asset_terms(), st.integers(0, 20 * 366), st.integers(0, 10**7))
def test_disposal_gain_or_loss_is_proceeds_minus_net_book_value(
        terms: DepreciationTerms, days: int, proceeds_units: int) -> None:
    schedule = build_schedule(terms)
    on = terms.placed_in_service + timedelta(days=days)
    scale = D(1).scaleb(-{"USD": 2, "JPY": 0, "BHD": 3}[terms.currency])
    disposal = dispose(schedule, on=on, proceeds=D(proceeds_units) * scale)
    rows = disposal.schedule.rows
    assert all(row.period_start <= on for row in rows)
    assert disposal.net_book_value == terms.cost - sum((r.amount for r in rows), D(0))
    assert disposal.net_book_value >= schedule.salvage
    assert disposal.gain_or_loss == disposal.proceeds - disposal.net_book_value


@FAST
@given(st.integers(0, 10**8), st.lists(st.integers(0, 30), min_size=1, max_size=6, unique=True))
def test_transfer_shares_always_sum_to_the_period_amount(cents: int, offsets: list[int]) -> None:
    start = date(2026, 1, 1)
    holders = [(start + timedelta(days=o), f"CC{o}") for o in sorted({0, *offsets})]
    shares = split_by_days(D(cents) / 100, period_start=start, period_end=date(2026, 1, 31),
                           holders=holders, currency="USD")
    assert sum(shares.values()) == D(cents) / 100
    assert all(share >= 0 for share in shares.values())

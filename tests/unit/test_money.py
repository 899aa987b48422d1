"""Money: exact amounts, minor units, one rounding policy and largest-remainder splitting."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.money import (
    CurrencyMismatchError,
    Money,
    MoneyError,
    allocate,
    currency_quantum,
    from_minor_units,
    minor_unit_exponent,
    round_to_currency,
    to_decimal,
    to_minor_units,
)

D = Decimal


@pytest.mark.parametrize(("currency", "decimals"), [("JPY", 0), ("USD", 2), ("eur", 2),
                                                    ("BHD", 3), ("KWD", 3), ("CLF", 4)])
def test_each_currency_has_its_minor_unit(currency: str, decimals: int) -> None:
    assert minor_unit_exponent(currency) == decimals
    assert currency_quantum(currency) == D(1).scaleb(-decimals)


@pytest.mark.parametrize("code", ["US", "USDX", "U$D", "", "12A"])
def test_a_malformed_currency_code_is_refused(code: str) -> None:
    with pytest.raises(MoneyError, match="ISO 4217"):
        minor_unit_exponent(code)


def test_rounding_is_half_away_from_zero_and_symmetric() -> None:
    assert round_to_currency("2.345", "USD") == D("2.35")
    assert round_to_currency("-2.345", "USD") == D("-2.35")
    assert round_to_currency("2.5", "JPY") == D("3")
    assert round_to_currency("1.0005", "BHD") == D("1.001")


def test_money_never_comes_from_a_float() -> None:
    with pytest.raises(MoneyError, match="float"):
        to_decimal(0.1)
    with pytest.raises(MoneyError, match="float"):
        Money(0.1, "USD")  # type: ignore[arg-type]
    with pytest.raises(MoneyError, match="not a number"):
        to_decimal("12,34")


def test_minor_units_round_trip_exactly() -> None:
    assert to_minor_units(D("1234.56"), "USD") == 123456
    assert to_minor_units(D("-0.01"), "USD") == -1
    assert to_minor_units(D("500"), "JPY") == 500
    assert from_minor_units(123456, "USD") == D("1234.56")
    assert from_minor_units(1001, "BHD") == D("1.001")


def test_an_amount_finer_than_the_minor_unit_has_no_exact_minor_units() -> None:
    with pytest.raises(MoneyError, match="more than 0 decimals"):
        to_minor_units(D("1.5"), "JPY")


def test_amounts_in_different_currencies_do_not_add() -> None:
    with pytest.raises(CurrencyMismatchError):
        Money.of("1", "USD") + Money.of("1", "EUR")
    assert Money.of("1.10", "USD") + Money.of("2.25", "usd") == Money.of("3.35", "USD")


def test_splitting_money_uses_the_currency_minor_unit() -> None:
    assert [m.amount for m in Money.of("100", "JPY").split([1, 1, 1])] == [D(34), D(33), D(33)]


def test_a_hundred_split_three_ways_gives_the_extra_cent_to_the_first() -> None:
    assert allocate(D("100.00"), [1, 1, 1]) == [D("33.34"), D("33.33"), D("33.33")]


def test_a_negative_total_mirrors_the_positive_split() -> None:
    assert allocate(D("-100.00"), [1, 1, 1]) == [D("-33.34"), D("-33.33"), D("-33.33")]


def test_a_zero_weight_receives_nothing_even_when_cents_are_left_over() -> None:
    assert allocate(D("0.05"), [0, 1, 1, 1]) == [D("0"), D("0.02"), D("0.02"), D("0.01")]


def test_the_largest_remainder_wins_the_leftover_cent() -> None:
    # Exact shares 3.333.., 6.666..: the second has the larger remainder.
    assert allocate(D("10.00"), [1, 2]) == [D("3.33"), D("6.67")]


def test_a_coarser_quantum_splits_in_whole_units() -> None:
    assert allocate(D("10"), [D("0.5"), D("0.25"), D("0.25")], quantum=D("1")) == [D(5), D(3),
                                                                                   D(2)]


@pytest.mark.parametrize(("weights", "message"), [
    ([], "no weights"),
    ([0, 0], "all weights are zero"),
    ([1, -1], "weight 1 is negative"),
    ([1, 0.5], "weight 1: money must not come from a float"),
])
def test_weights_that_cannot_split_anything_are_refused(weights: list, message: str) -> None:
    with pytest.raises(MoneyError, match=message):
        allocate(D("10.00"), weights)


def test_a_total_finer_than_the_quantum_must_be_rounded_first() -> None:
    with pytest.raises(MoneyError, match="not a multiple of the quantum"):
        allocate(D("10.005"), [1, 1])


quanta = st.sampled_from([D("1"), D("0.01"), D("0.001"), D("0.05")])
weights = st.lists(
    st.one_of(st.integers(min_value=0, max_value=10**6),
              st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False,
                          allow_infinity=False)),
    min_size=1, max_size=40,
).filter(lambda ws: any(w > 0 for w in ws))


@settings(max_examples=2000, deadline=None)
@given(units=st.integers(min_value=-(10**12), max_value=10**12), quantum=quanta,
       weights=weights)
def test_allocation_conserves_the_total_and_stays_within_one_quantum(
    units: int, quantum: Decimal, weights: list
) -> None:
    total = units * quantum
    parts = allocate(total, weights, quantum=quantum)
    assert sum(parts) == total
    weight_sum = sum(Fraction(w) for w in weights)
    for part, weight in zip(parts, weights, strict=True):
        assert part % quantum == 0
        exact = Fraction(total) * Fraction(weight) / weight_sum
        assert abs(Fraction(part) - exact) < Fraction(quantum)
        if weight == 0:
            assert part == 0


@settings(max_examples=300, deadline=None)
@given(units=st.integers(min_value=0, max_value=10**9), weights=weights)
def test_allocation_of_a_negative_total_is_the_exact_mirror(units: int, weights: list) -> None:
    total = units * D("0.01")
    assert allocate(-total, weights) == [-p for p in allocate(total, weights)]


@settings(max_examples=200, deadline=None)
@given(units=st.integers(min_value=0, max_value=10**9), weights=weights)
def test_allocation_is_deterministic(units: int, weights: list) -> None:
    total = units * D("0.01")
    assert allocate(total, list(weights)) == allocate(total, list(weights))

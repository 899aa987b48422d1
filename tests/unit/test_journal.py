"""Journal entries are balanced by construction and never hold an unrounded amount."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import InputError
from ledger.journal import JournalEntry, JournalLine, Side, UnbalancedJournalError, split_charge

D = Decimal
DAY = date(2026, 10, 31)


def test_a_balanced_entry_reports_its_total_per_currency() -> None:
    entry = JournalEntry(DAY, "Shared IT October", (
        JournalLine.debit("6900", D("60.00"), "USD", cost_centre="1010"),
        JournalLine.debit("6900", D("40.00"), "USD", cost_centre="1020"),
        JournalLine.credit("7990", D("100.00"), "USD", cost_centre="6010"),
    ))
    assert entry.total("USD") == D("100.00")
    assert entry.currencies == ["USD"]


def test_a_journal_that_does_not_balance_cannot_be_built() -> None:
    with pytest.raises(UnbalancedJournalError, match=r"USD debits exceed credits by 0\.01"):
        JournalEntry(DAY, "Off by a cent", (
            JournalLine.debit("6900", D("100.01"), "USD"),
            JournalLine.credit("7990", D("100.00"), "USD"),
        ))


def test_balance_is_checked_per_currency() -> None:
    with pytest.raises(UnbalancedJournalError) as raised:
        JournalEntry(DAY, "Two currencies", (
            JournalLine.debit("6900", D("100.00"), "USD"),
            JournalLine.credit("7990", D("100.00"), "EUR"),
        ))
    assert raised.value.differences == {"USD": D("100.00"), "EUR": D("-100.00")}


def test_a_line_amount_must_already_be_rounded_to_the_currency() -> None:
    with pytest.raises(InputError, match="more decimals than JPY allows"):
        JournalLine.debit("6900", D("100.5"), "JPY")


@pytest.mark.parametrize("amount", [D("0"), D("-5.00")])
def test_a_line_amount_is_positive_and_the_side_carries_the_sign(amount: Decimal) -> None:
    with pytest.raises(InputError, match="must be positive"):
        JournalLine.credit("7990", amount, "USD")


def test_an_entry_needs_two_lines_and_a_description() -> None:
    line = JournalLine.debit("6900", D("1.00"), "USD")
    with pytest.raises(InputError, match="at least two lines"):
        JournalEntry(DAY, "One line", (line,))
    with pytest.raises(InputError, match="description"):
        JournalEntry(DAY, " ", (line, JournalLine.credit("7990", D("1.00"), "USD")))


def test_a_charge_split_by_headcount_balances_to_the_cent() -> None:
    lines = split_charge(amount=D("1000.00"), currency="USD", debit_account="6900",
                         credit_account="7990", credit_cost_centre="6010",
                         weights=[("1010", 3), ("1020", 3), ("1030", 3), ("1040", 0)])
    assert [(li.cost_centre, li.side, li.amount) for li in lines] == [
        ("1010", Side.DEBIT, D("333.34")),
        ("1020", Side.DEBIT, D("333.33")),
        ("1030", Side.DEBIT, D("333.33")),
        ("6010", Side.CREDIT, D("1000.00")),
    ]


def test_a_negative_charge_credits_the_cost_centres_and_debits_recovery() -> None:
    lines = split_charge(amount=D("-10.00"), currency="USD", debit_account="6900",
                         credit_account="7990", credit_cost_centre=None,
                         weights=[("1010", 1), ("1020", 1)])
    assert [li.side for li in lines] == [Side.CREDIT, Side.CREDIT, Side.DEBIT]


@settings(max_examples=300, deadline=None)
@given(cents=st.integers(min_value=-(10**11), max_value=10**11).filter(lambda c: c != 0),
       weights=st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=60)
       .filter(any))
def test_any_split_charge_makes_a_balanced_entry(cents: int, weights: list[int]) -> None:
    lines = split_charge(amount=D(cents) / 100, currency="USD", debit_account="6900",
                         credit_account="7990", credit_cost_centre="6010",
                         weights=[(f"CC{i}", w) for i, w in enumerate(weights)])
    entry = JournalEntry(DAY, "Generated", tuple(lines))
    assert entry.total("USD") == abs(D(cents) / 100)

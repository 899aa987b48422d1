"""Properties of a run with the exceptions register applied, over random rule sets, drivers,
facts and exceptions: every minor unit is still conserved, every journal balances, what an
exception takes from a cost centre its target receives to the cent, and nothing else moves."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.allocation import AllocationError, LineKind, allocate_period
from ledger.allocation.exceptions import AllocationException, apply_exceptions
from ledger.money import round_to_currency
from ledger.reference import CostCentre
from tests.unit.test_allocation_properties import (
    CODES,
    PERIOD,
    ListSource,
    drivers,
    lines,
    rulesets,
)

TODAY = date(2026, 11, 27)

exceptions = st.lists(st.builds(
    lambda number, centre, service, share, amount, target, expires, approved: (
        AllocationException(
            id=number, title=f"exception {number}", owner="ann", cost_centre=centre,
            service=service, period_from="2026-09", period_to="2026-10", expires_on=expires,
            share_percent=None if amount else share, amount=amount,
            target_cost_centre=target, approved_by="dave" if approved else None)),
    st.integers(1, 1000), st.sampled_from(CODES), st.sampled_from([None, "comp*", "storage"]),
    st.sampled_from([Decimal("100"), Decimal("50"), Decimal("33.3333"), Decimal("0.01")]),
    st.sampled_from([None, Decimal("0.01"), Decimal("125.50")]),
    st.sampled_from([None, "6050", "1010"]),
    st.sampled_from([date(2026, 11, 26), date(2026, 11, 27), date(2027, 1, 31)]),
    st.booleans()), max_size=3, unique_by=lambda e: e.id)


def centre_totals(lines_) -> dict[tuple[str, str], Decimal]:
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in lines_:
        totals[(line.cost_centre, line.currency)] += line.amount
    return dict(totals)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ruleset=rulesets(), facts=lines, quantities=drivers, register=exceptions)
def test_exceptions_move_amounts_between_cost_centres_and_conserve_every_minor_unit(
        ruleset, facts, quantities, register) -> None:
    centres = [CostCentre(code, code) for code in CODES]
    try:
        plain = allocate_period(period=PERIOD, ruleset=ruleset, sources=[ListSource(facts)],
                                drivers=quantities, cost_centres=centres)
    except AllocationError:
        return
    result = apply_exceptions(plain, ruleset, register, today=TODAY)
    assert result.allocated_total == plain.allocated_total
    assert result.unallocated == plain.unallocated
    for currency, total in result.source_total.items():
        allocated = sum((li.amount for li in result.lines if li.currency == currency),
                        Decimal(0))
        assert allocated == result.allocated_total[currency]
        assert allocated + result.unallocated_total[currency] == round_to_currency(total,
                                                                                  currency)
    moved: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for applied in result.exceptions:
        assert applied.exception.applies(PERIOD, TODAY)
        moved[(applied.exception.cost_centre, applied.currency)] -= applied.moved
        moved[(applied.target, applied.currency)] += applied.moved
    before, after = centre_totals(plain.lines), centre_totals(result.lines)
    for key in set(before) | set(after):
        assert after.get(key, Decimal(0)) - before.get(key, Decimal(0)) == moved.get(
            key, Decimal(0))
    exception_lines = [li for li in result.lines if li.kind is LineKind.EXCEPTION]
    assert sum((li.amount for li in exception_lines), Decimal(0)) == 0
    for entry in result.journals:
        for currency in entry.currencies:
            debit = sum(x.amount for x in entry.lines if x.side == "debit")
            credit = sum(x.amount for x in entry.lines if x.side == "credit")
            assert debit == credit == entry.total(currency)
    assert apply_exceptions(plain, ruleset, register, today=TODAY) == result

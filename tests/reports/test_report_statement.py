"""The cost-centre statement from the demo company, checked against the allocation run."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from ledger.errors import InputError
from ledger.services import reports
from tests.reports.report_support import allocated_demo


def _run_totals(uow, period):
    run = reports.current_run(uow, period)
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for line in uow.allocation_runs.lines(run.id):
        totals[(line.cost_centre, line.currency)] += line.amount
    return run, totals


def test_each_statement_total_is_the_cost_centres_allocation_in_the_run(demo_app):
    period, outcome = allocated_demo(demo_app)
    expected = {(centre, currency): amount for centre, currency, amount
                in outcome.by_cost_centre()}
    with demo_app.uow(read_only=True) as uow:
        found = reports.statements(uow=uow, period=period)
    assert {s.cost_centre for s in found} == {centre for centre, _ in expected}
    for statement in found:
        assert statement.run_id == outcome.run_id
        for currency, total in statement.totals.items():
            assert total == expected[(statement.cost_centre, currency)]
    assert sum((s.totals.get("USD", Decimal(0)) for s in found), Decimal(0)) \
        == outcome.result.allocated_total["USD"]


def test_a_shared_line_names_its_driver_and_the_cost_centres_quantity(allocated):
    app, period = allocated
    with app.uow(read_only=True) as uow:
        statement = reports.statement(uow=uow, cost_centre="1010", period=period)
        headcount = {q.cost_centre: q.quantity for q in uow.drivers.for_period("headcount",
                                                                                period)}
        run, totals = _run_totals(uow, period)
    assert statement.totals == {"USD": totals[("1010", "USD")]}
    shared = [li for li in statement.lines if li.kind == "shared" and "headcount" in li.basis]
    assert shared, statement.lines
    assert f"by headcount: {headcount['1010']:f} of {sum(headcount.values()):f}" \
        in shared[0].basis
    assert statement.trend[-1] == (period, "USD", totals[("1010", "USD")])
    assert statement.run_id == run.id


def test_an_unknown_cost_centre_is_named_in_the_error(allocated):
    app, period = allocated
    with app.uow(read_only=True) as uow, pytest.raises(InputError, match="9876"):
        reports.statement(uow=uow, cost_centre="9876", period=period)

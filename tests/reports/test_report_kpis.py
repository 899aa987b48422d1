"""KPIs of the demo company's allocation and their benchmarks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.errors import InputError, PermissionDeniedError
from ledger.money import round_to_currency
from ledger.reports.kpis import allocation_shares
from ledger.services import reports
from tests.reports.report_support import as_user


def test_the_shares_add_to_100_and_to_the_runs_totals(allocated):
    app, period = allocated
    with app.uow(read_only=True) as uow:
        found = reports.kpis(uow=uow, period=period)
        run = reports.current_run(uow, period)
    usd = found["shares"]["USD"]
    assert sum(usd["percent"].values()) == Decimal("100.00")
    total = next(t for t in run.totals if t.currency == "USD")
    assert usd["amounts"]["direct"] + usd["amounts"]["driver"] == total.allocated_total
    assert usd["amounts"]["unallocated"] == total.unallocated_total
    assert usd["total"] == total.allocated_total + total.unallocated_total
    # the demo's typo and its cost centre 9999 stay unallocated; its untagged accounts are shared
    assert found["values"]["unallocated_share"] > 0
    assert 0 < found["values"]["direct_share"] < 100
    coverage = found["tag_coverage"]
    assert 0 < coverage["by_amount"] < 1
    assert coverage["tagged_lines"] < coverage["billing_lines"]
    employees = found["units"]["employees"]
    assert found["values"]["cost_per_employee"] == round_to_currency(
        total.allocated_total / employees, "USD")
    assert found["values"]["tag_coverage"] == coverage["by_amount"].quantize(Decimal("0.0001"))


def test_shares_are_rounded_by_largest_remainder():
    class Line:
        def __init__(self, kind, amount):
            self.kind, self.amount, self.currency = kind, Decimal(amount), "USD"

    shares = allocation_shares([Line("direct", "1"), Line("shared", "1")], [Line("", "1")])
    assert shares["USD"]["percent"] == {"direct": Decimal("33.34"), "driver": Decimal("33.33"),
                                        "unallocated": Decimal("33.33")}


def test_a_benchmark_is_compared_and_a_wrong_kpi_name_refused(allocated):
    app, period = allocated
    with as_user(app, "carol")() as uow:
        reports.set_benchmark(uow=uow, kpi="unallocated_share", value=Decimal("2.5"),
                              source="peer survey 2026")
        with pytest.raises(InputError, match="unknown KPI"):
            reports.set_benchmark(uow=uow, kpi="happiness", value=Decimal(1))
        uow.commit()
    with as_user(app, "frank")() as uow, pytest.raises(PermissionDeniedError):
        reports.set_benchmark(uow=uow, kpi="tag_coverage", value=Decimal("0.9"))
    with app.uow(read_only=True) as uow:
        found = reports.kpis(uow=uow, period=period)
    row = next(c for c in found["comparison"] if c.kpi == "unallocated_share")
    assert row.benchmark == Decimal("2.5") and row.source == "peer survey 2026"
    assert row.difference == found["values"]["unallocated_share"] - Decimal("2.5")
    assert row.verdict == ("worse" if row.difference > 0 else "better")

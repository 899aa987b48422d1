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


def test_benchmarks_are_imported_from_a_workbook_all_or_nothing(ledger, tmp_path):
    import pytest
    from openpyxl import Workbook

    from connectors.report_files import read_benchmarks
    from ledger.errors import InputErrors
    from ledger.services.reports import import_benchmarks, list_benchmarks

    def workbook(rows):
        book = Workbook()
        sheet = book.active
        for row in [("KPI", "Value", "Source"), *rows]:
            sheet.append(row)
        path = tmp_path / "benchmarks.xlsx"
        book.save(path)
        return path

    bad = workbook([("tag_coverage", "0.95", "FinOps survey 2026"),
                    ("tag_coverag", "0.9", None), ("tag_coverage", "0.9", None),
                    ("cost_per_device", "lots", None)])
    with pytest.raises(InputErrors) as caught:
        read_benchmarks(bad)
    assert {(e.row, e.field) for e in caught.value.errors} == {(5, "value")}
    bad = workbook([("tag_coverage", "0.95", "FinOps survey 2026"),
                    ("tag_coverag", "0.9", None), ("tag_coverage", "0.9", None)])
    with ledger.as_("dave")() as uow, pytest.raises(InputErrors) as caught:
        import_benchmarks(uow=uow, benchmarks=read_benchmarks(bad))
    assert {(e.row, e.field) for e in caught.value.errors} == {(3, "kpi"), (4, "kpi")}
    with ledger.app.uow(read_only=True) as uow:
        assert list_benchmarks(uow=uow) == []  # nothing of the bad file was kept
    good = workbook([("tag_coverage", "0.95", "FinOps survey 2026"),
                     ("cost_per_employee", "212.50", "peer group")])
    with ledger.as_("dave")() as uow:
        first = import_benchmarks(uow=uow, benchmarks=read_benchmarks(good), reason="2026")
        uow.commit()
    with ledger.as_("dave")() as uow:
        events = uow.audit.count()
        again = import_benchmarks(uow=uow, benchmarks=read_benchmarks(good))
        assert uow.audit.count() == events
    with ledger.app.uow(read_only=True) as uow:
        found = {b.kpi: (b.value, b.source) for b in list_benchmarks(uow=uow)}
    assert (first.created, again.changed, again.unchanged) == (2, False, 2)
    assert found == {"tag_coverage": (Decimal("0.95"), "FinOps survey 2026"),
                     "cost_per_employee": (Decimal("212.50"), "peer group")}

"""The demo company's reporting ground (client/demo_reports.py): after its month-end, the KPIs
stand beside benchmarks, the savings report measures the recorded savings from billing (worked
out by hand here), and the forecast carries the known change."""

from __future__ import annotations

from decimal import Decimal

from client.demo import load_demo, run_month_end
from client.demo_allocation import billing_rows
from client.demo_reports import BENCHMARK_SOURCE, BENCHMARKS, RDS
from ledger.money import round_to_currency
from ledger.services import reports
from ledger.services.savings import measure_savings

D = Decimal


def test_the_demo_kpis_carry_benchmarks_and_its_savings_are_measured_from_billing(
        demo_app) -> None:
    again = load_demo(demo_app)  # the reporting ground is loaded once
    assert again.created == again.updated == 0
    run_month_end(demo_app, "2026-10")
    with demo_app.uow(read_only=True) as uow:
        found = reports.kpis(uow=uow, period="2026-10")
        measured = {m.saving.id: m for m in measure_savings(uow=uow,
                                                            store=demo_app.cost_facts())}
        forecast = reports.forecast(uow=uow, period="2026-10", horizon=3, cost_centre="5050")

    compared = {c.kpi: c for c in found["comparison"]}
    for kpi, value in BENCHMARKS:
        assert (compared[kpi].benchmark, compared[kpi].source) == (D(value), BENCHMARK_SOURCE)
        assert compared[kpi].value is not None  # a value beside each benchmark
    assert compared["cost_per_employee"].difference == (
        found["values"]["cost_per_employee"] - D("125.00"))

    assert list(measured) == ["MRD-SAV-01", "MRD-SAV-02", "MRD-SAV-03"]
    # The warehouse, by hand: (4180.00 + 4235.50 + 4096.25) / 3 = 4170.5833..., and October
    # bills no Redshift at all, so the whole baseline is realised.
    warehouse = measured["MRD-SAV-01"]
    assert warehouse.baseline_periods == ("2026-07", "2026-08", "2026-09")
    assert warehouse.baseline == D("4170.58")
    assert [(m.period, m.actual, m.realised) for m in warehouse.months] == [
        ("2026-10", D("0.00"), D("4170.58"))]
    assert warehouse.realisation_percent == D("101.7")  # of 4,100.00 expected
    # The databases: (27025 + 27230 + 26980) / 3 = 27078.33 against October's RDS billing.
    october = round_to_currency(sum((D(r["EffectiveCost"]) for r in billing_rows("2026-10")
                                     if r["ServiceName"] == RDS), D(0)), "USD")
    databases = measured["MRD-SAV-02"]
    assert databases.baseline == D("27078.33")
    assert [(m.period, m.actual, m.realised) for m in databases.months] == [
        ("2026-10", october, D("27078.33") - october)]
    assert D("3000") < databases.realised_total < D("4000")  # near the 3,400.00 expected
    # The licence harvest: 15 surplus 365 E3 seats at 432.00 a year, not measured from billing.
    harvest = measured["MRD-SAV-03"]
    assert harvest.saving.expected_monthly == D("540.00") and "15 unused" in harvest.saving.title
    assert harvest.months == () and "not measured from billing" in harvest.note

    (row,) = forecast["cost_centres"]
    assert [(a.period, a.amount) for a in row["known_changes"]] == [
        ("2026-12", D("1800.00")), ("2027-01", D("1800.00"))]

"""Forecasts from allocation history, and the accuracy of those saved earlier."""

from __future__ import annotations

from decimal import Decimal

from ledger.reports.forecast import MEAN, SEASONAL, seasonal_forecast, shift
from ledger.services import reports
from tests.services.allocation_support import AllocationCompany, manual, rules


def test_with_a_year_of_history_the_forecast_follows_last_years_month_scaled_to_the_trend():
    history = {shift("2026-10", -n): Decimal(100) for n in range(0, 15)}
    history["2025-11"] = Decimal(150)  # a November peak last year
    history.update({"2026-08": Decimal(110), "2026-09": Decimal(110), "2026-10": Decimal(110)})
    points = seasonal_forecast(history, after="2026-10", periods=2, currency="USD")
    assert (points[0].period, points[0].method) == ("2026-11", SEASONAL)
    assert points[0].amount == Decimal("165.00")  # 150 x 110/100
    assert points[1].period == "2026-12"


def test_with_little_history_the_forecast_is_the_recent_mean():
    points = seasonal_forecast({"2026-09": Decimal("10"), "2026-10": Decimal("20.02")},
                               after="2026-10", periods=1, currency="USD")
    assert [(p.amount, p.method) for p in points] == [(Decimal("15.01"), MEAN)]
    assert seasonal_forecast({}, after="2026-10", periods=3, currency="USD") == []


def test_a_saved_forecast_is_measured_against_what_was_then_allocated(app):
    company = AllocationCompany(app)
    company.save_rules(rules())
    company.activate(1)
    amounts = {"2026-07": "1000.00", "2026-08": "1200.00", "2026-09": "1500.00",
               "2026-10": "900.00"}
    for period in ("2026-07", "2026-08"):
        company.run(costs=[manual(amounts[period], cost_centre="1010", period=period,
                                  entry=f"power-{period}")], period=period)
    with company.as_("carol")() as uow:
        reports.save_forecast(uow=uow, period="2026-08", horizon=2)
        uow.commit()
    for period in ("2026-09", "2026-10"):
        company.run(costs=[manual(amounts[period], cost_centre="1010", period=period,
                                  entry=f"power-{period}")], period=period)
    with app.uow(read_only=True) as uow:
        found = reports.forecast(uow=uow, period="2026-10", horizon=1, cost_centre="1010")
    checked = {(a.period, a.forecast, a.actual) for a in found["accuracy"]}
    assert checked == {("2026-09", Decimal("1100.00"), Decimal("1500.00")),
                       ("2026-10", Decimal("1100.00"), Decimal("900.00"))}
    # |1100-1500|/1500 and |1100-900|/900, averaged
    expected = (Decimal(400) / 1500 + Decimal(200) / 900) / 2
    assert found["mean_absolute_percentage_error"] == expected
    assert found["cost_centres"][0]["forecast"][0].period == "2026-11"

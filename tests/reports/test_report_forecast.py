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


def _history(company, amounts):
    for period, amount in amounts.items():
        company.run(costs=[manual(amount, cost_centre="1010", period=period,
                                  entry=f"power-{period}")], period=period)


def test_known_changes_are_imported_all_or_nothing_and_forecast_beside_the_baseline(
        app, tmp_path):
    import pytest

    from connectors.report_files import read_known_changes
    from ledger.errors import InputErrors
    from ledger.reports.forecast import MEAN, WITH_CHANGES
    from ledger.services.known_changes import import_known_changes, list_known_changes

    company = AllocationCompany(app)
    company.save_rules(rules())
    company.activate(1)
    _history(company, {"2026-08": "1200.00", "2026-09": "1500.00", "2026-10": "900.00"})
    bad = tmp_path / "changes-bad.csv"
    bad.write_text("cost_centre,from_period,to_period,amount,percent,pool,reason\n"
                   "1010,2026-12,,250.00,,,12 new hires in the plant\n"
                   "9999,2026-12,,10,,,a team that does not exist\n"
                   "1010,2026-13,,,5,,a month that does not exist\n"
                   "1010,2026-11,,10,5,,both an amount and a percent\n")
    with pytest.raises(InputErrors) as caught:
        with company.as_("dave")() as uow:
            import_known_changes(uow=uow, changes=read_known_changes(bad))
    assert {(e.row, e.field) for e in caught.value.errors} == {(4, "from_period")}
    assert "changes-bad.csv" in str(caught.value)
    bad.write_text(bad.read_text().replace("2026-13", "2026-11"))
    with pytest.raises(InputErrors) as caught:
        with company.as_("dave")() as uow:
            import_known_changes(uow=uow, changes=read_known_changes(bad))
    assert {(e.row, e.field) for e in caught.value.errors} == {(3, "cost_centre"),
                                                               (5, "amount")}
    good = tmp_path / "changes.csv"
    good.write_text("cost_centre,from_period,to_period,amount,percent,pool,reason\n"
                    "1010,2026-12,,250.00,,,12 new hires in the plant\n"
                    "1010,2026-11,2026-11,,10,cloud,cloud price rise for one month\n")
    with company.as_("dave")() as uow:
        first = import_known_changes(uow=uow, changes=read_known_changes(good),
                                     reason="planning round")
        uow.commit()
    with company.as_("dave")() as uow:
        events = uow.audit.count()
        again = import_known_changes(uow=uow, changes=read_known_changes(good))
        uow.commit()
    with app.uow(read_only=True) as uow:
        assert uow.audit.count() == events  # the same file again: nothing, not even an event
        stored = list_known_changes(uow=uow, cost_centre="1010")
        found = reports.forecast(uow=uow, period="2026-10", horizon=2, cost_centre="1010")
    assert (first.created, again.changed, again.unchanged) == (2, False, 2)
    assert {c.currency for c in stored if c.amount} == {"USD"}  # the company's currency
    (row,) = found["cost_centres"]
    # The baseline: the mean of the last three periods (1200, 1500, 900), then of 1500, 900
    # and that forecast; the changes come on top and are listed one by one.
    assert [(p.period, p.amount, p.method) for p in row["baseline"]] == [
        ("2026-11", Decimal("1200.00"), MEAN), ("2026-12", Decimal("1200.00"), MEAN)]
    assert [(a.period, a.amount, a.change.reason) for a in row["known_changes"]] == [
        ("2026-11", Decimal("120.00"), "cloud price rise for one month"),
        ("2026-12", Decimal("250.00"), "12 new hires in the plant")]
    assert [(p.amount, p.method) for p in row["forecast"]] == [
        (Decimal("1320.00"), MEAN + WITH_CHANGES), (Decimal("1450.00"), MEAN + WITH_CHANGES)]

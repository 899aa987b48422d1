"""Savings of the demo company measured from billing: the baseline before, the cost after,
checked against a computation by hand; what cannot be measured says why."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from client.commands.common import Options
from connectors.billing import detect_importer
from ledger.errors import InputError
from ledger.savings import Saving, SavingKind, shift_period
from ledger.services.costs import import_billing
from ledger.services.savings import list_savings, measure_savings, record_saving
from tests.billing_support import focus_row, write_focus

EC2 = "Amazon Elastic Compute Cloud"
#: Per month: ten daily EC2 rows of this cost, and S3 rows that are out of the saving's scope.
DAILY_EC2 = {"2026-06": "41.17", "2026-07": "43.21", "2026-08": "39.99", "2026-09": "30.005",
             "2026-10": "28.10"}


def _import_months(app, tmp_path: Path) -> None:
    store = app.cost_facts()
    for period, cost in DAILY_EC2.items():
        year, month = int(period[:4]), int(period[5:])
        rows = [focus_row(date(year, month, day), EC2, Decimal(cost)) for day in range(1, 11)]
        rows += [focus_row(date(year, month, day), "Amazon Simple Storage Service",
                           Decimal("17.30") * month) for day in range(1, 4)]
        path = write_focus(tmp_path / f"focus-{period}.csv", rows)
        with app.uow() as uow:
            import_billing(uow=uow, store=store, path=path, importer=detect_importer(path))
            uow.commit()


def test_the_realised_saving_is_the_baseline_less_each_later_month(demo_app,
                                                                   tmp_path: Path) -> None:
    _import_months(demo_app, tmp_path)
    rightsizing = Saving("OPT-1", SavingKind.RIGHTSIZING, "Rightsize the ERP application tier",
                         "2026-09", Decimal("120.00"), "USD", service="*elastic compute*",
                         provider="aws", cost_centre="5010")
    harvest = Saving("OPT-2", SavingKind.LICENCE_HARVESTING, "Harvest unused Visio seats",
                     "2026-09", Decimal("45.00"), "USD")
    early = Saving("OPT-3", SavingKind.DECOMMISSIONING, "Retire the old build farm", "2026-07",
                   Decimal("10.00"), "USD", service=EC2, baseline_months=6)
    with demo_app.uow() as uow:
        for saving in (rightsizing, harvest, early):
            record_saving(uow=uow, saving=saving, reason="FinOps review")
        uow.commit()
    with demo_app.uow() as uow:
        assert not record_saving(uow=uow, saving=rightsizing).changed  # same values again
        measured = {m.saving.id: m for m in measure_savings(uow=uow,
                                                            store=demo_app.cost_facts())}
        assert [s.id for s in list_savings(uow=uow)] == [  # by effective month: the demo's own
            "OPT-3", "OPT-1", "OPT-2", "MRD-SAV-01", "MRD-SAV-02", "MRD-SAV-03"]  # are October's

    # By hand: ten days a month; the baseline is the mean of June to August, rounded to cents.
    june, july, august = Decimal("411.70"), Decimal("432.10"), Decimal("399.90")
    baseline = Decimal("414.57")  # 1243.70 / 3 = 414.5666...
    assert (june + july + august) / 3 - baseline < Decimal("0.005")
    september, october = Decimal("300.05"), Decimal("281.00")
    m = measured["OPT-1"]
    assert m.baseline_periods == ("2026-06", "2026-07", "2026-08") and m.baseline == baseline
    assert [(x.period, x.actual, x.realised) for x in m.months] == [
        ("2026-09", september, baseline - september), ("2026-10", october, baseline - october)]
    assert m.realised_total == Decimal("248.09") and m.expected_total == Decimal("240.00")
    assert m.realisation_percent == Decimal("103.4")
    assert m.to_json()["realised_total"] == "248.09"

    assert measured["OPT-2"].months == () and "not measured" in measured["OPT-2"].note
    assert "2026-01" in measured["OPT-3"].note and measured["OPT-3"].baseline is None


def test_a_saving_must_be_sensible_and_name_an_existing_cost_centre(demo_app) -> None:
    with pytest.raises(InputError, match="negative"):
        Saving("X", SavingKind.OTHER, "x", "2026-09", Decimal("-1"), "USD")
    with pytest.raises(InputError, match="period"):
        Saving("X", SavingKind.OTHER, "x", "2026-13", Decimal("1"), "USD")
    assert shift_period("2026-01", -1) == "2025-12" and shift_period("2026-11", 3) == "2027-02"
    with demo_app.uow() as uow, pytest.raises(InputError, match="cost centre"):
        record_saving(uow=uow, saving=Saving("X", SavingKind.OTHER, "x", "2026-09",
                                             Decimal("1"), "USD", cost_centre="9999"))


def test_the_commands_record_and_report_savings(demo_app, tmp_path: Path) -> None:
    from client.cli import cli

    runner = CliRunner()
    recorded = runner.invoke(cli, ["--db", demo_app.url, "savings", "record", "OPT-9", "--kind",
                                   "commitment", "--title", "Compute savings plan",
                                   "--effective", "2026-11", "--expected-monthly", "99.50",
                                   "--service", "*compute*", "--json"], obj=Options(),
                             catch_exceptions=False)
    assert recorded.exit_code == 0, recorded.output
    report = runner.invoke(cli, ["--db", demo_app.url, "report", "savings", "--json"],
                           obj=Options(), catch_exceptions=False)
    assert report.exit_code == 0, report.output
    assert '"expected_monthly": "99.50"' in report.output
    # The demo bills July to September (its savings' baseline), not yet October.
    assert "no billing imported for baseline month(s) 2026-10" in report.output

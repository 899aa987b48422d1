"""Spot and burstable instances: cost by run-time hours, CPU credits to who burned them, and
no cost left behind when the provider interrupts a run."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.cloud_usage import (
    GB_SECONDS,
    INVOCATIONS,
    InstanceRun,
    credit_split,
    driver_of_unit,
    runtime_split,
)
from ledger.errors import InputError

D = Decimal


def test_an_interrupted_fleet_is_charged_by_hours_run_and_nothing_is_orphaned() -> None:
    runs = [InstanceRun("sfr-1", "5010", D(3), interrupted=True),  # reclaimed after 3 hours
            InstanceRun("sfr-1", "2040", D(1)),
            InstanceRun("sfr-1", "5010", D(2))]  # restarted elsewhere in the fleet
    # 5010 ran 5 of 6 hours: 100.00 x 5/6 = 83.333.., 2040 16.666..; the odd cent goes to the
    # larger remainder (2040's .67 over 5010's .33)
    assert runtime_split(D("100.00"), runs, instance="sfr-1") == {
        "2040": D("16.67"), "5010": D("83.33")}


def test_cpu_credits_go_to_the_workload_that_burned_them() -> None:
    runs = [InstanceRun("t3-1", "1010", D(700), D(0)), InstanceRun("t3-1", "2010", D(44), D(12)),
            InstanceRun("t3-1", "3010", D(10), D(4))]
    assert credit_split(D("1.00"), runs, instance="t3-1") == {"2010": D("0.75"),
                                                              "3010": D("0.25")}


def test_a_cost_with_nobody_to_charge_is_an_error_not_a_silent_loss() -> None:
    with pytest.raises(InputError, match="no run hours"):
        runtime_split(D("4.20"), [InstanceRun("sfr-2", "5010", D(0))], instance="sfr-2")


@pytest.mark.parametrize(("unit", "driver"), [
    ("Requests", INVOCATIONS), ("Lambda-GB-Second", GB_SECONDS), ("GiB Seconds", GB_SECONDS),
    ("Executions", INVOCATIONS), ("GB", None), ("Hours", None)])
def test_consumed_units_feed_the_right_driver(unit: str, driver: str | None) -> None:
    assert driver_of_unit(unit) == driver

"""Per-second and hourly charges that cross a month boundary are split by time at import."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from connectors.billing import import_billing_file
from ledger.costfacts import CostFactStore, split_charge_by_time
from tests.billing_support import focus_row, write_focus


def _spanning(start: str, end: str, cost: str, resource: str) -> dict[str, str]:
    row = focus_row(dt.date(2026, 10, 31), "AmazonEC2", Decimal(cost), resource=resource)
    row.update({
        "ChargePeriodStart": start, "ChargePeriodEnd": end, "ListCost": "NULL",
        "PricingQuantity": "6", "ConsumedQuantity": "6",
    })
    return row


def test_a_charge_over_midnight_of_the_first_is_split_by_time_and_both_months_reconcile(
    tmp_path: Path,
) -> None:
    store = CostFactStore(tmp_path / "facts")
    rows = [
        # 6 hours, 2 in October and 4 in November: 100.00 -> 33.33.. and 66.66..
        _spanning("2026-10-31 22:00:00", "2026-11-01 04:00:00", "100.00", "i-span"),
        focus_row(dt.date(2026, 10, 30), "AmazonEC2", Decimal("10.00"), resource="i-oct"),
        focus_row(dt.date(2026, 11, 2), "AmazonEC2", Decimal("5.00"), resource="i-nov"),
        # ends exactly at the boundary (end is exclusive): not split
        _spanning("2026-10-31 20:00:00", "2026-11-01 00:00:00", "7.00", "i-edge"),
    ]
    billed = sum(Decimal(r["BilledCost"]) for r in rows)
    result = import_billing_file(store, write_focus(tmp_path / "bill.csv", rows))

    assert result.rows == 5  # four rows, one of them in two pieces
    by_period = {t.billing_period: t.billed_cost for t in store.totals()}
    share_october = Decimal(100) * 2 / 6
    october = Decimal("10.00") + Decimal("7.00") + share_october.quantize(Decimal("1e-18"))
    assert by_period["2026-10"] == october
    assert by_period["2026-11"] == billed - october
    assert by_period["2026-10"] + by_period["2026-11"] == billed
    # The import's recorded total is the file's, unchanged by the split.
    assert store.imports()[0].totals["USD"]["billed_cost"] == billed

    with store.connect() as con:
        pieces = con.execute(
            "SELECT billing_period, charge_period_start, charge_period_end, billed_cost, "
            "pricing_quantity, list_cost, source_row FROM cost_facts "
            "WHERE resource_id = 'i-span' ORDER BY charge_period_start"
        ).fetchall()
    assert [(p[0], p[1], p[2]) for p in pieces] == [
        ("2026-10", dt.datetime(2026, 10, 31, 22), dt.datetime(2026, 11, 1)),
        ("2026-11", dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 1, 4)),
    ]
    assert pieces[0][3] + pieces[1][3] == Decimal("100.00")
    assert (pieces[0][4], pieces[1][4]) == (Decimal(2), Decimal(4))  # quantities by time too
    assert pieces[0][5] is None and pieces[1][5] is None  # NULL stays NULL
    assert pieces[0][6] == pieces[1][6] == 2  # both pieces name the source row

    # Each month's allocation groups hold exactly that month's share.
    october_groups = sum(g.billed_cost for g in store.groups(period="2026-10"))
    november_groups = sum(g.billed_cost for g in store.groups(period="2026-11"))
    assert (october_groups, november_groups) == (by_period["2026-10"], by_period["2026-11"])

    # Importing the same file again changes nothing.
    assert import_billing_file(store, tmp_path / "bill.csv").already_imported
    assert {t.billing_period: t.billed_cost for t in store.totals()} == by_period


def test_a_charge_over_several_months_telescopes_to_the_exact_amount() -> None:
    start, end = dt.datetime(2026, 1, 15, 12, 0, 1), dt.datetime(2026, 4, 2, 0, 0, 3)
    amount = Decimal("-1234.567890123456789012")  # a credit, all 18 digits kept
    pieces = split_charge_by_time(start, end, [amount, None])
    assert [p[0].month for p in pieces] == [1, 2, 3, 4]
    assert sum(p[2][0] for p in pieces) == amount
    assert all(p[2][1] is None for p in pieces)
    seconds = (end - start).total_seconds()
    february = Decimal(28 * 86400) / Decimal(seconds) * amount
    assert abs(pieces[1][2][0] - february) < Decimal("1e-17")

"""Licences in the domain: names that discovery spells many ways meet their entitlement, and the
compliance position is what a licence manager works out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledger.errors import InputError
from ledger.licence import (
    AssigneeKind,
    CostBasis,
    Entitlement,
    Installation,
    LicenceMetric,
    SeatAssignment,
    compliance_position,
    product_key,
    publisher_key,
    seat_costs_for,
    version_in_range,
)

D = Decimal
DAY = date(2026, 11, 27)


@pytest.mark.parametrize(("name", "publisher"), [
    ("Microsoft Visio Professional 2021 - en-us", "Microsoft Corporation"),
    ("Visio Professional 2021 (x64)", "Microsoft"),
    ("Microsoft® Visio® Professional 2021 16.0.14332.20447", None),
    ("MICROSOFT VISIO PROFESSIONAL 2021 64-bit", "microsoft corp."),
])
def test_the_spellings_of_one_product_share_one_key(name, publisher) -> None:
    assert product_key(name, publisher or "Microsoft") == "visio professional 2021"


def test_editions_and_years_stay_different_products() -> None:
    assert product_key("Microsoft Visio Professional 2016", "Microsoft") != \
        product_key("Microsoft Visio Professional 2021", "Microsoft")
    assert product_key("SQL Server 2019 Standard") != product_key("SQL Server 2019 Enterprise")


def test_corporate_suffixes_do_not_separate_publishers() -> None:
    assert publisher_key("Adobe Systems Incorporated") == publisher_key("Adobe Inc.") == "adobe"
    assert publisher_key("Red Hat, Inc.") == "red hat"
    assert publisher_key("  ") is None


def test_a_version_range_bounds_by_number_not_by_text() -> None:
    assert version_in_range("16.0.14332.20447", "16", "16")
    assert not version_in_range("17.0.1", "16", "16")
    assert not version_in_range("9.5", "10", None)
    assert version_in_range("10.0", "9.5", None)  # "10" > "9.5" as numbers, not as text
    assert version_in_range(None, None, None)
    assert not version_in_range(None, "16", None)  # an unknown version cannot prove coverage


def test_an_entitlement_refuses_what_cannot_be_a_purchase() -> None:
    with pytest.raises(InputError, match="whole number above zero"):
        Entitlement("K", "Adobe", "Acrobat", LicenceMetric.PER_USER, 0, D("1"))
    with pytest.raises(InputError, match="must be one of"):
        Entitlement("K", "Adobe", "Acrobat", "per seat", 1, D("1"))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="ends before it starts"):
        Entitlement("K", "Adobe", "Acrobat", LicenceMetric.PER_USER, 1, D("1"),
                    term_start=date(2026, 2, 1), term_end=date(2026, 1, 1))
    with pytest.raises(InputError, match="negative"):
        Entitlement("K", "Adobe", "Acrobat", LicenceMetric.PER_USER, 1, D("-1"))


def _install(device: str, product: str, publisher: str | None = None, version: str | None = None,
             owner: str | None = None, cores: int | None = None) -> Installation:
    return Installation("glpi", device, product, publisher, version, owner=owner, cores=cores)


def test_the_position_counts_devices_users_and_cores_as_each_metric_says() -> None:
    entitlements = [
        Entitlement("V1", "Microsoft", "Visio Professional 2021", LicenceMetric.PER_DEVICE, 2,
                    D("579.00"), version_from="16", version_to="16"),
        Entitlement("A1", "Adobe", "Acrobat Pro", LicenceMetric.PER_USER, 1, D("22.99"),
                    cost_basis=CostBasis.MONTHLY),
        Entitlement("S1", "Microsoft", "SQL Server 2019 Standard", LicenceMetric.PER_CORE, 16,
                    D("929.50")),
        Entitlement("OLD", "Adobe", "Acrobat Pro", LicenceMetric.PER_USER, 50, D("1.00"),
                    term_end=date(2025, 12, 31)),  # expired: entitles nothing today
    ]
    installations = [
        # Visio: three devices, one of them reporting twice, one Visio 17 (not covered).
        _install("pc1", "Microsoft Visio Professional 2021 - en-us", "Microsoft Corporation",
                 "16.0.1"),
        _install("pc1", "Visio Professional 2021 (x64)", None, "16.0.1"),
        _install("pc2", "Visio Professional 2021", None, "16.0.2"),
        _install("pc3", "Microsoft Visio Professional 2021", "Microsoft", "17.0.0"),
        # Acrobat: two users, one of whom has two laptops.
        _install("pc1", "Adobe Acrobat Pro (64-bit)", "Adobe Inc.", "24.1", owner="ann"),
        _install("pc4", "Adobe Acrobat Pro 2024.002.20687", "Adobe Systems Incorporated",
                 owner="ANN"),
        _install("pc5", "Adobe Acrobat Pro", "Adobe", owner="bob"),
        # SQL Server: 12 + 8 cores.
        _install("db1", "Microsoft SQL Server 2019 Standard Edition", "Microsoft", cores=12),
        _install("db2", "Microsoft SQL Server 2019 Standard Edition", "Microsoft", cores=8),
        # A product by another publisher with the same name does not count.
        _install("pc6", "Acrobat Pro", "Some Other Vendor", owner="cy"),
    ]
    positions = {p.product: p for p in compliance_position(entitlements, installations, [],
                                                           on=DAY)}
    visio = positions["Visio Professional 2021"]
    assert (visio.entitled, visio.consumed, visio.surplus, visio.shortfall) == (2, 2, 0, 0)
    assert visio.status == "balanced"
    acrobat = positions["Acrobat Pro"]
    assert (acrobat.entitled, acrobat.consumed, acrobat.shortfall) == (1, 2, 1)
    assert acrobat.true_up_cost == D("22.99")
    sql = positions["SQL Server 2019 Standard"]
    assert (sql.entitled, sql.consumed, sql.shortfall) == (16, 20, 4)
    assert sql.true_up_cost == D("3718.00")  # 4 cores x 929.50
    assert not sql.estimated


def test_seats_are_consumption_for_seat_metrics_and_unknown_cores_are_flagged() -> None:
    entitlements = [
        Entitlement("E3", "Microsoft", "Microsoft 365 E3", LicenceMetric.SUBSCRIPTION_SEAT, 3,
                    D("432.00"), cost_basis=CostBasis.ANNUAL),
        Entitlement("CAD", "Autodesk", "AutoCAD", LicenceMetric.CONCURRENT, 1, D("2030.00")),
        Entitlement("RH", "Red Hat", "Enterprise Linux Server", LicenceMetric.PER_PROCESSOR, 4,
                    D("1299.00")),
    ]
    seats = [SeatAssignment("E3", AssigneeKind.USER, "ann@x.example"),
             SeatAssignment("E3", AssigneeKind.USER, "bob@x.example"),
             SeatAssignment("CAD", AssigneeKind.USER, "ann@x.example"),
             SeatAssignment("CAD", AssigneeKind.USER, "cy@x.example"),
             SeatAssignment("CAD", AssigneeKind.USER, "di@x.example", since=date(2027, 1, 1))]
    installs = [_install("srv1", "Red Hat Enterprise Linux Server 8.9", "Red Hat, Inc.")]
    positions = {p.product: p for p in compliance_position(entitlements, installs, seats,
                                                           on=DAY)}
    assert (positions["Microsoft 365 E3"].consumed, positions["Microsoft 365 E3"].surplus) == \
        (2, 1)
    cad = positions["AutoCAD"]
    assert (cad.consumed, cad.shortfall, cad.true_up_cost) == (2, 1, D("2030.00"))
    rhel = positions["Enterprise Linux Server"]
    assert rhel.consumed == 1 and rhel.estimated


def test_seat_costs_sum_exactly_per_cost_centre_then_round_once() -> None:
    entitlements = [
        Entitlement("E3", "Microsoft", "Microsoft 365 E3", LicenceMetric.SUBSCRIPTION_SEAT, 10,
                    D("100.00"), cost_basis=CostBasis.ANNUAL,
                    term_start=date(2026, 1, 1), term_end=date(2026, 12, 31)),
        Entitlement("V", "Microsoft", "Visio", LicenceMetric.PER_DEVICE, 10, D("579.00")),
    ]
    seats = [(SeatAssignment("E3", AssigneeKind.USER, f"u{n}@x.example"), "1010")
             for n in range(3)]
    seats += [(SeatAssignment("E3", AssigneeKind.USER, "v@x.example"), "1020"),
              (SeatAssignment("E3", AssigneeKind.USER, "nobody@x.example"), None),
              (SeatAssignment("V", AssigneeKind.DEVICE, "LT-1"), "1010")]
    costs = seat_costs_for(entitlements, seats, first=date(2026, 3, 1), last=date(2026, 3, 31))
    # 3 seats x 100.00 / 12 = 25.00 exactly; one seat 8.333... rounds to 8.33; perpetual Visio
    # and the seat without a cost centre cost nothing by the month.
    assert [(c.cost_centre, c.product, c.amount, c.seats) for c in costs] == [
        ("1010", "Microsoft 365 E3", D("25.00"), 3), ("1020", "Microsoft 365 E3", D("8.33"), 1)]
    assert seat_costs_for(entitlements, seats, first=date(2027, 1, 1),
                          last=date(2027, 1, 31)) == []  # the term has ended

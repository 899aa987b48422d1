"""The demo company's licences: entitlements with both surplus and shortfall, the seats given out,
and the software discovery sees on the register's devices.

Everything is derived from the demo register by rule (no randomness), so that a test can work
the position out by hand. On the demo's register (120 laptops, 30 desktops, 36 servers; five
laptops disposed during the year), on any day of the fiscal year:

| product (publisher), metric, unit cost | entitled | consumed | position |
|---|---|---|---|
| Acrobat Pro (Adobe), per user, 22.99 a month | 25 | 31 users | shortfall 6: 137.94 |
| AutoCAD (Autodesk), concurrent, 2,030.00 a year | 5 | 7 seats | shortfall 2: 4,060.00 |
| 365 E3 (Microsoft), subscription seat, 432.00 a year | 160 | 145 seats | surplus 15 |
| SQL Server 2019 Standard (Microsoft), per core, 929.50 | 64 | 6 x 12 = 72 | short 8: 7,436.00 |
| Visio Professional 2021 (Microsoft), per device, 579.00 | 20 | 14 devices | surplus 6 |
| Enterprise Linux Server (Red Hat), per processor, 1,299.00 a year | 24 | 10 x 2 = 20 | surplus 4 |

Installations are spelled as real tools spell them ("Microsoft Visio Professional 2021 -
en-us", "Visio Professional 2021 (x64)" with no publisher, "Adobe Acrobat Pro (64-bit)"),
and two laptops run Visio 2016, which the 2021 entitlement does not cover.

The discovery feeds of the inventory work (``client.demo_inventory``) carry their own software
lists; these installations are recorded under the source ``demo-software`` so the two never
overwrite each other.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from ledger.asset import Asset, AssetEventKind, LifecycleStatus
from ledger.discovery import DiscoveredDevice, Software
from ledger.licence import AssigneeKind, CostBasis, Entitlement, LicenceMetric, SeatAssignment
from ledger.ports import UnitOfWork
from ledger.services import licences
from ledger.services.base import Changes
from ledger.staging import staged

if TYPE_CHECKING:
    from client.demo import DemoCompany

SOURCE = "demo-software"
D = Decimal


def entitlements(demo: DemoCompany) -> list[Entitlement]:
    """The demo company's licence purchases, their terms covering the demo's fiscal year."""
    first = demo.periods[0].start
    renewal = date(first.year + 1, first.month, first.day)
    currency = demo.company.functional_currency

    def make(key: str, publisher: str, product: str, metric: LicenceMetric, quantity: int,
             cost: str, basis: CostBasis, **extra: object) -> Entitlement:
        subscription = basis is not CostBasis.PERPETUAL
        return Entitlement(key, publisher, product, metric, quantity, D(cost), currency, basis,
                           term_start=first if subscription else None,
                           term_end=renewal if subscription else None,
                           source="demo", **extra)  # type: ignore[arg-type]

    return [
        make("MS-EA-365E3", "Microsoft", "Microsoft 365 E3", LicenceMetric.SUBSCRIPTION_SEAT,
             160, "432.00", CostBasis.ANNUAL),
        make("ADOBE-VIP-ACROBAT", "Adobe", "Acrobat Pro", LicenceMetric.PER_USER, 25, "22.99",
             CostBasis.MONTHLY),
        make("MS-VISIO-2021", "Microsoft Corporation", "Visio Professional 2021",
             LicenceMetric.PER_DEVICE, 20, "579.00", CostBasis.PERPETUAL,
             version_from="16", version_to="16"),
        make("MS-SQL-2019-STD", "Microsoft", "SQL Server 2019 Standard",
             LicenceMetric.PER_CORE, 64, "929.50", CostBasis.PERPETUAL),
        make("RH-RHEL-SERVER", "Red Hat", "Enterprise Linux Server",
             LicenceMetric.PER_PROCESSOR, 24, "1299.00", CostBasis.ANNUAL),
        make("AUTODESK-ACAD-NET", "Autodesk", "AutoCAD", LicenceMetric.CONCURRENT, 5,
             "2030.00", CostBasis.ANNUAL),
    ]


def user_of(index: int, demo_domain: str, first: list[str], last: list[str]) -> str:
    """The demo user of the ``index``-th end-user device: distinct for every index < 572."""
    return (f"{first[index % len(first)].lower()}.{last[(index // len(first)) % len(last)]}"
            f"@{demo_domain}").lower()


def _software(*items: tuple[str | None, str, str | None]) -> tuple[Software, ...]:
    return tuple(Software(publisher, product, version) for publisher, product, version in items)


COMMON = (("Google LLC", "Google Chrome", "131.0.6778.86"),
          ("Igor Pavlov", "7-Zip 23.01 (x64)", "23.01"),
          ("Microsoft Corporation", "Microsoft 365 Apps for enterprise - en-us",
           "16.0.17928.20156"))


def demo_register(demo: DemoCompany) -> list[Asset]:
    """The demo register as generated, after its transfers and disposals.

    Taken from the generated company rather than the database, so that what other demo loaders
    later add to the register (identifiers, owners) cannot change the licences on a reload.
    """
    register = {a.tag: a for a in demo.assets}
    for event in demo.asset_events:
        asset = register[event.asset_tag]
        if event.kind is AssetEventKind.TRANSFER:
            register[asset.tag] = replace(asset, cost_centre=event.to_cost_centre)
        elif event.kind is AssetEventKind.DISPOSAL:
            register[asset.tag] = replace(asset, status=LifecycleStatus.DISPOSED)
    return [register[tag] for tag in sorted(register)]


def plan(demo: DemoCompany, register: list[Asset]) -> tuple[
        list[DiscoveredDevice], dict[str, tuple[int | None, int | None]],
        list[SeatAssignment]]:
    """The demo's devices with their software, their core counts, and the seats given out."""
    from client.demo import load_spec

    spec = load_spec()
    domain = demo.company.name.split()[0].lower() + ".example"
    first, last = spec["owners"]["first_names"], spec["owners"]["last_names"]
    live = [a for a in register if a.status is LifecycleStatus.IN_SERVICE]
    end_user = [a for a in live if a.kind.value in ("laptop", "desktop")]
    laptops = [a for a in end_user if a.kind.value == "laptop"]
    servers = [a for a in live if a.kind.value == "server"]
    owners = {a.tag: user_of(i, domain, first, last) for i, a in enumerate(end_user)}

    software: dict[str, list[tuple[str | None, str, str | None]]] = {
        a.tag: list(COMMON) for a in end_user}
    for i, asset in enumerate(laptops[:31]):  # Acrobat on 31 laptops, 25 seats bought
        spelling = ("Adobe Acrobat Pro (64-bit)" if i % 2 else "Adobe Acrobat Pro 2024.002.20687")
        software[asset.tag].append(("Adobe Inc.", spelling, "24.002.20687"))
    for i, asset in enumerate(laptops[40:54]):  # Visio 2021 on 14 laptops
        software[asset.tag].append(
            ("Microsoft Corporation", "Microsoft Visio Professional 2021 - en-us",
             "16.0.14332.20447") if i % 3 else
            (None, "Visio Professional 2021 (x64)", "16.0.14332.20447"))
    for asset in laptops[54:56]:  # Visio 2016: another product, not covered
        software[asset.tag].append(("Microsoft Corporation", "Microsoft Visio Professional 2016",
                                    "16.0.4266.1001"))
    hardware: dict[str, tuple[int | None, int | None]] = {}
    for i, asset in enumerate(servers):
        hardware[asset.tag] = (12, 2)
        items: list[tuple[str | None, str, str | None]] = []
        if i < 6:
            items.append(("Microsoft Corporation", "Microsoft SQL Server 2019 Standard Edition",
                          "15.0.2000.5"))
        if 6 <= i < 16:
            items.append(("Red Hat, Inc.", "Red Hat Enterprise Linux Server 8.9", "8.9"))
        software[asset.tag] = items

    devices = [DiscoveredDevice(source=SOURCE, record_id=asset.tag,
                                hostname=asset.tag.lower().replace("-", ""),
                                owner=owners.get(asset.tag), asset_tag=asset.tag,
                                software=_software(*software[asset.tag]))
               for asset in [*end_user, *servers]]

    centre = {a.tag: a.cost_centre for a in live}
    seats = [SeatAssignment("MS-EA-365E3", AssigneeKind.USER, owners[a.tag], centre[a.tag])
             for a in end_user]
    seats += [SeatAssignment("ADOBE-VIP-ACROBAT", AssigneeKind.USER, owners[a.tag],
                             centre[a.tag]) for a in laptops[:25]]
    seats += [SeatAssignment("AUTODESK-ACAD-NET", AssigneeKind.USER, owners[a.tag],
                             centre[a.tag]) for a in laptops[60:67]]
    return devices, hardware, seats


def load_licences(uow: UnitOfWork, demo: DemoCompany) -> Changes:
    """Store the demo's entitlements, seats and installations (again: nothing changes)."""
    devices, hardware, seats = plan(demo, demo_register(demo))
    changes = licences.import_entitlements(
        uow=uow, entitlements=staged(entitlements(demo), "demo"),
        assignments=staged(seats, "demo"), reason="demo company")
    changes += licences.record_installations(uow, source=SOURCE, devices=devices,
                                             hardware=hardware)
    return changes

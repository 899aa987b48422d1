"""Licences through the services on a real database (SQLite and PostgreSQL): the demo's
position worked out by hand, Snipe-IT licence files, installations from discovery, seat costs."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from client.demo import generate
from client.demo_licences import load_licences
from ledger.access import Permission, Role
from ledger.asset import Asset, AssetKind
from ledger.discovery import DiscoveredDevice, Software
from ledger.errors import InputErrors, PermissionDeniedError
from ledger.licence import AssigneeKind, Entitlement, LicenceMetric, SeatAssignment
from ledger.persistence.unit_of_work import UnitOfWorkFactory
from ledger.reference import CostCentre
from ledger.services import assets, licences, reference_data
from ledger.services.users import grant_role
from ledger.staging import staged
from tests.conftest import shared_fixture

D = Decimal


def test_the_demo_licence_position_matches_the_hand_computation(demo_app) -> None:
    with demo_app.uow(read_only=True) as uow:
        positions = {p.product: p for p in licences.licence_position(uow=uow)}
    # The demo register: 120 laptops (5 disposed during the year), 30 desktops, 36 servers.
    # Microsoft 365 E3: a seat for each of the 115 + 30 = 145 end users; 160 bought.
    # Acrobat Pro: installed on the first 31 in-service laptops, one user each; 25 bought;
    #   6 short at 22.99 = 137.94.
    # Visio Professional 2021: 14 laptops (spelled three ways); the 2 Visio 2016 installs are
    #   another product; 20 bought: 6 spare.
    # SQL Server 2019 Standard: 6 servers x 12 cores = 72 cores; 64 bought; 8 short at 929.50
    #   = 7,436.00.
    # Red Hat Enterprise Linux Server: 10 servers x 2 processors = 20; 24 bought: 4 spare.
    # AutoCAD: 7 concurrent seats given out; 5 bought; 2 short at 2,030.00 = 4,060.00.
    expected = {
        "Microsoft 365 E3": (160, 145, 15, 0, D("0.00")),
        "Acrobat Pro": (25, 31, 0, 6, D("137.94")),
        "Visio Professional 2021": (20, 14, 6, 0, D("0.00")),
        "SQL Server 2019 Standard": (64, 72, 0, 8, D("7436.00")),
        "Enterprise Linux Server": (24, 20, 4, 0, D("0.00")),
        "AutoCAD": (5, 7, 0, 2, D("4060.00")),
    }
    assert {name: (p.entitled, p.consumed, p.surplus, p.shortfall, p.true_up_cost)
            for name, p in positions.items()} == expected
    assert sum(p.true_up_cost for p in positions.values()) == D("11633.94")
    assert {p.status for p in positions.values()} == {"surplus", "shortfall"}
    # Loading the demo's licences again changes nothing.
    with demo_app.uow() as uow:
        before = uow.audit.count()
        changes = load_licences(uow, generate())
        assert not changes.changed
        assert uow.audit.count() == before


def test_the_demo_seat_costs_for_a_month(demo_app) -> None:
    with demo_app.uow(read_only=True) as uow:
        costs = licences.seat_costs(uow, "2026-03")
    per_product: dict[str, tuple[Decimal, int]] = {}
    for cost in costs:
        amount, seats = per_product.get(cost.product, (D(0), 0))
        per_product[cost.product] = (amount + cost.amount, seats + cost.seats)
        assert cost.currency == "USD" and cost.amount == cost.amount.quantize(D("0.01"))
    # 145 seats x 432.00 / 12 = 36.00 each; 25 Acrobat seats x 22.99 a month; perpetual Visio and
    # SQL Server cost nothing by the month; RHEL has no seats assigned.
    assert per_product["Microsoft 365 E3"] == (D("5220.00"), 145)
    assert per_product["Adobe Acrobat Pro"] == (D("574.75"), 25)
    assert per_product["Autodesk AutoCAD"][1] == 7
    # 2,030.00 / 12 = 169.1666.. per seat, rounded once per cost centre: within a cent a centre.
    centres = sum(1 for c in costs if c.product == "Autodesk AutoCAD")
    assert abs(per_product["Autodesk AutoCAD"][0] - D("1184.17")) <= D("0.01") * centres
    assert set(per_product) == {"Microsoft 365 E3", "Adobe Acrobat Pro", "Autodesk AutoCAD"}


def _counts(app) -> tuple[int, int, int]:
    with app.uow(read_only=True) as uow:
        return (len(uow.licences.entitlements()), len(uow.licences.assignments()),
                uow.audit.count())


def _import_snipeit(app, path: Path):
    from connectors.inventory.snipeit_licences import read_snipeit_licences

    found = read_snipeit_licences(path)
    with app.uow() as uow:
        changes = licences.import_entitlements(uow=uow, entitlements=found.entitlements,
                                               assignments=found.seats)
        uow.commit()
    return changes


def test_the_snipeit_licences_sample_imports_and_again_changes_nothing(app) -> None:
    path = shared_fixture("inventory", "snipeit", "licenses-sample.csv")
    first = _import_snipeit(app, path)
    assert first.created == 100  # 50 licences, each with one seat checked out
    counts = _counts(app)
    assert counts[:2] == (50, 50)
    second = _import_snipeit(app, path)
    assert not second.changed and second.unchanged == 100
    assert _counts(app) == counts
    with app.uow(read_only=True) as uow:
        licence = uow.licences.entitlement("snipeit:4c2713a1-5b73-4ecb-b2e9-62bf0ff57165")
        [seat] = uow.licences.assignments(licence.key)
    # $12.58 for 56 seats: 0.224643 a seat, to 6 places.
    assert (licence.quantity, licence.unit_cost, seat.assignee) == (56, D("0.224643"),
                                                                   "jgoodsell0")


@pytest.mark.parametrize("name", ["assets-sample-BAD.csv", "assets-sample-BLANKS.csv"])
def test_snipeits_broken_samples_fail_row_by_row_and_change_nothing(app, name) -> None:
    before = _counts(app)
    with pytest.raises(InputErrors) as caught:
        _import_snipeit(app, shared_fixture("inventory", "snipeit", name))
    errors = caught.value.errors
    assert len(errors) > 5
    assert all(e.source.endswith(name) and e.row is not None for e in errors)
    assert any(e.row == 1 for e in errors) and any(e.row > 1 for e in errors)
    assert _counts(app) == before


def test_a_licence_file_with_bad_rows_names_each_and_imports_nothing(app, tmp_path) -> None:
    source = shared_fixture("inventory", "snipeit", "licenses-sample.csv")
    path = tmp_path / "licences.csv"
    shutil.copy(source, path)
    text = path.read_text("utf-8")
    text = text.replace(",false,yes,56,", ",false,yes,many,", 1)  # row of the first licence
    text = text.replace("Brant Turley,estrowan1@google.fr,estrowan1,Mirtazapine,",
                        "Brant Turley,estrowan1@google.fr,estrowan1,,", 1)
    path.write_text(text, "utf-8")
    before = _counts(app)
    with pytest.raises(InputErrors) as caught:
        _import_snipeit(app, path)
    found = {(e.row, e.field) for e in caught.value.errors}
    # Rows as the CSV reader counts them: the line a record ends on (the first licence's notes
    # run over lines 2 to 4).
    assert found == {(4, "seats"), (5, "Item name")}
    assert _counts(app) == before


def _device(record_id: str, *software: Software, partial: bool = False) -> DiscoveredDevice:
    return DiscoveredDevice(source="glpi", record_id=record_id, hostname=record_id,
                            owner="ann", software=software, partial=partial)


def test_installations_follow_discovery_and_a_reimport_writes_nothing(app) -> None:
    chrome = Software("Google LLC", "Google Chrome", "131.0")
    visio = Software("Microsoft Corporation", "Microsoft Visio Professional 2021", "16.0.1")
    with app.uow() as uow:
        first = licences.record_installations(uow, source="glpi", devices=[
            _device("pc1", chrome, visio, chrome), _device("pc2", chrome)])
        uow.commit()
    assert (first.created, first.deleted) == (3, 0)  # the repeated Chrome counted once
    with app.uow() as uow:
        audit = uow.audit.count()
        again = licences.record_installations(uow, source="glpi", devices=[
            _device("pc1", chrome, visio), _device("pc2", chrome)])
        # pc1 loses Visio; a partial inventory without software keeps what pc2 had.
        changed = licences.record_installations(uow, source="glpi", devices=[
            _device("pc1", chrome), _device("pc2", partial=True)])
        uow.commit()
        assert not again.changed and uow.audit.count() == audit + 1
    assert (changed.created, changed.deleted, changed.unchanged) == (1, 2, 1)
    with app.uow(read_only=True) as uow:
        held = sorted((i.record_id, i.product) for i in uow.licences.installations())
    assert held == [("pc1", "Google Chrome"), ("pc2", "Google Chrome")]


def _small_estate(app) -> None:
    """One cost centre, one laptop, one Visio entitlement; alice manages assets, frank views."""
    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre("1010", "Manufacturing")]))
        assets.register_assets(uow=uow, assets=staged([
            Asset("LT-00001", "Dell Latitude 7440", AssetKind.LAPTOP, "1010")]))
        licences.import_entitlements(uow=uow, entitlements=staged([Entitlement(
            "MS-VISIO-2021", "Microsoft", "Visio Professional 2021", LicenceMetric.PER_DEVICE,
            20, D("579.00"))]))
        grant_role(uow=uow, login="alice", role=Role.ASSET_MANAGER)
        grant_role(uow=uow, login="frank", role=Role.VIEWER)
        uow.commit()


def test_seats_need_a_known_entitlement_cost_centre_and_device(app) -> None:
    _small_estate(app)
    with app.uow() as uow:
        with pytest.raises(InputErrors) as caught:
            licences.assign_seat(uow=uow, seat=SeatAssignment(
                "NOPE", AssigneeKind.DEVICE, "LT-99999", cost_centre="9999"))
    fields = sorted(e.field for e in caught.value.errors)
    assert fields == ["assignee", "cost_centre", "entitlement"]
    with app.uow() as uow:
        seat = SeatAssignment("MS-VISIO-2021", AssigneeKind.DEVICE, "LT-00001")
        assert licences.assign_seat(uow=uow, seat=seat).created == 1
        assert not licences.assign_seat(uow=uow, seat=seat).changed
        assert licences.release_seat(uow=uow, entitlement="MS-VISIO-2021",
                                     assignee_kind="device", assignee="LT-00001").deleted == 1
        uow.commit()


def test_only_licence_managers_change_licences(app) -> None:
    _small_estate(app)
    viewer = UnitOfWorkFactory(app.engine, "frank", app.uow.clock)
    manager = UnitOfWorkFactory(app.engine, "alice", app.uow.clock)
    seat = SeatAssignment("MS-VISIO-2021", AssigneeKind.DEVICE, "LT-00001")
    with viewer() as uow:
        assert not uow.actor.can(Permission.MANAGE_LICENCES)
        with pytest.raises(PermissionDeniedError):
            licences.assign_seat(uow=uow, seat=seat)
        assert licences.licence_position(uow=uow)  # reading is for everyone
    with manager() as uow:
        assert licences.assign_seat(uow=uow, seat=seat).created == 1


def test_the_licence_commands_import_snipeit_and_report_the_position(app, database_url) -> None:
    import json

    from click.testing import CliRunner

    from client.cli import cli

    path = shared_fixture("inventory", "snipeit", "licenses-sample.csv")
    runner = CliRunner()

    def run(*args: str) -> dict:
        result = runner.invoke(cli, ["--db", database_url, "--json", *args],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    assert run("import", "snipeit-licenses", str(path))["created"] == 100
    assert run("import", "snipeit-licenses", str(path))["unchanged"] == 100
    assert len(run("licences", "list")["entitlements"]) == 50
    # Every sample licence expired in 2016; on a day in 2016 some still ran, one seat used each.
    position = run("licences", "position", "--on", "2016-01-01")
    assert position["products"] and all(p["consumed"] == 1 and p["status"] == "surplus"
                                        for p in position["products"])
    assert run("licences", "position")["products"] == []  # all expired today

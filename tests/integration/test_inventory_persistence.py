"""Discovery imports land in the database all or nothing, re-imports change nothing, large
files stream, and the register's identifiers are stored with their matching keys; on SQLite
and PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner

import connectors.inventory.reading as reading
from client.commands.inventory import SOURCES, _reader, file_sha256
from ledger.asset import Asset, Environment
from ledger.errors import InputError, InputErrors
from ledger.reference import CostCentre
from ledger.services import assets as assets_service
from ledger.services import reference_data
from ledger.services.inventory import import_discovery, reconciliation_counts
from ledger.services.status import status_summary
from ledger.staging import staged
from tests.conftest import LOCAL_FIXTURES, shared_fixture

INVENTORY = LOCAL_FIXTURES / "inventory"


def _import(app, kind: str, path: Path, progress=None):
    with app.uow() as uow:
        result = import_discovery(uow=uow, source=SOURCES[kind].value, kind=kind,
                                  file=str(path), sha256=file_sha256(path),
                                  devices=_reader(kind, path, progress or (lambda _: None)),
                                  progress=progress)
        uow.commit()
    return result


def _state(app) -> tuple[int, int, int]:
    with app.uow(read_only=True) as uow:
        return uow.inventory.count(), len(uow.inventory.imports()), uow.audit.count()


REAL = [
    ("glpi", ("inventory", "glpi_agent_xml"), 5),
    ("glpi", ("inventory", "glpi_json", "computer_1.json"), 1),
    ("glpi", ("inventory", "glpi_json", "computer_3.json"), 1),
    ("glpi", ("inventory", "glpi_json", "networkequipment_3.json"), 1),
    ("glpi", ("inventory", "glpi_json", "printer_1.json"), 1),
    ("aws-config", ("inventory", "aws_config",
                    "aws_config_ConfigurationItemChangeNotification_ec2_volume.json"), 1),
    ("snipeit-assets", ("inventory", "snipeit", "assets-sample.csv"), None),
]


@pytest.mark.parametrize(("kind", "parts", "expected"), REAL)
def test_every_real_fixture_imports_and_importing_it_again_changes_nothing(
        app, kind: str, parts: tuple[str, ...], expected: int | None) -> None:
    path = shared_fixture(*parts)
    first = _import(app, kind, path)
    assert first.created == first.records > 0
    assert expected is None or first.records == expected
    before = _state(app)
    again = _import(app, kind, path)
    assert again.already_imported and again.import_id == first.import_id
    assert _state(app) == before


@pytest.mark.parametrize(("kind", "name"), [
    ("sccm", "sccm_hardware.csv"), ("intune", "intune_managed_devices.json"),
    ("intune", "intune_managed_devices.csv"), ("jamf", "jamf_computers_inventory_page.json")])
def test_generated_feeds_import_with_their_keys(app, kind: str, name: str) -> None:
    result = _import(app, kind, INVENTORY / "generated" / name)
    assert result.records == result.created > 0
    with app.uow(read_only=True) as uow:
        rows = list(uow.inventory.device_key_rows())
    assert len(rows) == result.records
    assert all(row[1] == SOURCES[kind].value for row in rows)
    assert any(row[4] for row in rows)  # a serial key was stored


def test_the_same_devices_in_another_file_are_unchanged_and_changed_ones_updated(
        app, tmp_path: Path) -> None:
    original = INVENTORY / "generated" / "sccm_hardware.csv"
    _import(app, "sccm", original)
    with open(original, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows[0]["UserName0"] = "AD\\someone"
    copy = tmp_path / "sccm_again.csv"
    with open(copy, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = _import(app, "sccm", copy)
    assert (result.created, result.updated, result.unchanged) == (0, 1, len(rows) - 1)


@pytest.mark.parametrize("name", ["assets-sample-BAD.csv", "assets-sample-BLANKS.csv"])
def test_a_broken_snipeit_file_fails_with_row_errors_and_leaves_the_database_unchanged(
        app, name: str) -> None:
    _import(app, "glpi", INVENTORY / "glpi_agent_xml")
    before = _state(app)
    with pytest.raises((InputError, InputErrors)) as raised:
        _import(app, "snipeit-assets", shared_fixture("inventory", "snipeit", name))
    errors = getattr(raised.value, "errors", [raised.value])
    assert all(e.source and e.source.endswith(name) for e in errors)
    assert any(e.row not in (None, 1) for e in errors)
    assert _state(app) == before


def _big_sccm(path: Path, rows: int, bad_row: int | None = None) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ResourceID", "Name0", "SerialNumber0", "UUID0", "LastHWScan"])
        for n in range(rows):
            when = "not a date" if n == bad_row else "2026-11-20 08:00:00"
            writer.writerow([str(16_777_216 + n), f"PC{n:06d}", f"SN{n:08d}", "", when])


def test_a_large_sccm_file_streams_in_batches_with_progress(
        app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "STREAM_ABOVE_BYTES", 0)  # stream even this small file
    path = tmp_path / "sccm_big.csv"
    _big_sccm(path, 5_000)
    seen: list[int] = []
    result = _import(app, "sccm", path, progress=seen.append)
    assert result.records == result.created == 5_000
    assert seen[-1] == 5_000 and len(seen) >= 3  # batches reported as they were stored


def test_a_bad_row_late_in_a_streamed_file_stores_nothing(
        app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "STREAM_ABOVE_BYTES", 0)
    path = tmp_path / "sccm_bad.csv"
    _big_sccm(path, 4_500, bad_row=4_400)
    before = _state(app)
    with pytest.raises(InputError) as raised:
        _import(app, "sccm", path)
    assert (raised.value.row, raised.value.field) == (4_402, "LastHWScan")
    assert raised.value.source == str(path)
    assert _state(app) == before


def test_register_identifiers_are_stored_with_their_keys_and_reconciled(app) -> None:
    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=staged(
            [CostCentre("1000", "IT")]))
        assets_service.register_assets(uow=uow, assets=staged([Asset(
            "LT-1", "Toshiba", "laptop", "1000", serial_number="9e113232i",
            hostname="LF014.ad.example.com", macs=("00-0E-0C-9A-B4-E0",),
            hardware_uuid="0055ADC9-1D3A-E411-8043-B05D95113232", owner="AD\\johan",
            environment="prod", purchase_order="PO-77", contract="C-9")]))
        uow.commit()
    _import(app, "sccm", INVENTORY / "generated" / "sccm_hardware.csv")
    with app.uow(read_only=True) as uow:
        asset = uow.assets.get("LT-1")
        [row] = list(uow.inventory.register_key_rows())
        counts = reconciliation_counts(uow=uow)
        summary = status_summary(uow=uow)
    assert asset is not None and asset.environment is Environment.PROD
    assert asset.macs == ("00:0e:0c:9a:b4:e0",) and asset.purchase_order == "PO-77"
    assert row[3:8] == ("9E113232I", "0055adc9-1d3a-e411-8043-b05d95113232", None, "LT-1",
                        "lf014")
    assert counts["matched"] + counts["conflicts"] == 1
    assert summary["discovery_records"] == counts["records"] > 0 and summary["assets"] == 1


def test_the_commands_import_and_print_the_reconciliation_counts(app) -> None:
    from client.cli import cli

    runner = CliRunner()
    db = ["--db", app.url]
    imported = runner.invoke(cli, [*db, "--json", "import", "sccm",
                                   str(INVENTORY / "generated" / "sccm_hardware.csv")])
    assert imported.exit_code == 0, imported.output
    again = runner.invoke(cli, [*db, "--json", "import", "sccm",
                                str(INVENTORY / "generated" / "sccm_hardware.csv")])
    assert '"already_imported": true' in again.output
    counted = runner.invoke(cli, [*db, "reconcile", "--json"])
    assert counted.exit_code == 0, counted.output
    import json

    counts = json.loads(counted.output)
    assert list(counts)[:6] == ["matched", "conflicts", "unregistered", "missing",
                                "duplicates", "records"]
    assert counts["unregistered"] == counts["records"] > 0
    refused = runner.invoke(cli, [*db, "reconcile", "decide", "decommission", "LT-1"])
    assert refused.exit_code != 0 and "--reason" in refused.output


def test_a_partial_glpi_inventory_updates_what_it_sends_and_keeps_the_rest(app) -> None:
    full = shared_fixture("inventory", "glpi_json", "computer_1.json")
    partial = shared_fixture("inventory", "glpi_json", "computer_1_partial_softs.json")
    _import(app, "glpi", full)
    with app.uow(read_only=True) as uow:
        [before] = uow.inventory.devices()
    result = _import(app, "glpi", partial)
    with app.uow(read_only=True) as uow:
        [after] = uow.inventory.devices()
    assert (result.records, result.created) == (1, 0)
    assert after.hostname == before.hostname and after.serial == before.serial
    assert after.macs == before.macs and not after.partial
    assert after.software != before.software  # the software section is what it sent


def test_the_drop_folder_job_imports_good_files_and_sets_bad_ones_aside(
        app, tmp_path: Path) -> None:
    import shutil

    from client.commands.inventory import nightly_reconcile, pickup_folder

    drop = tmp_path / "discovery-drop"
    (drop / "sccm").mkdir(parents=True)
    (drop / "snipeit-assets").mkdir()
    shutil.copy(INVENTORY / "generated" / "sccm_hardware.csv", drop / "sccm")
    shutil.copy(shared_fixture("inventory", "snipeit", "assets-sample-BAD.csv"),
                drop / "snipeit-assets")
    counts = pickup_folder(app, drop)
    assert counts == {"imported": 1, "already_imported": 0, "rejected": 1}
    assert (drop / "sccm" / "imported" / "sccm_hardware.csv").exists()
    reason = (drop / "snipeit-assets" / "rejected" / "assets-sample-BAD.csv.error.txt")
    assert "row" in reason.read_text("utf-8")
    assert nightly_reconcile(app)["unregistered"] > 0

"""Register loads from CSV and XLSX files through a saved, named column mapping: all or nothing,
idempotent, every bad cell named by file (and sheet), row and column."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from client.cli import cli
from connectors.inventory.generic import read_register_csv, read_register_xlsx
from ledger.errors import InputError, InputErrors
from ledger.reference import CostCentre
from ledger.services import reference_data
from ledger.services.asset_mapping import AssetMapping, load_register, save_mapping
from ledger.staging import staged
from tests.conftest import shared_fixture

D = Decimal

#: An ERP fixed-asset export, as SAP users know it (German headers, extra columns).
ERP = AssetMapping("sap-anlagen", {
    "tag": "Anlage", "name": "Bezeichnung", "kind": "Klasse", "cost_centre": "Kostenstelle",
    "purchase_cost": "Anschaffungswert", "purchase_date": "Aktivierung",
    "serial_number": "Serialnummer", "location": "Standort",
}, {"currency": "EUR", "status": "in_service"})

HEADER = ["Anlage", "Bezeichnung", "Klasse", "Kostenstelle", "Anschaffungswert", "Aktivierung",
          "Serialnummer", "Standort", "Buchungskreis"]
ROWS = [
    ["LT-100", "Dell Latitude 7440", "laptop", "1010", "1,234.50", "2026-03-01", "C02ZC2QY",
     "Berlin", "1000"],
    ["SRV-200", "PowerEdge R760", "server", "6010", "18000", "01.02.2025", "", "DC1", "1000"],
]


def _csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _setup(app) -> None:
    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre("1010", "Manufacturing"), CostCentre("6010", "IT Infrastructure")]))
        save_mapping(uow=uow, mapping=ERP)
        uow.commit()


def _load(app, staged_assets):
    with app.uow() as uow:
        result = load_register(uow=uow, assets=staged_assets)
        uow.commit()
    return result


def _register(app) -> list:
    with app.uow(read_only=True) as uow:
        return uow.assets.list()


def test_a_mapping_must_name_known_fields_and_cover_the_required_ones() -> None:
    with pytest.raises(InputErrors) as caught:
        AssetMapping("bad", {"tag": "Anlage", "colour": "Farbe", "name": "Anlage"})
    messages = " | ".join(str(e) for e in caught.value.errors)
    assert "'colour'" in messages and "unknown register field" in messages
    assert "'kind'" in messages and "map a column to it or give a default" in messages
    assert "mapped to both tag and name" in messages


def test_a_csv_register_load_through_a_mapping_and_again_changes_nothing(app, tmp_path) -> None:
    _setup(app)
    path = _csv(tmp_path / "anlagen.csv", ROWS)
    first = _load(app, read_register_csv(path, ERP))
    assert first.changes.created == 2
    laptop, server = _register(app)
    assert (laptop.tag, laptop.purchase_cost, laptop.purchase_date, laptop.currency) == (
        "LT-100", D("1234.50"), date(2026, 3, 1), "EUR")
    assert (server.purchase_date, server.serial_number, server.location) == (
        date(2025, 2, 1), None, "DC1")
    with app.uow(read_only=True) as uow:
        audit = uow.audit.count()
    again = _load(app, read_register_csv(path, ERP))
    assert not again.changes.changed and again.changes.unchanged == 2
    with app.uow(read_only=True) as uow:
        assert uow.audit.count() == audit
    # The load was checked against the default rules: the server has no serial number.
    assert ("SRV-200", "serial_number") in {(v.asset_tag, v.attribute)
                                            for v in first.violations}


def test_bad_csv_cells_are_named_and_nothing_is_loaded(app, tmp_path) -> None:
    _setup(app)
    rows = [list(ROWS[0]), list(ROWS[1]), list(ROWS[1])]
    rows[0][4] = "12,34"           # not a number
    rows[1][5] = "03/04/2025"      # ambiguous date
    rows[2][0] = "SRV-201"
    rows[2][2] = "toaster"         # not a kind
    path = _csv(tmp_path / "bad.csv", rows)
    with pytest.raises(InputErrors) as caught:
        read_register_csv(path, ERP)
    assert {(e.row, e.field) for e in caught.value.errors} == {
        (2, "Anschaffungswert"), (3, "Aktivierung"), (4, "Klasse")}
    assert all(e.source == str(path) for e in caught.value.errors)
    # A tag twice is refused by the register, naming both rows.
    twice = _csv(tmp_path / "twice.csv", [ROWS[0], ROWS[0]])
    with pytest.raises(InputErrors, match=r"row 3.*appears twice .*first at row 2"):
        _load(app, read_register_csv(twice, ERP))
    assert _register(app) == []


def test_hostile_csv_bytes_are_refused_by_line(app, tmp_path) -> None:
    _setup(app)
    good = _csv(tmp_path / "good.csv", ROWS).read_bytes()
    lines = good.split(b"\n")
    lines[1] = lines[1].replace(b"Berlin", b"Berl\x00in")
    lines[2] = lines[2].replace(b"DC1", b"D\xe9C1")
    (tmp_path / "hostile.csv").write_bytes(b"\n".join(lines))
    with pytest.raises(InputErrors) as caught:
        read_register_csv(tmp_path / "hostile.csv", ERP)
    assert [(e.row, "NUL" in e.message or "UTF-8" in e.message)
            for e in caught.value.errors] == [(2, True), (3, True)]
    ragged = _csv(tmp_path / "ragged.csv", [ROWS[0][:-2]])
    with pytest.raises(InputErrors, match="row 2: the row has 7 cells but the header has 9"):
        read_register_csv(ragged, ERP)
    missing = _csv(tmp_path / "missing.csv", [r[1:] for r in ROWS], HEADER[1:])
    with pytest.raises(InputErrors, match=r"row 1, field 'Anlage'.*no such column"):
        read_register_csv(missing, ERP)
    (tmp_path / "wide.csv").write_bytes("Anlage\n".encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16"):
        read_register_csv(tmp_path / "wide.csv", ERP)


def _xlsx(path: Path, rows: list[list[object]], header: list[str] = HEADER) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Anlagen"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_an_xlsx_register_load_reads_numbers_and_dates_exactly(app, tmp_path) -> None:
    _setup(app)
    path = _xlsx(tmp_path / "anlagen.xlsx", [
        # Spreadsheet floats and dates, and a serial number typed as a number.
        ["LT-100", "Dell Latitude 7440", "laptop", 1010, 1234.1, datetime(2026, 3, 1),
         970882174.0, "Berlin", 1000],
        ["SRV-200", "PowerEdge R760", "Server", "6010", 0.1, "2025-02-01", "SN-1", "DC1", None],
    ])
    first = _load(app, read_register_xlsx(path, ERP))
    assert first.changes.created == 2
    laptop, server = _register(app)
    assert (laptop.purchase_cost, laptop.purchase_date, laptop.serial_number,
            laptop.cost_centre) == (D("1234.1"), date(2026, 3, 1), "970882174", "1010")
    assert server.purchase_cost == D("0.1")  # not 0.1000000000000000055511151231257827
    assert not _load(app, read_register_xlsx(path, ERP)).changes.changed


def test_broken_workbooks_are_refused_naming_sheet_row_and_column(app, tmp_path) -> None:
    _setup(app)
    path = _xlsx(tmp_path / "bad.xlsx", [
        ["LT-100", "Dell", "laptop", "1010", "lots", "2026-03-01", "X1", "Berlin", None]])
    with pytest.raises(InputErrors) as caught:
        read_register_xlsx(path, ERP)
    [error] = caught.value.errors
    assert (error.source, error.row, error.field) == (f"{path}, sheet Anlagen", 2,
                                                     "Anschaffungswert")
    (tmp_path / "encrypted.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    with pytest.raises(InputError, match="password"):
        read_register_xlsx(tmp_path / "encrypted.xlsx", ERP)
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(InputError):
        read_register_xlsx(truncated, ERP)
    other = AssetMapping("other-sheet", ERP.columns, ERP.defaults, sheet="Summary")
    with pytest.raises(InputError, match="no sheet 'Summary'; its sheets are Anlagen"):
        read_register_xlsx(path, other)
    assert _register(app) == []


def test_the_commands_save_a_mapping_load_a_file_and_report(app, database_url, tmp_path) -> None:
    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre("1010", "Manufacturing"), CostCentre("6010", "IT Infrastructure")]))
        uow.commit()
    runner = CliRunner()
    mapping_file = tmp_path / "sap.toml"
    mapping_file.write_text('sheet = "Anlagen"\n[columns]\ntag = "Anlage"\nname = "Bezeichnung"'
                            '\nkind = "Klasse"\n[defaults]\ncurrency = "EUR"\n', "utf-8")

    def run(*args: str) -> dict:
        result = runner.invoke(cli, ["--db", database_url, "--json", *args],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    saved = run("mappings", "save", "sap", "--file", str(mapping_file),
                "--column", "cost_centre=Kostenstelle", "--default", "status=in_service")
    assert saved["created"] == 1
    [listed] = run("mappings", "list")["mappings"]
    assert listed["columns"]["cost_centre"] == "Kostenstelle" and listed["sheet"] == "Anlagen"
    loaded = run("import", "assets-csv", str(_csv(tmp_path / "a.csv", ROWS)), "--mapping", "sap")
    assert (loaded["rows"], loaded["created"]) == (2, 2)
    assert loaded["quality"]["violations"] > 0  # no manufacturer, model or serial mapped
    report = run("quality")
    assert report["assets_checked"] == 2 and report["rules"] == "default"
    assert {a["tag"] for a in report["assets"]} == {"LT-100", "SRV-200"}
    position = run("licences", "position")
    assert position == {"products": [], "true_up_total": {}}
    xlsx = run("import", "assets-xlsx", str(_xlsx(tmp_path / "a.xlsx", ROWS)), "--mapping",
               "sap")
    assert (xlsx["created"], xlsx["unchanged"]) == (0, 2)


def test_a_snipeit_register_with_us_dates_is_refused_at_the_first_date(app) -> None:
    mapping = AssetMapping("snipeit", {"tag": "Asset Tag", "name": "Name",
                                       "purchase_date": "Purchase Date"}, {"kind": "laptop"})
    path = shared_fixture("inventory", "snipeit", "assets-sample.csv")
    with pytest.raises(InputErrors) as caught:
        read_register_csv(path, mapping)
    first = caught.value.errors[0]
    assert (first.row, first.field, first.value) == (2, "Purchase Date", "1/23/23")
    assert "YYYY-MM-DD" in first.message


def test_identifier_columns_fill_the_registers_identifiers(tmp_path) -> None:
    mapping = AssetMapping("cmdb", {"tag": "Tag", "name": "Name", "kind": "Type",
                                    "owner": "Owner", "environment": "Env", "macs": "MACs",
                                    "hostname": "Host"})
    path = _csv(tmp_path / "cmdb.csv", [
        ["SRV-1", "db01", "server", "", "Non-Prod", "AA-BB-CC-DD-EE-01; aabb.ccdd.ee02", "db01"],
        ["LT-1", "laptop", "laptop", "ann@meridian.example", "", "", ""]],
        ["Tag", "Name", "Type", "Owner", "Env", "MACs", "Host"])
    server, laptop = (item.value for item in read_register_csv(path, mapping))
    assert (server.environment.value, server.macs, server.owner) == (
        "non_prod", ("aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:02"), None)
    assert (laptop.owner, laptop.environment, laptop.macs) == ("ann@meridian.example", None, ())

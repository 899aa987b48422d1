"""Reading CSV strictly: every defect Python's csv module lets through is named by file and row."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.reference_csv import read_accounts, read_cost_centres
from connectors.tabular import read_rows
from ledger.errors import InputError, InputErrors


def write(tmp_path: Path, content: bytes | str, name: str = "cost_centres.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffCode,Name\r\n1010,Manufacturing\r\n\r\n1020,Logistics\r\n")
    rows = list(read_rows(path, required=["code", "name"]))
    assert [(r.number, r.cells["code"]) for r in rows] == [(2, "1010"), (4, "1020")]


@pytest.mark.parametrize(("content", "row", "field", "message"), [
    (b"code,name\n1010,Manu\x00facturing\n", 2, None, "NUL byte"),
    (b"code,name\n1010,Manufacturing,extra\n", 2, None, "3 cells but the header has 2"),
    (b"code,name,code\n1010,a,b\n", 1, "code", "appears twice"),
    (b"code,nmae\n1010,a\n", 1, "nmae", "unknown column"),
    (b"code\n1010\n", 1, "name", "required column"),
    ("code,name\n1010,Fertigung\n2020,K\u00f6ln\n".encode("latin-1"), 3, None, "not UTF-8"),
    (b"", None, None, "empty"),
])
def test_a_malformed_file_is_refused_naming_file_row_and_field(
    tmp_path: Path, content: bytes, row: int | None, field: str | None, message: str
) -> None:
    path = write(tmp_path, content)
    with pytest.raises(InputError, match=message) as raised:
        list(read_rows(path, required=["code", "name"]))
    assert raised.value.source == str(path)
    assert raised.value.row == row
    assert raised.value.field == field


def test_every_bad_row_of_a_cost_centre_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "code,name,parent,valid_from\n"
                           "1000,Operations,,2026-01-01\n"
                           "1010,,1000,2026-01-01\n"
                           "1020,Logistics,1000,01/02/2026\n")
    with pytest.raises(InputErrors) as raised:
        read_cost_centres(path)
    assert [(e.row, e.field) for e in raised.value.errors] == [(3, "name"), (4, "valid_from")]
    assert all(e.source == str(path) for e in raised.value.errors)


def test_a_chart_of_accounts_is_read_with_its_types(tmp_path: Path) -> None:
    path = write(tmp_path, "number,name,type\n6900,IT chargeback expense,expense\n"
                           "7990,IT cost recovery,recovery\n", "accounts.csv")
    staged = read_accounts(path)
    assert [(s.row, s.value.number, s.value.type.value) for s in staged] == [
        (2, "6900", "expense"), (3, "7990", "recovery")]


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the file") as raised:
        read_accounts(tmp_path / "nowhere.csv")
    assert raised.value.source.endswith("nowhere.csv")

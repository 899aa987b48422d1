"""Billing files (FOCUS, AWS CUR, Azure) into the cost fact store, with the real sample files."""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from connectors.billing import (
    AwsCurImporter,
    AzureCostImporter,
    FocusImporter,
    detect_importer,
    import_billing_file,
)
from ledger.costfacts import CostFactStore
from ledger.errors import InputError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "billing"
FOCUS = FIXTURES / "focus_1.0_sample_1000rows.csv"
CUR = FIXTURES / "aws_cur_sample_anonymous.csv"
AZURE = FIXTURES / "azure_ea_cost_export_sample_anonymous.csv"


def read_rows(path: Path, null: str | None = None) -> list[dict[str, str | None]]:
    """The file's rows with Python's csv module: the independent reference."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if null is not None:
        rows = [{k: (None if v == null else v) for k, v in row.items()} for row in rows]
    return rows


def decimal_sums(rows, currency: str, amount: str) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[row[currency]] += Decimal(row[amount])
    return dict(sums)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every visible file of the store (the staging area excluded) with its content."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".staging" not in p.parts and p.name != ".lock"
    }


@pytest.fixture
def store(tmp_path: Path) -> CostFactStore:
    return CostFactStore(tmp_path / "costfacts")


# -- the formats ---------------------------------------------------------------------------------


def test_the_format_is_detected_from_the_header() -> None:
    assert isinstance(detect_importer(FOCUS), FocusImporter)
    assert isinstance(detect_importer(CUR), AwsCurImporter)
    assert isinstance(detect_importer(AZURE), AzureCostImporter)
    assert detect_importer(FOCUS).format_name == "focus-1.0-csv"


def test_focus_rows_and_totals_per_currency_match_an_independent_decimal_sum(store) -> None:
    result = import_billing_file(store, FOCUS)
    rows = read_rows(FOCUS, null="NULL")

    assert result.rows == len(rows) == 1000
    assert not result.already_imported
    assert set(result.periods) == {r["BillingPeriodStart"][:7] for r in rows}
    with store.connect() as con:
        sums = con.execute(
            "SELECT billing_currency, sum(billed_cost), sum(effective_cost), sum(list_cost) "
            "FROM cost_facts GROUP BY 1"
        ).fetchall()
    expected_billed = decimal_sums(rows, "BillingCurrency", "BilledCost")
    expected_effective = decimal_sums(rows, "BillingCurrency", "EffectiveCost")
    expected_list = decimal_sums(rows, "BillingCurrency", "ListCost")
    assert {c: b for c, b, _, _ in sums} == expected_billed
    assert {c: e for c, _, e, _ in sums} == expected_effective
    assert {c: v for c, _, _, v in sums} == expected_list
    assert store.currency_totals() == expected_billed
    assert store.imports()[0].totals["USD"]["billed_cost"] == expected_billed["USD"]


def test_focus_amounts_are_exact_decimals_row_by_row(store) -> None:
    import_billing_file(store, FOCUS)
    rows = read_rows(FOCUS, null="NULL")
    with store.connect() as con:
        assert con.execute("SELECT typeof(billed_cost) FROM cost_facts LIMIT 1").fetchone() == (
            "DECIMAL(38,18)",
        )
        stored = con.execute(
            "SELECT source_row, billed_cost, consumed_quantity FROM cost_facts ORDER BY source_row"
        ).fetchall()
    assert [r[0] for r in stored] == list(range(2, 1002))
    for (_, billed, consumed), row in zip(stored, rows, strict=True):
        assert billed == Decimal(row["BilledCost"])  # 11 decimals in the file: all kept
        if row["ConsumedQuantity"] is not None:
            assert consumed == Decimal(row["ConsumedQuantity"])


def test_focus_tags_are_flattened_once_into_a_map(store) -> None:
    import_billing_file(store, FOCUS)
    rows = read_rows(FOCUS, null="NULL")
    expected_keys = sorted({k for r in rows if r["Tags"] for k in json.loads(r["Tags"])})
    assert store.tag_keys() == expected_keys
    with store.connect() as con:
        tags = dict(con.execute("SELECT source_row, tags FROM cost_facts").fetchall())
    for number, row in enumerate(rows, start=2):
        want = {
            k: (v if isinstance(v, str) else json.dumps(v))
            for k, v in json.loads(row["Tags"] or "{}").items()
            if v is not None
        }
        assert tags[number] == want


def test_hourly_rows_roll_up_to_one_group_per_month_with_exact_sums(store) -> None:
    import_billing_file(store, FOCUS)
    rows = [
        r for r in read_rows(FOCUS, null="NULL") if r["BillingPeriodStart"].startswith("2024-09")
    ]
    groups = list(store.groups(period="2024-09", by=("provider", "service_name"), tag_keys=()))
    expected: dict[tuple, Decimal] = defaultdict(Decimal)
    counts: Counter = Counter()
    for r in rows:
        key = (r["BillingCurrency"], r["ProviderName"], r["ServiceName"])
        expected[key] += Decimal(r["BilledCost"])
        counts[key] += 1
    assert {(g.currency, *(v for _, v in g.dimensions)): g.billed_cost for g in groups} == expected
    assert {(g.currency, *(v for _, v in g.dimensions)): g.rows for g in groups} == counts
    assert len(groups) < len(rows)

    env = list(store.groups(period="2024-09", by=("provider",), tag_keys=("environment",)))
    assert sum(g.billed_cost for g in env) == sum(expected.values())
    assert {g.tag("environment") for g in env} >= {"dev", None}


def test_cur_line_item_types_become_focus_charge_categories(store) -> None:
    result = import_billing_file(store, CUR)
    rows = read_rows(CUR)
    assert result.rows == len(rows) == 1281
    assert result.periods == ("2023-11",)
    with store.connect() as con:
        categories = dict(
            con.execute("SELECT charge_category, count(*) FROM cost_facts GROUP BY 1").fetchall()
        )
        provider = con.execute("SELECT DISTINCT provider FROM cost_facts").fetchall()
    types = Counter(r["lineItem/LineItemType"] for r in rows)
    assert categories == {"Usage": types["Usage"], "Tax": types["Tax"]}
    assert provider == [("AWS",)]
    assert store.currency_totals() == decimal_sums(rows, "lineItem/CurrencyCode",
                                                   "lineItem/UnblendedCost")


def cur_with(tmp_path: Path, extra: dict[str, list[str]], rows: list[dict[str, str]]) -> Path:
    """A CUR file with the fixture's header plus ``extra`` columns, holding ``rows``
    (each a copy of the fixture's first usage row with the given fields changed)."""
    with open(CUR, encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        header += [column for column in extra if column not in header]
        template = next(r for r in reader if r["lineItem/LineItemType"] == "Usage")
    path = tmp_path / "cur.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        for changes in rows:
            writer.writerow({**template, **dict.fromkeys(extra, ""), **changes})
    return path


def test_cur_amortisation_and_resource_tags(tmp_path: Path, store) -> None:
    extra = {
        "resourceTags/user:team": [],
        "resourceTags/aws:createdBy": [],
        "reservation/EffectiveCost": [],
        "savingsPlan/SavingsPlanEffectiveCost": [],
        "reservation/ReservationARN": [],
    }
    path = cur_with(
        tmp_path,
        extra,
        [
            {"lineItem/LineItemType": "DiscountedUsage", "lineItem/UnblendedCost": "0",
             "reservation/EffectiveCost": "0.0123456789", "resourceTags/user:team": "blue"},
            {"lineItem/LineItemType": "SavingsPlanCoveredUsage", "lineItem/UnblendedCost": "2.5",
             "savingsPlan/SavingsPlanEffectiveCost": "1.75", "resourceTags/aws:createdBy": "x"},
            {"lineItem/LineItemType": "SavingsPlanNegation", "lineItem/UnblendedCost": "-2.5"},
            {"lineItem/LineItemType": "RIFee", "lineItem/UnblendedCost": "10"},
            {"lineItem/LineItemType": "Credit", "lineItem/UnblendedCost": "-1.2E-3"},
            {"lineItem/LineItemType": "Refund", "lineItem/UnblendedCost": "-3"},
        ],
    )
    import_billing_file(store, path)
    with store.connect() as con:
        facts = con.execute(
            "SELECT charge_category, billed_cost, effective_cost, tags FROM cost_facts "
            "ORDER BY source_row"
        ).fetchall()
    assert [(c, b, e) for c, b, e, _ in facts] == [
        ("Usage", Decimal(0), Decimal("0.0123456789")),
        ("Usage", Decimal("2.5"), Decimal("1.75")),
        ("Usage", Decimal("-2.5"), Decimal(0)),
        ("Purchase", Decimal(10), Decimal(0)),
        ("Credit", Decimal("-0.0012"), Decimal("-0.0012")),
        ("Adjustment", Decimal(-3), Decimal(-3)),
    ]
    assert facts[0][3] == {"team": "blue"}
    assert facts[1][3] == {"aws:createdBy": "x"}
    assert store.tag_keys() == ["aws:createdBy", "team"]


def test_an_unknown_cur_line_item_type_is_refused(tmp_path: Path, store) -> None:
    path = cur_with(tmp_path, {}, [{}, {"lineItem/LineItemType": "Mystery"}])
    with pytest.raises(InputError) as caught:
        import_billing_file(store, path)
    assert (caught.value.row, caught.value.field) == (3, "lineItem/LineItemType")
    assert "Mystery" in str(caught.value)


def test_azure_export_with_bom_crlf_us_dates_and_brace_less_tags(tmp_path: Path, store) -> None:
    with_bom = tmp_path / "azure.csv"
    with_bom.write_bytes(b"\xef\xbb\xbf" + AZURE.read_bytes())
    result = import_billing_file(store, with_bom)
    rows = read_rows(AZURE)
    assert result.rows == len(rows) == 27
    assert result.format_name == "azure-ea-csv"
    assert result.periods == ("2023-09",)
    assert store.currency_totals() == decimal_sums(rows, "BillingCurrencyCode",
                                                   "CostInBillingCurrency")
    with store.connect() as con:
        first = con.execute(
            "SELECT charge_period_start, charge_period_end, tags, sub_account_id, region, "
            "service_category, billed_cost FROM cost_facts ORDER BY source_row LIMIT 1"
        ).fetchone()
        tiny = con.execute(
            "SELECT billed_cost FROM cost_facts WHERE source_row = 3"
        ).fetchone()[0]
    start, end, tags, subscription, region, category, _ = first
    assert (start.isoformat(), end.isoformat()) == ("2023-09-02T00:00:00", "2023-09-03T00:00:00")
    assert tags == {"tagA": "valueA", "tagB": "valueB", "tagC": "valueC"}
    assert subscription == rows[0]["SubscriptionId"]
    assert region == "centralus"
    assert category == "Compute"
    assert tiny == Decimal("5.64902E-05")  # scientific notation in the file, exact here


def test_an_mca_export_with_camel_case_names_and_json_object_tags(tmp_path: Path, store) -> None:
    lines = AZURE.read_bytes().decode("utf-8").splitlines(keepends=True)
    header = ",".join(name[:1].lower() + name[1:] for name in lines[0].rstrip("\r\n").split(","))
    first = lines[1].replace('"""tagA""', '"{""tagA""', 1)
    first = first.replace('""valueC""",', '""valueC""}",', 1)
    assert '"{""tagA""' in first and '""valueC""}"' in first
    mca = tmp_path / "mca.csv"
    mca.write_text(header + "\r\n" + first + "".join(lines[2:]), encoding="utf-8")

    result = import_billing_file(store, mca)
    assert (result.format_name, result.rows) == ("azure-mca-csv", 27)
    assert store.currency_totals() == decimal_sums(read_rows(AZURE), "BillingCurrencyCode",
                                                   "CostInBillingCurrency")
    assert store.tag_keys() == ["tagA", "tagB", "tagC"]


def test_focus_1_2_names_are_recognised(tmp_path: Path, store) -> None:
    lines = focus_lines()
    newer = tmp_path / "focus12.csv"
    newer.write_bytes(lines[0].rstrip(b"\n") + b',"InvoiceId"\n'
                      + b"".join(line.rstrip(b"\n") + b',"INV-1"\n' for line in lines[1:50]))
    assert detect_importer(newer).format_name == "focus-1.2-csv"
    assert import_billing_file(store, newer).rows == 49


def test_timestamps_with_an_offset_are_converted_to_utc(tmp_path: Path, store) -> None:
    lines = focus_lines()
    assert b'"2024-09-18 22:00:00"' in lines[1]
    shifted = tmp_path / "offset.csv"
    shifted.write_bytes(
        lines[0] + lines[1].replace(b'"2024-09-18 22:00:00"', b'"2024-09-19T00:30:00+02:30"')
    )
    import_billing_file(store, shifted)
    with store.connect() as con:
        start = con.execute("SELECT charge_period_start FROM cost_facts").fetchone()[0]
    assert start.isoformat() == "2024-09-18T22:00:00"


def test_focus_parquet_gives_the_same_facts_as_the_csv(tmp_path: Path, store) -> None:
    parquet = tmp_path / "focus.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_csv('{FOCUS}', all_varchar = true, nullstr = 'NULL')) "
        f"TO '{parquet}' (FORMAT parquet)"
    )
    con.close()
    assert detect_importer(parquet).format_name == "focus-1.0-parquet"
    other = CostFactStore(tmp_path / "other")
    import_billing_file(store, parquet)
    import_billing_file(other, FOCUS)
    assert store.totals() == other.totals()
    assert store.tag_keys() == other.tag_keys()


# -- idempotence, atomicity, removal -------------------------------------------------------------


def test_reimporting_the_same_file_is_a_no_op_that_says_so(tmp_path: Path, store) -> None:
    first = import_billing_file(store, FOCUS)
    before = snapshot(store.root)
    copy = tmp_path / "renamed.csv"
    shutil.copy(FOCUS, copy)
    again = import_billing_file(store, copy)
    assert again.already_imported
    assert again.import_id == first.import_id
    assert "already imported" in again.message
    assert snapshot(store.root) == before


def test_a_different_file_for_the_same_period_adds_alongside_and_can_be_removed(
    tmp_path: Path, store
) -> None:
    rows = read_rows(FOCUS)
    import_billing_file(store, FOCUS)
    half = tmp_path / "half.csv"
    with open(FOCUS, encoding="utf-8", newline="") as src, open(half, "w", newline="") as dst:
        lines = src.readlines()
        dst.writelines(lines[:501])
    second = import_billing_file(store, half)
    assert second.rows == 500
    full = decimal_sums(rows, "BillingCurrency", "BilledCost")["USD"]
    part = decimal_sums(rows[:500], "BillingCurrency", "BilledCost")["USD"]
    assert store.currency_totals() == {"USD": full + part}
    assert len(store.imports()) == 2

    removed = store.remove_import(second.import_id)
    assert removed.rows == 500
    assert store.currency_totals() == {"USD": full}
    assert not any(second.import_id in name for name in snapshot(store.root))


def test_a_failure_midway_leaves_nothing_visible(monkeypatch, store) -> None:
    import_billing_file(store, AZURE)
    before = snapshot(store.root)
    totals = store.totals()
    moves = []

    def move_then_crash(part: Path, target: Path) -> None:
        if moves:
            raise OSError("disk full (injected)")
        moves.append(target)
        shutil.move(part, target)

    monkeypatch.setattr(CostFactStore, "_move_into_place", staticmethod(move_then_crash))
    with pytest.raises(OSError, match="injected"):
        import_billing_file(store, FOCUS)  # two periods, so two files to move
    assert moves, "the first file was moved before the failure"
    assert snapshot(store.root) == before
    assert store.totals() == totals
    monkeypatch.undo()
    assert import_billing_file(store, FOCUS).rows == 1000  # and it can be imported afterwards


def test_a_crash_before_the_manifest_is_written_leaves_nothing_visible(monkeypatch, store) -> None:
    """A hard crash: no cleanup runs; files moved into place are ignored and swept later."""
    import_billing_file(store, AZURE)
    totals = store.totals()

    class Crash(BaseException):
        pass

    def crash(self, manifest) -> None:
        raise Crash

    monkeypatch.setattr(CostFactStore, "_write_manifest", crash)
    monkeypatch.setattr("ledger.costfacts.shutil.rmtree", lambda *a, **k: None)
    monkeypatch.setattr(Path, "unlink", lambda self, missing_ok=False: None)
    with pytest.raises(Crash):
        import_billing_file(store, FOCUS)
    monkeypatch.undo()
    orphans = [p for p in store.root.glob("billing_period=2024-*/*.parquet")]
    assert orphans, "the crash left moved files behind"

    reopened = CostFactStore(store.root)
    assert reopened.totals() == totals
    assert reopened.periods() == ["2023-09"]
    import_billing_file(reopened, CUR)  # the next commit sweeps the leftovers
    assert not any(p.exists() for p in orphans)


def test_progress_is_reported_in_bytes_up_to_the_total(store) -> None:
    calls: list[tuple[int, int]] = []
    import_billing_file(store, CUR, progress=lambda done, total: calls.append((done, total)))
    size = CUR.stat().st_size
    assert calls[-1] == (2 * size, 2 * size)
    assert all(total == 2 * size and 0 <= done <= total for done, total in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# -- bad files -----------------------------------------------------------------------------------


def focus_lines() -> list[bytes]:
    return FOCUS.read_bytes().splitlines(keepends=True)


def broken(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def _replace_field(line: bytes, index: int, value: bytes) -> bytes:
    text = line.decode()
    fields = next(csv.reader([text]))
    fields[index] = value.decode()
    out = []
    for f in fields:
        out.append(f if f == "NULL" or f.replace(".", "").replace("-", "").isdigit()
                   else '"' + f.replace('"', '""') + '"')
    return (",".join(out) + "\n").encode()


def header_index(name: str) -> int:
    return next(csv.reader([focus_lines()[0].decode()])).index(name)


BAD_FILES = {
    "truncated": (
        lambda lines: b"".join(lines[:40]) + lines[40][: len(lines[40]) // 2],
        41,
        None,
        "fewer fields",
    ),
    "ragged": (
        lambda lines: b"".join(lines[:7]) + lines[7].rstrip(b"\n") + b",extra\n"
        + b"".join(lines[8:20]),
        8,
        None,
        "more fields",
    ),
    "non_numeric_cost": (
        lambda lines: b"".join(lines[:12])
        + _replace_field(lines[12], header_index("BilledCost"), b"12,50")
        + b"".join(lines[13:20]),
        13,
        "BilledCost",
        "not a number",
    ),
    "bad_date": (
        lambda lines: b"".join(lines[:5])
        + _replace_field(lines[5], header_index("ChargePeriodStart"), b"31/02/2024")
        + b"".join(lines[6:9]),
        6,
        "ChargePeriodStart",
        "not a date",
    ),
    "nul_byte": (
        lambda lines: b"".join(lines[:3]) + lines[3].replace(b'"USD"', b'"US\x00D"', 1)
        + b"".join(lines[4:9]),
        4,
        "BillingCurrency",
        "NUL byte",
    ),
    "unknown_header": (lambda lines: b"Date,Amount,Account\n2024-01-01,5,x\n", 1, None,
                       "unknown billing file format"),
    "duplicate_header": (
        lambda lines: lines[0].rstrip(b"\n") + b',"BilledCost"\n' + b"".join(lines[1:5]),
        1,
        "BilledCost",
        "twice",
    ),
    "missing_column": (
        lambda lines: lines[0].replace(b'"BillingCurrency",', b'"Currency",')
        + b"".join(lines[1:5]),
        1,
        "BillingCurrency",
        "missing required column",
    ),
    "latin1": (
        lambda lines: b"".join(lines[:9]) + lines[9].replace(b'"SunBird"', b'"Caf\xe9"', 1)
        + b"".join(lines[10:12]),
        10,
        None,
        "not UTF-8",
    ),
    "utf16": (lambda lines: b"".join(lines[:3]).decode().encode("utf-16"), 1, None, "UTF-16"),
    "empty": (lambda lines: b"", 1, None, "empty"),
    "bad_tags": (
        lambda lines: b"".join(lines[:2])
        + _replace_field(lines[2], header_index("Tags"), b'{"env": "dev"')
        + b"".join(lines[3:5]),
        3,
        "Tags",
        "JSON object",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_names_file_row_and_field_and_leaves_the_store_unchanged(
    case: str, tmp_path: Path, store
) -> None:
    make, row, field, words = BAD_FILES[case]
    path = broken(tmp_path, f"{case}.csv", make(focus_lines()))
    import_billing_file(store, AZURE)
    before = snapshot(store.root)

    with pytest.raises(InputError) as caught:
        import_billing_file(store, path)

    error = caught.value
    assert error.source == f"{case}.csv"
    assert error.row == row
    if field is not None:
        assert error.field == field
    assert words in str(error)
    assert f"{case}.csv" in str(error) and f"row {row}" in str(error)
    assert snapshot(store.root) == before
    assert not any((store.root / ".staging").iterdir())


# -- invoice ids ----------------------------------------------------------------------------------


def invoice_ids(store: CostFactStore) -> Counter:
    with store.connect() as con:
        return Counter(dict(con.execute(
            "SELECT invoice_id, count(*) FROM cost_facts GROUP BY 1").fetchall()))


def test_invoice_ids_come_from_focus_1_2_cur_and_mca_exports_and_are_null_otherwise(
        tmp_path: Path) -> None:
    lines = focus_lines()
    newer = tmp_path / "focus12.csv"
    newer.write_bytes(lines[0].rstrip(b"\n") + b',"InvoiceId"\n' + b"".join(
        line.rstrip(b"\n") + (b',"INV-1"\n' if number % 3 else b',"NULL"\n')
        for number, line in enumerate(lines[1:31])))
    azure_lines = AZURE.read_bytes().decode("utf-8").splitlines()
    mca = tmp_path / "mca-invoiced.csv"
    mca.write_text("\r\n".join([azure_lines[0] + ",invoiceId"]
                               + [line + ",G012345678" for line in azure_lines[1:]]) + "\r\n",
                   encoding="utf-8")
    expected = {
        FOCUS: {None: 1000},  # FOCUS 1.0 has no InvoiceId
        newer: {"INV-1": 20, None: 10},
        CUR: {None: 1281},  # bill/InvoiceId is there, but empty in every row of the sample
        AZURE: {None: 27},  # an EA export has no invoice id (InvoiceSectionId is not one)
        mca: {"G012345678": 27},
    }
    for number, (path, ids) in enumerate(expected.items()):
        store = CostFactStore(tmp_path / f"store-{number}")
        import_billing_file(store, path)
        assert invoice_ids(store) == Counter(ids), path.name


def written_before_invoice_ids(store: CostFactStore, import_id: str) -> None:
    """Make one import look as an Apportion without invoice ids wrote it: its Parquet files
    without the ``invoice_id`` column and its manifest entry without ``columns``."""
    manifest_path = store.root / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    entry = manifest["imports"][import_id]
    del entry["columns"]
    con = duckdb.connect()
    for info in entry["periods"].values():
        for relative in info["files"]:
            path = store.root / relative
            old = path.with_suffix(".old")
            con.execute(f"COPY (SELECT * EXCLUDE (invoice_id) FROM read_parquet('{path}')) "
                        f"TO '{old}' (FORMAT parquet)")
            old.replace(path)
            described = con.execute(f"DESCRIBE FROM read_parquet('{path}')").fetchall()
            columns = [row[0] for row in described]
            assert "invoice_id" not in columns and "billed_cost" in columns
    con.close()
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")


def test_partitions_written_before_invoice_ids_still_read_with_a_null_invoice_id(
        tmp_path: Path, store) -> None:
    lines = focus_lines()
    newer = tmp_path / "focus12.csv"
    newer.write_bytes(lines[0].rstrip(b"\n") + b',"InvoiceId"\n'
                      + b"".join(line.rstrip(b"\n") + b',"INV-1"\n' for line in lines[1:50]))
    old = import_billing_file(store, FOCUS)
    before = (store.totals(), list(store.groups(period="2024-09")))
    written_before_invoice_ids(store, old.import_id)
    assert (store.totals(), list(store.groups(period="2024-09"))) == before
    assert invoice_ids(store) == Counter({None: 1000})  # only old files: the column is NULL

    import_billing_file(store, newer)  # old and new files side by side
    assert invoice_ids(store) == Counter({None: 1000, "INV-1": 49})
    totals = store.invoice_totals()
    assert sum(t.rows for t in totals) == 1049
    assert {t.invoice_id for t in totals} == {"INV-1", None}
    assert totals[-1].invoice_id is None  # rows without an invoice id come last in a period
    # Reading some periods only (old and new files listed per period) gives the same figures.
    assert [t for period in store.periods() for t in store.invoice_totals(periods=[period])
            ] == totals

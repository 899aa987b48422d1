"""Billing file importers: FOCUS, AWS CUR and Azure cost exports into the cost fact store.

Usage::

    from connectors.billing import import_billing_file
    from ledger.costfacts import CostFactStore

    store = CostFactStore(data_dir / "costfacts")
    result = import_billing_file(store, "cur-2023-11.csv", progress=bar.update)
    print(result.message)

The format is detected from the header (:func:`detect_importer`). Every importer maps its
columns to the FOCUS-normalised cost fact columns in DuckDB SQL with exact decimals; see
:mod:`connectors.billing.mapping` for the shared reading and checking, and
:mod:`ledger.costfacts` for the store and its guarantees (all-or-nothing, idempotent).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from connectors.billing.aws_cur import CUR_SIGNATURE, AwsCurImporter
from connectors.billing.azure import AZURE_COST_COLUMNS, AZURE_SIGNATURE, AzureCostImporter
from connectors.billing.focus import FOCUS_SIGNATURE, FocusImporter
from connectors.billing.mapping import PARQUET_MAGIC, TabularImporter, read_csv_header, sql_text
from ledger.costfacts import CostFactStore, ImportResult, Progress
from ledger.errors import InputError

__all__ = [
    "AwsCurImporter",
    "AzureCostImporter",
    "FocusImporter",
    "detect_importer",
    "import_billing_file",
]


def _parquet_schema(path: Path, name: str) -> dict[str, str]:
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({sql_text(str(path))})"  # noqa: S608
        ).fetchall()
    except duckdb.Error as exc:
        raise InputError(f"cannot read the Parquet file: {exc}", source=name) from None
    finally:
        con.close()
    return {row[0]: row[1] for row in rows}


def detect_importer(path: Path | str, *, source_name: str | None = None) -> TabularImporter:
    """The importer for the billing file at ``path``, chosen by its header.

    Raises :class:`InputError` (row 1) for a file whose header matches no known format.
    """
    path = Path(path)
    name = source_name if source_name is not None else path.name
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", source=name) from None
    if magic == PARQUET_MAGIC:
        types = _parquet_schema(path, name)
        header = tuple(types)
        kind = "parquet"
    else:
        header = read_csv_header(path, name)
        types = None
        kind = "csv"
    present = {column.casefold() for column in header}

    def has_all(columns: tuple[str, ...]) -> bool:
        return all(column.casefold() in present for column in columns)

    if has_all(FOCUS_SIGNATURE):
        return FocusImporter(header, kind=kind, parquet_types=types)
    if kind == "csv" and has_all(CUR_SIGNATURE):
        return AwsCurImporter(header, kind=kind)
    if (
        kind == "csv"
        and AZURE_SIGNATURE[0].casefold() in present
        and any(c.casefold() in present for c in AZURE_SIGNATURE[1:])
        and any(c.casefold() in present for c in AZURE_COST_COLUMNS)
    ):
        return AzureCostImporter(header, kind=kind)
    shown = ", ".join(header[:6]) + (", ..." if len(header) > 6 else "")
    raise InputError(
        f"unknown billing file format: the header ({shown}) is not FOCUS "
        f"({', '.join(FOCUS_SIGNATURE)}), AWS CUR ({', '.join(CUR_SIGNATURE)}) or an Azure "
        f"cost export (MeterCategory, SubscriptionId, CostInBillingCurrency)",
        source=name,
        row=1,
    )


def import_billing_file(
    store: CostFactStore,
    path: Path | str,
    *,
    source_name: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Detect the format of the billing file at ``path`` and import it into ``store``.

    All rows or none; the same content twice is a no-op that says so. Raises
    :class:`InputError` naming file, row and field for bad input; the store is then unchanged.
    """
    importer = detect_importer(path, source_name=source_name)
    return store.import_file(path, importer, source_name=source_name, progress=progress)

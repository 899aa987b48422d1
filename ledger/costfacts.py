"""Cost facts: bulk billing rows in a columnar store (Parquet files queried by DuckDB).

Cloud bills run to tens of millions of rows a month, so they never become ORM rows. A
:class:`CostFactStore` is a directory (normally ``<data dir>/costfacts/``) holding Parquet files
in FOCUS-normalised columns (:data:`FACT_COLUMNS`), one or more files per import and billing
period, plus a small JSON manifest that says which files are committed::

    costfacts/
      manifest.json                               the commit point: imports, their files, totals
      billing_period=2024-09/<import_id>-0.parquet
      billing_period=2024-10/<import_id>-0.parquet
      .staging/<import_id>/                       work area of an import in progress
      .lock                                       serialises commits between processes

Invariants:

- Amounts (costs and quantities) are :data:`AMOUNT_TYPE`, exact decimals, never DOUBLE. They
  keep the source precision up to :data:`AMOUNT_SCALE` fractional digits; a source value with
  more digits (a float printed in full, such as ``1.23456789012345678E-12``) is rounded half up
  at that digit. Sign convention is the provider's: a charge is positive, a credit negative.
- Only files listed in the manifest are facts. An import writes into ``.staging/``, moves its
  files into place and then commits by atomically replacing the manifest; a crash at any point
  before that replace leaves nothing visible, and the leftovers are swept on the next commit.
  Never glob the directory: read through :meth:`CostFactStore.connect` or the queries below.
- Re-importing a file with the same content (sha256) is a no-op that says so
  (:attr:`ImportResult.already_imported`). A different file for the same period adds its rows
  alongside; :meth:`CostFactStore.remove_import` takes one import out again.
- Bad input raises :class:`~ledger.errors.InputError` naming the file, row and field, and the
  store is left exactly as it was.
- A row whose charge period crosses a month boundary (per-second or hourly charges) is split
  at the boundary by time when imported (:func:`split_at_month_boundaries`): each piece in its
  month, all pieces naming the same ``source_row`` and adding up exactly to the row's amounts.
- Each import records in the manifest the columns it wrote. A column added later
  (:data:`LATER_COLUMNS`: ``invoice_id``) reads as NULL from files written before it, so a
  store keeps working across upgrades without rewriting its files.

How the other parts plug in:

- Importers (``connectors.billing``) implement :class:`FactImporter`: given a DuckDB connection
  prepared by the store, they create the table ``staged_facts`` (:data:`STAGED_COLUMNS` plus the
  ``_problem*`` columns) in source order; the store checks it, adds ``source_file``,
  ``source_row`` and ``import_id`` and commits it. :func:`install_sql_macros` gives them
  ``exact_decimal(text)``, the one exact text-to-amount conversion.
- The allocation engine consumes :class:`CostGroup` values through the :class:`CostSource`
  protocol: :meth:`CostFactStore.groups` rolls the facts (per-second, hourly, daily) up to the
  allocation period, which is the billing period (a calendar month, ``YYYY-MM``), grouped by the
  dimensions and tags it asks for, with exact Decimal sums. Rules are evaluated on these distinct
  groups (thousands, not millions) and the results joined back if needed through
  :meth:`CostFactStore.connect`, whose ``cost_facts`` view keeps ``source_file`` and
  ``source_row`` so that every allocated amount can be explained down to its source rows.
- Depreciation and licence cost pools are further :class:`CostSource` implementations: they
  yield :class:`CostGroup` values with their own ``origin`` (``"depreciation"``, ``"licence"``)
  and dimensions (asset class, cost centre, product), so the engine treats all pools alike.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import hashlib
import itertools
import json
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import duckdb

from ledger.errors import ApportionError, InputError, NotFoundError

#: Fractional digits kept for every amount and quantity. FOCUS and CUR files carry 10 or 11,
#: Azure exports up to 14 (floats printed in scientific notation); 18 keeps all of those exact
#: and still leaves 20 integer digits, far above any bill.
AMOUNT_SCALE = 18
#: The SQL type of every amount and quantity column.
AMOUNT_TYPE = f"DECIMAL(38,{AMOUNT_SCALE})"

#: FOCUS ChargeCategory values.
CHARGE_CATEGORIES: tuple[str, ...] = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")

#: The columns of a cost fact, in file order, with their DuckDB types. Names follow FOCUS
#: (BilledCost -> billed_cost ...), with ``provider`` for ProviderName and ``region`` for RegionId.
FACT_COLUMNS: dict[str, str] = {
    "billing_period": "VARCHAR",  # YYYY-MM, the month of BillingPeriodStart; partition key
    "charge_period_start": "TIMESTAMP",  # UTC, inclusive
    "charge_period_end": "TIMESTAMP",  # UTC, exclusive
    "provider": "VARCHAR",
    "billing_account_id": "VARCHAR",
    "billing_account_name": "VARCHAR",
    "sub_account_id": "VARCHAR",
    "sub_account_name": "VARCHAR",
    "service_name": "VARCHAR",
    "service_category": "VARCHAR",
    "resource_id": "VARCHAR",
    "resource_name": "VARCHAR",
    "region": "VARCHAR",
    "charge_category": "VARCHAR",  # one of CHARGE_CATEGORIES
    "charge_class": "VARCHAR",  # 'Correction' or NULL
    "charge_description": "VARCHAR",
    "pricing_quantity": AMOUNT_TYPE,
    "pricing_unit": "VARCHAR",
    "consumed_quantity": AMOUNT_TYPE,
    "consumed_unit": "VARCHAR",
    "billed_cost": AMOUNT_TYPE,  # what the invoice charges (unblended)
    "effective_cost": AMOUNT_TYPE,  # amortised: commitments spread over the usage they cover
    "list_cost": AMOUNT_TYPE,  # at public list prices; NULL when the source has none
    "contracted_cost": AMOUNT_TYPE,  # at negotiated prices; NULL when the source has none
    "billing_currency": "VARCHAR",  # ISO 4217, upper case
    "invoice_id": "VARCHAR",  # the provider's invoice the row is billed on; NULL when unknown
    "tags": "MAP(VARCHAR, VARCHAR)",  # flattened once at ingest; empty map when untagged
    "source_file": "VARCHAR",
    "source_row": "BIGINT",  # 1-based; in a CSV file the header is row 1
    "import_id": "VARCHAR",
}

#: Columns added by the store itself at commit time.
LINEAGE_COLUMNS: tuple[str, ...] = ("source_file", "source_row", "import_id")
#: What an importer's ``staged_facts`` table must hold (besides the ``_problem*`` columns).
STAGED_COLUMNS: dict[str, str] = {
    name: kind for name, kind in FACT_COLUMNS.items() if name not in LINEAGE_COLUMNS
}
#: Columns added after the first release: Parquet files written before them lack them, and
#: :meth:`CostFactStore.connect` reads them there as NULL.
LATER_COLUMNS: tuple[str, ...] = ("invoice_id",)
#: Columns of ``staged_facts`` through which an importer reports the first bad field of a row:
#: the source field name, the value as read, and what is wrong with it (all NULL when fine).
PROBLEM_COLUMNS: tuple[str, ...] = ("_problem_field", "_problem_value", "_problem")

#: Dimensions :meth:`CostFactStore.groups` groups by unless told otherwise.
DEFAULT_GROUP_DIMENSIONS: tuple[str, ...] = (
    "provider",
    "billing_account_id",
    "sub_account_id",
    "service_name",
    "resource_id",
    "charge_category",
)
_GROUPABLE = frozenset(
    name
    for name, kind in FACT_COLUMNS.items()
    if kind == "VARCHAR" and name not in ("billing_period", "billing_currency")
)

_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])\Z")
_MANIFEST = "manifest.json"
_MANIFEST_FORMAT = "apportion-costfacts"
_HASH_CHUNK = 1 << 20

#: ``progress(done, total)``: units are bytes of the source file; an import runs two passes over
#: it (hash, then convert), so ``total`` is twice the file size. Called from the importing thread
#: or a helper thread; it must be quick and thread-safe.
Progress = Callable[[int, int], None]


class CostFactStoreError(ApportionError):
    """The store directory is damaged or was written by an incompatible version."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file being imported, as the store has read it.

    Attributes:
        path: where it is.
        name: how errors and the ``source_file`` column name it.
        sha256: hex digest of its content; the idempotency key of the import.
        size: bytes.
        first_nul_offset: byte offset of the first NUL byte, or None; text formats refuse NULs.
    """

    path: Path
    name: str
    sha256: str
    size: int
    first_nul_offset: int | None


class FactImporter(Protocol):
    """Reads one source format into ``staged_facts`` (see the module docstring).

    Attributes:
        format_name: short name recorded in the manifest, e.g. ``"focus-1.0-csv"``.
        first_row: the row number of the first data row (2 for a CSV file with a header, 1 for
            Parquet): ``source_row = rowid + first_row`` of ``staged_facts``.
    """

    format_name: str
    first_row: int

    def stage(self, con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
        """Create table ``staged_facts`` with :data:`STAGED_COLUMNS` and :data:`PROBLEM_COLUMNS`
        in source order, or raise :class:`~ledger.errors.InputError` for a file it cannot read."""
        ...


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did.

    Attributes:
        import_id: the import that holds the file's rows (an earlier one when already imported).
        source_file: the name of the file.
        sha256: content hash of the file.
        format_name: the importer's format.
        rows: number of facts the file gave.
        periods: billing periods (YYYY-MM) the rows fall in.
        already_imported: True when the same content was imported before; nothing was written.
    """

    import_id: str
    source_file: str
    sha256: str
    format_name: str
    rows: int
    periods: tuple[str, ...]
    already_imported: bool

    @property
    def message(self) -> str:
        if self.already_imported:
            return (
                f"{self.source_file} was already imported as {self.import_id} "
                f"(same content, sha256 {self.sha256[:12]}): nothing imported"
            )
        return (
            f"imported {self.rows} rows from {self.source_file} as {self.import_id} "
            f"into {', '.join(self.periods) or 'no period'}"
        )


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """One committed import, as the manifest records it.

    Attributes:
        totals: per currency, the exact sums ``{"USD": {"billed_cost": Decimal, ...}}``.
    """

    import_id: str
    source_file: str
    sha256: str
    format_name: str
    imported_at: str
    rows: int
    periods: Mapping[str, int]
    totals: Mapping[str, Mapping[str, Decimal]]


class CostTotal(NamedTuple):
    """Exact sums of the facts of one period, provider, service and currency."""

    billing_period: str
    provider: str | None
    service_name: str | None
    billing_currency: str
    rows: int
    billed_cost: Decimal
    effective_cost: Decimal
    list_cost: Decimal


class InvoiceTotal(NamedTuple):
    """Billed cost of one invoice id (None: rows without one), billing account, period and
    currency: the provider's own invoice totals, to check vendor invoices against."""

    invoice_id: str | None
    billing_account_id: str | None
    billing_period: str
    billing_currency: str
    rows: int
    billed_cost: Decimal


@dataclass(frozen=True, slots=True)
class CostGroup:
    """An aggregate of cost facts: what the allocation engine allocates.

    Amounts are exact sums, not quantised (allocation quantises them, see :mod:`ledger.money`);
    a credit is negative. Hashable, so rule results can be cached per distinct group.

    Attributes:
        period: the allocation period, ``YYYY-MM``.
        currency: ISO 4217 code of the amounts.
        dimensions: (name, value) pairs in the order asked for; a value may be None.
        tags: (key, value) pairs sorted by key: all tags, or only the keys asked for.
        rows: number of facts summed.
        billed_cost, effective_cost, list_cost: exact sums (list_cost sums the rows that have one).
        origin: which cost source produced the group: ``"billing"``, ``"depreciation"`` ...
    """

    period: str
    currency: str
    dimensions: tuple[tuple[str, str | None], ...]
    tags: tuple[tuple[str, str], ...]
    rows: int
    billed_cost: Decimal
    effective_cost: Decimal
    list_cost: Decimal
    origin: str = "billing"

    def dimension(self, name: str) -> str | None:
        """The value of dimension ``name`` (KeyError when it was not grouped by)."""
        for key, value in self.dimensions:
            if key == name:
                return value
        raise KeyError(name)

    def tag(self, key: str) -> str | None:
        """The value of tag ``key``, or None when the group has no such tag."""
        for tag_key, value in self.tags:
            if tag_key == key:
                return value
        return None


class CostSource(Protocol):
    """Anything the allocation engine can draw costs from: billing facts, depreciation, licences."""

    def groups(
        self,
        *,
        period: str,
        by: Sequence[str] = DEFAULT_GROUP_DIMENSIONS,
        tag_keys: Sequence[str] | None = None,
    ) -> Iterator[CostGroup]: ...


def exact_decimal_sql(scale: int = AMOUNT_SCALE) -> str:
    """The body of the ``exact_decimal(text)`` SQL macro.

    DuckDB's own VARCHAR -> DECIMAL(38,s) cast is exact but about 20 times slower than its
    casts to 64-bit decimals or to HUGEINT (DuckDB 1.5: 4 s per million values), so text takes
    the fastest exact route that fits it:

    1. no exponent and at most 10 (12) fractional digits: DECIMAL(18,10) (DECIMAL(18,12)), then
       widened; this gives NULL beyond 8 (6) integer digits, and the next route is tried;
    2. plain decimal text (checked by a regular expression) with at most 20 integer and
       ``scale`` fractional digits: the digits as a scaled HUGEINT;
    3. other numbers (an exponent, more digits): DuckDB's own cast, which rounds half up.

    Text that is not a number gives NULL, which importers report as a bad field.
    """
    plain = r"[+-]?(\d{1,20}\.?\d*|\.\d+)"
    dot = "strpos(x, '.')"
    fast = ", ".join(
        f"CASE WHEN strpos(x, 'e') = 0 AND strpos(x, 'E') = 0 AND strpos(x, '_') = 0 "
        f"AND ({dot} = 0 OR length(x) - {dot} <= {places}) "
        f"THEN CAST(TRY_CAST(x AS DECIMAL(18,{places})) AS DECIMAL(38,{scale})) END"
        for places in (10, 12)
    )
    frac_digits = f"(CASE WHEN {dot} = 0 THEN 0 ELSE length(rtrim(substr(x, {dot} + 1), '0')) END)"
    digits = (
        f"CASE WHEN {dot} = 0 THEN x || repeat('0', {scale}) "
        f"ELSE substr(x, 1, {dot} - 1) || rpad(substr(x, {dot} + 1), {scale}, '0') END"
    )
    slow = (
        f"CASE WHEN regexp_full_match(x, '{plain}') AND {frac_digits} <= {scale} "
        f"THEN CAST(CAST({digits} AS HUGEINT) AS DECIMAL(38,0)) "
        f"* CAST('1e-{scale}' AS DECIMAL(38,{scale})) "
        f"WHEN regexp_full_match(x, '{plain}([eE][+-]?\\d{{1,3}})?') "
        f"THEN TRY_CAST(x AS DECIMAL(38,{scale})) END"
    )
    return f"CASE WHEN x IS NULL THEN NULL ELSE coalesce({fast}, {slow}) END"


def install_sql_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define ``exact_decimal(text) -> AMOUNT_TYPE`` (NULL when not a number) on ``con``."""
    con.execute(f"CREATE OR REPLACE TEMP MACRO exact_decimal(x) AS ({exact_decimal_sql()})")


def _record_from(import_id: str, entry: Mapping[str, Any]) -> ImportRecord:
    return ImportRecord(
        import_id=import_id,
        source_file=entry["source_file"],
        sha256=entry["sha256"],
        format_name=entry["format_name"],
        imported_at=entry["imported_at"],
        rows=entry["rows"],
        periods={p: info["rows"] for p, info in sorted(entry["periods"].items())},
        totals={
            currency: {k: Decimal(v) for k, v in sums.items()}
            for currency, sums in sorted(entry["totals"].items())
        },
    )


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock between processes (released when the process dies)."""
    with open(path, "a+b") as handle:
        if os.name == "nt":  # pragma: no cover - exercised on Windows only
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":  # pragma: no cover
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: Amount and quantity columns a charge split at a period boundary divides by time.
SPLIT_COLUMNS: tuple[str, ...] = (
    "pricing_quantity", "consumed_quantity", "billed_cost", "effective_cost", "list_cost",
    "contracted_cost",
)
_SPLIT_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)


def _month_start(moment: dt.datetime) -> dt.datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(moment: dt.datetime) -> dt.datetime:
    start = _month_start(moment)
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def split_charge_by_time(
    start: dt.datetime, end: dt.datetime, amounts: Sequence[Decimal | None]
) -> list[tuple[dt.datetime, dt.datetime, tuple[Decimal | None, ...]]]:
    """Split a charge over ``[start, end)`` at each month boundary, amounts by elapsed time.

    Why: the allocation period is the calendar month, and a per-second or hourly charge that
    runs across midnight of the 1st belongs to both months in proportion to its time. Each
    piece gets ``q(A * t_end / T) - q(A * t_start / T)`` (``t`` cumulative microseconds, ``q``
    rounding to :data:`AMOUNT_SCALE` digits), so the pieces telescope to ``A`` exactly: the
    sum of the periods is the billed amount, to the last digit. NULL amounts stay NULL.
    """
    cuts = [start]
    while (boundary := _next_month(cuts[-1])) < end:
        cuts.append(boundary)
    cuts.append(end)
    total = (end - start) // dt.timedelta(microseconds=1)
    pieces = []
    for piece_start, piece_end in itertools.pairwise(cuts):
        before = (piece_start - start) // dt.timedelta(microseconds=1)
        upto = (piece_end - start) // dt.timedelta(microseconds=1)
        pieces.append((piece_start, piece_end, tuple(
            None if amount is None else _time_share(amount, upto, total)
            - _time_share(amount, before, total)
            for amount in amounts
        )))
    return pieces


def _time_share(amount: Decimal, elapsed: int, total: int) -> Decimal:
    with decimal.localcontext(decimal.Context(prec=80)):
        return (amount * elapsed / total).quantize(_SPLIT_QUANTUM, decimal.ROUND_HALF_UP)


def split_at_month_boundaries(con: duckdb.DuckDBPyConnection, first_row: int) -> int:
    """Replace each row of ``staged_facts`` whose charge period crosses a month boundary by
    one row per month (see :func:`split_charge_by_time`); returns how many rows were split.

    Each piece's ``billing_period`` is the month it falls in, so that every period carries
    exactly its share. When rows were split the table gains ``_source_row`` (the row of the
    source file every piece came from), keeping the lineage of each piece; otherwise the table
    is left untouched (the common case: providers split hourly and daily rows themselves).
    """
    crossing = (
        "charge_period_end > date_trunc('month', charge_period_start) + INTERVAL 1 MONTH"
    )
    amounts = ", ".join(SPLIT_COLUMNS)
    rows = con.execute(
        f"SELECT rowid, charge_period_start, charge_period_end, {amounts} "  # noqa: S608
        f"FROM staged_facts WHERE {crossing} ORDER BY rowid"
    ).fetchall()
    if not rows:
        return 0
    amount_defs = ", ".join(f"{name} {AMOUNT_TYPE}" for name in SPLIT_COLUMNS)
    con.execute(
        f"CREATE TEMP TABLE _split_pieces (rid BIGINT, piece INTEGER, piece_start TIMESTAMP, "
        f"piece_end TIMESTAMP, piece_period VARCHAR, {amount_defs})"
    )
    pieces = [
        (rowid, number, piece_start, piece_end, f"{piece_start:%Y-%m}", *parts)
        for rowid, start, end, *values in rows
        for number, (piece_start, piece_end, parts) in enumerate(
            split_charge_by_time(start, end, values)
        )
    ]
    marks = ", ".join("?" * (5 + len(SPLIT_COLUMNS)))
    con.executemany(f"INSERT INTO _split_pieces VALUES ({marks})", pieces)  # noqa: S608
    replaced = ", ".join(
        [
            "coalesce(p.piece_period, s.billing_period) AS billing_period",
            "coalesce(p.piece_start, s.charge_period_start) AS charge_period_start",
            "coalesce(p.piece_end, s.charge_period_end) AS charge_period_end",
            *(f"CASE WHEN p.rid IS NULL THEN s.{n} ELSE p.{n} END AS {n}" for n in SPLIT_COLUMNS),
        ]
    )
    con.execute(
        f"CREATE OR REPLACE TABLE staged_facts AS SELECT s.* EXCLUDE (rid) "  # noqa: S608
        f"REPLACE ({replaced}), CAST(s.rid + {int(first_row)} AS BIGINT) AS _source_row "
        f"FROM (SELECT *, rowid AS rid FROM staged_facts) s "
        f"LEFT JOIN _split_pieces p ON p.rid = s.rid ORDER BY s.rid, p.piece"
    )
    con.execute("DROP TABLE _split_pieces")
    return len(rows)


def hash_file(
    path: Path, *, progress: Progress | None = None, total: int | None = None
) -> tuple[str, int, int | None]:
    """(sha256 hex, size, offset of the first NUL byte or None) of the file at ``path``."""
    digest = hashlib.sha256()
    size = 0
    first_nul: int | None = None
    with open(path, "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
            if first_nul is None:
                at = chunk.find(b"\0")
                if at >= 0:
                    first_nul = size + at
            size += len(chunk)
            if progress is not None:
                progress(size, total if total is not None else size)
    return digest.hexdigest(), size, first_nul


class CostFactStore:
    """Billing cost facts in Parquet files under ``root``; see the module docstring.

    Args:
        root: the store directory; created when missing.
        memory_limit: DuckDB's memory limit per connection; larger work spills to disk.
        threads: DuckDB worker threads (None: DuckDB's default, one per core).
    """

    def __init__(
        self, root: Path | str, *, memory_limit: str = "1GB", threads: int | None = None
    ) -> None:
        self.root = Path(root)
        self.memory_limit = memory_limit
        self.threads = threads
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / ".staging").mkdir(exist_ok=True)
        self._manifest_path = self.root / _MANIFEST
        self._lock_path = self.root / ".lock"

    # -- connections ---------------------------------------------------------------------------

    def _open(self, database: str = ":memory:", temp_dir: Path | None = None):
        con = duckdb.connect(database)
        temp = temp_dir if temp_dir is not None else self.root / ".staging" / "duckdb-tmp"
        con.execute(f"SET memory_limit = {_sql_text(self.memory_limit)}")
        con.execute(f"SET temp_directory = {_sql_text(str(temp))}")
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET enable_progress_bar_print = false")
        if self.threads is not None:
            con.execute(f"SET threads = {int(self.threads)}")
        install_sql_macros(con)
        return con

    @contextlib.contextmanager
    def connect(
        self, *, periods: Sequence[str] | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB connection with a view ``cost_facts`` over the committed facts.

        ``periods`` limits the view to those billing periods (only their files are read). The
        view is a snapshot of the manifest when the connection opens. Files written before a
        column of :data:`LATER_COLUMNS` existed give NULL in it.
        """
        files, older = self._files(periods)
        con = self._open()
        try:
            if files:
                listing = ", ".join(_sql_text(str(self.root / f)) for f in files)
                source = f"read_parquet([{listing}])"
                present: Sequence[str] = tuple(FACT_COLUMNS)
                if older:
                    # Files of different ages: columns matched by name, absent ones NULL.
                    source = f"read_parquet([{listing}], union_by_name = true)"
                    present = [row[0] for row in con.execute(
                        f"DESCRIBE SELECT * FROM {source}"  # noqa: S608
                    ).fetchall()]
                columns = ", ".join(
                    f'"{name}"' if name in present else f'CAST(NULL AS {kind}) AS "{name}"'
                    for name, kind in FACT_COLUMNS.items()
                )
                con.execute(
                    f"CREATE TEMP VIEW cost_facts AS SELECT {columns} FROM {source}"  # noqa: S608
                )
            else:
                columns = ", ".join(
                    f'CAST(NULL AS {kind}) AS "{name}"' for name, kind in FACT_COLUMNS.items()
                )
                con.execute(f"CREATE TEMP VIEW cost_facts AS SELECT {columns} WHERE false")
            yield con
        finally:
            con.close()

    # -- manifest ------------------------------------------------------------------------------

    def _read_manifest(self) -> dict[str, Any]:
        try:
            text = self._manifest_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"format": _MANIFEST_FORMAT, "version": 1, "imports": {}}
        try:
            manifest = json.loads(text)
        except ValueError as exc:
            raise CostFactStoreError(f"{self._manifest_path} is not valid JSON: {exc}") from None
        if manifest.get("format") != _MANIFEST_FORMAT or manifest.get("version") != 1:
            raise CostFactStoreError(f"{self._manifest_path} is not a version 1 cost fact manifest")
        return manifest

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        """Replace the manifest atomically: the commit point of imports and removals."""
        temp = self.root / f".{_MANIFEST}.{secrets.token_hex(4)}.tmp"
        with open(temp, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, self._manifest_path)
        _fsync_dir(self.root)

    def _files(self, periods: Sequence[str] | None) -> tuple[list[str], bool]:
        """The committed files of ``periods`` (all: None), and whether any of them was written
        without a column of :data:`FACT_COLUMNS` (imports from before ``columns`` was recorded
        in the manifest lack the :data:`LATER_COLUMNS`)."""
        wanted = None if periods is None else set(periods)
        files = []
        older = False
        for entry in self._read_manifest()["imports"].values():
            written = entry.get("columns")
            listed = False
            for period, info in sorted(entry["periods"].items()):
                if wanted is None or period in wanted:
                    files.extend(info["files"])
                    listed = listed or bool(info["files"])
            if listed and (written is None or not set(FACT_COLUMNS) <= set(written)):
                older = True
        return sorted(files), older

    def imports(self) -> list[ImportRecord]:
        """The committed imports, oldest first."""
        imports = self._read_manifest()["imports"]
        return [_record_from(import_id, imports[import_id]) for import_id in sorted(imports)]

    def find_import(self, sha256: str) -> ImportRecord | None:
        """The committed import of the content with this hash, if any."""
        return next((r for r in self.imports() if r.sha256 == sha256), None)

    def periods(self) -> list[str]:
        """Billing periods (YYYY-MM) that hold facts, in order."""
        found: set[str] = set()
        for entry in self._read_manifest()["imports"].values():
            found.update(entry["periods"])
        return sorted(found)

    # -- writing -------------------------------------------------------------------------------

    def import_file(
        self,
        path: Path | str,
        importer: FactImporter,
        *,
        source_name: str | None = None,
        progress: Progress | None = None,
    ) -> ImportResult:
        """Import the file at ``path`` with ``importer``: all rows or none.

        Returns what was done; re-importing the same content returns the earlier import with
        ``already_imported=True`` and writes nothing. Raises :class:`~ledger.errors.InputError`
        for bad input, leaving the store unchanged.
        """
        path = Path(path)
        name = source_name if source_name is not None else path.name
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise InputError(f"cannot read the file: {exc.strerror}", source=name) from None
        report = _ProgressReport(progress, 2 * size)
        sha256, size, first_nul = hash_file(path, progress=progress, total=report.total)
        report.done = min(size, report.total)
        earlier = self.find_import(sha256)
        if earlier is not None:
            report(report.total)
            return self._already(earlier, name)

        import_id = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        staging = self.root / ".staging" / import_id
        staging.mkdir(parents=True)
        moved: list[Path] = []
        committed = False
        try:
            source = SourceFile(path, name, sha256, size, first_nul)
            rows, periods, totals, parts = self._stage(importer, source, import_id, staging, report)
            with _file_lock(self._lock_path):
                manifest = self._read_manifest()
                for other_id, entry in manifest["imports"].items():
                    if entry["sha256"] == sha256:  # imported concurrently meanwhile
                        return self._already(_record_from(other_id, entry), name)
                self._sweep(manifest)
                files: dict[str, list[str]] = {}
                for period, part_files in parts.items():
                    target_dir = self.root / f"billing_period={period}"
                    target_dir.mkdir(exist_ok=True)
                    for number, part in enumerate(part_files):
                        target = target_dir / f"{import_id}-{number}.parquet"
                        self._move_into_place(part, target)
                        moved.append(target)
                        files.setdefault(period, []).append(
                            target.relative_to(self.root).as_posix()
                        )
                manifest["imports"][import_id] = {
                    "source_file": name,
                    "sha256": sha256,
                    "format_name": importer.format_name,
                    "imported_at": _now(),
                    "columns": list(FACT_COLUMNS),
                    "rows": rows,
                    "periods": {
                        period: {"rows": count, "files": files.get(period, [])}
                        for period, count in periods.items()
                    },
                    "totals": totals,
                }
                self._write_manifest(manifest)
                committed = True
        finally:
            if not committed:
                for target in moved:
                    with contextlib.suppress(OSError):
                        target.unlink()
            shutil.rmtree(staging, ignore_errors=True)
        report(report.total)
        return ImportResult(
            import_id=import_id,
            source_file=name,
            sha256=sha256,
            format_name=importer.format_name,
            rows=rows,
            periods=tuple(periods),
            already_imported=False,
        )

    @staticmethod
    def _move_into_place(part: Path, target: Path) -> None:
        """Rename one staged file into the store (same directory tree, so atomic)."""
        os.replace(part, target)

    def _already(self, record: ImportRecord, name: str) -> ImportResult:
        return ImportResult(
            import_id=record.import_id,
            source_file=name,
            sha256=record.sha256,
            format_name=record.format_name,
            rows=record.rows,
            periods=tuple(record.periods),
            already_imported=True,
        )

    def _stage(
        self,
        importer: FactImporter,
        source: SourceFile,
        import_id: str,
        staging: Path,
        report: _ProgressReport,
    ) -> tuple[int, dict[str, int], dict[str, dict[str, str]], dict[str, list[Path]]]:
        """Convert the file into Parquet parts under ``staging``; nothing is visible yet."""
        con = self._open(temp_dir=staging / "duckdb-tmp")
        try:
            converted = source.size + (report.total - source.size) * 3 // 4
            with _polled_progress(con, report, source.size, converted):
                try:
                    importer.stage(con, source)
                except InputError:
                    raise
                except duckdb.Error as exc:
                    raise InputError(f"cannot read the file: {exc}", source=source.name) from None
            self._check_staged(con, source, importer.first_row)
            parts_dir = staging / "parts"
            parts_dir.mkdir()
            first_row = int(importer.first_row)
            split = split_at_month_boundaries(con, first_row) > 0
            select = []
            for name in FACT_COLUMNS:
                if name == "source_file":
                    select.append(f"{_sql_text(source.name)} AS source_file")
                elif name == "source_row":
                    select.append(
                        "_source_row AS source_row" if split
                        else f"CAST(rowid + {first_row} AS BIGINT) AS source_row"
                    )
                elif name == "import_id":
                    select.append(f"{_sql_text(import_id)} AS import_id")
                elif name == "tags":
                    # Sorted keys, so that equal tag sets are equal maps and group together.
                    select.append(
                        "CASE WHEN tags IS NULL THEN MAP {}::MAP(VARCHAR, VARCHAR) "
                        "WHEN cardinality(tags) < 2 OR map_keys(tags) = list_sort(map_keys(tags)) "
                        "THEN tags ELSE map_from_entries(list_sort(map_entries(tags))) END AS tags"
                    )
                else:
                    select.append(f'"{name}"')
            listed = con.execute(
                "SELECT billing_period, count(*) FROM staged_facts GROUP BY 1 ORDER BY 1"
            ).fetchall()
            # One COPY per period (a file rarely spans more than two): plain COPY is about twice
            # as fast as DuckDB's PARTITION_BY writer.
            parts: dict[str, list[Path]] = {}
            step = (report.total - converted) // max(len(listed), 1)
            for number, (period, _) in enumerate(listed):
                target = parts_dir / f"{period}.parquet"
                start = converted + number * step
                with _polled_progress(con, report, start, start + step):
                    con.execute(
                        f"COPY (SELECT {', '.join(select)} FROM staged_facts "  # noqa: S608
                        f"WHERE billing_period = {_sql_text(period)}) "
                        f"TO {_sql_text(str(target))} (FORMAT parquet, COMPRESSION zstd)"
                    )
                parts[period] = [target]
            periods = dict(listed)
            totals = {
                currency: {
                    "billed_cost": str(billed),
                    "effective_cost": str(effective),
                    "list_cost": str(list_total),
                }
                for currency, billed, effective, list_total in con.execute(
                    "SELECT billing_currency, sum(billed_cost), sum(effective_cost), "
                    "coalesce(sum(list_cost), 0) FROM staged_facts GROUP BY 1 ORDER BY 1"
                ).fetchall()
            }
        finally:
            con.close()
        return sum(periods.values()), periods, totals, parts

    def _check_staged(self, con: duckdb.DuckDBPyConnection, source: SourceFile, first_row: int):
        """Check the importer's table: its schema, its reported problems and the invariants."""
        described = {
            row[0]: row[1] for row in con.execute("DESCRIBE staged_facts").fetchall()
        }
        for name, kind in {**STAGED_COLUMNS, **dict.fromkeys(PROBLEM_COLUMNS, "VARCHAR")}.items():
            if described.get(name) != kind:
                raise CostFactStoreError(
                    f"importer bug: staged_facts.{name} is {described.get(name)}, not {kind}"
                )
        categories = ", ".join(_sql_text(c) for c in CHARGE_CATEGORIES)
        checks = [
            ("billing_period", "NOT regexp_full_match(coalesce(billing_period, ''), "
             "'\\d{4}-(0[1-9]|1[0-2])')", "is not a billing period (YYYY-MM)"),
            ("charge_period_start", "charge_period_start IS NULL", "is missing"),
            ("charge_category", f"charge_category IS NULL OR charge_category NOT IN ({categories})",
             f"is not one of {', '.join(CHARGE_CATEGORIES)}"),
            ("billing_currency", "NOT regexp_full_match(coalesce(billing_currency, ''), "
             "'[A-Z]{3}')", "is not an ISO 4217 currency code"),
            ("billed_cost", "billed_cost IS NULL", "is missing"),
            ("effective_cost", "effective_cost IS NULL", "is missing"),
        ]
        field_sql = " ".join(f"WHEN {cond} THEN {_sql_text(f)}" for f, cond, _ in checks)
        value_sql = " ".join(f'WHEN {cond} THEN CAST("{f}" AS VARCHAR)' for f, cond, _ in checks)
        message_sql = " ".join(f"WHEN {cond} THEN {_sql_text(m)}" for f, cond, m in checks)
        any_bad = " OR ".join(f"({cond})" for _, cond, _ in checks)
        found = con.execute(
            f"SELECT rowid, coalesce(_problem_field, CASE {field_sql} END), "  # noqa: S608
            f"CASE WHEN _problem IS NOT NULL THEN _problem_value ELSE CASE {value_sql} END END, "
            f"coalesce(_problem, CASE {message_sql} END) "
            f"FROM staged_facts WHERE _problem IS NOT NULL OR {any_bad} ORDER BY rowid LIMIT 1"
        ).fetchone()
        if found is not None:
            rowid, field_name, value, message = found
            raise InputError(
                f"{message} (value {value!r})" if value is not None else message,
                source=source.name,
                row=int(rowid) + first_row,
                field=field_name,
                value=value,
            )

    def remove_import(self, import_id: str) -> ImportRecord:
        """Take one import's facts out of the store; returns what was removed.

        Raises :class:`~ledger.errors.NotFoundError` for an unknown import.
        """
        with _file_lock(self._lock_path):
            manifest = self._read_manifest()
            if import_id not in manifest["imports"]:
                raise NotFoundError(f"no cost fact import {import_id!r} in {self.root}")
            entry = manifest["imports"].pop(import_id)
            self._write_manifest(manifest)
            for info in entry["periods"].values():
                for relative in info["files"]:
                    with contextlib.suppress(OSError):  # swept later if still open elsewhere
                        (self.root / relative).unlink()
        return _record_from(import_id, entry)

    def _sweep(self, manifest: dict[str, Any]) -> None:
        """Delete Parquet files no committed import lists (left by a crash). Call under the lock."""
        listed = {
            relative
            for entry in manifest["imports"].values()
            for info in entry["periods"].values()
            for relative in info["files"]
        }
        for folder in self.root.glob("billing_period=*"):
            for file in folder.glob("*.parquet"):
                if file.relative_to(self.root).as_posix() not in listed:
                    with contextlib.suppress(OSError):
                        file.unlink()
        day_ago = dt.datetime.now().timestamp() - 86400
        for folder in (self.root / ".staging").iterdir():
            with contextlib.suppress(OSError):
                if folder.stat().st_mtime < day_ago:
                    shutil.rmtree(folder, ignore_errors=True)

    # -- queries -------------------------------------------------------------------------------

    def totals(self, *, periods: Sequence[str] | None = None) -> list[CostTotal]:
        """Exact sums per billing period, provider, service and currency, in that order."""
        with self.connect(periods=periods) as con:
            rows = con.execute(
                "SELECT billing_period, provider, service_name, billing_currency, count(*), "
                "sum(billed_cost), sum(effective_cost), coalesce(sum(list_cost), 0) "
                "FROM cost_facts GROUP BY ALL ORDER BY ALL"
            ).fetchall()
        return [CostTotal(*row) for row in rows]

    def currency_totals(self, *, periods: Sequence[str] | None = None) -> dict[str, Decimal]:
        """Billed cost per currency: the figure to check against invoices."""
        with self.connect(periods=periods) as con:
            rows = con.execute(
                "SELECT billing_currency, sum(billed_cost) FROM cost_facts GROUP BY 1 ORDER BY 1"
            ).fetchall()
        return dict(rows)

    def invoice_totals(
        self, *, periods: Sequence[str] | None = None, invoice_ids: Sequence[str] | None = None
    ) -> list[InvoiceTotal]:
        """Billed cost per invoice id, billing account, period and currency (rows without an
        invoice id under None, last): the provider's invoices as its billing states them.

        ``invoice_ids`` keeps only those invoices (wherever their rows fall when ``periods`` is
        None: a charge split at a month boundary puts part of an invoice in the next period).
        """
        where, parameters = "", []
        if invoice_ids is not None:
            where, parameters = "WHERE list_contains(?, invoice_id) ", [sorted(invoice_ids)]
        with self.connect(periods=periods) as con:
            rows = con.execute(
                "SELECT invoice_id, billing_account_id, billing_period, billing_currency, "  # noqa: S608
                f"count(*), sum(billed_cost) FROM cost_facts {where}GROUP BY ALL "
                "ORDER BY billing_period, billing_account_id, invoice_id NULLS LAST, "
                "billing_currency",
                parameters,
            ).fetchall()
        return [InvoiceTotal(*row) for row in rows]

    def tag_keys(self, *, periods: Sequence[str] | None = None) -> list[str]:
        """The distinct tag keys of the facts, sorted."""
        with self.connect(periods=periods) as con:
            rows = con.execute(
                "SELECT DISTINCT unnest(map_keys(tags)) AS key FROM cost_facts ORDER BY key"
            ).fetchall()
        return [row[0] for row in rows]

    def groups(
        self,
        *,
        period: str,
        by: Sequence[str] = DEFAULT_GROUP_DIMENSIONS,
        tag_keys: Sequence[str] | None = None,
        batch_size: int = 10_000,
    ) -> Iterator[CostGroup]:
        """Facts of ``period`` rolled up to the allocation period, one group per distinct key.

        The key is (currency, ``by`` dimensions, tags): all tags when ``tag_keys`` is None,
        only those keys otherwise (``()`` ignores tags). Groups come in a stable order with
        exact Decimal sums. Hourly or per-second rows thus become one group per month.
        """
        if not _PERIOD.match(period):
            raise ValueError(f"period must be YYYY-MM, got {period!r}")
        unknown = [name for name in by if name not in _GROUPABLE]
        if unknown:
            raise ValueError(
                f"cannot group by {unknown}: choose from {', '.join(sorted(_GROUPABLE))}"
            )
        dims = [f'"{name}"' for name in by]
        if tag_keys is None:
            tag_expr = "tags"
        elif tag_keys:
            pairs = ", ".join(
                f"{{'key': {_sql_text(k)}, 'value': tags[{_sql_text(k)}]}}"
                for k in sorted(tag_keys)
            )
            tag_expr = f"map_from_entries(list_filter([{pairs}], e -> e.value IS NOT NULL))"
        else:
            tag_expr = "MAP {}::MAP(VARCHAR, VARCHAR)"
        keys = ", ".join(["billing_currency", *dims, "tag_key"])
        sql = (
            f"SELECT {keys}, count(*), sum(billed_cost), sum(effective_cost), "  # noqa: S608
            f"coalesce(sum(list_cost), 0) "
            f"FROM (SELECT *, {tag_expr} AS tag_key FROM cost_facts "
            f"WHERE billing_period = {_sql_text(period)}) "
            f"GROUP BY {keys} ORDER BY {', '.join(['billing_currency', *dims])}, "
            f"CAST(tag_key AS VARCHAR)"
        )
        with self.connect(periods=[period]) as con:
            result = con.execute(sql)
            while batch := result.fetchmany(batch_size):
                for row in batch:
                    currency = row[0]
                    values = row[1 : 1 + len(dims)]
                    tags = row[1 + len(dims)] or {}
                    count, billed, effective, listed = row[2 + len(dims) :]
                    yield CostGroup(
                        period=period,
                        currency=currency,
                        dimensions=tuple(zip(by, values, strict=True)),
                        tags=tuple(sorted(tags.items())),
                        rows=count,
                        billed_cost=billed,
                        effective_cost=effective,
                        list_cost=listed,
                    )


class _ProgressReport:
    """Forwards ``done`` to a :data:`Progress` callback with a fixed total, never backwards."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0
        self._lock = threading.Lock()

    def __call__(self, done: int) -> None:
        if self.progress is None:
            return
        with self._lock:
            if done < self.done:
                return
            self.done = min(done, self.total)
            self.progress(self.done, self.total)


@contextlib.contextmanager
def _polled_progress(
    con: duckdb.DuckDBPyConnection, report: _ProgressReport, start: int, end: int
) -> Iterator[None]:
    """Report DuckDB's progress on the query running on ``con`` as ``[start, end]``."""
    if report.progress is None:
        yield
        return
    con.execute("SET enable_progress_bar = true")
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(0.1):
            try:
                percent = con.query_progress()
            except duckdb.Error:
                return
            if percent > 0:
                report(start + int((end - start) * min(percent, 100.0) / 100.0))

    thread = threading.Thread(target=poll, name="costfacts-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    report(end)

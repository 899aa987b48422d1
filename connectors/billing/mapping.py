"""Reading billing files as text columns and mapping them to cost facts in DuckDB SQL.

Every format importer (FOCUS, AWS CUR, Azure) is a :class:`TabularImporter`: it reads the file
with every column as VARCHAR (``read_csv`` with explicit columns, or ``read_parquet`` cast to
text), converts values with exact SQL (``exact_decimal`` for amounts, never DOUBLE) and records,
for each row, the first field that could not be converted. The store
(:mod:`ledger.costfacts`) then reports the first bad row, or commits all of them.

Errors name the file, the row (the header is row 1) and the source column.

SQL text is assembled here from quoted identifiers (:func:`sql_name`) and escaped literals
(:func:`sql_text`) only; the ``noqa: S608`` marks say so to the linter.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ledger.costfacts import PROBLEM_COLUMNS, STAGED_COLUMNS, SourceFile
from ledger.errors import InputError

_HEAD_BYTES = 1 << 20
_UTF16_32_BOMS = (
    codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE
)
PARQUET_MAGIC = b"PAR1"


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def sql_name(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def read_csv_header(path: Path, name: str) -> tuple[str, ...]:
    """The column names of the CSV file at ``path``, checked.

    Raises :class:`InputError` (row 1) for an empty file, a UTF-16/32 or non-UTF-8 header,
    empty or duplicate column names.
    """
    with open(path, "rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if not head.strip():
        raise InputError("the file is empty", source=name, row=1)
    if head.startswith(_UTF16_32_BOMS):
        raise InputError(
            "the file is UTF-16 or UTF-32 encoded; save it as UTF-8 (CSV UTF-8)",
            source=name,
            row=1,
        )
    head = head.removeprefix(codecs.BOM_UTF8)
    end = head.find(b"\n")
    line = head if end < 0 else head[:end]
    try:
        text = line.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the header is not UTF-8 (byte {line[exc.start]:#04x} at offset {exc.start}); "
            "save the file as UTF-8",
            source=name,
            row=1,
        ) from None
    names = tuple(next(csv.reader(io.StringIO(text))))
    seen: set[str] = set()
    for index, column in enumerate(names, start=1):
        if not column.strip():
            raise InputError(f"column {index} of the header has no name", source=name, row=1)
        if column.casefold() in seen:
            raise InputError("the header names this column twice", source=name, row=1,
                             field=column)
        seen.add(column.casefold())
    return names


def refuse_nul_bytes(source: SourceFile, header: Sequence[str]) -> None:
    """Raise :class:`InputError` naming the row and field of the first NUL byte, if any."""
    offset = source.first_nul_offset
    if offset is None:
        return
    with open(source.path, "rb") as handle:
        before = handle.read(offset)
    row = before.count(b"\n") + 1
    line_start = before.rfind(b"\n") + 1
    prefix = before[line_start:].decode("utf-8", errors="replace")
    fields = next(csv.reader(io.StringIO(prefix)), [""])
    column = len(fields) - 1 if fields else 0
    raise InputError(
        f"the file contains a NUL byte (offset {offset}); it is binary or damaged",
        source=source.name,
        row=row,
        field=header[column] if 0 <= column < len(header) else None,
    )


@dataclass(frozen=True, slots=True)
class Check:
    """A per-row validity check: when ``bad`` (SQL) holds, ``field`` is reported with ``message``.

    ``value`` is the SQL of the offending value as read.
    """

    field: str
    bad: str
    value: str
    message: str


class Columns:
    """Builds the SQL that maps a file's text columns to cost facts.

    Column names are looked up without regard to case (Azure EA says ``CostInBillingCurrency``,
    MCA ``costInBillingCurrency``). Conversions are computed once, in a ``parsed`` step, so that
    both the value and its check use the same result.
    """

    def __init__(self, header: Sequence[str], *, source: str) -> None:
        self.header = tuple(header)
        self.source = source
        self._by_key = {name.casefold(): name for name in self.header}
        self.parsed: dict[str, str] = {}
        self.checks: list[Check] = []

    def find(self, *names: str) -> str | None:
        """The header's spelling of the first of ``names`` present, or None."""
        for name in names:
            found = self._by_key.get(name.casefold())
            if found is not None:
                return found
        return None

    def require(self, *names: str) -> str:
        """Like :meth:`find`, but a missing column is an :class:`InputError`."""
        found = self.find(*names)
        if found is None:
            raise InputError(
                "missing required column"
                + (f" (or {', '.join(names[1:])})" if len(names) > 1 else ""),
                source=self.source,
                row=1,
                field=names[0],
            )
        return found

    def text(self, *names: str, required: bool = False) -> str:
        """SQL for a text column as written ('' as NULL), or NULL when an optional one is absent."""
        column = self.require(*names) if required else self.find(*names)
        if column is None:
            return "CAST(NULL AS VARCHAR)"
        return f"NULLIF({sql_name(column)}, '')"

    def _parse(self, column: str, kind: str, expression: str) -> str:
        alias = f"__{kind}_{self.header.index(column)}"
        self.parsed[alias] = expression
        return sql_name(alias)

    def number(self, *names: str, required: bool = False, not_null: bool = False) -> str:
        """SQL for an exact amount (AMOUNT_TYPE) parsed from a text column.

        A value that is not a number is reported; with ``not_null`` so is an empty one. An
        absent optional column gives NULL.
        """
        column = self.require(*names) if required else self.find(*names)
        if column is None:
            return "CAST(NULL AS DECIMAL(38,18))"
        text = f"NULLIF({sql_name(column)}, '')"
        parsed = self._parse(column, "num", f"exact_decimal({text})")
        self.checks.append(
            Check(column, f"{text} IS NOT NULL AND {parsed} IS NULL", sql_name(column),
                  "is not a number")
        )
        if not_null:
            self.checks.append(Check(column, f"{text} IS NULL", sql_name(column), "is empty"))
        return parsed

    def timestamp(self, *names: str, required: bool = False, not_null: bool = False) -> str:
        """SQL for a UTC TIMESTAMP parsed from ISO 8601 text (with or without an offset) or
        from US dates ``M/D/YYYY`` as Azure writes them."""
        column = self.require(*names) if required else self.find(*names)
        if column is None:
            return "CAST(NULL AS TIMESTAMP)"
        text = f"NULLIF({sql_name(column)}, '')"
        parsed = self._parse(
            column,
            "ts",
            # TIMESTAMP is ten times faster than TIMESTAMPTZ but ignores an offset: use it
            # only for text without one (UTC by FOCUS rules, or a trailing Z).
            f"CASE WHEN strpos({text}, '+') = 0 AND strpos(substr({text}, 12), '-') = 0 "
            f"AND strpos(substr({text}, 12), ' ') = 0 AND strpos({text}, '/') = 0 "
            f"THEN TRY_CAST({text} AS TIMESTAMP) "
            f"WHEN strpos({text}, '/') = 0 "
            f"THEN CAST(TRY_CAST({text} AS TIMESTAMPTZ) AS TIMESTAMP) "
            f"ELSE coalesce(try_strptime({text}, '%m/%d/%Y'), "
            f"try_strptime({text}, '%m/%d/%Y %H:%M:%S')) END",
        )
        self.checks.append(
            Check(column, f"{text} IS NOT NULL AND {parsed} IS NULL", sql_name(column),
                  "is not a date or timestamp")
        )
        if not_null:
            self.checks.append(Check(column, f"{text} IS NULL", sql_name(column), "is empty"))
        return parsed

    def json_tags(self, column: str | None, *, braces_optional: bool = False) -> str:
        """SQL for a MAP(VARCHAR, VARCHAR) of tags from a JSON object column.

        Values that are not strings keep their JSON text (``5``, ``true``); null values are
        dropped. With ``braces_optional`` a fragment such as ``"a": "x","b": "y"`` (Azure EA)
        is read as an object. Invalid JSON and duplicate keys are reported.
        """
        if column is None:
            return "MAP {}::MAP(VARCHAR, VARCHAR)"
        text = f"NULLIF(NULLIF({sql_name(column)}, ''), '{{}}')"
        if braces_optional:
            text = (
                f"CASE WHEN starts_with({text}, '{{') THEN {text} "
                f"ELSE '{{' || {text} || '}}' END"
            )
        # CASE, not AND: DuckDB evaluates both sides of AND, and the JSON functions raise on
        # malformed text instead of returning NULL. Non-string values come out as JSON text.
        parsed = self._parse(
            column,
            "tags",
            f"from_json(CASE WHEN json_valid({text}) THEN CASE WHEN json_type({text}) = 'OBJECT' "
            f"THEN {text} END END, '\"MAP(VARCHAR, VARCHAR)\"')",
        )
        duplicates = f"len(list_distinct(map_keys({parsed}))) <> cardinality({parsed})"
        self.checks.append(
            Check(column, f"{text} IS NOT NULL AND ({parsed} IS NULL OR {duplicates})",
                  sql_name(column), "is not a JSON object of tags with distinct keys")
        )
        return (
            f"CASE WHEN {parsed} IS NULL OR {duplicates} THEN MAP {{}}::MAP(VARCHAR, VARCHAR) "
            f"WHEN list_count(map_values({parsed})) = cardinality({parsed}) THEN {parsed} "
            f"ELSE map_from_entries(list_filter(map_entries({parsed}), e -> e.value IS NOT NULL)) "
            f"END"
        )

    def one_of(self, column: str, mapping: dict[str, str], *, what: str) -> str:
        """SQL mapping the values of ``column`` through ``mapping``; other values are reported."""
        text = f"NULLIF({sql_name(column)}, '')"
        cases = " ".join(f"WHEN {sql_text(k)} THEN {sql_text(v)}" for k, v in mapping.items())
        mapped = self._parse(column, "map", f"CASE {text} {cases} END")
        self.checks.append(
            Check(column, f"{mapped} IS NULL", sql_name(column),
                  f"is not a known {what} ({', '.join(mapping)})")
        )
        return mapped


def lookup_sql(expression: str, table: dict[str, str], default: str | None = None) -> str:
    """SQL looking ``expression`` up in a constant ``table`` (a MAP literal)."""
    if not table:
        return sql_text(default) if default is not None else "CAST(NULL AS VARCHAR)"
    entries = ", ".join(f"{sql_text(k)}: {sql_text(v)}" for k, v in sorted(table.items()))
    found = f"map_extract_value(MAP {{{entries}}}, {expression})"
    return f"coalesce({found}, {sql_text(default)})" if default is not None else found


class TabularImporter:
    """Base of the format importers: reads text columns, maps them, stages the result.

    Subclasses set ``format_name`` and implement :meth:`mapping`.

    Args:
        header: the column names (from :func:`read_csv_header` or the Parquet schema).
        kind: ``"csv"`` or ``"parquet"``.
        parquet_types: for Parquet, DuckDB type of each column (to render them as text).
    """

    format_name = "tabular"
    #: Strings read as NULL in CSV files besides the empty string.
    null_strings: tuple[str, ...] = ()

    def __init__(
        self,
        header: Sequence[str],
        *,
        kind: str = "csv",
        parquet_types: dict[str, str] | None = None,
    ) -> None:
        self.header = tuple(header)
        self.kind = kind
        self.parquet_types = parquet_types or {}
        self.first_row = 2 if kind == "csv" else 1

    def mapping(self, cols: Columns) -> dict[str, str]:
        """SQL expression for each of :data:`ledger.costfacts.STAGED_COLUMNS`."""
        raise NotImplementedError

    def _raw_sql(self, source: SourceFile) -> str:
        path = sql_text(str(source.path))
        if self.kind == "parquet":
            columns = []
            for name in self.header:
                kind = self.parquet_types.get(name, "VARCHAR")
                if kind.startswith(("MAP", "STRUCT")) or kind.endswith("[]"):
                    columns.append(
                        f"CAST(to_json({sql_name(name)}) AS VARCHAR) AS {sql_name(name)}"
                    )
                else:
                    columns.append(f"CAST({sql_name(name)} AS VARCHAR) AS {sql_name(name)}")
            return f"SELECT {', '.join(columns)} FROM read_parquet({path})"  # noqa: S608
        spec = ", ".join(f"{sql_text(name)}: 'VARCHAR'" for name in self.header)
        nulls = ", ".join(sql_text(s) for s in ("", *self.null_strings))
        return (
            f"SELECT * FROM read_csv({path}, columns = {{{spec}}}, header = true, "  # noqa: S608
            f"auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
            f"strict_mode = true, null_padding = false, nullstr = [{nulls}], "
            f"store_rejects = true, rejects_table = 'csv_rejects', "
            f"rejects_scan = 'csv_reject_scans', rejects_limit = 100)"
        )

    def stage(self, con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
        """Create ``staged_facts`` from the file (see :class:`ledger.costfacts.FactImporter`)."""
        if self.kind == "csv":
            refuse_nul_bytes(source, self.header)
        cols = Columns(self.header, source=source.name)
        mapping = self.mapping(cols)
        missing = set(STAGED_COLUMNS) - set(mapping)
        if missing:
            raise TypeError(f"{type(self).__name__}.mapping() lacks {sorted(missing)}")
        parsed = ", ".join(f"{expr} AS {sql_name(alias)}" for alias, expr in cols.parsed.items())
        # Each check is evaluated once, into the number of the first one that fails; the
        # field, value and message are then picked by that number.
        failed = " ".join(f"WHEN {c.bad} THEN {number}" for number, c in enumerate(cols.checks))
        select = [
            f"CAST({mapping[name]} AS {kind}) AS {sql_name(name)}"
            for name, kind in STAGED_COLUMNS.items()
        ]
        select.extend(_problem_sql(cols.checks))
        con.execute(
            f"CREATE TABLE staged_facts AS WITH raw AS ({self._raw_sql(source)}), "  # noqa: S608
            f"parsed AS (SELECT raw.*{', ' + parsed if parsed else ''} FROM raw), "
            f"checked AS (SELECT parsed.*, "
            f"{f'CASE {failed} END' if failed else 'CAST(NULL AS INTEGER)'} AS __failed "
            f"FROM parsed) "
            f"SELECT {', '.join(select)} FROM checked"
        )
        if self.kind == "csv":
            raise_first_reject(con, source)


def _problem_sql(checks: Sequence[Check]) -> list[str]:
    """The ``_problem*`` columns, picked by ``__failed``, the number of the failed check."""
    if not checks:
        return [f"CAST(NULL AS VARCHAR) AS {name}" for name in PROBLEM_COLUMNS]
    field = " ".join(f"WHEN {n} THEN {sql_text(c.field)}" for n, c in enumerate(checks))
    value = " ".join(f"WHEN {n} THEN CAST({c.value} AS VARCHAR)" for n, c in enumerate(checks))
    message = " ".join(f"WHEN {n} THEN {sql_text(c.message)}" for n, c in enumerate(checks))
    return [
        f"CASE __failed {field} END AS _problem_field",
        f"CASE __failed {value} END AS _problem_value",
        f"CASE __failed {message} END AS _problem",
    ]


_REJECT_MESSAGES = {
    "MISSING COLUMNS": "the row has fewer fields than the header (ragged or truncated row)",
    "TOO MANY COLUMNS": "the row has more fields than the header (ragged row or stray comma)",
    "UNQUOTED VALUE": "a quoted value is not closed (truncated file or stray quote)",
    "INVALID ENCODING": "the text is not UTF-8; save the file as UTF-8",
    "INVALID UNICODE": "the text is not UTF-8; save the file as UTF-8",
    "LINE SIZE OVER MAXIMUM": "the line is longer than the reader allows (damaged file?)",
}


def raise_first_reject(con: duckdb.DuckDBPyConnection, source: SourceFile) -> None:
    """Raise :class:`InputError` for the first row DuckDB's CSV reader rejected, if any."""
    found = con.execute(
        "SELECT line, column_name, error_type, error_message, csv_line FROM csv_rejects "
        "ORDER BY line LIMIT 1"
    ).fetchone()
    if found is None:
        return
    line, column, error_type, detail, csv_line = found
    message = _REJECT_MESSAGES.get(str(error_type), str(detail))
    raise InputError(
        f"{message} [{detail}]",
        source=source.name,
        row=int(line),
        field=column,
        value=csv_line,
    )

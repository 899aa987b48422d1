"""Reading discovery files safely: XML, JSON and CSV that may be hostile or broken.

Every function here refuses what the standard libraries let through, with an
:class:`~ledger.errors.InputError` naming the file, the row (a line number, or an element path
such as ``results[3].hardware``) and the field:

- XML: DTDs and entity declarations are refused before any parser sees the bytes (no XXE, no
  "billion laughs"); lxml then parses without entity resolution, network access or huge trees.
- JSON: duplicate keys, ``NaN``/``Infinity``, nesting deeper than the parser allows, UTF-16/32
  and non-UTF-8 text are refused.
- CSV: before :func:`connectors.tabular.read_rows` (which reads the rows), every line is checked
  for NUL bytes and undecodable bytes, counting lines ended by CR alone as a spreadsheet does
  (old Mac exports, as the Snipe-IT samples are), and the header for blank and repeated names;
  all of these are reported together.
- Every file is capped in size (:data:`MAX_FILE_BYTES`).
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from connectors.tabular import Row, read_rows
from ledger.discovery import clean
from ledger.errors import InputError, InputErrors

#: Largest discovery file read (bytes). A GLPI inventory is under 2 MB; a Jamf page of 2,000
#: computers with applications about 50 MB; SCCM exports are bounded by the CSV reader's cap.
MAX_FILE_BYTES = 256 * 1024 * 1024

#: At most this many errors are collected from one file before giving up.
MAX_ERRORS = 50

_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_LINE_ENDS = re.compile(rb"\r\n|\r|\n")


def read_capped(path: Path, source: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path``, refusing a missing, unreadable, empty or oversized file."""
    try:
        size = path.stat().st_size
        if size > limit:
            raise InputError(f"the file is {size} bytes; the limit is {limit}", source=source)
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", source=source) from None
    if not raw.strip():
        raise InputError("the file is empty", source=source)
    return raw


def refuse_wide_encoding(head: bytes, source: str) -> None:
    """Refuse a file that starts with a UTF-16 or UTF-32 byte-order mark."""
    if head.startswith(_WIDE_BOMS):
        raise InputError("the file is UTF-16 or UTF-32; save it as UTF-8", source=source, row=1)


def _line_of(raw: bytes, offset: int) -> int:
    return len(_LINE_ENDS.findall(raw, 0, offset)) + 1


def refuse_nul(raw: bytes, source: str) -> None:
    if b"\x00" in raw:
        raise InputError("the file contains a NUL byte; is it binary, damaged or UTF-16?",
                         source=source, row=_line_of(raw, raw.index(b"\x00")))


def decode_utf8(raw: bytes, source: str) -> str:
    """UTF-8 text (a UTF-8 BOM is dropped); UTF-16/32 and other encodings are refused."""
    refuse_wide_encoding(raw, source)
    refuse_nul(raw, source)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the file is not UTF-8 (byte {raw[exc.start]:#04x} at offset {exc.start}); "
            "save it as UTF-8", source=source, row=_line_of(raw, exc.start)) from None


# --- XML ------------------------------------------------------------------------------------

def safe_xml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           load_dtd=False, dtd_validation=False, remove_comments=True,
                           remove_pis=True)


def parse_xml(path: Path, source: str) -> Any:
    """The root element of the XML file at ``path``, parsed safely."""
    raw = read_capped(path, source)
    refuse_wide_encoding(raw, source)
    refuse_nul(raw, source)
    found = _DTD.search(raw)
    if found is not None:
        raise InputError(f"the file declares a {found.group(1).decode().upper()}; DTDs and "
                         "entities are refused (they can read local files or exhaust memory)",
                         source=source, row=_line_of(raw, found.start()))
    try:
        root = etree.fromstring(raw, parser=safe_xml_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise InputError(f"not well-formed XML: {exc.msg}", source=source, row=line) from None
    if root is None:
        raise InputError("the file holds no XML element", source=source)
    return root


def element_text(element: Any, path: str) -> str | None:
    """Stripped text of the child at ``path`` (``BIOS/SSN``), or None."""
    found = element.find(path)
    return clean(found.text) if found is not None else None


def element_where(element: Any) -> str:
    """Where an element is, for an error: its path in the tree and its line."""
    tree = element.getroottree()
    return f"{tree.getpath(element)} (line {element.sourceline})"


# --- JSON -----------------------------------------------------------------------------------

def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def load_json_text(text: str, source: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys,
                          parse_constant=_refuse_constant)
    except _DuplicateKeyError as exc:
        raise InputError("an object names this key twice", source=source,
                         field=exc.key) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})", source=source,
                         row=exc.lineno) from None
    except RecursionError:
        raise InputError("the JSON is nested too deeply", source=source) from None
    except ValueError as exc:
        raise InputError(f"not valid JSON: {exc}", source=source) from None


def load_json(path: Path, source: str) -> Any:
    """The JSON document in the file at ``path``, read strictly (see the module docstring)."""
    return load_json_text(decode_utf8(read_capped(path, source), source), source)


class JsonReader:
    """Typed access to a parsed JSON object, with errors naming the element path and field."""

    def __init__(self, value: Any, *, source: str, where: str) -> None:
        self.source = source
        self.where = where
        if not isinstance(value, dict):
            raise self.error(f"expected an object, found {_json_type(value)}")
        self.value: dict[str, Any] = value

    def error(self, message: str, field: str | None = None, value: object = None) -> InputError:
        return InputError(message, source=self.source, row=self.where, field=field, value=value)

    def text(self, name: str, *, required: bool = False) -> str | None:
        """A string (numbers are read as their text), stripped; None when absent or null."""
        value = self.value.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.error("is required", field=name)
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.error(f"expected text, found {_json_type(value)}", field=name,
                             value=value)
        return clean(value)

    def time(self, name: str) -> datetime | None:
        text = self.text(name)
        if text is None:
            return None
        return parse_time(text, source=self.source, row=self.where, field=name)

    def flag(self, name: str) -> bool | None:
        value = self.value.get(name)
        if value is None or isinstance(value, bool):
            return value
        raise self.error(f"expected true or false, found {_json_type(value)}", field=name,
                         value=value)

    def child(self, name: str) -> JsonReader | None:
        value = self.value.get(name)
        if value is None:
            return None
        return JsonReader(value, source=self.source, where=f"{self.where}.{name}")

    def children(self, name: str) -> list[JsonReader]:
        value = self.value.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(f"expected a list, found {_json_type(value)}", field=name)
        return [JsonReader(item, source=self.source, where=f"{self.where}.{name}[{i}]")
                for i, item in enumerate(value)]


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


# --- time -----------------------------------------------------------------------------------

_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%m/%d/%Y %I:%M:%S %p",
                 "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
                 "%m/%d/%y")


def parse_time(text: str, *, source: str, row: int | str | None, field: str) -> datetime | None:
    """A UTC datetime from ISO 8601 (with or without offset or ``Z``) or the US and SQL forms
    SCCM, GLPI and Snipe-IT write. Times without an offset are taken as UTC. Year 1 (Graph's
    "never") is None."""
    value = text.strip()
    parsed: datetime | None = None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        for pattern in _TIME_FORMATS:
            try:
                parsed = datetime.strptime(value, pattern)  # offset added below
                break
            except ValueError:
                continue
    if parsed is None:
        raise InputError("not a date and time (use ISO 8601, e.g. 2026-11-27T09:30:00Z)",
                         source=source, row=row, field=field, value=text)
    if parsed.year <= 1:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# --- CSV ------------------------------------------------------------------------------------

def check_csv_file(path: Path, source: str) -> None:
    """Refuse a CSV file with NUL bytes, undecodable bytes or a bad header, naming every row.

    Lines are counted as a spreadsheet counts them, whether they end in CRLF, LF or CR alone.
    """
    raw = read_capped(path, source)
    if raw.startswith(_WIDE_BOMS):
        raise InputError("the file is UTF-16 or UTF-32; save it as CSV UTF-8", source=source,
                         row=1)
    raw = raw.removeprefix(codecs.BOM_UTF8)
    errors: list[InputError] = []
    try:
        clean_text = b"\x00" not in raw and bool(raw.decode("utf-8"))
    except UnicodeDecodeError:
        clean_text = False
    first_end = _LINE_ENDS.search(raw)
    lines = [raw[: first_end.start()] if first_end else raw]
    if not clean_text:  # only then split the whole file, to name every bad line
        lines = _LINE_ENDS.split(raw)
    header_text = lines[0].decode("utf-8", errors="replace")
    header = next(csv.reader([header_text]), [])
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        key = name.strip().casefold()
        if not key:
            errors.append(InputError(f"column {position} of the header has no name",
                                     source=source, row=1))
        elif key in seen:
            errors.append(InputError(f"the header names this column twice (columns "
                                     f"{seen[key]} and {position})", source=source, row=1,
                                     field=name.strip()))
        else:
            seen[key] = position
    for number, line in enumerate(lines, start=1):
        if len(errors) >= MAX_ERRORS:
            break
        problem = None
        offset = line.find(b"\x00")
        if offset >= 0:
            problem = "the line contains a NUL byte (binary or damaged file)"
        else:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                offset = exc.start
                problem = (f"byte {line[offset]:#04x} is not UTF-8 text; save the file as "
                           "CSV UTF-8")
        if problem is None:
            continue
        prefix = line[:offset].decode("utf-8", errors="replace")
        cells = next(csv.reader([prefix]), [""])
        column = len(cells) - 1 if cells else 0
        field = header[column].strip() if 0 <= column < len(header) and number > 1 else None
        errors.append(InputError(problem, source=source, row=number, field=field))
    if errors:
        raise InputErrors(errors, source=source)


#: CSV files larger than this are streamed (:func:`stream_csv`) instead of checked whole.
STREAM_ABOVE_BYTES = 32 * 1024 * 1024
#: The largest CSV file streamed (a million-row SCCM export is about 250 MB).
MAX_STREAMED_BYTES = 4 * 1024 * 1024 * 1024


def read_csv(path: Path, *, source: str, required: Sequence[str],
             optional: Sequence[str] = ()) -> Iterator[Row]:
    """Rows of a CSV file, checked by :func:`check_csv_file` and then read strictly; a large
    file is streamed by :func:`stream_csv` (its first bad line stops it)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", source=source) from None
    if size > STREAM_ABOVE_BYTES:
        return stream_csv(path, source=source, required=required, optional=optional)
    check_csv_file(path, source)
    return read_rows(path, required=required, optional=optional, source=source)


def _column_key(header: str) -> str:
    return header.strip().lower().replace(" ", "_").replace("-", "_")


def _checked_header(header: list[str], source: str, required: Sequence[str],
                    optional: Sequence[str]) -> list[str]:
    columns = [_column_key(h) for h in header]
    allowed = {_column_key(c) for c in (*required, *optional)}
    seen: set[str] = set()
    for position, column in enumerate(columns):
        if not column:
            raise InputError(f"column {position + 1} of the header has no name", source=source,
                             row=1)
        if column in seen:
            raise InputError("the header names this column twice", source=source, row=1,
                             field=header[position].strip())
        if column not in allowed:
            raise InputError(f"unknown column {header[position].strip()!r}", source=source,
                             row=1, field=header[position].strip())
        seen.add(column)
    missing = [c for c in (_column_key(r) for r in required) if c not in seen]
    if missing:
        raise InputError(f"required column(s) missing: {', '.join(missing)}", source=source,
                         row=1, field=missing[0])
    return columns


def stream_csv(path: Path, *, source: str, required: Sequence[str],
               optional: Sequence[str] = ()) -> Iterator[Row]:
    """Rows of a CSV file read one at a time, never the whole file in memory.

    The same refusals as the whole-file check (UTF-16/32, bytes that are not UTF-8, NUL
    bytes, a bad header, ragged rows), each raised at the line where it is found.
    """
    try:
        size = path.stat().st_size
        handle = open(path, encoding="utf-8-sig", newline="", errors="strict")
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", source=source) from None
    if size > MAX_STREAMED_BYTES:
        handle.close()
        raise InputError(f"the file is {size} bytes; the limit is {MAX_STREAMED_BYTES}",
                         source=source)
    with handle:
        with open(path, "rb") as raw:
            refuse_wide_encoding(raw.read(4), source)
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise InputError("the file is empty; it needs a header row", source=source)
            columns = _checked_header(header, source, required, optional)
            for cells in reader:
                number = reader.line_num
                if not cells or all(not c.strip() for c in cells):
                    continue
                if len(cells) != len(columns):
                    raise InputError(f"the row has {len(cells)} cells but the header has "
                                     f"{len(columns)}", source=source, row=number)
                if any("\x00" in cell for cell in cells):
                    raise InputError("the line contains a NUL byte (binary or damaged file)",
                                     source=source, row=number)
                yield Row(number, {col: cell.strip() for col, cell in
                                   zip(columns, cells, strict=True)})
        except UnicodeDecodeError as exc:
            raise InputError(f"byte {exc.object[exc.start]:#04x} is not UTF-8 text; save the "
                             "file as CSV UTF-8", source=source,
                             row=reader.line_num + 1) from None
        except csv.Error as exc:
            raise InputError(f"not valid CSV: {exc}", source=source,
                             row=reader.line_num) from None


def stage_rows(rows: Iterator[Row], make: Callable[[Row], Any], *, source: str,
               ) -> list[tuple[int, Any]]:
    """``make`` applied to every row, collecting every row's error; all or nothing."""
    made: list[tuple[int, Any]] = []
    errors: list[InputError] = []
    for row in rows:
        try:
            made.append((row.number, make(row)))
        except InputError as exc:
            errors.append(InputError(exc.message, source=source, row=row.number,
                                     field=exc.field, value=exc.value))
            if len(errors) >= MAX_ERRORS:
                break
    if errors:
        raise InputErrors(errors, source=source)
    if not made:
        raise InputError("the file has a header but no rows", source=source)
    return made

"""Flow logs (AWS VPC v2 text or Parquet, Azure NSG JSON) aggregated in DuckDB.

Flow logs run to hundreds of millions of records a month, so they are never loaded: DuckDB
streams the file (``read_csv`` / ``read_parquet`` / ``read_json``, gzip included) through one
GROUP BY and only the aggregates come back: bytes per period (month of the record's start),
originating resource and destination. The records themselves are not kept.

Endpoints come from a mapping (CSV ``key,resource_id,zone,region,owner``; ``key`` is an IP
address, an ENI or NIC id, or an instance id; ``resource_id`` is normally the billing resource
id). A record counts when its source address is a mapped resource, and, when the capturing
interface is mapped too, only when it is the sender's own interface: a flow between two of our
interfaces is logged at both ends and must count once. The destination is a mapped resource
(its zone and region), ``internet`` (a public address nobody mapped) or ``unknown`` (a private
address nobody mapped: no charge can be told).

Formats:

- ``aws-v2``: the default space-separated text format version 2 (``version account-id
  interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action
  log-status``), plain or gzip, with its header line; ``-`` is "no data" (NODATA, SKIPDATA).
- ``aws-parquet``: the same fields in Parquet (underscores: ``interface_id``, ``log_status``).
- ``azure-nsg``: NSG flow logs version 2 (``records[].properties.flows[].flows[].flowTuples``:
  ``time,src,dst,sport,dport,proto,direction,decision,state,pkts_out,bytes_out,pkts_in,
  bytes_in``). Bytes sent by the source count from outbound tuples, bytes sent back by the
  destination from inbound tuples, so each direction is counted once, at the NSG of the sender.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ledger.errors import InputError
from ledger.transfer import FlowAggregate

FORMATS: tuple[str, ...] = ("aws-v2", "aws-parquet", "azure-nsg")
#: Fields an AWS text log must name in its header.
AWS_REQUIRED = ("interface-id", "srcaddr", "dstaddr", "bytes", "start")
_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_PRIVATE = (
    r"^(10\.|192\.168\.|172\.(1[6-9]|2[0-9]|3[01])\.|169\.254\.|127\.|100\.(6[4-9]|[7-9][0-9]|"
    r"1[01][0-9]|12[0-7])\.|f[cd][0-9a-f]{2}:|fe80:|::1$)"
)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One mapped address: which resource it is, where it is, who owns it."""

    key: str
    resource_id: str
    zone: str | None = None
    region: str | None = None
    owner: str | None = None


@dataclass(frozen=True, slots=True)
class FlowLogSummary:
    """What reading a flow-log file gave.

    Attributes:
        records: records read (for Azure: flow tuples).
        counted: records whose bytes count (a mapped sender, logged at the sender).
        aggregates: bytes per period, resource and destination.
    """

    file: str
    sha256: str
    format: str
    records: int
    counted: int
    aggregates: tuple[FlowAggregate, ...]

    @property
    def bytes(self) -> int:
        return sum(a.bytes for a in self.aggregates)


def read_mapping(path: Path | str) -> list[Endpoint]:
    """The endpoints of a mapping CSV; errors name file, row and field."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read the mapping: {exc.strerror}", source=path.name) from None
    endpoints: dict[str, Endpoint] = {}
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("key", "resource_id") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"the header lacks {', '.join(missing)}", source=path.name, row=1)
        for number, row in enumerate(reader, start=2):
            values = {k: (v or "").strip() or None for k, v in row.items() if k}
            for field in ("key", "resource_id"):
                if values.get(field) is None:
                    raise InputError("is empty", source=path.name, row=number, field=field)
            key = str(values["key"])
            if key in endpoints:
                raise InputError("is mapped twice", source=path.name, row=number, field="key",
                                 value=key)
            endpoints[key] = Endpoint(key, str(values["resource_id"]), values.get("zone"),
                                      values.get("region"), values.get("owner"))
    return list(endpoints.values())


def detect_format(path: Path | str) -> str:
    """``aws-parquet`` by magic, ``azure-nsg`` for JSON, else ``aws-v2`` (text or gzip)."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head == _PARQUET_MAGIC:
        return "aws-parquet"
    if head[:2] == _GZIP_MAGIC:
        with gzip.open(path, "rb") as handle:
            head = handle.read(64).lstrip()
    else:
        with open(path, "rb") as handle:
            head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "azure-nsg" if head[:1] in (b"{", b"[") else "aws-v2"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def aggregate_flow_logs(
    path: Path | str,
    endpoints: list[Endpoint],
    *,
    format: str | None = None,
    memory_limit: str = "1GB",
    threads: int | None = None,
) -> FlowLogSummary:
    """Stream the flow log at ``path`` through DuckDB and return only the aggregates.

    Raises :class:`InputError` naming the file (and row and field where one is at fault).
    """
    path = Path(path)
    kind = format or detect_format(path)
    if kind not in FORMATS:
        raise InputError(f"unknown flow-log format {kind!r}: choose from {', '.join(FORMATS)}",
                         field="format", value=kind)
    with _connection(memory_limit, threads) as con:
        _load_endpoints(con, endpoints)
        try:
            flows, first_row = _flows_sql(con, path, kind)
            records, counted, bad = _aggregate(con, flows.replace("{rid}", "NULL"))
            if bad:
                numbered = flows.replace("{rid}", "row_number() OVER () - 1")
                _raise_first_bad(con, numbered, path.name, first_row)
            rows = con.execute("SELECT * FROM aggregates ORDER BY ALL").fetchall()
        except duckdb.Error as exc:
            raise _read_error(exc, path.name) from None
    return FlowLogSummary(
        file=path.name, sha256=sha256_of(path), format=kind, records=records, counted=counted,
        aggregates=tuple(FlowAggregate(*row) for row in rows),
    )


@contextlib.contextmanager
def _connection(memory_limit: str, threads: int | None) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        # spill (many distinct conversations) to the system's temp area, not the working dir
        spill = Path(tempfile.gettempdir()) / "apportion-flow-logs"
        con.execute(f"SET temp_directory = {_text(str(spill))}")
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET enable_progress_bar = false")
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        yield con
    finally:
        con.close()


def _load_endpoints(con: duckdb.DuckDBPyConnection, endpoints: list[Endpoint]) -> None:
    con.execute("CREATE TEMP TABLE endpoints (key VARCHAR PRIMARY KEY, resource_id VARCHAR, "
                "zone VARCHAR, region VARCHAR, owner VARCHAR)")
    if endpoints:
        con.executemany("INSERT INTO endpoints VALUES (?, ?, ?, ?, ?)",
                        [(e.key, e.resource_id, e.zone, e.region, e.owner) for e in endpoints])


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _flows_sql(con: duckdb.DuckDBPyConnection, path: Path, kind: str) -> tuple[str, int]:
    """A SELECT giving (rid, day, interface, src, dst, bytes, bad_field) per
    directed byte stream; and the source row of ``rid`` 0."""
    file = _text(str(path))
    if kind == "aws-parquet":
        source = f"read_parquet({file})"
        names = {row[0] for row in con.execute(
            f"DESCRIBE SELECT * FROM {source}"  # noqa: S608 - a quoted file name
        ).fetchall()}
        need = [c.replace("-", "_") for c in AWS_REQUIRED]
        _require(need, names, path)
        return _aws_select(source, "interface_id"), 1
    if kind == "aws-v2":
        compression = "gzip" if _is_gzip(path) else "none"
        source = (f"read_csv({file}, delim=' ', header=true, all_varchar=true, "
                  f"compression='{compression}', auto_detect=false, columns={_aws_columns(path)})")
        return _aws_select(source, '"interface-id"'), 2
    return _azure_select(file, path.stat().st_size), 1


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def _aws_columns(path: Path) -> str:
    """The column list of an AWS text log, from its header line (custom field orders too)."""
    opener = gzip.open if _is_gzip(path) else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        header = handle.readline().split()
    _require(AWS_REQUIRED, set(header), path)
    return "{" + ", ".join(f"{_text(name)}: 'VARCHAR'" for name in header) + "}"


def _require(needed, present: set[str], path: Path) -> None:
    missing = [c for c in needed if c not in present]
    if missing:
        raise InputError(f"not an AWS VPC flow log: the header lacks {', '.join(missing)}",
                         source=path.name, row=1)


def _aws_select(source: str, interface: str) -> str:
    """One row per record; ``-`` fields (NODATA, SKIPDATA) give NULL bytes and are skipped.
    ``day`` (days since 1970) is grouped on, the month is derived from it after grouping:
    cheaper than formatting a timestamp per record."""
    return (
        f"SELECT rid, day, interface, src, dst, bytes, "  # noqa: S608 - quoted file, fixed names
        f"CASE WHEN bytes IS NULL AND bytes_text IS NOT NULL AND bytes_text <> '-' "
        f"THEN 'bytes' WHEN day IS NULL AND start_text IS NOT NULL AND start_text <> '-' "
        f"THEN 'start' END AS bad_field FROM ("
        f"SELECT {{rid}} AS rid, CAST({interface} AS VARCHAR) AS interface, "
        f"CAST(srcaddr AS VARCHAR) AS src, CAST(dstaddr AS VARCHAR) AS dst, "
        f'CAST("bytes" AS VARCHAR) AS bytes_text, CAST("start" AS VARCHAR) AS start_text, '
        f"TRY_CAST(NULLIF(bytes_text, '-') AS UBIGINT) AS bytes, "
        f"TRY_CAST(NULLIF(start_text, '-') AS BIGINT) // 86400 AS day FROM {source})"
    )


def _azure_select(file: str, size: int) -> str:
    """NSG v2 flow tuples: (origin=src, bytes_out) of outbound, (origin=dst, bytes_in) of
    inbound; the NIC's MAC plays the capturing interface. A blob is one JSON object, so the
    largest object is the file itself."""
    tuples = (
        "SELECT {rid} AS rid, f.mac AS mac, "  # noqa: S608
        "string_split(t, ',') AS v FROM ("
        "SELECT unnest(r.properties.flows, recursive := false) AS rule FROM ("
        f"SELECT unnest(records) AS r FROM read_json({file}, format='auto', "
        f"maximum_object_size={max(size + 1, 1 << 24)}))) AS rules, "
        "LATERAL (SELECT unnest(rule.flows) AS f) AS g, "
        "LATERAL (SELECT unnest(f.flowTuples) AS t)"
    )
    bad = (
        "CASE WHEN len(v) < 13 THEN 'flowTuples' "
        "WHEN TRY_CAST(v[1] AS BIGINT) IS NULL THEN 'time' "
        "WHEN v[11] <> '' AND TRY_CAST(v[11] AS UBIGINT) IS NULL THEN 'bytes_out' "
        "WHEN v[13] <> '' AND TRY_CAST(v[13] AS UBIGINT) IS NULL THEN 'bytes_in' END"
    )
    return (
        f"WITH tuples AS ({tuples}) "  # noqa: S608
        "SELECT rid, TRY_CAST(v[1] AS BIGINT) // 86400 AS day, "
        "mac AS interface, "
        "CASE WHEN v[7] = 'I' THEN v[3] ELSE v[2] END AS src, "
        "CASE WHEN v[7] = 'I' THEN v[2] ELSE v[3] END AS dst, "
        "TRY_CAST(NULLIF(CASE WHEN v[7] = 'I' THEN v[13] ELSE v[11] END, '') AS UBIGINT) "
        f"AS bytes, {bad} AS bad_field FROM tuples"
    )


def _aggregate(con: duckdb.DuckDBPyConnection, flows: str) -> tuple[int, int, int]:
    """Two GROUP BYs: the stream to (day, interface, source, destination) pairs, which are
    few (the same conversations repeat all month), then the pairs joined to the mapping and
    classified. Returns (records, counted records, bad records)."""
    con.execute(
        f"CREATE TEMP TABLE pairs AS SELECT day, interface, src, dst, "  # noqa: S608
        f"sum(bytes) FILTER (WHERE bad_field IS NULL) AS bytes, count(*) AS records, "
        f"count(*) FILTER (WHERE bytes IS NOT NULL AND bad_field IS NULL) AS good, "
        f"count(*) FILTER (WHERE bad_field IS NOT NULL) AS bad "
        f"FROM ({flows}) GROUP BY day, interface, src, dst"
    )
    records, bad = con.execute(
        "SELECT coalesce(sum(records), 0), coalesce(sum(bad), 0) FROM pairs"
    ).fetchone()
    period = "strftime(to_timestamp(p.day * 86400), '%Y-%m')"
    internet = f"d.key IS NULL AND NOT regexp_matches(p.dst, '{_PRIVATE}')"
    destination = (
        "CASE WHEN d.key IS NOT NULL AND d.zone IS NOT NULL THEN 'zone:' || d.zone "
        "WHEN d.key IS NOT NULL AND d.region IS NOT NULL THEN 'region:' || d.region "
        f"WHEN {internet} THEN 'internet' ELSE 'unknown' END"
    )
    kind = (
        f"CASE WHEN {internet} THEN 'egress' "
        "WHEN d.key IS NULL OR s.region IS NULL OR d.region IS NULL THEN NULL "
        "WHEN s.region <> d.region THEN 'inter-region' "
        "WHEN s.zone IS NOT NULL AND s.zone = d.zone THEN 'intra-zone' "
        "ELSE 'inter-zone' END"
    )
    con.execute(
        f"CREATE TEMP TABLE grouped AS SELECT {period} AS period, s.resource_id, "  # noqa: S608
        f"any_value(s.owner) AS owner, any_value(s.zone) AS zone, "
        f"any_value(s.region) AS region, {destination} AS destination, {kind} AS kind, "
        f"CAST(sum(p.bytes) AS BIGINT) AS bytes, CAST(sum(p.good) AS BIGINT) AS records "
        f"FROM pairs p JOIN endpoints s ON s.key = p.src "
        f"LEFT JOIN endpoints i ON i.key = p.interface LEFT JOIN endpoints d ON d.key = p.dst "
        f"WHERE p.day IS NOT NULL AND p.good > 0 "
        f"AND (i.key IS NULL OR i.resource_id = s.resource_id) "
        f"GROUP BY {period}, s.resource_id, {destination}, {kind}"
    )
    counted = con.execute("SELECT coalesce(sum(records), 0) FROM grouped").fetchone()[0]
    con.execute("CREATE TEMP VIEW aggregates AS SELECT period, resource_id, owner, zone, "
                "region, destination, kind, bytes, records FROM grouped")
    return int(records), int(counted), int(bad)


def _read_error(exc: duckdb.Error, name: str) -> InputError:
    """DuckDB's CSV error as file, row and what is wrong (its first line, not its advice)."""
    text = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    columns = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if line and columns:
        return InputError(f"has {columns.group(2)} fields, the header names {columns.group(1)}",
                          source=name, row=int(line.group(1)))
    return InputError(f"cannot read the flow log: {text.splitlines()[0]}", source=name,
                      row=int(line.group(1)) if line else None)


def _raise_first_bad(con: duckdb.DuckDBPyConnection, flows: str, name: str,
                     first_row: int) -> None:
    """Find the first bad record (a second, numbered pass: only when there is one)."""
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET threads = 1")
    rid, field = con.execute(
        f"SELECT rid, bad_field FROM ({flows}) WHERE bad_field IS NOT NULL "  # noqa: S608
        f"ORDER BY rid LIMIT 1"
    ).fetchone()
    raise InputError("is not a whole number", source=name, row=int(rid) + first_row,
                     field=field)

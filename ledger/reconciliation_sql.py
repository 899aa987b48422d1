"""Reconciliation at scale: the matching of :mod:`ledger.reconciliation`, done by DuckDB.

The pure :func:`ledger.reconciliation.reconcile` is the reference: it states the rules in Python
and is property-tested. This module applies the same rules as set operations on the normalised
keys, so that a million register assets against a million discovery records is a few hash joins
and window functions in DuckDB (in memory, spilling to disk past :data:`MEMORY_LIMIT`) rather
than a million Python dictionaries. A test compares both on generated data.

Input is two key tables, one row per register asset and one per discovery record, with the keys
already normalised (the database stores them so; :func:`register_row` and :func:`device_row`
make them from domain values). They are written to a temporary CSV file and read by DuckDB's
reader, which is far faster than inserting row by row.

Output is a :class:`SqlReconciliation`: :meth:`~SqlReconciliation.counts` aggregates in SQL
(decisions applied to the few findings they concern), :meth:`~SqlReconciliation.findings`
materialises :class:`~ledger.reconciliation.Finding` values for listing (optionally of one
outcome), and :meth:`~SqlReconciliation.reconciliation` gives the whole result as the pure
function would.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from ledger.discovery import (
    DeviceRef,
    DiscoveredDevice,
    fold,
    is_junk_identifier,
    owner_key,
)
from ledger.reconciliation import (
    EVIDENCE_CONFIDENCE,
    EVIDENCE_RANK,
    MIN_CONFIDENCE,
    Conflict,
    Decision,
    DecisionKind,
    Evidence,
    Finding,
    Outcome,
    Reconciliation,
    RegisterEntry,
    apply_decisions,
    device_identity,
    entry_identity,
)

#: DuckDB's memory budget; past it, joins and sorts spill to a temporary directory.
MEMORY_LIMIT = "600MB"

#: Columns of the register key table (keys normalised; raw values for conflict reports).
REGISTER_COLUMNS = {
    "pos": "INTEGER", "tag": "VARCHAR", "status": "VARCHAR", "serial_k": "VARCHAR",
    "uuid_k": "VARCHAR", "cloud_k": "VARCHAR", "tag_k": "VARCHAR", "host_k": "VARCHAR",
    "macs": "VARCHAR", "owner_k": "VARCHAR", "location_k": "VARCHAR", "model_k": "VARCHAR",
    "cc_k": "VARCHAR", "owner": "VARCHAR", "location": "VARCHAR", "model": "VARCHAR",
    "cost_centre": "VARCHAR",
}
#: Columns of the discovery key table; ``seen_us`` is microseconds since the epoch (UTC), and
#: ``gone_us`` when the source reported the record deleted (NULL while it exists).
DEVICE_COLUMNS = {
    "pos": "INTEGER", "source": "VARCHAR", "record_id": "VARCHAR", "seen_us": "BIGINT",
    "serial_k": "VARCHAR", "uuid_k": "VARCHAR", "cloud_k": "VARCHAR", "tag_k": "VARCHAR",
    "host_k": "VARCHAR", "macs": "VARCHAR", "owner_k": "VARCHAR", "location_k": "VARCHAR",
    "model_k": "VARCHAR", "cc_k": "VARCHAR", "owner": "VARCHAR", "location": "VARCHAR",
    "model": "VARCHAR", "cost_centre": "VARCHAR", "gone_us": "BIGINT",
}
#: Conflict bits, in the order the pure function reports conflicts.
CONFLICT_FIELDS = ("owner", "location", "model", "cost_centre", "status")


def micros(moment: datetime | None) -> int | None:
    """Microseconds since the epoch of a timezone-aware time (None stays None)."""
    if moment is None:
        return None
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)


def register_row(pos: int, entry: RegisterEntry) -> tuple[Any, ...]:
    """The key-table row of a register entry (what the database stores on ``assets``)."""
    serial, uuid, cloud, tag, macs, host = entry_identity(entry)
    return (pos, entry.tag, str(entry.status), serial, uuid, cloud, tag, host,
            ";".join(dict.fromkeys(macs)) or None, owner_key(entry.owner), fold(entry.location),
            fold(entry.model), fold(entry.cost_centre), entry.owner, entry.location,
            entry.model, entry.cost_centre)


def device_model_key(model: str | None) -> str | None:
    """A discovered model's comparison key; None for a placeholder ("System Product Name")."""
    return None if model is None or is_junk_identifier(model) else fold(model)


def device_row(pos: int, device: DiscoveredDevice) -> tuple[Any, ...]:
    """The key-table row of a discovery record (what the database stores)."""
    serial, uuid, cloud, tag, macs, host = device_identity(device)
    return (pos, device.source, device.record_id, micros(device.seen_at), serial, uuid, cloud,
            tag, host, ";".join(dict.fromkeys(macs)) or None, owner_key(device.owner),
            fold(device.location), device_model_key(device.model), fold(device.cost_centre),
            device.owner, device.location, device.model, device.cost_centre,
            micros(device.gone_at))


def write_rows(path: Path, rows: Iterable[Sequence[Any]]) -> int:
    """Key-table rows as a header-less CSV file DuckDB reads; the number of rows."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _confidence_table() -> list[tuple[int, bool, int, int]]:
    """Confidence for every set of agreeing evidence (a bit mask) with and without a
    contradicting identifier, computed exactly as the pure function does."""
    rows = []
    for mask in range(1, 1 << len(EVIDENCE_RANK)):
        miss = 1.0
        for rank, evidence in enumerate(EVIDENCE_RANK):
            if mask >> rank & 1:
                miss *= 1 - EVIDENCE_CONFIDENCE[evidence] / 100
        score = 1 - miss
        strongest = (mask & -mask).bit_length() - 1
        rows.append((mask, False, round(score * 100), strongest))
        rows.append((mask, True, round(score / 2 * 100), strongest))
    return rows


class KeyTables:
    """A DuckDB connection holding the register and discovery key tables.

    Use as a context manager; rows are added with :meth:`load_register` and
    :meth:`load_devices` (iterables of :func:`register_row` / :func:`device_row` tuples).
    """

    def __init__(self, *, temp_dir: Path | None = None, threads: int | None = None) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="apportion-reconcile-", dir=temp_dir)
        self.con = duckdb.connect()
        self.con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        self.con.execute(f"SET temp_directory = '{self._dir.name}/spill'")
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute("SET enable_progress_bar = false")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")

    def __enter__(self) -> KeyTables:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()
        self._dir.cleanup()

    def _load(self, name: str, columns: dict[str, str], rows: Iterable[Sequence[Any]]) -> int:
        path = Path(self._dir.name) / f"{name}.csv"
        count = write_rows(path, rows)
        self._read(name, columns, path if count else None)
        os.remove(path)
        return count

    def _read(self, name: str, columns: dict[str, str], path: Path | None) -> None:
        """Create table ``name`` from a header-less CSV file of ``columns`` (empty: None)."""
        self.con.execute(f"DROP TABLE IF EXISTS {name}")
        if path is None:
            ddl = ", ".join(f"{column} {kind}" for column, kind in columns.items())
            self.con.execute(f"CREATE TABLE {name} ({ddl})")
            return
        spec = ", ".join(f"'{column}': '{kind}'" for column, kind in columns.items())
        self.con.execute(
            f"CREATE TABLE {name} AS SELECT * FROM read_csv(?, header = false, "  # noqa: S608
            f"columns = {{{spec}}}, quote = '\"', escape = '\"', nullstr = '', "
            "auto_detect = false)", [str(path)])

    def read_csv_files(self, register: Path, devices: Path) -> None:
        """Both tables from CSV files written with :func:`write_rows` (the benchmark)."""
        self._read("reg", REGISTER_COLUMNS, register)
        self._read("dev", DEVICE_COLUMNS, devices)

    def load_register(self, rows: Iterable[Sequence[Any]]) -> int:
        return self._load("reg", REGISTER_COLUMNS, rows)

    def load_devices(self, rows: Iterable[Sequence[Any]]) -> int:
        return self._load("dev", DEVICE_COLUMNS, rows)

    def load_entries(self, register: Sequence[RegisterEntry],
                     devices: Sequence[DiscoveredDevice]) -> None:
        """Both tables from domain values (tests and small sets)."""
        self.load_register(register_row(p, e) for p, e in enumerate(register))
        self.load_devices(device_row(p, d) for p, d in enumerate(devices))


_KEYS_SQL = """
CREATE OR REPLACE TEMP TABLE {out} AS
SELECT pos, 0::UTINYINT AS rank, serial_k AS key FROM {src} WHERE serial_k IS NOT NULL
UNION ALL SELECT pos, 1, uuid_k FROM {src} WHERE uuid_k IS NOT NULL
UNION ALL SELECT pos, 2, cloud_k FROM {src} WHERE cloud_k IS NOT NULL
UNION ALL SELECT pos, 3, tag_k FROM {src} WHERE tag_k IS NOT NULL
UNION ALL SELECT pos, 4, unnest(string_split(macs, ';')) FROM {src} WHERE macs IS NOT NULL
UNION ALL SELECT pos, 5, host_k FROM {src} WHERE host_k IS NOT NULL
"""

_MATCH_SQL = """
CREATE OR REPLACE TEMP TABLE shared_keys AS
    SELECT rank, key, list(pos ORDER BY pos) AS positions
    FROM rk GROUP BY rank, key HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE votes AS
    SELECT d.pos AS dpos, r.pos AS apos, bit_or((1 << d.rank)::INTEGER) AS mask
    FROM dk d JOIN (SELECT rank, key, min(pos) AS pos FROM rk GROUP BY rank, key
                    HAVING count(*) = 1) r ON d.rank = r.rank AND d.key = r.key
    WHERE NOT EXISTS (SELECT 1 FROM linked l WHERE l.dpos = d.pos)
    GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE scored AS
    SELECT v.dpos, v.apos, v.mask, c.confidence, c.strongest
    FROM votes v
    JOIN dev d ON d.pos = v.dpos JOIN reg r ON r.pos = v.apos
    JOIN confidences c ON c.mask = v.mask AND c.contradicted = (
        (d.serial_k IS NOT NULL AND r.serial_k IS NOT NULL AND d.serial_k <> r.serial_k)
        OR (d.uuid_k IS NOT NULL AND r.uuid_k IS NOT NULL AND d.uuid_k <> r.uuid_k)
        OR (d.cloud_k IS NOT NULL AND r.cloud_k IS NOT NULL AND d.cloud_k <> r.cloud_k))
    WHERE NOT EXISTS (SELECT 1 FROM rejected x WHERE x.dpos = v.dpos AND x.apos = v.apos);
-- Most devices have one candidate: only those with several are ranked (a sort).
CREATE OR REPLACE TEMP TABLE contested AS
    SELECT dpos FROM scored GROUP BY dpos HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE best AS
    SELECT s.dpos, s.apos, s.mask, s.confidence FROM scored s ANTI JOIN contested c USING (dpos)
    WHERE s.confidence >= {min_confidence}
    UNION ALL
    SELECT dpos, apos, mask, confidence FROM (
        SELECT s.dpos, s.apos, s.mask, s.confidence,
               row_number() OVER (PARTITION BY s.dpos ORDER BY s.confidence DESC,
                                  s.strongest ASC, r.tag ASC) AS choice
        FROM scored s SEMI JOIN contested c USING (dpos) JOIN reg r ON r.pos = s.apos)
    WHERE choice = 1 AND confidence >= {min_confidence};
CREATE OR REPLACE TEMP TABLE proposals AS
    SELECT p.*, d.source, d.record_id, d.seen_us FROM (
        SELECT dpos, apos, mask, confidence, false AS linked FROM best
        UNION ALL SELECT dpos, apos, 0, 100, true FROM linked) p
    JOIN dev d ON d.pos = p.dpos WHERE d.gone_us IS NULL;
-- A record its source deleted says which asset it was, but is no sighting and claims nothing
-- (few such records: the join is built on them).
CREATE OR REPLACE TEMP TABLE gone_dev AS
    SELECT pos, source, record_id, gone_us FROM dev WHERE gone_us IS NOT NULL;
CREATE OR REPLACE TEMP TABLE gone_claims AS
    SELECT p.dpos, p.apos, g.source, g.record_id, g.gone_us FROM (
        SELECT dpos, apos FROM best UNION ALL SELECT dpos, apos FROM linked) p
    JOIN gone_dev g ON g.pos = p.dpos;
-- Most assets are claimed once per source: only the others are ranked.
CREATE OR REPLACE TEMP TABLE crowded AS
    SELECT source, apos FROM proposals GROUP BY source, apos HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE claims AS
    SELECT p.*, 1::BIGINT AS place FROM proposals p ANTI JOIN crowded c USING (source, apos)
    UNION ALL
    SELECT p.*, row_number() OVER (PARTITION BY p.source, p.apos ORDER BY p.linked DESC,
                                   p.confidence DESC, p.seen_us DESC NULLS LAST,
                                   p.record_id || chr(1114111) ASC) AS place
    FROM proposals p SEMI JOIN crowded c USING (source, apos);
CREATE OR REPLACE TEMP TABLE pairs AS
    SELECT c.dpos, c.apos, c.mask, c.confidence, c.linked, c.seen_us,
        (CASE WHEN r.owner IS NOT NULL AND d.owner IS NOT NULL AND r.owner <> d.owner
              AND r.owner_k IS DISTINCT FROM d.owner_k THEN 1 ELSE 0 END)
        | (CASE WHEN r.location IS NOT NULL AND d.location IS NOT NULL
                AND r.location <> d.location AND r.location_k IS DISTINCT FROM d.location_k
                THEN 2 ELSE 0 END)
        | (CASE WHEN r.model_k IS NOT NULL AND d.model_k IS NOT NULL
                AND r.model_k <> d.model_k AND NOT contains(r.model_k, d.model_k)
                AND NOT contains(d.model_k, r.model_k) THEN 4 ELSE 0 END)
        | (CASE WHEN r.cost_centre IS NOT NULL AND d.cost_centre IS NOT NULL
                AND r.cc_k IS DISTINCT FROM d.cc_k THEN 8 ELSE 0 END)
        | (CASE WHEN r.status IN ('retired', 'disposed') THEN 16 ELSE 0 END) AS conflicts
    FROM claims c JOIN dev d ON d.pos = c.dpos JOIN reg r ON r.pos = c.apos
    WHERE c.place = 1;
CREATE OR REPLACE TEMP TABLE losers AS
    SELECT l.dpos, l.apos, w.dpos AS winner
    FROM claims l JOIN claims w ON w.source = l.source AND w.apos = l.apos AND w.place = 1
    WHERE l.place > 1;
CREATE OR REPLACE TEMP TABLE unmatched AS
    SELECT d.pos AS dpos, d.source, d.record_id FROM dev d
    WHERE d.gone_us IS NULL AND NOT EXISTS (SELECT 1 FROM proposals p WHERE p.dpos = d.pos);
CREATE OR REPLACE TEMP TABLE device_duplicates AS
    WITH strong AS (
        SELECT u.dpos, u.source, u.record_id, k.rank, k.key
        FROM unmatched u JOIN dk k ON k.pos = u.dpos WHERE k.rank <= 3),
    holders AS (
        SELECT source, rank, key, arg_min(dpos, record_id) AS holder
        FROM strong GROUP BY source, rank, key HAVING count(*) > 1)
    SELECT s.dpos, arg_min(h.holder, s.rank) AS holder, min(s.rank) AS rank,
           arg_min(s.key, s.rank) AS key
    FROM strong s JOIN holders h USING (source, rank, key)
    WHERE h.holder <> s.dpos GROUP BY s.dpos;
CREATE OR REPLACE TEMP TABLE deleted AS
    SELECT apos, dpos, gone_us FROM (
        SELECT g.apos, g.dpos, g.gone_us,
               row_number() OVER (PARTITION BY g.apos ORDER BY g.gone_us DESC, g.source ASC,
                                  g.record_id ASC) AS choice
        FROM gone_claims g JOIN reg r ON r.pos = g.apos
        WHERE r.status = 'in_service' AND NOT EXISTS (
            SELECT 1 FROM pairs p WHERE p.apos = g.apos))
    WHERE choice = 1;
CREATE OR REPLACE TEMP TABLE missing AS
    WITH seen AS (SELECT apos, max(coalesce(seen_us, {as_of})) AS last_us FROM pairs
                  GROUP BY apos)
    SELECT r.pos AS apos, s.last_us FROM reg r LEFT JOIN seen s ON s.apos = r.pos
    WHERE r.status = 'in_service' AND (s.last_us IS NULL OR s.last_us < {cutoff})
    AND NOT EXISTS (SELECT 1 FROM deleted x WHERE x.apos = r.pos);
"""

_COUNTS_SQL = """
SELECT
    (SELECT count(*) FROM pairs WHERE conflicts = 0),
    (SELECT count(*) FROM pairs WHERE conflicts <> 0),
    (SELECT count(*) FROM unmatched u WHERE NOT EXISTS (
        SELECT 1 FROM device_duplicates x WHERE x.dpos = u.dpos)),
    (SELECT count(*) FROM missing),
    (SELECT count(*) FROM shared_keys) + (SELECT count(*) FROM losers)
        + (SELECT count(*) FROM device_duplicates),
    (SELECT count(*) FROM dev),
    (SELECT count(*) FROM deleted)
"""


@dataclass
class SqlReconciliation:
    """The result of :func:`match`, held in the DuckDB connection until closed."""

    tables: KeyTables
    decisions: tuple[Decision, ...]
    stale_links: tuple[Decision, ...] = field(default=())

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.tables.con

    def _base_counts(self) -> dict[str, int]:
        row = self.con.execute(_COUNTS_SQL).fetchone()
        assert row is not None
        names = ("matched", "conflicts", "unregistered", "missing", "duplicates", "records",
                 "deleted")
        return dict(zip(names, (int(v) for v in row), strict=True))

    def counts(self) -> dict[str, int]:
        """The counts of :meth:`Reconciliation.counts`, decisions applied, at any scale."""
        counts = self._base_counts()
        touched = self._decided_findings()
        if touched:
            before = Reconciliation(tuple(touched), records=0).counts()
            after = apply_decisions(Reconciliation(tuple(touched), records=0),
                                    self._applied()).counts()
            for name in ("matched", "conflicts", "missing", "deleted"):
                counts[name] += after[name] - before[name]
        return counts

    def _applied(self) -> list[Decision]:
        return [d for d in self.decisions
                if d.kind not in (DecisionKind.LINK, DecisionKind.REJECT)]

    def _decided_findings(self) -> list[Finding]:
        """The findings an accept, take or decommission decision may change."""
        # Each finding once: two decisions on one asset (say, decommissioned twice) must not
        # bring its finding in twice and so count its change twice.
        pairs = sorted({(d.device.source, d.device.record_id, d.asset_tag)
                        for d in self._applied() if d.device is not None})
        tags = sorted({d.asset_tag for d in self._applied()
                       if d.kind is DecisionKind.DECOMMISSION})
        found: list[Finding] = []
        if pairs:
            self.con.execute("CREATE OR REPLACE TEMP TABLE decided (source VARCHAR, "
                             "record_id VARCHAR, tag VARCHAR)")
            _insert(self.con, "decided", pairs)
            found += self._pair_findings(
                "JOIN decided x ON x.source = d.source AND x.record_id = d.record_id "
                "AND x.tag = r.tag")
        if tags:
            self.con.execute("CREATE OR REPLACE TEMP TABLE decided_tags (tag VARCHAR)")
            _insert(self.con, "decided_tags", [(t,) for t in tags])
            found += self._missing_findings("JOIN decided_tags x ON x.tag = r.tag")
            found += self._deleted_findings("JOIN decided_tags x ON x.tag = r.tag")
        return found

    # --- materialising findings ----------------------------------------------------------

    def _pair_findings(self, join: str = "", where: str = "") -> list[Finding]:
        rows = self.con.execute(f"""
            SELECT r.tag, d.source, d.record_id, p.confidence, p.mask, p.conflicts, p.linked,
                   r.owner, d.owner, r.location, d.location, r.model, d.model,
                   r.cost_centre, d.cost_centre, r.status
            FROM pairs p JOIN dev d ON d.pos = p.dpos JOIN reg r ON r.pos = p.apos {join}
            {where} ORDER BY r.tag, d.source, d.record_id""").fetchall()  # noqa: S608
        links = {(d.device, d.asset_tag): d for d in self.decisions
                 if d.kind is DecisionKind.LINK and d.device is not None}
        found = []
        for (tag, source, record_id, confidence, mask, bits, linked, r_owner, d_owner,
             r_location, d_location, r_model, d_model, r_cc, d_cc, status) in rows:
            values = {"owner": (r_owner, d_owner), "location": (r_location, d_location),
                      "model": (r_model, d_model), "cost_centre": (r_cc, d_cc),
                      "status": (status, "seen by discovery")}
            conflicts = tuple(Conflict(name, *values[name])
                              for bit, name in enumerate(CONFLICT_FIELDS) if bits >> bit & 1)
            ref = DeviceRef(source, record_id)
            found.append(Finding(
                Outcome.CONFLICT if conflicts else Outcome.MATCHED, asset_tag=tag, device=ref,
                confidence=int(confidence), evidence=_evidence(mask), conflicts=conflicts,
                decision=links.get((ref, tag)) if linked else None))
        return found

    def _missing_findings(self, join: str = "") -> list[Finding]:
        rows = self.con.execute(f"""
            SELECT r.tag, m.last_us FROM missing m JOIN reg r ON r.pos = m.apos {join}
            ORDER BY r.tag""").fetchall()  # noqa: S608 (the join is a constant here)
        return [Finding(Outcome.MISSING, asset_tag=tag, last_seen=from_micros(last))
                for tag, last in rows]

    def _deleted_findings(self, join: str = "") -> list[Finding]:
        rows = self.con.execute(f"""
            SELECT r.tag, d.source, d.record_id, x.gone_us FROM deleted x
            JOIN reg r ON r.pos = x.apos JOIN dev d ON d.pos = x.dpos {join}
            ORDER BY r.tag""").fetchall()  # noqa: S608 (the join is a constant here)
        return [Finding(Outcome.DELETED, asset_tag=tag, device=DeviceRef(source, record_id),
                        last_seen=from_micros(gone)) for tag, source, record_id, gone in rows]

    def _duplicate_findings(self) -> list[Finding]:
        found = []
        tags = dict(self.con.execute("SELECT pos, tag FROM reg WHERE pos IN "
                                     "(SELECT unnest(positions) FROM shared_keys)").fetchall())
        for rank, key, positions in self.con.execute(
                "SELECT rank, key, positions FROM shared_keys ORDER BY rank, key").fetchall():
            names = tuple(tags[p] for p in positions)
            found.append(Finding(Outcome.DUPLICATE, asset_tag=names[0], others=names[1:],
                                 identifier=(EVIDENCE_RANK[rank], key)))
        for tag, source, record_id, w_source, w_record in self.con.execute("""
                SELECT r.tag, d.source, d.record_id, w.source, w.record_id FROM losers l
                JOIN reg r ON r.pos = l.apos JOIN dev d ON d.pos = l.dpos
                JOIN dev w ON w.pos = l.winner ORDER BY d.source, d.record_id""").fetchall():
            found.append(Finding(Outcome.DUPLICATE, asset_tag=tag,
                                 device=DeviceRef(source, record_id),
                                 others=(str(DeviceRef(w_source, w_record)),)))
        for source, record_id, h_source, h_record, rank, key in self.con.execute("""
                SELECT d.source, d.record_id, h.source, h.record_id, x.rank, x.key
                FROM device_duplicates x JOIN dev d ON d.pos = x.dpos
                JOIN dev h ON h.pos = x.holder ORDER BY d.source, d.record_id""").fetchall():
            found.append(Finding(Outcome.DUPLICATE, device=DeviceRef(source, record_id),
                                 others=(str(DeviceRef(h_source, h_record)),),
                                 identifier=(EVIDENCE_RANK[rank], key)))
        return found

    def _unregistered_findings(self) -> list[Finding]:
        rows = self.con.execute("""
            SELECT source, record_id FROM unmatched u WHERE NOT EXISTS (
                SELECT 1 FROM device_duplicates x WHERE x.dpos = u.dpos)
            ORDER BY source, record_id""").fetchall()
        return [Finding(Outcome.UNREGISTERED, device=DeviceRef(*row)) for row in rows]

    def reconciliation(self, outcome: Outcome | None = None) -> Reconciliation:
        """Every finding (or those of one outcome, after decisions), as the pure function
        gives them; for listing and tests, not for a million rows."""
        findings: list[Finding] = []
        wanted = {outcome} if outcome is not None else set(Outcome)
        if wanted & {Outcome.MATCHED, Outcome.CONFLICT}:
            findings += self._pair_findings()
        if wanted & {Outcome.MISSING, Outcome.DECOMMISSIONED, Outcome.DELETED}:
            findings += self._missing_findings()
            findings += self._deleted_findings()
        if Outcome.DUPLICATE in wanted:
            findings += self._duplicate_findings()
        if Outcome.UNREGISTERED in wanted:
            findings += self._unregistered_findings()
        records = self._base_counts()["records"]
        result = apply_decisions(Reconciliation(tuple(findings), records=records,
                                                stale_decisions=self.stale_links),
                                 self._applied())
        if outcome is None:
            return result
        return Reconciliation(tuple(f for f in result.findings if f.outcome is outcome),
                              records=records, stale_decisions=result.stale_decisions)


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence[Any]]) -> None:
    """Insert a few rows in one statement of literals (the Python client spends milliseconds
    per bound parameter looking for optional libraries)."""
    if rows:
        values = ", ".join("(" + ", ".join(map(_literal, row)) + ")" for row in rows)
        con.execute(f"INSERT INTO {table} VALUES {values}")  # noqa: S608 (escaped literals)


def _evidence(mask: int) -> tuple[Evidence, ...]:
    return tuple(e for rank, e in enumerate(EVIDENCE_RANK) if mask >> rank & 1)


def match(tables: KeyTables, *, as_of: datetime, missing_after: timedelta = timedelta(days=30),
          decisions: Sequence[Decision] = ()) -> SqlReconciliation:
    """Run the matching on the loaded key tables; see :func:`ledger.reconciliation.reconcile`
    for the rules, which this applies unchanged."""
    con = tables.con
    con.execute("CREATE OR REPLACE TEMP TABLE confidences (mask INTEGER, contradicted BOOLEAN, "
                "confidence INTEGER, strongest INTEGER)")
    _insert(con, "confidences", _confidence_table())
    con.execute(_KEYS_SQL.format(out="rk", src="reg"))
    con.execute(_KEYS_SQL.format(out="dk", src="dev"))
    stale = _decision_tables(con, decisions)
    as_of_us = micros(as_of)
    cutoff = micros(as_of - missing_after)
    con.execute(_MATCH_SQL.format(min_confidence=MIN_CONFIDENCE, as_of=as_of_us,
                                  cutoff=cutoff))
    return SqlReconciliation(tables, tuple(decisions), stale_links=tuple(stale))


def _decision_tables(con: duckdb.DuckDBPyConnection,
                     decisions: Sequence[Decision]) -> list[Decision]:
    """Links and rejections as (device position, asset position) tables; stale links back."""
    con.execute("CREATE OR REPLACE TEMP TABLE linked (dpos INTEGER, apos INTEGER)")
    con.execute("CREATE OR REPLACE TEMP TABLE rejected (dpos INTEGER, apos INTEGER)")
    con.execute("CREATE OR REPLACE TEMP TABLE wanted (kind VARCHAR, source VARCHAR, "
                "record_id VARCHAR, tag VARCHAR, n INTEGER)")
    steering = [(str(d.kind), d.device.source, d.device.record_id, d.asset_tag, n)
                for n, d in enumerate(decisions)
                if d.kind in (DecisionKind.LINK, DecisionKind.REJECT) and d.device is not None]
    if not steering:
        return []
    _insert(con, "wanted", steering)
    found = con.execute("""
        SELECT w.kind, w.n, d.pos, r.pos FROM wanted w
        LEFT JOIN dev d ON d.source = w.source AND d.record_id = w.record_id
        LEFT JOIN reg r ON r.tag = w.tag""").fetchall()
    stale: list[Decision] = []
    links: dict[int, int] = {}
    rejections: list[tuple[int, int]] = []
    for kind, n, dpos, apos in sorted(found, key=lambda row: row[1]):
        if kind == DecisionKind.LINK:
            if dpos is None or apos is None:
                stale.append(decisions[n])
            else:
                links[dpos] = apos  # the last link of a device wins, as in the pure function
        elif dpos is not None and apos is not None:
            rejections.append((dpos, apos))
    if links:
        _insert(con, "linked", list(links.items()))
    if rejections:
        _insert(con, "rejected", rejections)
    return stale


def reconcile_sql(register: Sequence[RegisterEntry], devices: Sequence[DiscoveredDevice], *,
                  as_of: datetime, missing_after: timedelta = timedelta(days=30),
                  decisions: Sequence[Decision] = ()) -> Reconciliation:
    """:func:`ledger.reconciliation.reconcile`'s signature and result, computed in DuckDB."""
    with KeyTables(threads=1) as tables:
        tables.load_entries(register, devices)
        return match(tables, as_of=as_of, missing_after=missing_after,
                     decisions=decisions).reconciliation()


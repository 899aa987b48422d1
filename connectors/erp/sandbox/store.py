"""The sandbox ERP's books: one SQLite file (stdlib ``sqlite3``) under its data directory.

Posted documents (SAP and Business Central alike) and Business Central's unposted journal
batches live here, so a restarted sandbox still holds them. Amounts are stored as exact decimal
text, signed (debit positive, credit negative). One connection, serialised by a lock; every
write is one transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    system TEXT NOT NULL,
    company TEXT NOT NULL,
    document_number TEXT NOT NULL,
    fiscal_year INTEGER NOT NULL,
    posting_date TEXT NOT NULL,
    document_date TEXT NOT NULL,
    external_reference TEXT NOT NULL,
    source_document TEXT,
    header_text TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    document_type TEXT NOT NULL DEFAULT '',
    posted_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_reference ON documents (system, company, external_reference);
CREATE TABLE IF NOT EXISTS lines (
    document_id INTEGER NOT NULL REFERENCES documents (id),
    line_no INTEGER NOT NULL,
    account TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    cost_centre TEXT,
    text TEXT NOT NULL DEFAULT '',
    entry_number INTEGER,
    entry_id TEXT,
    PRIMARY KEY (document_id, line_no)
);
CREATE TABLE IF NOT EXISTS bc_journals (
    id TEXT PRIMARY KEY,
    company_id TEXT NOT NULL,
    code TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    modified_at TEXT NOT NULL,
    UNIQUE (company_id, code)
);
CREATE TABLE IF NOT EXISTS bc_journal_lines (
    id TEXT PRIMARY KEY,
    journal_id TEXT NOT NULL REFERENCES bc_journals (id),
    line_number INTEGER NOT NULL,
    account_number TEXT NOT NULL,
    posting_date TEXT NOT NULL,
    document_number TEXT NOT NULL,
    external_document_number TEXT NOT NULL DEFAULT '',
    amount TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    modified_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bc_dimension_lines (
    line_id TEXT NOT NULL REFERENCES bc_journal_lines (id),
    code TEXT NOT NULL,
    value_code TEXT NOT NULL,
    PRIMARY KEY (line_id, code)
);
"""

SAP_FIRST_NUMBER = 100000000


@dataclass(frozen=True, slots=True)
class StoredLine:
    """A posted line: ``amount`` signed (debit positive, credit negative), exact."""

    account: str
    amount: Decimal
    currency: str
    cost_centre: str | None = None
    text: str = ""
    entry_number: int | None = None
    entry_id: str | None = None


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: int
    system: str
    company: str
    document_number: str
    fiscal_year: int
    posting_date: date
    document_date: date
    external_reference: str
    source_document: str | None
    header_text: str
    created_by: str
    document_type: str
    posted_at: str
    lines: tuple[StoredLine, ...]

    def as_json(self) -> dict[str, Any]:
        """The document as ``GET /sandbox/documents`` shows it (amounts as decimal strings)."""
        totals: dict[str, dict[str, Decimal]] = {}
        lines = []
        for number, line in enumerate(self.lines, start=1):
            total = totals.setdefault(line.currency, {"debit": Decimal(0), "credit": Decimal(0)})
            side = "debit" if line.amount >= 0 else "credit"
            total[side] += abs(line.amount)
            lines.append({
                "line": number,
                "account": line.account,
                "side": side,
                "debit_credit_code": "S" if side == "debit" else "H",
                "amount": str(line.amount),
                "currency": line.currency,
                "cost_centre": line.cost_centre,
                "text": line.text,
                "entry_number": line.entry_number,
            })
        return {
            "id": self.id,
            "system": self.system,
            "company_code": self.company,
            "document_number": self.document_number,
            "fiscal_year": self.fiscal_year,
            "external_reference": self.external_reference,
            "source_document": self.source_document,
            "posting_date": self.posting_date.isoformat(),
            "document_date": self.document_date.isoformat(),
            "header_text": self.header_text,
            "created_by": self.created_by,
            "document_type": self.document_type,
            "posted_at": self.posted_at,
            "lines": lines,
            "totals": {cur: {k: str(v) for k, v in t.items()} for cur, t in totals.items()},
        }


@dataclass(frozen=True, slots=True)
class NewDocument:
    """A document to book; the store gives it its number."""

    system: str
    company: str
    posting_date: date
    document_date: date
    external_reference: str
    lines: tuple[StoredLine, ...]
    source_document: str | None = None
    header_text: str = ""
    created_by: str = ""
    document_type: str = ""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SandboxStore:
    """Thread-safe access to the sandbox's SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- posted documents ------------------------------------------------------------------

    def book(self, db: sqlite3.Connection, new: NewDocument) -> StoredDocument:
        """Book ``new`` inside an open transaction; SAP numbers count per company and year,
        Business Central documents are numbered by their first G/L entry."""
        year = new.posting_date.year
        lines = list(new.lines)
        if new.system == "bc":
            row = db.execute("SELECT MAX(entry_number) FROM lines").fetchone()
            first_entry = (row[0] or 0) + 1
            lines = [
                StoredLine(line.account, line.amount, line.currency, line.cost_centre, line.text,
                           first_entry + index, str(uuid.uuid4()))
                for index, line in enumerate(lines)
            ]
            number = str(first_entry)
        else:
            row = db.execute(
                "SELECT COUNT(*) FROM documents WHERE system = ? AND company = ? "
                "AND fiscal_year = ?", (new.system, new.company, year)).fetchone()
            number = f"{SAP_FIRST_NUMBER + row[0] + 1:010d}"
        posted_at = _now()
        cursor = db.execute(
            "INSERT INTO documents (system, company, document_number, fiscal_year, posting_date,"
            " document_date, external_reference, source_document, header_text, created_by,"
            " document_type, posted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (new.system, new.company, number, year, new.posting_date.isoformat(),
             new.document_date.isoformat(), new.external_reference, new.source_document,
             new.header_text, new.created_by, new.document_type, posted_at))
        document_id = int(cursor.lastrowid or 0)
        db.executemany(
            "INSERT INTO lines (document_id, line_no, account, amount, currency, cost_centre,"
            " text, entry_number, entry_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(document_id, index, line.account, str(line.amount), line.currency,
              line.cost_centre, line.text, line.entry_number, line.entry_id)
             for index, line in enumerate(lines, start=1)])
        return StoredDocument(
            document_id, new.system, new.company, number, year, new.posting_date,
            new.document_date, new.external_reference, new.source_document, new.header_text,
            new.created_by, new.document_type, posted_at, tuple(lines))

    def documents(self, *, system: str | None = None, company: str | None = None,
                  external_reference: str | None = None,
                  source_document: str | None = None) -> list[StoredDocument]:
        clauses, params = [], []
        for column, value in (("system", system), ("company", company),
                              ("external_reference", external_reference),
                              ("source_document", source_document)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            heads = self._db.execute(
                f"SELECT * FROM documents {where} ORDER BY id", params).fetchall()  # noqa: S608
            if not heads:
                return []
            by_document: dict[int, list[StoredLine]] = {}
            ids = [h["id"] for h in heads]
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for row in self._db.execute(
                        f"SELECT * FROM lines WHERE document_id IN ({marks}) "  # noqa: S608
                        "ORDER BY document_id, line_no", chunk):
                    by_document.setdefault(row["document_id"], []).append(StoredLine(
                        row["account"], Decimal(row["amount"]), row["currency"],
                        row["cost_centre"], row["text"], row["entry_number"], row["entry_id"]))
        return [
            StoredDocument(
                h["id"], h["system"], h["company"], h["document_number"], h["fiscal_year"],
                date.fromisoformat(h["posting_date"]), date.fromisoformat(h["document_date"]),
                h["external_reference"], h["source_document"], h["header_text"],
                h["created_by"], h["document_type"], h["posted_at"],
                tuple(by_document.get(h["id"], [])))
            for h in heads
        ]

    # -- Business Central journal batches --------------------------------------------------

    def bc_journals(self, company_id: str, code: str | None = None) -> list[sqlite3.Row]:
        with self._lock:
            if code is None:
                return self._db.execute(
                    "SELECT * FROM bc_journals WHERE company_id = ? ORDER BY code",
                    (company_id,)).fetchall()
            return self._db.execute(
                "SELECT * FROM bc_journals WHERE company_id = ? AND code = ?",
                (company_id, code)).fetchall()

    def bc_journal(self, company_id: str, journal_id: str) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(
                "SELECT * FROM bc_journals WHERE company_id = ? AND id = ?",
                (company_id, journal_id)).fetchone()

    def bc_add_journal(self, company_id: str, code: str, display_name: str) -> sqlite3.Row | None:
        """The new batch, or None when the code exists in the company."""
        journal_id = str(uuid.uuid4())
        try:
            with self.transaction() as db:
                db.execute(
                    "INSERT INTO bc_journals (id, company_id, code, display_name, modified_at)"
                    " VALUES (?, ?, ?, ?, ?)", (journal_id, company_id, code, display_name, _now()))
        except sqlite3.IntegrityError:
            return None
        return self.bc_journal(company_id, journal_id)

    def bc_lines(self, journal_id: str) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(
                "SELECT * FROM bc_journal_lines WHERE journal_id = ? ORDER BY line_number",
                (journal_id,)).fetchall()

    def bc_line(self, journal_id: str, line_id: str) -> sqlite3.Row | None:
        with self._lock:
            return self._db.execute(
                "SELECT * FROM bc_journal_lines WHERE journal_id = ? AND id = ?",
                (journal_id, line_id)).fetchone()

    def bc_add_line(self, journal_id: str, values: dict[str, Any]) -> sqlite3.Row:
        line_id = str(uuid.uuid4())
        with self.transaction() as db:
            number = values.get("line_number")
            if not number:
                row = db.execute("SELECT MAX(line_number) FROM bc_journal_lines "
                                 "WHERE journal_id = ?", (journal_id,)).fetchone()
                number = (row[0] or 0) + 10000
            db.execute(
                "INSERT INTO bc_journal_lines (id, journal_id, line_number, account_number,"
                " posting_date, document_number, external_document_number, amount, description,"
                " modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (line_id, journal_id, number, values["account_number"], values["posting_date"],
                 values["document_number"], values["external_document_number"],
                 str(values["amount"]), values["description"], _now()))
        line = self.bc_line(journal_id, line_id)
        assert line is not None
        return line

    def bc_delete_line(self, line_id: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM bc_dimension_lines WHERE line_id = ?", (line_id,))
            db.execute("DELETE FROM bc_journal_lines WHERE id = ?", (line_id,))

    def bc_dimensions(self, line_id: str) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute("SELECT * FROM bc_dimension_lines WHERE line_id = ? "
                                    "ORDER BY code", (line_id,)).fetchall()

    def bc_set_dimension(self, line_id: str, code: str, value_code: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO bc_dimension_lines (line_id, code, value_code)"
                       " VALUES (?, ?, ?)", (line_id, code, value_code))

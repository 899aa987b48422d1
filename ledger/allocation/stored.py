"""What allocation keeps in the database, as plain values (the repositories convert records).

Rule-set versions are immutable once saved: a change is a new version, a rollback a new version
copying an earlier one; only the status moves (draft -> active -> retired). A run keeps its
totals, its lines, its unallocated amounts with their reasons, and its lineage: the distinct
input cost lines (billing cost groups, charges, manual entries) and where each went, enough to
explain any amount down to the source row groups without keeping the billing rows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger.allocation.exceptions import AllocationException
from ledger.allocation.rules import RuleSet, parse_ruleset


class RuleSetStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


class RunStatus(enum.StrEnum):
    DRAFT = "draft"
    SUPERSEDED = "superseded"


class ExceptionStatus(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class RuleSetVersion:
    """One saved version: the canonical TOML text (``to_toml``) and its content hash."""

    name: str
    version: int
    status: RuleSetStatus
    effective_from: date
    effective_to: date | None
    text: str
    content_hash: str
    author: str
    created_at: datetime
    reason: str | None = None
    parent_version: int | None = None
    activated_by: str | None = None
    activated_at: datetime | None = None

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"

    def ruleset(self) -> RuleSet:
        return parse_ruleset(self.text, source=self.label)


@dataclass(frozen=True, slots=True)
class RunTotal:
    currency: str
    source_total: Decimal
    allocated_total: Decimal
    unallocated_total: Decimal


@dataclass(frozen=True, slots=True)
class StoredLine:
    cost_centre: str
    account: str
    pool: str
    rule: str
    kind: str
    currency: str
    amount: Decimal
    charged: bool


@dataclass(frozen=True, slots=True)
class StoredGap:
    reason: str
    detail: str
    pool: str | None
    rule: str | None
    currency: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class StoredLineage:
    """One input cost line of a run. ``key`` is the line's canonical key text (origin,
    currency, dimensions, tags, reference: :meth:`CostLine.key_text`)."""

    kind: str
    origin: str
    pool: str | None
    cost_centre: str | None
    rule: str | None
    reason: str | None
    currency: str
    key: str
    rows: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class StoredRun:
    id: int
    period: str
    ruleset_name: str
    ruleset_version: int
    cost_basis: str
    fingerprint: str
    status: RunStatus
    conserved: bool
    created_by: str
    created_at: datetime
    totals: tuple[RunTotal, ...] = ()
    journal_ids: tuple[int, ...] = ()
    exceptions: tuple[Any, ...] = ()

    @property
    def ruleset(self) -> str:
        return f"{self.ruleset_name}@{self.ruleset_version}"


@dataclass(frozen=True, slots=True)
class DriverRevision:
    """A save of one driver table; ``changes`` lists ``cost centre/period: old -> new``."""

    driver: str
    revision: int
    content_hash: str
    saved_by: str
    saved_at: datetime
    reason: str | None = None
    changes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    invoice_id: str
    billing_account_id: str
    billing_period: str
    currency: str
    amount: Decimal
    row: int = 0


@dataclass(frozen=True, slots=True)
class InvoiceFile:
    sha256: str
    file_name: str
    lines: int
    imported_by: str
    imported_at: datetime


@dataclass(frozen=True, slots=True)
class RegisteredException:
    """An exception with its place in the register (who proposed it, its status)."""

    exception: AllocationException
    status: ExceptionStatus
    created_by: str
    created_at: datetime
    reason: str
    approved_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

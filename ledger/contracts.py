"""Procurement contracts and the clauses allocation depends on.

Chargeback is only as good as the usage data vendors deliver. A contract should therefore oblige
the vendor to report usage by cost centre, to support tagging (so that resources carry the cost
centre), and to meter at a granularity fine enough to allocate (daily or finer by default). The
register holds each contract with those clauses, and the checklist shows which contracts lack
which, so that procurement fixes them at renewal.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger.errors import InputError
from ledger.money import MoneyError, normalise_currency, to_decimal


class Clause(enum.StrEnum):
    USAGE_REPORTING = "usage reporting by cost centre"
    TAGGING = "tagging support"
    METERING = "metering granularity"


class Granularity(enum.StrEnum):
    """How finely usage is metered, finest first."""

    HOURLY = "hourly"
    DAILY = "daily"
    MONTHLY = "monthly"


_ORDER = list(Granularity)
#: The coarsest metering that still allows allocation by day (spikes, mid-month transfers).
REQUIRED_GRANULARITY = Granularity.DAILY
_YES = {"yes", "y", "true", "1", "x"}
_NO = {"no", "n", "false", "0", ""}


@dataclass(frozen=True, slots=True)
class Contract:
    """One procurement contract.

    Attributes:
        number: the contract number (unique).
        vendor: who supplies.
        start, end: the term (end None: open-ended).
        value: total contract value in ``currency``.
        usage_reporting: the vendor reports usage by cost centre.
        tagging: the vendor's resources support our tags.
        metering: the metering granularity the contract guarantees (None: not stated).
        notes: free text (other clauses, renewal terms).
    """

    number: str
    vendor: str
    start: date
    end: date | None
    value: Decimal
    currency: str
    usage_reporting: bool = False
    tagging: bool = False
    metering: Granularity | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        if not self.number.strip():
            raise InputError("a contract needs a number", field="number")
        if not self.vendor.strip():
            raise InputError("a contract needs a vendor", field="vendor")
        if self.end is not None and self.end < self.start:
            raise InputError(f"the term ends ({self.end}) before it starts ({self.start})",
                             field="end", value=self.end)
        if self.value < 0:
            raise InputError("a contract value cannot be negative", field="value",
                             value=self.value)

    def missing(self, required: Granularity = REQUIRED_GRANULARITY) -> tuple[Clause, ...]:
        """The allocation-relevant clauses this contract lacks (metering coarser than
        ``required`` counts as lacking)."""
        lacking = []
        if not self.usage_reporting:
            lacking.append(Clause.USAGE_REPORTING)
        if not self.tagging:
            lacking.append(Clause.TAGGING)
        if self.metering is None or _ORDER.index(self.metering) > _ORDER.index(required):
            lacking.append(Clause.METERING)
        return tuple(lacking)

    def is_active_on(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


CONTRACT_COLUMNS = ("number", "vendor", "start", "value", "currency")
CONTRACT_OPTIONAL = ("end", "usage_reporting", "tagging", "metering", "notes")


def _flag(text: str | None, name: str) -> bool:
    value = (text or "").strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise InputError("write yes or no", field=name, value=text)


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError("is not a date; write it as YYYY-MM-DD", field=name,
                         value=text) from None


def contract_from_cells(cells: Mapping[str, str | None]) -> Contract:
    """A contract from one row of a contracts file; InputError names the field that is wrong."""
    for name in CONTRACT_COLUMNS:
        if not cells.get(name):
            raise InputError("is required", field=name)
    metering_text = (cells.get("metering") or "").strip().lower()
    try:
        metering = Granularity(metering_text) if metering_text else None
    except ValueError:
        raise InputError(f"metering is one of {', '.join(g.value for g in Granularity)} or "
                         "empty (not stated)", field="metering", value=metering_text) from None
    try:
        value = to_decimal(str(cells["value"]))
    except MoneyError as exc:
        raise InputError(str(exc), field="value", value=cells["value"]) from None
    try:
        currency = normalise_currency(str(cells["currency"]))
    except MoneyError as exc:
        raise InputError(str(exc), field="currency", value=cells["currency"]) from None
    start = _day(cells["start"], "start")
    assert start is not None
    return Contract(str(cells["number"]).strip(), str(cells["vendor"]).strip(), start,
                    _day(cells.get("end"), "end"), value, currency,
                    _flag(cells.get("usage_reporting"), "usage_reporting"),
                    _flag(cells.get("tagging"), "tagging"), metering,
                    (cells.get("notes") or "").strip())

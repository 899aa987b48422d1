"""Journal entries: immutable, balanced by construction.

A :class:`JournalEntry` that does not balance per currency cannot be constructed: the constructor
raises :class:`UnbalancedJournalError` naming the currency and the difference. Lines carry a side
(debit or credit) and a positive amount already quantised to the currency's minor unit, so no
rounding can happen after an entry exists.

Status, approval and posting are not part of the entry; they belong to the journal's lifecycle
(see the posting issue), which refers to an entry and never changes it.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from ledger.errors import ApportionError, InputError
from ledger.money import (
    MoneyError,
    allocate,
    currency_quantum,
    is_quantised,
    normalise_currency,
    round_to_currency,
    to_decimal,
)


class Side(enum.StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class UnbalancedJournalError(ApportionError, ValueError):
    """Debits and credits differ in at least one currency."""

    def __init__(self, differences: dict[str, Decimal]) -> None:
        self.differences = differences
        detail = ", ".join(f"{cur} debits exceed credits by {diff}"
                           for cur, diff in sorted(differences.items()))
        super().__init__(f"the journal does not balance: {detail}")


@dataclass(frozen=True, slots=True)
class JournalLine:
    """One line of a journal entry.

    Attributes:
        account: GL account number.
        side: debit or credit.
        amount: positive, quantised to the currency's minor unit.
        currency: ISO 4217 code.
        cost_centre: cost-centre code, or None for balance-sheet lines.
        memo: free text for the reader of the ledger.
        source_ref: what produced the line (allocation run and rule, asset and book ...).
    """

    account: str
    side: Side
    amount: Decimal
    currency: str
    cost_centre: str | None = None
    memo: str = ""
    source_ref: str = ""

    def __post_init__(self) -> None:
        if not self.account or not str(self.account).strip():
            raise InputError("a journal line needs an account", field="account")
        object.__setattr__(self, "side", Side(self.side))
        try:
            currency = normalise_currency(self.currency)
            amount = to_decimal(self.amount)
        except MoneyError as exc:
            raise InputError(str(exc), field="amount", value=self.amount) from None
        object.__setattr__(self, "currency", currency)
        if amount <= 0:
            raise InputError(
                "a line amount must be positive; put a negative amount on the other side",
                field="amount", value=self.amount,
            )
        quantum = currency_quantum(currency)
        if not is_quantised(amount, quantum):
            raise InputError(
                f"{amount} has more decimals than {currency} allows; round it first",
                field="amount", value=self.amount,
            )
        object.__setattr__(self, "amount", amount.quantize(quantum))

    @classmethod
    def debit(cls, account: str, amount: Decimal, currency: str,
              **kwargs: str | None) -> JournalLine:
        return cls(account, Side.DEBIT, amount, currency, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def credit(cls, account: str, amount: Decimal, currency: str,
               **kwargs: str | None) -> JournalLine:
        return cls(account, Side.CREDIT, amount, currency, **kwargs)  # type: ignore[arg-type]

    @property
    def signed_amount(self) -> Decimal:
        """Debits positive, credits negative."""
        return self.amount if self.side is Side.DEBIT else -self.amount


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A balanced journal entry.

    Attributes:
        entry_date: the posting date; decides the period.
        description: header text.
        lines: at least two lines; debits equal credits in every currency.
        source: what produced it (``allocation``, ``depreciation``, ``manual``, ``demo`` ...).
        reference: the producer's reference (run id, period), shown in the ERP document header.
    """

    entry_date: date
    description: str
    lines: tuple[JournalLine, ...]
    source: str = "manual"
    reference: str = ""
    totals: dict[str, Decimal] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        lines = tuple(self.lines)
        object.__setattr__(self, "lines", lines)
        if len(lines) < 2:
            raise InputError("a journal entry needs at least two lines", field="lines")
        if not self.description or not self.description.strip():
            raise InputError("a journal entry needs a description", field="description")
        balance: dict[str, Decimal] = defaultdict(Decimal)
        debits: dict[str, Decimal] = defaultdict(Decimal)
        for line in lines:
            balance[line.currency] += line.signed_amount
            if line.side is Side.DEBIT:
                debits[line.currency] += line.amount
        differences = {cur: diff for cur, diff in balance.items() if diff != 0}
        if differences:
            raise UnbalancedJournalError(differences)
        object.__setattr__(self, "totals", dict(debits))

    @property
    def currencies(self) -> list[str]:
        return sorted(self.totals)

    def total(self, currency: str) -> Decimal:
        """Sum of the debits (= sum of the credits) in ``currency``."""
        return self.totals.get(normalise_currency(currency), Decimal(0))


def split_charge(
    *,
    amount: Decimal,
    currency: str,
    debit_account: str,
    credit_account: str,
    credit_cost_centre: str | None,
    weights: Sequence[tuple[str, Decimal | int]],
    memo: str = "",
    source_ref: str = "",
) -> list[JournalLine]:
    """Lines that charge ``amount`` to cost centres by ``weights`` against one credit line.

    The debit lines (one per cost centre with a non-zero share) sum exactly to the credit line:
    the split uses :func:`ledger.money.allocate` at the currency's minor unit. A negative
    ``amount`` (a refund or credit) swaps the sides.
    """
    rounded = round_to_currency(amount, currency)
    if rounded == 0:
        return []
    parts = allocate(abs(rounded), [w for _, w in weights], quantum=currency_quantum(currency))
    charge_side, recover_side = (Side.DEBIT, Side.CREDIT) if rounded > 0 else (Side.CREDIT,
                                                                                 Side.DEBIT)
    lines = [
        JournalLine(debit_account, charge_side, part, currency, cost_centre=code, memo=memo,
                    source_ref=source_ref)
        for (code, _), part in zip(weights, parts, strict=True)
        if part != 0
    ]
    lines.append(JournalLine(credit_account, recover_side, abs(rounded), currency,
                             cost_centre=credit_cost_centre, memo=memo, source_ref=source_ref))
    return lines


def entry_totals(entries: Iterable[JournalEntry]) -> dict[str, Decimal]:
    """Debit totals per currency over several entries."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for entry in entries:
        for currency, amount in entry.totals.items():
            totals[currency] += amount
    return dict(totals)


class JournalStatus(enum.StrEnum):
    """Where a journal is in its life. Only the transitions in :data:`TRANSITIONS` happen."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    POSTING = "posting"
    POSTED = "posted"
    FAILED = "failed"
    UNKNOWN = "unknown"
    REVERSED = "reversed"


_S = JournalStatus
#: The lifecycle. A rejected submission goes back to draft; an approved journal is sent by the
#: poster (posting), which ends posted, failed (the ERP refused: nothing booked) or unknown (no
#: clear answer: reconcile by external reference before any resend); an unreachable ERP puts it
#: back to approved. A failed journal may be queued again once the cause is fixed in the ERP.
#: A posted journal is only ever corrected by a reversal, and is then marked reversed.
TRANSITIONS: dict[JournalStatus, frozenset[JournalStatus]] = {
    _S.DRAFT: frozenset({_S.SUBMITTED}),
    _S.SUBMITTED: frozenset({_S.APPROVED, _S.DRAFT}),
    _S.APPROVED: frozenset({_S.POSTING}),
    _S.POSTING: frozenset({_S.POSTED, _S.FAILED, _S.UNKNOWN, _S.APPROVED}),
    _S.UNKNOWN: frozenset({_S.POSTING, _S.POSTED}),
    _S.FAILED: frozenset({_S.APPROVED}),
    _S.POSTED: frozenset({_S.REVERSED}),
    _S.REVERSED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Journal:
    """A stored journal entry with its lifecycle; the entry itself never changes.

    Attributes:
        id: the journal's number in Apportion.
        entry: the balanced entry.
        status: see :class:`JournalStatus`.
        period: ``YYYY-MM`` of the entry date.
        created_by, created_at: the maker.
        submitted_by, approved_by, approved_at: the review; the approver is never the maker
            nor the submitter.
        external_reference, idempotency_key: fixed at approval and reused on every send.
        erp_document: the ERP's document number once posted.
        reversal_of: for a reversal, the journal it reverses.
        message: the last ERP message (a refusal, an ambiguous reply, a round-off alert).
        erp_profile: the ERP it was (or is being) posted to.
    """

    id: int
    entry: JournalEntry
    status: JournalStatus
    period: str
    created_by: str
    created_at: datetime
    submitted_by: str | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    external_reference: str | None = None
    idempotency_key: str | None = None
    erp_document: str | None = None
    posted_at: datetime | None = None
    reversal_of: int | None = None
    message: str | None = None
    erp_profile: str | None = None

    def can_become(self, status: JournalStatus) -> bool:
        return status in TRANSITIONS[self.status]


def reversal_of(entry: JournalEntry, *, entry_date: date, reason: str) -> JournalEntry:
    """The entry that undoes ``entry``: the same lines on the opposite sides."""
    flipped = tuple(
        JournalLine(line.account, Side.CREDIT if line.side is Side.DEBIT else Side.DEBIT,
                    line.amount, line.currency, cost_centre=line.cost_centre,
                    memo=f"Reversal: {line.memo}" if line.memo else "Reversal",
                    source_ref=line.source_ref)
        for line in entry.lines
    )
    return JournalEntry(entry_date, f"Reversal of {entry.description}: {reason}"[:400], flipped,
                        source="reversal", reference=entry.reference)

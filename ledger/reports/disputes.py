"""Disputes of charge lines: their lifecycle, the correcting journal of an accepted one, and the
dispute rates that measure adoption and the model's quality.

A cost owner disputes one line of a statement (cost centre, pool and rule of a run) with a
reason. A cost analyst takes it under review and accepts it with a correction (an amount up to
the line's) or rejects it with an answer. The correction is a journal like any other: drafted,
submitted and approved by someone else, so a dispute cannot move money on its own.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ledger.errors import ConflictError, InputError
from ledger.journal import JournalEntry, JournalLine
from ledger.money import currency_quantum, is_quantised, minor_unit_exponent

SOURCE = "dispute"


class DisputeStatus(enum.StrEnum):
    OPEN = "open"
    UNDER_REVIEW = "under_review"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


#: Where each status may go next; accepted and rejected are final.
TRANSITIONS: dict[DisputeStatus, frozenset[DisputeStatus]] = {
    DisputeStatus.OPEN: frozenset({DisputeStatus.UNDER_REVIEW, DisputeStatus.ACCEPTED,
                                   DisputeStatus.REJECTED}),
    DisputeStatus.UNDER_REVIEW: frozenset({DisputeStatus.ACCEPTED, DisputeStatus.REJECTED}),
    DisputeStatus.ACCEPTED: frozenset(),
    DisputeStatus.REJECTED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class Dispute:
    """A disputed charge line. ``amount`` is the line as charged; ``correction`` what an
    accepted dispute gives back, booked by journal ``journal_id``."""

    id: int
    period: str
    run_id: int
    cost_centre: str
    pool: str
    rule: str
    currency: str
    amount: Decimal
    reason: str
    status: DisputeStatus
    raised_by: str
    raised_at: datetime
    reviewed_by: str | None = None
    answer: str | None = None
    correction: Decimal | None = None
    journal_id: int | None = None
    decided_at: datetime | None = None

    def can_become(self, status: DisputeStatus) -> bool:
        return status in TRANSITIONS[self.status]

    def require(self, status: DisputeStatus) -> None:
        if not self.can_become(status):
            raise ConflictError(f"dispute {self.id} is {self.status.value} and cannot become "
                                f"{status.value}")


def check_correction(dispute: Dispute, correction: Decimal) -> Decimal:
    """The correction, if it is a positive amount in the currency's minor unit no larger than
    the disputed line (a dispute gives back at most what was charged)."""
    if correction <= 0:
        raise InputError("a correction must be more than zero", field="correction",
                         value=format(correction, "f"))
    if not is_quantised(correction, currency_quantum(dispute.currency)):
        raise InputError(f"a correction in {dispute.currency} has at most "
                         f"{minor_unit_exponent(dispute.currency)} decimals",
                         field="correction", value=format(correction, "f"))
    if correction > dispute.amount:
        raise InputError(f"the correction {correction} is more than the disputed line "
                         f"({dispute.amount} {dispute.currency})", field="correction",
                         value=format(correction, "f"))
    return correction


def correcting_entry(dispute: Dispute, *, correction: Decimal, expense_account: str,
                     recovery_account: str, pool_owner: str, entry_date: date) -> JournalEntry:
    """The journal giving ``correction`` back: the opposite of the allocation's own lines
    (credit the expense on the disputing cost centre, debit the recovery on the pool's owner)."""
    check_correction(dispute, correction)
    memo = f"Dispute {dispute.id}: {dispute.pool}/{dispute.rule} {dispute.period}"
    ref = f"dispute:{dispute.id}:run:{dispute.run_id}"
    return JournalEntry(entry_date, f"Correction of dispute {dispute.id}", (
        JournalLine.debit(recovery_account, correction, dispute.currency,
                          cost_centre=pool_owner, memo=memo, source_ref=ref),
        JournalLine.credit(expense_account, correction, dispute.currency,
                           cost_centre=dispute.cost_centre, memo=memo, source_ref=ref)),
        source=SOURCE, reference=f"dispute {dispute.id}")


@dataclass(frozen=True, slots=True)
class DisputeRate:
    """Disputes per charge lines for one period, pool or rule (``dimension`` says which), by
    line count and by amount.

    ``amounts`` holds per currency ``(currency, charged, disputed, corrected)``: what the charge
    lines charged (the absolute net of each line), what the disputed lines had charged, and the
    corrections of accepted disputes. A small line disputed counts as much as a large one in
    :attr:`rate`; :meth:`amount_rate` weighs them by money.
    """

    dimension: str
    key: str
    lines: int
    disputed: int
    accepted: int
    rejected: int
    amounts: tuple[tuple[str, Decimal, Decimal, Decimal], ...] = ()

    def amount_rate(self, currency: str | None = None) -> Decimal | None:
        """Disputed amount over charged amount in ``currency`` (default: the only one; None
        when there are several and none is named, or nothing was charged)."""
        if currency is None:
            if len(self.amounts) != 1:
                return None
            currency = self.amounts[0][0]
        for name, charged, disputed, _corrected in self.amounts:
            if name == currency:
                return disputed / charged if charged else None
        return None

    def corrected_rate(self, currency: str | None = None) -> Decimal | None:
        """Corrected amount (accepted disputes) over charged amount, as :meth:`amount_rate`."""
        if currency is None:
            if len(self.amounts) != 1:
                return None
            currency = self.amounts[0][0]
        for name, charged, _disputed, corrected in self.amounts:
            if name == currency:
                return corrected / charged if charged else None
        return None

    def amounts_json(self) -> list[dict[str, str | None]]:
        return [{"currency": c, "charged": format(ch, "f"), "disputed": format(d, "f"),
                 "corrected": format(co, "f"),
                 "amount_rate": None if not ch else format(d / ch, ".6f"),
                 "corrected_rate": None if not ch else format(co / ch, ".6f")}
                for c, ch, d, co in self.amounts]

    @property
    def rate(self) -> Decimal:
        return Decimal(self.disputed) / self.lines if self.lines else Decimal(0)

    @property
    def accepted_rate(self) -> Decimal:
        return Decimal(self.accepted) / self.lines if self.lines else Decimal(0)


def _line_keys(period: str, lines: Iterable[Any]) -> set[tuple[str, str, str, str, str]]:
    """Charge lines as disputes name them: period, cost centre, pool, rule, currency."""
    return {(period, li.cost_centre, li.pool, li.rule, li.currency) for li in lines}


def dispute_rates(lines_by_period: dict[str, Sequence[Any]], disputes: Sequence[Dispute]
                  ) -> list[DisputeRate]:
    """Dispute rates per period, per pool and per rule: disputed lines over charge lines.

    A line disputed twice counts once (the rate is of lines, so that a persistent owner does
    not make a model look worse than it is); disputes of periods not given are left out.
    """
    keys = set().union(*(_line_keys(p, ls) for p, ls in lines_by_period.items())) \
        if lines_by_period else set()
    charged: dict[tuple[str, str, str, str, str], Decimal] = defaultdict(Decimal)
    for period, period_lines in lines_by_period.items():
        for li in period_lines:
            charged[(period, li.cost_centre, li.pool, li.rule, li.currency)] += li.amount
    money = _amounts(keys, charged, disputes)
    counts: dict[tuple[str, str], list[set[Any]]] = defaultdict(lambda: [set(), set(), set(),
                                                                          set()])
    for key in keys:
        for dimension in _dimensions(key):
            counts[dimension][0].add(key)
    for dispute in disputes:
        key = (dispute.period, dispute.cost_centre, dispute.pool, dispute.rule, dispute.currency)
        if key not in keys:
            continue
        for dimension in _dimensions(key):
            counts[dimension][1].add(key)
            if dispute.status is DisputeStatus.ACCEPTED:
                counts[dimension][2].add(key)
            elif dispute.status is DisputeStatus.REJECTED:
                counts[dimension][3].add(key)
    return [DisputeRate(dimension, key, len(c[0]), len(c[1]), len(c[2]), len(c[3]),
                        tuple((cur, *money[(dimension, key)][cur])
                              for cur in sorted(money[(dimension, key)])))
            for (dimension, key), c in sorted(counts.items())]


def _amounts(keys: set[tuple[str, str, str, str, str]],
             charged: dict[tuple[str, str, str, str, str], Decimal],
             disputes: Sequence[Dispute]) -> dict[tuple[str, str], dict[str, list[Decimal]]]:
    """Per dimension and currency ``[charged, disputed, corrected]``: each line once (its
    absolute net), a line disputed twice once, every accepted correction."""
    money: dict[tuple[str, str], dict[str, list[Decimal]]] = defaultdict(
        lambda: defaultdict(lambda: [Decimal(0), Decimal(0), Decimal(0)]))
    for key in keys:
        for dimension in _dimensions(key):
            money[dimension][key[4]][0] += abs(charged[key])
    disputed = {(d.period, d.cost_centre, d.pool, d.rule, d.currency) for d in disputes}
    for key in disputed & keys:
        for dimension in _dimensions(key):
            money[dimension][key[4]][1] += abs(charged[key])
    for dispute in disputes:
        key = (dispute.period, dispute.cost_centre, dispute.pool, dispute.rule, dispute.currency)
        if key in keys and dispute.status is DisputeStatus.ACCEPTED and dispute.correction:
            for dimension in _dimensions(key):
                money[dimension][key[4]][2] += dispute.correction
    return money


def _dimensions(key: tuple[str, str, str, str, str]) -> tuple[tuple[str, str], ...]:
    period, _centre, pool, rule, _currency = key
    return (("period", period), ("pool", pool), ("rule", rule))

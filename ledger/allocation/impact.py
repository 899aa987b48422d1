"""Impact analysis: what a draft rule-set version would change, per cost centre.

Run the same period with the active and the draft version (:func:`~ledger.allocation.engine.
allocate_period` is pure, so nothing is stored) and compare the results with :func:`impact`.
:func:`ledger.allocation.rules.diff` lists the rule changes themselves.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from ledger.allocation.engine import AllocationResult


@dataclass(frozen=True, slots=True)
class ImpactLine:
    """The change of one cost centre's allocated amount in one currency.

    Attributes:
        cost_centre: the cost centre, or None for the unallocated amount.
        before, after, difference: quantised; ``difference = after - before``.
    """

    cost_centre: str | None
    currency: str
    before: Decimal
    after: Decimal
    difference: Decimal


def _amounts(result: AllocationResult) -> dict[tuple[str | None, str], Decimal]:
    amounts: dict[tuple[str | None, str], Decimal] = defaultdict(Decimal)
    for line in result.lines:
        amounts[(line.cost_centre, line.currency)] += line.amount
    for gap in result.unallocated:
        amounts[(None, gap.currency)] += gap.amount
    return amounts


def impact(before: AllocationResult, after: AllocationResult, *, changes_only: bool = True
           ) -> list[ImpactLine]:
    """Per cost centre (and the unallocated amount, ``cost_centre=None``, listed last) and
    currency, the amounts of ``before`` and ``after`` and their difference.

    With the same inputs the differences sum to zero per currency (both runs conserve the same
    source total). ``changes_only`` leaves out cost centres whose amount did not change.
    """
    old, new = _amounts(before), _amounts(after)
    lines = []
    for key in sorted(set(old) | set(new), key=lambda k: (k[0] is None, k[0] or "", k[1])):
        was, now = old.get(key, Decimal(0)), new.get(key, Decimal(0))
        if changes_only and was == now:
            continue
        lines.append(ImpactLine(cost_centre=key[0], currency=key[1], before=was, after=now,
                                difference=now - was))
    return lines

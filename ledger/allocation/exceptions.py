"""The exceptions register's effect on a run: approved, scoped, expiring, never a rule edit.

An exception says, for example, "cost centre 5010's October spike in Amazon SageMaker is absorbed
centrally": within its scope (a cost centre, optionally a service-name pattern and a pool, a
range of periods) a share of the directly mapped cost (or a fixed amount, at most what is in
scope) moves to a target cost centre (by default the rule set's central cost centre).

:func:`apply_exceptions` takes a finished :class:`~ledger.allocation.engine.AllocationResult`
and returns a new one in which each moved amount is a pair of ``exception`` lines (minus on the
cost centre, plus on the target), so both cost centres' explanations show it, with its sources.
Amounts are quantised to the minor unit before they move, so the run's totals (and the
conservation of every minor unit) are untouched; journals are rebuilt from the new lines, so
they still balance by construction. An exception that is not approved, has expired on the day
of the run, or does not cover the period changes nothing.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from ledger.allocation.engine import (
    AllocationLine,
    AllocationResult,
    LineKind,
    SourceInput,
    _journals,
    _period_bounds,
)
from ledger.allocation.rules import Chargeback, RuleSet, normalise_key
from ledger.errors import InputError
from ledger.money import allocate, currency_quantum, round_to_currency


@dataclass(frozen=True, slots=True)
class AllocationException:
    """One entry of the exceptions register.

    Attributes:
        service: a service-name pattern (``*`` wildcards, case-insensitive); None: any service.
        pool: only cost lines of this pool; None: any pool.
        share_percent: the share of the in-scope cost that moves (default 100).
        amount: a fixed amount to move instead, per currency, at most what is in scope.
        target_cost_centre: who absorbs it; None: the rule set's central cost centre.
        approved_by: None until a second person approves it (maker-checker).
    """

    id: int
    title: str
    owner: str
    cost_centre: str
    period_from: str
    period_to: str
    expires_on: date
    service: str | None = None
    pool: str | None = None
    share_percent: Decimal | None = None
    amount: Decimal | None = None
    target_cost_centre: str | None = None
    approved_by: str | None = None
    revoked: bool = False

    def __post_init__(self) -> None:
        for name in ("period_from", "period_to"):
            _period_bounds(getattr(self, name))
        if self.period_to < self.period_from:
            raise InputError("is before period_from", field="period_to", value=self.period_to)
        if (self.share_percent is None) == (self.amount is None):
            raise InputError("give either a share (percent) or an amount", field="share_percent")
        if self.share_percent is not None and not Decimal(0) < self.share_percent <= 100:
            raise InputError("must be more than 0 and at most 100", field="share_percent",
                             value=self.share_percent)
        if self.amount is not None and self.amount <= 0:
            raise InputError("must be more than 0", field="amount", value=self.amount)

    @property
    def rule(self) -> str:
        return f"exception:{self.id}"

    def applies(self, period: str, today: date) -> bool:
        """Approved, not revoked, not expired on ``today``, and covering ``period``."""
        return (self.approved_by is not None and not self.revoked and today <= self.expires_on
                and self.period_from <= period <= self.period_to)

    def covers(self, source: SourceInput) -> bool:
        if source.kind != "direct" or source.cost_centre is None:
            return False
        if normalise_key(source.cost_centre) != normalise_key(self.cost_centre):
            return False
        if self.pool is not None and source.pool != self.pool:
            return False
        if self.service is not None:
            service = source.line.attribute("service_name")
            if service is None or not fnmatch.fnmatchcase(service.casefold(),
                                                          self.service.casefold()):
                return False
        return True


@dataclass(frozen=True, slots=True)
class AppliedException:
    """What one exception moved in one pool and currency, and the cost lines it moved from."""

    exception: AllocationException
    target: str
    pool: str
    currency: str
    moved: Decimal
    sources: tuple[SourceInput, ...]

    @property
    def rule(self) -> str:
        return self.exception.rule

    def describe(self) -> str:
        e = self.exception
        scope = f"{e.cost_centre}" + (f", service {e.service}" if e.service else "")
        effect = (f"{format(e.share_percent.normalize(), 'f')} %" if e.share_percent is not None
                  else f"up to {e.amount} {self.currency}")
        return (f"{e.title!r} (owner {e.owner}, approved by {e.approved_by}, {e.period_from} to "
                f"{e.period_to}, expires {e.expires_on}): {effect} of {scope} moved to "
                f"{self.target}")


def _moves(exception: AllocationException, in_scope: dict[tuple[str, str], list[SourceInput]]
           ) -> dict[tuple[str, str], Decimal]:
    """The quantised amount moved per (pool, currency)."""
    exact = {key: sum((s.line.amount for s in sources), Decimal(0))
             for key, sources in in_scope.items()}
    if exception.share_percent is not None:
        share = Fraction(exception.share_percent) / 100
        return {key: round_to_currency(Decimal(share.numerator) * total
                                       / Decimal(share.denominator), key[1])
                for key, total in exact.items()}
    moved: dict[tuple[str, str], Decimal] = {}
    by_currency: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in sorted(exact):
        by_currency[key[1]].append(key)
    assert exception.amount is not None
    for currency, keys in by_currency.items():
        available = round_to_currency(sum((exact[k] for k in keys), Decimal(0)), currency)
        total = min(round_to_currency(exception.amount, currency), max(available, Decimal(0)))
        weights = [max(exact[k], Decimal(0)) for k in keys]
        if total <= 0 or not any(weights):
            continue
        parts = allocate(total, weights, quantum=currency_quantum(currency))
        moved.update(zip(keys, parts, strict=True))
    return moved


def apply_exceptions(result: AllocationResult, ruleset: RuleSet,
                     exceptions: Sequence[AllocationException], *, today: date
                     ) -> AllocationResult:
    """``result`` with the effect of every exception that applies on ``today``; unchanged (the
    same object) when none does."""
    active = [e for e in exceptions if e.applies(result.period, today)]
    if not active:
        return result
    pools = {pool.id: pool for pool in ruleset.pools}
    lines = list(result.lines)
    applied: list[AppliedException] = []
    for exception in sorted(active, key=lambda e: e.id):
        target = exception.target_cost_centre or ruleset.central_cost_centre
        in_scope: dict[tuple[str, str], list[SourceInput]] = defaultdict(list)
        for source in result.inputs:
            if exception.covers(source) and source.pool is not None:
                in_scope[(source.pool, source.line.currency)].append(source)
        for (pool_id, currency), moved in sorted(_moves(exception, in_scope).items()):
            if not moved:
                continue
            pool = pools[pool_id]
            account = pool.expense_account or ruleset.expense_account
            for centre, amount in ((exception.cost_centre, -moved), (target, moved)):
                lines.append(AllocationLine(
                    cost_centre=centre, pool=pool_id, rule=exception.rule, account=account,
                    kind=LineKind.EXCEPTION, currency=currency, amount=amount,
                    exact=Fraction(amount),
                    charged=pool.chargeback is not Chargeback.SHOWBACK and centre != pool.owner))
            applied.append(AppliedException(exception, target, pool_id, currency, moved,
                                            tuple(in_scope[(pool_id, currency)])))
    if not applied:
        return result
    _, end = _period_bounds(result.period)
    journals = []
    for currency in sorted({line.currency for line in lines}):
        journals += _journals(currency, [li for li in lines if li.currency == currency],
                              [t for t in result.transfers if t.currency == currency],
                              ruleset, pools, result.period, end)
    fingerprint = hashlib.sha256(json.dumps({
        "run": result.fingerprint,
        "exceptions": [[a.exception.id, a.pool, a.currency, format(a.moved, "f"), a.target]
                       for a in applied],
    }, sort_keys=True).encode()).hexdigest()
    return dataclasses.replace(result, lines=tuple(lines), journals=tuple(journals),
                               fingerprint=fingerprint, exceptions=tuple(applied))


__all__ = ["AllocationException", "AppliedException", "apply_exceptions"]

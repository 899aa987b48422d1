"""The cost-centre statement ("bill of IT"): what one cost centre was charged in a period, by
pool and rule, with the basis of each line, the trend against prior periods and the budget,
and the lines that moved most since the period before.

The statement is built from the stored lines of an allocation run, so its total is by
construction the cost centre's allocation in that run (the tests check it against the run).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

#: Line kinds a rule placed on the cost centre by name (not by a share of a pool).
DIRECT_KINDS = frozenset({"direct", "exception"})
#: How many lines the "top movers" list keeps.
TOP_MOVERS = 5


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One charge: pool, rule and kind, with the basis in words (the driver behind it)."""

    pool: str
    rule: str
    kind: str
    account: str
    currency: str
    amount: Decimal
    charged: bool
    basis: str
    #: The catalogue service the charge came through (its pool is the service's), else "".
    service: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.pool, self.rule, self.kind, self.currency)


@dataclass(frozen=True, slots=True)
class Mover:
    """A line whose amount changed most against the prior period."""

    pool: str
    rule: str
    currency: str
    before: Decimal
    now: Decimal

    @property
    def change(self) -> Decimal:
        return self.now - self.before


@dataclass(frozen=True, slots=True)
class ShadowFigure:
    """In shadow chargeback, both figures of one currency: ``showback`` is what the cost centre
    is shown (and, like every showback, not posted); ``chargeback`` what would have been posted
    had it been in chargeback (the run's policy report computed both)."""

    currency: str
    showback: Decimal
    chargeback: Decimal


@dataclass(frozen=True, slots=True)
class Statement:
    cost_centre: str
    name: str
    period: str
    run_id: int
    ruleset: str
    lines: tuple[StatementLine, ...]
    #: ``(period, currency) -> amount`` of the prior periods and this one, oldest first.
    trend: tuple[tuple[str, str, Decimal], ...]
    budget: Decimal | None
    budget_currency: str | None
    movers: tuple[Mover, ...]
    #: The cost centre's charging mode in the run: ``showback``, ``shadow`` or ``chargeback``.
    mode: str | None = None
    #: In ``shadow`` mode, the showback figure and the would-be chargeback per currency.
    shadow: tuple[ShadowFigure, ...] = ()

    @property
    def totals(self) -> dict[str, Decimal]:
        """Charged to the cost centre per currency (showback lines included: they are its
        allocation too; :attr:`charged_totals` leaves them out)."""
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            totals[line.currency] += line.amount
        return dict(sorted(totals.items()))

    @property
    def charged_totals(self) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for line in self.lines:
            if line.charged:
                totals[line.currency] += line.amount
        return dict(sorted(totals.items()))

    def by_pool(self) -> dict[tuple[str, str], Decimal]:
        totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for line in self.lines:
            totals[(line.pool, line.currency)] += line.amount
        return dict(sorted(totals.items()))

    def by_service(self) -> dict[tuple[str, str], Decimal]:
        """Per (catalogue service, currency) what came through it; charges that came through
        no service are under their pool's id in parentheses (``(cloud)``)."""
        totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for line in self.lines:
            totals[(line.service or f"({line.pool})", line.currency)] += line.amount
        return dict(sorted(totals.items()))

    def budget_used(self) -> Decimal | None:
        """This period's charge as a fraction of the budget (None without a budget)."""
        if not self.budget or self.budget_currency is None:
            return None
        return self.totals.get(self.budget_currency, Decimal(0)) / self.budget


def _summed(lines: Sequence[Any], cost_centre: str) -> dict[tuple[str, str, str, str], Any]:
    """The run's lines of ``cost_centre`` merged per (pool, rule, kind, currency)."""
    merged: dict[tuple[str, str, str, str], list[Any]] = defaultdict(list)
    for line in lines:
        if line.cost_centre == cost_centre:
            merged[(line.pool, line.rule, line.kind, line.currency)].append(line)
    return merged


def build_statement(*, cost_centre: str, name: str, period: str, run_id: int, ruleset: str,
                    lines: Sequence[Any], history: Mapping[str, Sequence[Any]],
                    bases: Mapping[tuple[str, str], str] | None = None,
                    budget: Decimal | None = None, budget_currency: str | None = None,
                    mode: str | None = None, shadow: Sequence[ShadowFigure] = (),
                    services: Mapping[str, str] | None = None) -> Statement:
    """The statement of ``cost_centre`` from the stored ``lines`` of run ``run_id``.

    ``history`` maps earlier periods to their runs' lines (for the trend and the movers: the
    latest earlier period is the comparison); ``bases`` maps ``(rule, kind)`` to the sentence
    explaining it (the driver and the cost centre's quantity), else the kind is shown.
    ``mode`` is the charging mode the policy gave the cost centre (without one: ``chargeback``
    when a line was posted, else ``showback``); ``shadow`` its figures in shadow chargeback.
    ``services`` maps a pool that is a catalogue service to the service's code.
    """
    bases = bases or {}
    services = services or {}
    own = []
    for (pool, rule, kind, currency), group in sorted(_summed(lines, cost_centre).items()):
        amount = sum((li.amount for li in group), Decimal(0))
        basis = bases.get((rule, kind)) or _default_basis(kind, rule)
        own.append(StatementLine(pool, rule, kind, group[0].account, currency, amount,
                                 any(li.charged for li in group), basis,
                                 services.get(pool, "")))
    trend = []
    for earlier in sorted(history):
        for currency, amount in _totals(history[earlier], cost_centre).items():
            trend.append((earlier, currency, amount))
    statement_lines = tuple(own)
    for currency, amount in _totals(lines, cost_centre).items():
        trend.append((period, currency, amount))
    prior = history[max(history)] if history else ()
    if mode is None:
        mode = "chargeback" if any(li.charged for li in statement_lines) else "showback"
    return Statement(cost_centre, name, period, run_id, ruleset, statement_lines, tuple(trend),
                     budget, budget_currency, _movers(lines, prior, cost_centre), mode,
                     tuple(shadow))


#: The basis of a line in words, by kind, when no driver sentence is known.
KIND_BASIS = {
    "exception": "charged directly under an approved exception",
    "idle": "idle capacity, charged to its buyer by the pool's idle policy",
    "idle_penalty": "surcharge on the idle capacity this cost centre bought",
    "penalty_rebate": "its share of the idle surcharge, credited back",
    "subsidy": "the subsidised share of the pool, absorbed centrally",
}


def _default_basis(kind: str, rule: str) -> str:
    if kind == "direct":
        if ":" in rule:  # e.g. depreciation:hardware, licence:licences
            return f"charged directly: the {rule.split(':')[0]} source names this cost centre"
        return f"charged directly: mapping rule {rule} named this cost centre"
    return KIND_BASIS.get(kind, f"{kind.replace('_', ' ')} share of the pool")


def _totals(lines: Sequence[Any], cost_centre: str) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.cost_centre == cost_centre:
            totals[line.currency] += line.amount
    return dict(sorted(totals.items()))


def _per_rule(lines: Sequence[Any], cost_centre: str) -> dict[tuple[str, str, str], Decimal]:
    totals: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.cost_centre == cost_centre:
            totals[(line.pool, line.rule, line.currency)] += line.amount
    return totals


def _movers(lines: Sequence[Any], prior: Sequence[Any], cost_centre: str) -> tuple[Mover, ...]:
    now, before = _per_rule(lines, cost_centre), _per_rule(prior, cost_centre)
    movers = [Mover(pool, rule, currency, before.get(key, Decimal(0)), now.get(key, Decimal(0)))
              for key in now.keys() | before.keys() for pool, rule, currency in [key]]
    movers = [m for m in movers if m.change]
    movers.sort(key=lambda m: (-abs(m.change), m.pool, m.rule))
    return tuple(movers[:TOP_MOVERS])

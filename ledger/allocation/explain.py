"""Explain: why a cost centre was charged what it was, down to the source rows.

:func:`explain` breaks a cost centre's allocated amounts in a :class:`~ledger.allocation.engine.
AllocationResult` into pools and rules and names the cost lines behind each (the billing cost
group's dimensions and tags, the depreciation charge's asset and book, the manual entry's id).
:func:`source_rows` then finds the billing rows of one cost line in the cost fact store: the
source files and row ranges (1-based; in a CSV file the header is row 1).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from ledger.allocation.engine import AllocationResult, LineKind, PoolSplit, SourceInput
from ledger.costfacts import CostFactStore


@dataclass(frozen=True, slots=True)
class ExplainItem:
    """One allocated amount of the cost centre and what is behind it.

    Attributes:
        amount: quantised, as in the result's line.
        exact: the unrounded amount.
        sources: the cost lines behind it: for a direct line those the rule mapped to the
            cost centre; for a share, idle or subsidy line, those that made up the pool.
        share: for a shared line, the cost centre's fraction of the pool's split total.
        pool_total: for a shared line, the pool's split total (own + received).
        received: for a shared line, what other pools passed on to this pool (step-down or
            reciprocal), by pool.
        note: one sentence for the reader.
    """

    pool: str
    rule: str
    kind: LineKind
    account: str
    currency: str
    amount: Decimal
    exact: Fraction
    sources: tuple[SourceInput, ...]
    share: Fraction | None = None
    pool_total: Fraction | None = None
    received: tuple[tuple[str, Fraction], ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class Explanation:
    """A cost centre's allocation in one run.

    Attributes:
        totals: allocated amount per currency (sum of the items' amounts).
    """

    cost_centre: str
    period: str
    ruleset: str
    fingerprint: str
    totals: dict[str, Decimal]
    items: tuple[ExplainItem, ...]


_NOTES = {
    LineKind.DIRECT: "mapped by rule {rule} from the cost lines listed",
    LineKind.SHARED: "{share} of pool {pool}'s split total by rule {rule}",
    LineKind.IDLE: "idle capacity or unused commitment of pool {pool} (rule {rule}), per the "
                   "pool's idle policy",
    LineKind.IDLE_PENALTY: "penalty on the idle cost of pool {pool} charged to its owner",
    LineKind.PENALTY_REBATE: "the idle penalty of pool {pool} credited back to its consumers",
    LineKind.SUBSIDY: "the share of pool {pool} absorbed centrally (subsidy)",
    LineKind.RATE_DIFFERENCE: "pool {pool}'s cost minus what its rate card (rule {rule}) "
                              "recovered",
    LineKind.EXCEPTION: "moved by {rule} of the exceptions register",
}


def _percent(share: Fraction) -> str:
    """``Fraction(1, 3)`` as ``33.3333 %`` (display only)."""
    value = Decimal(share.numerator * 100) / Decimal(share.denominator)
    return f"{value.quantize(Decimal('0.0001'))} %"


def _note(result: AllocationResult, kind: LineKind, rule: str, pool: str,
          share: Fraction | None) -> str:
    note = _NOTES[kind].format(rule=rule, pool=pool,
                               share=_percent(share) if share else "a share")
    if kind is LineKind.EXCEPTION:
        described = next((a.describe() for a in result.exceptions if a.rule == rule), "")
        note = f"{note}: {described}" if described else note
    return note


def explain(result: AllocationResult, cost_centre: str) -> Explanation:
    """The breakdown of ``cost_centre``'s amounts in ``result`` into pools, rules and sources.

    A cost centre with no allocation gets an explanation with no items.
    """
    by_rule: dict[tuple[str, str, str], list[SourceInput]] = defaultdict(list)
    by_pool: dict[tuple[str, str], list[SourceInput]] = defaultdict(list)
    for source in result.inputs:
        if source.pool is None:
            continue
        if source.kind == "direct" and source.cost_centre is not None:
            assert source.rule is not None
            by_rule[(source.cost_centre, source.pool, source.rule)].append(source)
        elif source.kind in ("shared", "idle"):
            by_pool[(source.pool, source.line.currency)].append(source)
    splits: dict[tuple[str, str], PoolSplit] = {
        (split.pool, split.currency): split for split in result.splits
    }
    items = []
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in result.lines:
        if line.cost_centre != cost_centre:
            continue
        totals[line.currency] += line.amount
        split = splits.get((line.pool, line.currency))
        share = None
        if line.kind is LineKind.DIRECT:
            sources = tuple(by_rule.get((cost_centre, line.pool, line.rule), ()))
        elif line.kind is LineKind.EXCEPTION:
            sources = next((applied.sources for applied in result.exceptions
                            if applied.rule == line.rule and applied.pool == line.pool
                            and applied.currency == line.currency), ())
        else:
            sources = tuple(by_pool.get((line.pool, line.currency), ()))
        if line.kind is LineKind.SHARED and split is not None:
            share = dict(split.shares).get(cost_centre)
        items.append(ExplainItem(
            pool=line.pool, rule=line.rule, kind=line.kind, account=line.account,
            currency=line.currency, amount=line.amount, exact=line.exact, sources=sources,
            share=share,
            pool_total=split.total if split is not None and share is not None else None,
            received=split.received if split is not None and share is not None else (),
            note=_note(result, line.kind, line.rule, line.pool, share),
        ))
    return Explanation(cost_centre=cost_centre, period=result.period, ruleset=result.ruleset,
                       fingerprint=result.fingerprint, totals=dict(totals), items=tuple(items))


@dataclass(frozen=True, slots=True)
class RowRange:
    """Where the rows of a billing cost line are: a file and its first and last row numbers
    (the rows in between need not all belong to the line: ``rows`` says how many do)."""

    source_file: str
    first_row: int
    last_row: int
    rows: int


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def source_rows(store: CostFactStore, result: AllocationResult, source: SourceInput
                ) -> list[RowRange]:
    """The billing rows behind ``source``, a billing cost line of ``result``, in ``store``.

    Non-billing lines (depreciation, manual) have no rows in the store: an empty list.
    """
    line = source.line
    period = result.period
    if line.origin != "billing":
        return []
    conditions = [f"billing_period = {_sql_text(period)}",
                  f"billing_currency = {_sql_text(line.currency)}"]
    for name, value in line.attributes:
        if not name.replace("_", "").isalnum():
            raise ValueError(f"not a dimension: {name!r}")
        conditions.append(f'"{name}" IS NOT DISTINCT FROM '
                          f"{'NULL' if value is None else _sql_text(value)}")
    if result.by_tags:
        keys = ", ".join(_sql_text(k) for k, _ in line.tags)
        values = ", ".join(_sql_text(v) for _, v in line.tags)
        conditions.append(f"tags = map([{keys}]::VARCHAR[], [{values}]::VARCHAR[])")
    sql = ("SELECT source_file, min(source_row), max(source_row), count(*) "  # noqa: S608
           f"FROM cost_facts WHERE {' AND '.join(conditions)} GROUP BY 1 ORDER BY 1")
    with store.connect(periods=[period]) as con:
        return [RowRange(*row) for row in con.execute(sql).fetchall()]

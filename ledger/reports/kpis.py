"""KPIs of the allocation: how cost was placed (directly, by driver, or not at all), tag
coverage, unit costs, and the comparison with benchmark values the user keeps.

The three shares are percentages of the run's source total rounded to 0.01 by the largest
remainder, so that they add to exactly 100.00 on the report (rounding each on its own can give
99.99 or 100.01, which readers take for an error).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from ledger.reports.statement import DIRECT_KINDS

HUNDRED = Decimal(100)
CENT = Decimal("0.01")
SHARE_NAMES = ("direct", "driver", "unallocated")

#: For each KPI, whether a higher value is better (None: neither, e.g. a unit cost's level is a
#: choice); the benchmark comparison says "better" or "worse" from it.
HIGHER_IS_BETTER: dict[str, bool | None] = {
    "direct_share": True, "driver_share": None, "unallocated_share": False,
    "tag_coverage": True, "reconciliation_match_rate": True, "dispute_rate": False,
    "dispute_amount_rate": False,
    "cost_per_employee": False, "cost_per_device": False,
}


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A benchmark value of one KPI as entered or imported, and where it comes from."""

    kpi: str
    value: Decimal
    source: str | None = None


def _split(amounts: Mapping[str, Decimal], total: Decimal) -> dict[str, Decimal]:
    """Percentages of ``total`` to 0.01 adding to exactly 100 (largest remainder)."""
    exact = {name: amounts[name] * HUNDRED / total for name in SHARE_NAMES}
    floors = {name: value.quantize(CENT, rounding=ROUND_FLOOR) for name, value in exact.items()}
    missing = int((HUNDRED - sum(floors.values())) / CENT)
    for name in sorted(SHARE_NAMES, key=lambda n: (floors[n] - exact[n], n))[:missing]:
        floors[name] += CENT
    return floors


def allocation_shares(lines: Iterable[Any], gaps: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Per currency: the amounts and percentage shares allocated directly, by driver (shares,
    idle, subsidies) and left unallocated. Empty for a currency with nothing to allocate."""
    amounts: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: dict.fromkeys(SHARE_NAMES, Decimal(0)))
    for line in lines:
        amounts[line.currency]["direct" if line.kind in DIRECT_KINDS else "driver"] += line.amount
    for gap in gaps:
        amounts[gap.currency]["unallocated"] += gap.amount
    found = {}
    for currency, by_name in sorted(amounts.items()):
        total = sum(by_name.values(), Decimal(0))
        if total:
            found[currency] = {"total": total, "amounts": dict(by_name),
                               "percent": _split(by_name, total)}
    return found


def tag_coverage(lineage: Iterable[Any]) -> dict[str, Any]:
    """The share of billing cost (by amount and by cost line) that carried any tag; the
    lineage key holds the line's tags (:meth:`ledger.allocation.CostLine.key_text`)."""
    total = tagged = Decimal(0)
    lines = tagged_lines = 0
    for item in lineage:
        if item.origin != "billing":
            continue
        tags = json.loads(item.key)[3]
        lines += 1
        total += abs(item.amount)
        if tags:
            tagged_lines += 1
            tagged += abs(item.amount)
    return {"billing_lines": lines, "tagged_lines": tagged_lines,
            "by_amount": tagged / total if total else None,
            "by_lines": Decimal(tagged_lines) / lines if lines else None}


@dataclass(frozen=True, slots=True)
class KpiComparison:
    kpi: str
    value: Decimal | None
    benchmark: Decimal | None
    source: str | None

    @property
    def difference(self) -> Decimal | None:
        if self.value is None or self.benchmark is None:
            return None
        return self.value - self.benchmark

    @property
    def verdict(self) -> str | None:
        """``better``, ``worse``, ``on par`` or None (no benchmark, or no better direction)."""
        higher = HIGHER_IS_BETTER.get(self.kpi)
        if self.difference is None or higher is None:
            return None
        if not self.difference:
            return "on par"
        return "better" if (self.difference > 0) == higher else "worse"


def compare(values: Mapping[str, Decimal | None],
            benchmarks: Mapping[str, tuple[Decimal, str | None]]) -> list[KpiComparison]:
    """Each KPI beside its benchmark (``kpi -> (value, source)``); benchmarks of KPIs not
    computed are listed too, so that a typo in a benchmark name shows."""
    names: Sequence[str] = list(values) + sorted(set(benchmarks) - set(values))
    return [KpiComparison(name, values.get(name), *(benchmarks.get(name) or (None, None)))
            for name in names]

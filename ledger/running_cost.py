"""The cost of running the allocation itself, and the manual decisions it still takes.

The team's hours and the infrastructure the system runs on are entered as manual costs of one
pool (``allocation-ops`` unless named otherwise: ``apportion manual-costs import``), so the
rule set can charge them back like any pool. This report sets them against what the period
allocated (cost per allocated currency unit) and counts the manual decisions of each period in
the audit trail: approvals, rejections, rule activations, exceptions, hand-entered costs and
drivers. Automation shows as that count falling while the allocated amount does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

#: The pool whose manual costs are the allocation's running cost, by default.
RUNNING_COST_POOL = "allocation-ops"

#: Audit actions (exact, or a prefix ending in ``.``) that are a person's decision. Writes a
#: run or a posting makes on its own (``allocation.run``, ``journal.posted``) are not.
MANUAL_ACTIONS: tuple[str, ...] = (
    "journal.submit", "journal.approve", "journal.reject", "journal.requeue",
    "journal.reversed", "rules.import", "rules.activate", "rules.rollback",
    "exception.propose", "exception.approve", "exception.revoke", "manual_cost.save",
    "drivers.revision", "period.close", "period.reopen", "finding.acknowledged",
    "finding.dismissed", "dispute.", "provisioning.", "catalogue.tier_change",
    "policy.activate", "review.complete", "asset.transfer", "asset_mapping.",
)


def is_manual(action: str) -> bool:
    return any(action == a or (a.endswith(".") and action.startswith(a))
               for a in MANUAL_ACTIONS)


@dataclass(frozen=True, slots=True)
class PeriodRunningCost:
    """One period: the running cost and allocated total per currency, and manual decisions."""

    period: str
    running_cost: Mapping[str, Decimal]
    allocated: Mapping[str, Decimal]
    manual_decisions: int
    decisions_by_action: Mapping[str, int] = field(default_factory=dict)

    def per_allocated_unit(self, currency: str) -> Decimal | None:
        """Running cost per unit allocated (6 decimals); None when nothing was allocated."""
        allocated = self.allocated.get(currency, Decimal(0))
        if not allocated:
            return None
        return (self.running_cost.get(currency, Decimal(0)) / allocated).quantize(
            Decimal("0.000001"))

    def to_json(self) -> dict[str, Any]:
        currencies = sorted(set(self.running_cost) | set(self.allocated))
        return {
            "period": self.period,
            "running_cost": {c: format(self.running_cost.get(c, Decimal(0)), "f")
                             for c in currencies},
            "allocated": {c: format(self.allocated.get(c, Decimal(0)), "f") for c in currencies},
            "per_allocated_unit": {c: None if (v := self.per_allocated_unit(c)) is None
                                   else format(v, "f") for c in currencies},
            "manual_decisions": self.manual_decisions,
            "decisions_by_action": dict(sorted(self.decisions_by_action.items())),
        }


def running_costs(periods: Iterable[str],
                  costs: Iterable[tuple[str, str, Decimal]],
                  allocated: Iterable[tuple[str, str, Decimal]],
                  decisions: Iterable[tuple[str, str]]) -> list[PeriodRunningCost]:
    """Per period: ``costs`` and ``allocated`` are (period, currency, amount); ``decisions``
    are (period, action) of audit events, of which only the manual ones count."""
    wanted = sorted(set(periods))
    cost: dict[str, dict[str, Decimal]] = {p: {} for p in wanted}
    done: dict[str, dict[str, Decimal]] = {p: {} for p in wanted}
    for target, rows in ((cost, costs), (done, allocated)):
        for period, currency, amount in rows:
            if period in target:
                target[period][currency] = target[period].get(currency, Decimal(0)) + amount
    counts: dict[str, dict[str, int]] = {p: {} for p in wanted}
    for period, action in decisions:
        if period in counts and is_manual(action):
            counts[period][action] = counts[period].get(action, 0) + 1
    return [PeriodRunningCost(p, cost[p], done[p], sum(counts[p].values()), counts[p])
            for p in wanted]

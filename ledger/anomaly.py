"""Anomaly detection on cost series: robust, seasonality-aware, explainable.

A day's cost is compared with the same weekday in the weeks before it (weekly seasonality is
what cloud and IT costs mostly have: office days versus weekends, batch nights): the baseline
is their median and the spread their median absolute deviation (MAD), which a single earlier
spike cannot drag along as a mean and a standard deviation would. A day is a spike when it is
far above the baseline in robust units *and* by a material amount, so small, noisy costs do
not raise alarms.

Pure functions over ``{day: amount}`` series; amounts are Decimals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from statistics import median
from typing import Any

from ledger.finding import Finding, Severity

#: MAD times this estimates the standard deviation of normally distributed data.
MAD_SCALE = Decimal("1.4826")


@dataclass(frozen=True, slots=True)
class SpikeRule:
    """When a day counts as a spike.

    Attributes:
        weeks: how many earlier same weekdays form the baseline.
        min_history: fewer comparable days than this: no judgement (too little history).
        threshold: robust z-score above which a day is a spike.
        min_increase: and it must exceed the baseline by at least this much money,
        min_relative: and by at least this fraction of it (eight weeks give a rough spread:
            a 9 % bump on a calm series is not worth anyone's morning);
        min_ratio: when the spread is zero (a flat series), the day must exceed the baseline
            by this fraction instead.
    """

    weeks: int = 8
    min_history: int = 4
    threshold: Decimal = Decimal(4)
    min_increase: Decimal = Decimal(50)
    min_relative: Decimal = Decimal("0.25")
    min_ratio: Decimal = Decimal("0.5")


@dataclass(frozen=True, slots=True)
class Spike:
    """A day that stands out from its comparable days.

    Attributes:
        subject: what the series is of (``service:AmazonEC2``, ``cost_centre:2010``).
        day: the day.
        observed: that day's cost.
        baseline: median of the comparable days.
        spread: MAD of the comparable days.
        score: robust z-score (None when the spread is zero).
        comparable_days: the days the baseline was taken from.
    """

    subject: str
    day: date
    observed: Decimal
    baseline: Decimal
    spread: Decimal
    score: Decimal | None
    comparable_days: tuple[date, ...] = field(default=())

    @property
    def increase(self) -> Decimal:
        return self.observed - self.baseline

    @property
    def severity(self) -> Severity:
        ratio = self.observed / self.baseline if self.baseline > 0 else Decimal(100)
        if ratio >= 5:
            return Severity.CRITICAL
        if ratio >= 3:
            return Severity.HIGH
        if ratio >= 1.5:
            return Severity.MEDIUM
        return Severity.LOW

    def finding(self, *, cost_centre: str | None = None, owner_email: str | None = None,
                currency: str = "USD") -> Finding:
        return Finding(
            key=f"anomaly:cost-spike:{self.subject}:{self.day.isoformat()}",
            title=f"Cost spike in {self.subject} on {self.day}: {self.observed:,.2f} {currency} "
                  f"against a usual {self.baseline:,.2f}",
            description=(f"{self.subject} cost {self.observed:,.2f} {currency} on {self.day}, "
                         f"{self.increase:,.2f} above the median of the same weekday in the "
                         f"{len(self.comparable_days)} weeks before. Check what changed (new "
                         "resources, a runaway job, a pricing change) and whether it should be "
                         "charged as usual."),
            severity=self.severity, cost_centre=cost_centre, owner_email=owner_email,
            evidence={"subject": self.subject, "day": self.day.isoformat(),
                      "observed": format(self.observed, "f"),
                      "baseline": format(self.baseline, "f"),
                      "spread": format(self.spread, "f"),
                      "score": None if self.score is None else format(self.score, ".2f"),
                      "comparable_days": [d.isoformat() for d in self.comparable_days]})


def _median(values: Sequence[Decimal]) -> Decimal:
    return Decimal(median(values))


def find_spikes(subject: str, series: Mapping[date, Decimal], days: Sequence[date],
                rule: SpikeRule | None = None) -> list[Spike]:
    """The days in ``days`` on which ``series`` spikes. A day missing from the series costs
    zero (nothing was billed)."""
    rule = rule or SpikeRule()
    spikes = []
    for day in days:
        comparable = [day - timedelta(weeks=w) for w in range(1, rule.weeks + 1)]
        history = [series.get(d, Decimal(0)) for d in comparable if d >= min(series, default=day)]
        if len(history) < rule.min_history:
            continue
        observed = series.get(day, Decimal(0))
        baseline = _median(history)
        spread = _median([abs(v - baseline) for v in history])
        increase = observed - baseline
        if increase < rule.min_increase or increase < baseline * rule.min_relative:
            continue
        if spread > 0:
            score = increase / (MAD_SCALE * spread)
            if score < rule.threshold:
                continue
        else:
            score = None
            if baseline > 0 and increase < baseline * rule.min_ratio:
                continue
        spikes.append(Spike(subject, day, observed, baseline, spread, score,
                            tuple(d for d in comparable if d >= min(series, default=day))))
    return spikes


@dataclass(frozen=True, slots=True)
class UntaggedGrowth:
    """The share of cost without the required tag grew far beyond its usual level."""

    tag: str
    day: date
    share: Decimal
    baseline_share: Decimal
    untagged_cost: Decimal

    def finding(self, *, currency: str = "USD") -> Finding:
        return Finding(
            key=f"anomaly:untagged-growth:{self.tag}",
            title=f"Cost without tag {self.tag!r} rose to {self.share:.0%} on {self.day} "
                  f"(usually {self.baseline_share:.0%})",
            description=(f"{self.untagged_cost:,.2f} {currency} on {self.day} carries no "
                         f"{self.tag!r} tag, so no rule can charge it to its owner; tag the "
                         "resources (apportion billing totals shows where it comes from)."),
            severity=Severity.HIGH if self.share - self.baseline_share > Decimal("0.2")
            else Severity.MEDIUM,
            evidence={"tag": self.tag, "day": self.day.isoformat(),
                      "share": format(self.share, ".4f"),
                      "baseline_share": format(self.baseline_share, ".4f"),
                      "untagged_cost": format(self.untagged_cost, "f")})


def find_untagged_growth(tag: str, untagged: Mapping[date, Decimal],
                         total: Mapping[date, Decimal], day: date, *, weeks: int = 4,
                         min_rise: Decimal = Decimal("0.10")) -> UntaggedGrowth | None:
    """The day's untagged share against the median share of the previous ``weeks`` weeks."""
    def share(d: date) -> Decimal | None:
        all_cost = total.get(d, Decimal(0))
        return untagged.get(d, Decimal(0)) / all_cost if all_cost > 0 else None

    today = share(day)
    history = [s for s in (share(day - timedelta(days=n)) for n in range(1, weeks * 7 + 1))
               if s is not None]
    if today is None or len(history) < 7:
        return None
    baseline = _median(history)
    if today - baseline < min_rise:
        return None
    return UntaggedGrowth(tag, day, today, baseline, untagged.get(day, Decimal(0)))


def missing_tag_findings(resources: Mapping[str, Mapping[str, Any]],
                         required: Sequence[str]) -> list[Finding]:
    """A finding per resource lacking a required tag: ``resources`` maps resource id to its
    attributes (``tags``, ``first_seen``, ``cost``, ``service``)."""
    findings = []
    for resource, attributes in sorted(resources.items()):
        tags = {str(k).casefold() for k in (attributes.get("tags") or {})}
        missing = [t for t in required if t.casefold() not in tags]
        if missing:
            findings.append(Finding(
                key=f"missing-tag:{resource}",
                title=f"{attributes.get('service') or 'Resource'} {resource} lacks tag(s) "
                      f"{', '.join(missing)}",
                description=(f"The resource {resource}, first billed on "
                             f"{attributes.get('first_seen')}, has no {', '.join(missing)} "
                             "tag: its cost cannot be charged to its owner. Add the tag."),
                severity=Severity.LOW,
                evidence={"resource": resource, "missing": missing,
                          "first_seen": str(attributes.get("first_seen")),
                          "cost": str(attributes.get("cost"))}))
    return findings

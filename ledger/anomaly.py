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


# -- allocation outliers -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShareRule:
    """When a cost centre's share of a pool counts as moved far from its own history.

    Attributes:
        periods: how many earlier periods form the baseline.
        min_history: fewer earlier periods than this: no judgement.
        threshold: robust z-score (against the median and MAD of its earlier shares) beyond
            which the share is an outlier, in either direction;
        min_change: and the share must differ from its median by at least this fraction of
            the pool (a share that wobbles between 0.1 % and 0.3 % is not news).
    """

    periods: int = 12
    min_history: int = 3
    threshold: Decimal = Decimal(4)
    min_change: Decimal = Decimal("0.05")


@dataclass(frozen=True, slots=True)
class ShareOutlier:
    """A cost centre whose share of an allocation pool moved far from its history.

    Attributes:
        pool: what was allocated (a rule set, a pool name).
        period: the period judged (``YYYY-MM``).
        cost_centre: the receiving cost centre.
        share: its share of the pool in ``period`` (0 to 1).
        baseline: the median of its shares in the earlier periods.
        spread: their median absolute deviation.
        score: robust z-score (None when the earlier shares were all equal).
        amount: what it received in ``period``; pool_total: the pool's total then.
        compared_periods: the earlier periods the baseline was taken from.
    """

    pool: str
    period: str
    cost_centre: str
    share: Decimal
    baseline: Decimal
    spread: Decimal
    score: Decimal | None
    amount: Decimal
    pool_total: Decimal
    compared_periods: tuple[str, ...] = ()

    @property
    def change(self) -> Decimal:
        return self.share - self.baseline

    @property
    def severity(self) -> Severity:
        moved = abs(self.change)
        if moved >= Decimal("0.25"):
            return Severity.CRITICAL
        if moved >= Decimal("0.15"):
            return Severity.HIGH
        if moved >= Decimal("0.08"):
            return Severity.MEDIUM
        return Severity.LOW

    def finding(self, *, owner_email: str | None = None, currency: str = "USD") -> Finding:
        direction = "rose" if self.change > 0 else "fell"
        return Finding(
            key=f"anomaly:allocation-share:{self.pool}:{self.cost_centre}:{self.period}",
            title=f"Cost centre {self.cost_centre}'s share of {self.pool} {direction} to "
                  f"{self.share:.1%} in {self.period} (usually {self.baseline:.1%})",
            description=(f"In {self.period} cost centre {self.cost_centre} received "
                         f"{self.amount:,.2f} {currency} of {self.pool}'s "
                         f"{self.pool_total:,.2f}, a share of {self.share:.1%} against a median "
                         f"of {self.baseline:.1%} over the {len(self.compared_periods)} periods "
                         "before. Check the driver data (head counts, usage, tags) and the "
                         "rule before the allocation is approved."),
            severity=self.severity, cost_centre=self.cost_centre, owner_email=owner_email,
            evidence={"pool": self.pool, "period": self.period,
                      "cost_centre": self.cost_centre, "share": format(self.share, ".4f"),
                      "baseline_share": format(self.baseline, ".4f"),
                      "spread": format(self.spread, ".4f"),
                      "score": None if self.score is None else format(self.score, ".2f"),
                      "amount": format(self.amount, "f"),
                      "pool_total": format(self.pool_total, "f"),
                      "compared_periods": list(self.compared_periods)})


def find_share_outliers(pool: str, history: Mapping[str, Mapping[str, Decimal]], period: str,
                        rule: ShareRule | None = None) -> list[ShareOutlier]:
    """The cost centres whose share of ``pool`` in ``period`` is far from their own history.

    ``history`` maps period (``YYYY-MM``, sortable) to cost centre to the amount allocated to
    it; it must hold ``period`` itself. A cost centre missing from a period received nothing
    then (share 0), so one that appears from nowhere with a large share, or vanishes, counts.
    Periods whose pool total is zero are ignored."""
    rule = rule or ShareRule()

    def shares(amounts: Mapping[str, Decimal]) -> dict[str, Decimal] | None:
        total = sum(amounts.values(), Decimal(0))
        return {cc: a / total for cc, a in amounts.items()} if total != 0 else None

    current_amounts = history.get(period, {})
    current = shares(current_amounts)
    earlier = [p for p in sorted(history) if p < period][-rule.periods:]
    past = [(p, s) for p in earlier if (s := shares(history[p])) is not None]
    if current is None or len(past) < rule.min_history:
        return []
    total = sum(current_amounts.values(), Decimal(0))
    centres = set(current).union(*(s for _, s in past))
    outliers = []
    for centre in sorted(centres):
        series = [s.get(centre, Decimal(0)) for _, s in past]
        share = current.get(centre, Decimal(0))
        baseline = _median(series)
        spread = _median([abs(v - baseline) for v in series])
        change = share - baseline
        if abs(change) < rule.min_change:
            continue
        score = None
        if spread > 0:
            score = change / (MAD_SCALE * spread)
            if abs(score) < rule.threshold:
                continue
        outliers.append(ShareOutlier(pool, period, centre, share, baseline, spread, score,
                                     current_amounts.get(centre, Decimal(0)), total,
                                     tuple(p for p, _ in past)))
    return outliers


# -- assets no discovery source sees any more -----------------------------------------------


@dataclass(frozen=True, slots=True)
class UnseenAsset:
    """An in-service asset that no discovery source has reported for a while.

    Attributes:
        asset: its tag or id; name: what people call it.
        last_seen: the last day any source reported it (None: never).
        sources: the sources that used to report it.
        cost_centre: who is charged for it (and whose owner hears of it).
    """

    asset: str
    name: str | None
    last_seen: date | None
    sources: tuple[str, ...] = ()
    cost_centre: str | None = None

    def days_unseen(self, today: date) -> int | None:
        return None if self.last_seen is None else (today - self.last_seen).days

    def finding(self, *, today: date, max_days: int, owner_email: str | None = None
                ) -> Finding:
        days = self.days_unseen(today)
        severity = Severity.HIGH if days is None or days >= 3 * max_days else Severity.MEDIUM
        seen = "has never been reported" if days is None else \
            f"was last reported on {self.last_seen} ({days} days ago)"
        return Finding(
            key=f"inventory:unseen-asset:{self.asset}",
            title=f"Asset {self.asset}{f' ({self.name})' if self.name else ''} "
                  + ("never seen by any discovery source" if days is None else
                     f"not seen by any discovery source for {days} days"),
            description=(f"The in-service asset {self.asset} {seen} by any discovery source "
                         f"({max_days} days is the limit). It may be lost, retired without "
                         "a record, or off the network: find it, or retire it so that it is "
                         "no longer charged and depreciated."),
            severity=severity, cost_centre=self.cost_centre, owner_email=owner_email,
            evidence={"asset": self.asset, "name": self.name,
                      "last_seen": None if self.last_seen is None else self.last_seen.isoformat(),
                      "days_unseen": days, "max_days": max_days,
                      "sources": list(self.sources)})


def unseen_asset_findings(assets: Sequence[UnseenAsset], *, today: date, max_days: int,
                          owners: Mapping[str, str | None] | None = None) -> list[Finding]:
    """A finding per asset unseen for ``max_days`` days or more (or never seen)."""
    owners = owners or {}
    return [asset.finding(today=today, max_days=max_days,
                          owner_email=owners.get(asset.cost_centre or ""))
            for asset in sorted(assets, key=lambda a: a.asset)
            if (days := asset.days_unseen(today)) is None or days >= max_days]

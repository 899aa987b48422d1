"""Forecast of a cost centre's allocation from its history, and the accuracy of earlier
forecasts against what was then allocated.

The method is a seasonal baseline: with a year of history, next period = the same month last
year scaled by how the latest three months compare with the same three months a year earlier;
with less, the mean of the latest three periods (fewer when there are fewer). Simple, explained
in one sentence on the report, and a baseline any better model has to beat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ledger.money import round_to_currency

SEASONAL = "seasonal"
MEAN = "mean_of_recent"
RECENT = 3


def shift(period: str, months: int) -> str:
    """``YYYY-MM`` moved by ``months`` (negative: back)."""
    index = int(period[:4]) * 12 + int(period[5:7]) - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True, slots=True)
class ForecastPoint:
    period: str
    currency: str
    amount: Decimal
    method: str


def _mean(values: Sequence[Decimal]) -> Decimal:
    return sum(values, Decimal(0)) / len(values)


def _one(history: Mapping[str, Decimal], target: str) -> tuple[Decimal, str] | None:
    recent = [shift(target, -n) for n in range(1, RECENT + 1)]
    year_ago = [shift(p, -12) for p in recent]
    same_month = shift(target, -12)
    if same_month in history and all(p in history for p in recent + year_ago):
        base = _mean([history[p] for p in year_ago])
        if base:
            return history[same_month] * _mean([history[p] for p in recent]) / base, SEASONAL
    known = sorted((p for p in history if p < target), reverse=True)[:RECENT]
    if not known:
        return None
    return _mean([history[p] for p in known]), MEAN


def seasonal_forecast(history: Mapping[str, Decimal], *, after: str, periods: int,
                      currency: str) -> list[ForecastPoint]:
    """Forecasts for the ``periods`` periods after ``after``; each forecast joins the history
    the next one is made from (so a three-month horizon works from one month of data)."""
    known = dict(history)
    points = []
    for step in range(1, periods + 1):
        target = shift(after, step)
        found = _one(known, target)
        if found is None:
            break
        amount = round_to_currency(found[0], currency)
        points.append(ForecastPoint(target, currency, amount, found[1]))
        known[target] = amount
    return points


@dataclass(frozen=True, slots=True)
class Accuracy:
    """An earlier forecast against the allocation it forecast."""

    cost_centre: str
    period: str
    currency: str
    forecast: Decimal
    actual: Decimal
    made_in: str

    @property
    def error(self) -> Decimal:
        return self.forecast - self.actual

    @property
    def absolute_percentage_error(self) -> Decimal | None:
        return abs(self.error) / abs(self.actual) if self.actual else None


def accuracy(forecasts: Sequence[tuple[str, str, str, Decimal, str]],
             actuals: Mapping[tuple[str, str, str], Decimal]) -> list[Accuracy]:
    """Earlier forecasts ``(cost centre, period, currency, amount, made in)`` whose period has
    an allocation now, with the error; a period not yet allocated is left out."""
    found = []
    for centre, period, currency, amount, made_in in forecasts:
        actual = actuals.get((centre, period, currency))
        if actual is not None:
            found.append(Accuracy(centre, period, currency, amount, actual, made_in))
    return found


def mean_absolute_percentage_error(rows: Sequence[Accuracy]) -> Decimal | None:
    errors = [r.absolute_percentage_error for r in rows if r.absolute_percentage_error is not None]
    return _mean(errors) if errors else None


# -- known changes ---------------------------------------------------------------------------------

#: What a forecast adjusted by known changes is called (its baseline method + this).
WITH_CHANGES = "+changes"


@dataclass(frozen=True, slots=True)
class KnownChange:
    """A change the history cannot know (a team of 12 joins in March, a service moves to the
    gold tier): an ``amount`` per period, or a ``percent`` of the baseline (of one pool's or
    service's part of it when ``pool`` or ``service`` is named), from ``from_period`` on
    (to ``to_period`` included, when given). ``currency`` is the amount's; a percentage applies
    in every currency of the cost centre."""

    cost_centre: str
    from_period: str
    reason: str
    amount: Decimal | None = None
    percent: Decimal | None = None
    currency: str | None = None
    to_period: str | None = None
    pool: str | None = None
    service: str | None = None
    id: int | None = None

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.cost_centre, self.from_period, self.pool or "", self.service or "",
                self.reason)

    def applies(self, period: str) -> bool:
        return self.from_period <= period and (self.to_period is None
                                               or period <= self.to_period)

    def same_as(self, other: KnownChange) -> bool:
        """Equal but for the stored id."""
        return self.key == other.key and (self.amount, self.percent, self.currency,
                                           self.to_period) == (other.amount, other.percent,
                                                               other.currency, other.to_period)

    def describe(self) -> str:
        what = (f"{self.amount:f} {self.currency}" if self.amount is not None
                else f"{self.percent:f} %")
        scope = f" of {'service ' + self.service if self.service else 'pool ' + self.pool}" \
            if (self.service or self.pool) else ""
        until = f" to {self.to_period}" if self.to_period else ""
        return f"{what}{scope} from {self.from_period}{until}: {self.reason}"


@dataclass(frozen=True, slots=True)
class AppliedChange:
    """What one known change added to one forecast period (rounded once to the currency)."""

    change: KnownChange
    period: str
    currency: str
    amount: Decimal


def apply_known_changes(baseline: Sequence[ForecastPoint], changes: Sequence[KnownChange],
                        shares: Mapping[str, Decimal]) -> tuple[list[ForecastPoint],
                                                                list[AppliedChange]]:
    """The baseline adjusted by the cost centre's known changes, and each change's part.

    ``shares`` maps a pool (``pool``) or a service (``service:CODE``) to its share of the cost
    centre's recent allocation: a percentage of a pool's part applies to that share of the
    baseline. A share not known is nil (the cost centre had no cost there: a percentage of
    nothing is nothing). Each part is rounded once; the adjusted forecast is their sum.
    """
    points, applied = [], []
    for point in baseline:
        total = point.amount
        for change in changes:
            if not change.applies(point.period):
                continue
            if change.amount is not None:
                if change.currency != point.currency:
                    continue
                part = change.amount
            else:
                assert change.percent is not None
                scope = (f"service:{change.service}" if change.service else change.pool)
                base = point.amount * (shares.get(scope, Decimal(0)) if scope else Decimal(1))
                part = round_to_currency(base * change.percent / 100, point.currency)
            applied.append(AppliedChange(change, point.period, point.currency, part))
            total += part
        method = point.method + WITH_CHANGES if total != point.amount else point.method
        points.append(ForecastPoint(point.period, point.currency, total, method))
    return points, applied

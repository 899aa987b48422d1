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

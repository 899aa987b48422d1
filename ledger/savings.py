"""Savings and cost avoidance: what an optimisation was expected to save, and what it did.

An optimisation (rightsizing, decommissioning, licence harvesting, a commitment purchase) is
recorded with its expected monthly saving, the month it takes effect and the billing scope it
acts on (a service-name pattern, optionally a provider). The realised saving is then measured
from later billing, never entered by hand: the baseline is the mean monthly cost of the scope
over the ``baseline_months`` months before the effective month (amortised cost, the FinOps
basis allocation uses), and each month from the effective month on saves
``baseline - actual``. A month saves nothing it did not bill: a scope whose cost rises shows a
negative saving, which is what happened.
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.calendar import parse_period_key
from ledger.errors import InputError
from ledger.money import round_to_currency


class SavingKind(enum.StrEnum):
    RIGHTSIZING = "rightsizing"
    DECOMMISSIONING = "decommissioning"
    LICENCE_HARVESTING = "licence_harvesting"
    COMMITMENT = "commitment"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Saving:
    """A recorded optimisation; ``service`` is a case-insensitive glob over billing services."""

    id: str
    kind: SavingKind
    title: str
    effective_period: str
    expected_monthly: Decimal
    currency: str
    service: str | None = None
    provider: str | None = None
    cost_centre: str | None = None
    baseline_months: int = 3

    def __post_init__(self) -> None:
        parse_period_key(self.effective_period)
        if self.expected_monthly < 0:
            raise InputError("must not be negative", field="expected_monthly",
                             value=self.expected_monthly)
        if not 1 <= self.baseline_months <= 24:
            raise InputError("must be 1 to 24 months", field="baseline_months",
                             value=self.baseline_months)

    def in_scope(self, provider: str | None, service: str | None, currency: str) -> bool:
        if self.service is None or currency != self.currency or service is None:
            return False
        if self.provider and (provider or "").casefold() != self.provider.casefold():
            return False
        return fnmatch.fnmatchcase(service.casefold(), self.service.casefold())


@dataclass(frozen=True, slots=True)
class MonthSaving:
    period: str
    actual: Decimal
    realised: Decimal


@dataclass(frozen=True, slots=True)
class SavingMeasure:
    """A saving measured against billing up to the last billed month."""

    saving: Saving
    baseline_periods: tuple[str, ...]
    baseline: Decimal | None
    months: tuple[MonthSaving, ...]
    note: str = ""

    @property
    def realised_total(self) -> Decimal:
        return sum((m.realised for m in self.months), Decimal(0))

    @property
    def expected_total(self) -> Decimal:
        return self.saving.expected_monthly * len(self.months)

    @property
    def realisation_percent(self) -> Decimal | None:
        """Realised as a share of expected over the measured months (None: nothing expected)."""
        if not self.expected_total:
            return None
        return (self.realised_total * 100 / self.expected_total).quantize(Decimal("0.1"))

    def to_json(self) -> dict[str, Any]:
        s = self.saving
        percent = self.realisation_percent
        return {
            "id": s.id, "kind": s.kind.value, "title": s.title, "service": s.service,
            "provider": s.provider, "cost_centre": s.cost_centre,
            "effective_period": s.effective_period, "currency": s.currency,
            "expected_monthly": format(s.expected_monthly, "f"),
            "baseline_periods": list(self.baseline_periods),
            "baseline_monthly": None if self.baseline is None else format(self.baseline, "f"),
            "months": [{"period": m.period, "actual": format(m.actual, "f"),
                        "realised": format(m.realised, "f")} for m in self.months],
            "expected_total": format(self.expected_total, "f"),
            "realised_total": format(self.realised_total, "f"),
            "realisation_percent": None if percent is None else format(percent, "f"),
            "note": self.note,
        }


def shift_period(period: str, months: int) -> str:
    """``shift_period("2026-01", -1) == "2025-12"``."""
    year, month = parse_period_key(period)
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def measure(saving: Saving, totals: Iterable[tuple[str, str | None, str | None, str, Decimal]],
            billed_periods: Sequence[str]) -> SavingMeasure:
    """Measure ``saving`` from billing ``totals`` (period, provider, service, currency, cost).

    ``billed_periods`` are the months the billing holds at all: a baseline month that was never
    imported makes the saving not measurable yet (an absent month is not a month of zero cost).
    """
    baseline_periods = tuple(shift_period(saving.effective_period, -n)
                             for n in range(saving.baseline_months, 0, -1))
    if saving.service is None:
        return SavingMeasure(saving, baseline_periods, None, (),
                             "no billing scope (service): the realised saving is not measured "
                             "from billing")
    missing = [p for p in baseline_periods if p not in set(billed_periods)]
    if missing:
        return SavingMeasure(saving, baseline_periods, None, (),
                             f"no billing imported for baseline month(s) {', '.join(missing)}")
    by_period: dict[str, Decimal] = {}
    for period, provider, service, currency, cost in totals:
        if saving.in_scope(provider, service, currency):
            by_period[period] = by_period.get(period, Decimal(0)) + cost
    baseline = round_to_currency(
        sum((by_period.get(p, Decimal(0)) for p in baseline_periods), Decimal(0))
        / len(baseline_periods), saving.currency)
    months = []
    for period in sorted(p for p in billed_periods if p >= saving.effective_period):
        actual = round_to_currency(by_period.get(period, Decimal(0)), saving.currency)
        months.append(MonthSaving(period, actual, baseline - actual))
    note = "" if months else f"no billing from {saving.effective_period} yet"
    return SavingMeasure(saving, baseline_periods, baseline, tuple(months), note)

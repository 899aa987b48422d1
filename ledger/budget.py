"""Budgets, quotas derived from history, and the alerts when actuals or forecasts cross them.

A budget is what a cost centre may spend in a period. A quota is derived, not typed in: the
95th percentile of the cost centre's last six months of actual cost, plus a margin, so that a
month well outside the cost centre's own habit stands out even where nobody set a budget. A
quota either warns (an alert, and provisioning escalates to a controller) or blocks
(provisioning refuses new spend).

The forecast is the simple run-rate: cost so far divided by the days elapsed, times the days of
the period. All amounts are exact Decimals in the budget's currency.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, Decimal

from ledger.calendar import parse_period_key
from ledger.errors import InputError
from ledger.finding import Finding, Severity
from ledger.money import (
    MoneyError,
    currency_quantum,
    normalise_currency,
    round_to_currency,
    to_decimal,
)
from ledger.reference import check_code

#: How many past months a quota looks at, and which percentile of them it takes.
QUOTA_MONTHS = 6
QUOTA_PERCENTILE = Decimal(95)
DEFAULT_MARGIN = Decimal("0.10")


class QuotaMode(enum.StrEnum):
    WARN = "warn"
    BLOCK = "block"


@dataclass(frozen=True, slots=True)
class Budget:
    """A cost centre's budget for one period.

    Attributes:
        cost_centre: its code.
        period: ``YYYY-MM``.
        amount: what it may spend (zero or more), in ``currency``.
        quota_mode: what crossing the derived quota does: warn or block.
        quota_margin: the margin over the 95th percentile, as a fraction (0.10 is 10 %).
    """

    cost_centre: str
    period: str
    amount: Decimal
    currency: str
    quota_mode: QuotaMode = QuotaMode.WARN
    quota_margin: Decimal = DEFAULT_MARGIN

    def __post_init__(self) -> None:
        object.__setattr__(self, "cost_centre", check_code(self.cost_centre,
                                                           field="cost_centre"))
        year, month = parse_period_key(self.period)
        object.__setattr__(self, "period", f"{year:04d}-{month:02d}")
        object.__setattr__(self, "currency", normalise_currency(self.currency))
        amount = _decimal(self.amount, "amount")
        if amount < 0:
            raise InputError("a budget cannot be negative", field="amount", value=self.amount)
        object.__setattr__(self, "amount", amount)
        try:
            object.__setattr__(self, "quota_mode", QuotaMode(str(self.quota_mode).lower()))
        except ValueError:
            raise InputError("quota_mode is warn or block", field="quota_mode",
                             value=self.quota_mode) from None
        margin = _decimal(self.quota_margin, "quota_margin")
        if not Decimal(0) <= margin <= Decimal(10):
            raise InputError("quota_margin is a fraction from 0 to 10 (0.10 is 10 %)",
                             field="quota_margin", value=self.quota_margin)
        object.__setattr__(self, "quota_margin", margin)


def _decimal(value: object, name: str) -> Decimal:
    try:
        return to_decimal(value)  # type: ignore[arg-type]
    except MoneyError as exc:
        raise InputError(str(exc), field=name, value=value) from None


BUDGET_COLUMNS = ("cost_centre", "period", "amount", "currency")
BUDGET_OPTIONAL = ("quota_mode", "quota_margin")


def budget_from_cells(cells: Mapping[str, str | None]) -> Budget:
    """A budget from one row of a budgets file; InputError names the field that is wrong."""
    for name in BUDGET_COLUMNS:
        if not cells.get(name):
            raise InputError("is required", field=name)
    margin_text = cells.get("quota_margin") or str(DEFAULT_MARGIN)
    margin = (_decimal(margin_text[:-1].strip(), "quota_margin") / 100
              if margin_text.endswith("%") else _decimal(margin_text, "quota_margin"))
    try:
        return Budget(str(cells["cost_centre"]), str(cells["period"]), str(cells["amount"]),
                      str(cells["currency"]), cells.get("quota_mode") or QuotaMode.WARN,
                      margin)  # type: ignore[arg-type]
    except MoneyError as exc:  # an unknown currency
        raise InputError(str(exc), field="currency", value=cells.get("currency")) from None


def percentile(values: Sequence[Decimal], q: Decimal = QUOTA_PERCENTILE) -> Decimal:
    """The ``q``-th percentile with linear interpolation between closest ranks (the method of
    numpy's default and of spreadsheets' PERCENTILE.INC), exactly in Decimal."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (Decimal(len(ordered) - 1) * q) / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def derive_quota(history: Sequence[Decimal], margin: Decimal, currency: str) -> Decimal | None:
    """The quota from up to the last six months of actual cost (oldest first): their 95th
    percentile plus ``margin``, rounded up to the currency's minor unit. None without history."""
    recent = list(history)[-QUOTA_MONTHS:]
    if not recent:
        return None
    raw = percentile(recent) * (1 + margin)
    # A quota is a ceiling: round up, never below what history allows.
    return raw.quantize(currency_quantum(currency), rounding=ROUND_CEILING)


def run_rate(actual: Decimal, period_start: date, period_end: date, today: date,
             currency: str) -> Decimal:
    """The period's cost forecast from the cost so far: actual over elapsed days times all days.

    A finished period's forecast is its actual; a period not begun forecasts its actual (zero
    unless costs were booked ahead).
    """
    if today > period_end or today <= period_start:
        return actual
    elapsed = (today - period_start).days
    days = (period_end - period_start).days + 1
    return round_to_currency(actual * days / elapsed, currency)


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """Where a cost centre stands in a period.

    Attributes:
        budget: the budget (None when none was set).
        actual: cost so far; forecast: run-rate for the whole period.
        quota: derived from history (None without history); quota_mode: warn or block.
        committed: approved provisioning not yet in the actuals (monthly cost).
        alerts: (kind, message) for each limit crossed, kind one of ``budget_actual``,
            ``budget_forecast``, ``quota_actual``, ``quota_forecast``.
    """

    cost_centre: str
    period: str
    currency: str
    budget: Decimal | None
    actual: Decimal
    forecast: Decimal
    quota: Decimal | None
    quota_mode: QuotaMode
    committed: Decimal = Decimal(0)
    history: tuple[Decimal, ...] = ()
    alerts: tuple[tuple[str, str], ...] = field(default=())

    @property
    def remaining(self) -> Decimal | None:
        """Budget left after the forecast and the commitments (None without a budget)."""
        if self.budget is None:
            return None
        return self.budget - self.forecast - self.committed

    @property
    def state(self) -> str:
        kinds = {kind for kind, _ in self.alerts}
        if "budget_actual" in kinds or "quota_actual" in kinds:
            return "over"
        return "at risk" if kinds else "ok"


def assess(*, cost_centre: str, period: str, currency: str, budget: Budget | None,
           actual: Decimal, forecast: Decimal, history: Sequence[Decimal],
           committed: Decimal = Decimal(0)) -> BudgetStatus:
    """Compare actuals and the forecast with the budget and the derived quota."""
    margin = budget.quota_margin if budget else DEFAULT_MARGIN
    mode = budget.quota_mode if budget else QuotaMode.WARN
    quota = derive_quota(history, margin, currency)
    alerts: list[tuple[str, str]] = []
    for limit_kind, limit in (("budget", budget.amount if budget else None), ("quota", quota)):
        if limit is None:
            continue
        if actual > limit:
            alerts.append((f"{limit_kind}_actual", f"actual {actual} {currency} is above the "
                           f"{limit_kind} of {limit} {currency}"))
        elif forecast > limit:
            alerts.append((f"{limit_kind}_forecast", f"the run-rate forecast {forecast} "
                           f"{currency} is above the {limit_kind} of {limit} {currency}"))
    return BudgetStatus(cost_centre, period, currency, budget.amount if budget else None,
                        actual, forecast, quota, mode, committed, tuple(history), tuple(alerts))


ALERT_KINDS = ("budget_actual", "budget_forecast", "quota_actual", "quota_forecast")


def alert_findings(status: BudgetStatus, owner_email: str | None = None
                   ) -> list[tuple[str, Finding]]:
    """One finding per limit crossed, keyed by kind, cost centre and period so that checking
    again updates it and never doubles it; (kind, finding) as the findings repository wants."""
    found = []
    for kind, message in status.alerts:
        severity = Severity.HIGH if kind.endswith("_actual") else Severity.MEDIUM
        what = "budget" if kind.startswith("budget") else "quota"
        found.append((kind, Finding(
            key=f"budget:{kind}:{status.cost_centre}:{status.period}",
            title=f"Cost centre {status.cost_centre} {status.period}: {message}",
            description=(f"Cost centre {status.cost_centre} in {status.period}: {message}. "
                         f"Review the spend or raise the {what}; provisioning for this cost "
                         "centre escalates to a controller"
                         + (" and is refused" if what == "quota"
                            and status.quota_mode is QuotaMode.BLOCK else "") + "."),
            severity=severity,
            evidence={"budget": _text(status.budget), "quota": _text(status.quota),
                      "quota_mode": status.quota_mode.value, "actual": _text(status.actual),
                      "forecast": _text(status.forecast), "committed": _text(status.committed),
                      "currency": status.currency,
                      "history": [_text(h) for h in status.history]},
            cost_centre=status.cost_centre, owner_email=owner_email)))
    return found


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")

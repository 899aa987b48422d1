"""What an asset is depreciated on: method, convention, life, salvage, calendar and currency.

:class:`DepreciationTerms` is validated when it is built, so terms that exist are terms the engine
can depreciate; anything else raises :class:`DepreciationError` naming the field at fault.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from ledger.errors import InputError
from ledger.money import (
    MoneyError,
    currency_quantum,
    is_quantised,
    normalise_currency,
    round_to_currency,
    to_decimal,
)

from .macrs import RECOVERY_PERIODS


class DepreciationError(InputError):
    """Depreciation input that cannot be used; ``field`` names the input, ``message`` says why."""

    def __init__(self, message: str, *, field: str, value: object = None) -> None:
        super().__init__(message, field=field, value=value)


class Method(StrEnum):
    STRAIGHT_LINE = "straight_line"
    DECLINING_BALANCE = "declining_balance"
    SUM_OF_YEARS_DIGITS = "sum_of_years_digits"
    UNITS_OF_PRODUCTION = "units_of_production"
    WRITTEN_DOWN_VALUE = "written_down_value"
    MACRS = "macrs"
    MANUAL = "manual"


class Convention(StrEnum):
    """When depreciation starts (and so ends) relative to the date placed in service.

    - ``full_month``: from the first day of the month placed in service; that month counts fully.
    - ``mid_month``: from the middle of that month; half a month in the first and the last month.
    - ``half_year``: from the middle of the fiscal year placed in service; half a year in the
      first and the last year.
    - ``mid_quarter``: from the middle of the fiscal quarter placed in service.
    - ``daily``: from the date placed in service, by actual days (days in period / days in life).
    """

    FULL_MONTH = "full_month"
    MID_MONTH = "mid_month"
    HALF_YEAR = "half_year"
    MID_QUARTER = "mid_quarter"
    DAILY = "daily"


class Frequency(StrEnum):
    MONTHLY = "monthly"
    YEARLY = "yearly"


#: Methods that spread cost over time (as opposed to usage or user-given amounts).
TIME_BASED = frozenset(
    {
        Method.STRAIGHT_LINE,
        Method.DECLINING_BALANCE,
        Method.SUM_OF_YEARS_DIGITS,
        Method.WRITTEN_DOWN_VALUE,
        Method.MACRS,
    }
)

#: Valid conventions per method; the first is the default. Units of production and manual
#: schedules follow their own series, so they take no convention. MACRS here is GDS personal
#: property (3- to 20-year), which the IRS allows only half-year or mid-quarter for.
VALID_CONVENTIONS: dict[Method, tuple[Convention, ...]] = {
    **{
        method: (
            Convention.FULL_MONTH,
            Convention.MID_MONTH,
            Convention.HALF_YEAR,
            Convention.MID_QUARTER,
            Convention.DAILY,
        )
        for method in TIME_BASED - {Method.MACRS}
    },
    Method.MACRS: (Convention.HALF_YEAR, Convention.MID_QUARTER),
    Method.UNITS_OF_PRODUCTION: (),
    Method.MANUAL: (),
}


@dataclass(frozen=True, slots=True)
class FiscalYearStart:
    """First month and day of the fiscal year (01-01 by default).

    The day is 1..28 so that every month has it. When it is not 1, monthly periods are fiscal
    months running from that day to the day before it in the next month.
    """

    month: int = 1
    day: int = 1

    def __post_init__(self) -> None:
        if not (isinstance(self.month, int) and 1 <= self.month <= 12):
            raise DepreciationError(
                f"fiscal-year start month {self.month!r} must be 1..12",
                field="fiscal_year_start",
                value=self.month,
            )
        if not (isinstance(self.day, int) and 1 <= self.day <= 28):
            raise DepreciationError(
                f"fiscal-year start day {self.day!r} must be 1..28 so that every month has it",
                field="fiscal_year_start",
                value=self.day,
            )

    @classmethod
    def parse(cls, text: str) -> FiscalYearStart:
        """``"07-01"`` (MM-DD) -> ``FiscalYearStart(7, 1)``."""
        try:
            month, day = (int(part) for part in text.strip().split("-"))
        except ValueError:
            raise DepreciationError(
                f"fiscal-year start {text!r} is not MM-DD such as 07-01",
                field="fiscal_year_start",
                value=text,
            ) from None
        return cls(month, day)


def _enum(kind: type[StrEnum], value: object, field_name: str) -> StrEnum:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise DepreciationError(
            f"{field_name} {value!r} is not known; use one of {choices}",
            field=field_name,
            value=value,
        ) from None


def checked_number(value: object, field_name: str) -> Decimal:
    try:
        return to_decimal(value)  # type: ignore[arg-type]
    except MoneyError as exc:
        raise DepreciationError(str(exc), field=field_name, value=value) from None


def checked_amount(value: object, field_name: str, currency: str) -> Decimal:
    amount = checked_number(value, field_name)
    if not is_quantised(amount, currency_quantum(currency)):
        raise DepreciationError(
            f"{field_name} {amount} has more decimals than {currency} allows",
            field=field_name,
            value=value,
        )
    return amount


def _fmt(amount: Decimal) -> str:
    return format(amount.normalize(), "f") if amount == amount.to_integral() else str(amount)


@dataclass(frozen=True, slots=True, kw_only=True)
class DepreciationTerms:
    """The inputs of one depreciation schedule. Built validated; invalid terms cannot exist.

    Attributes:
        cost: acquisition cost, positive, in ``currency`` minor units (no finer).
        placed_in_service: the date the asset was placed in service.
        method: the depreciation method.
        currency: ISO 4217 code; every amount is a multiple of its minor unit.
        convention: see :class:`Convention`; ``None`` picks the method's default (full month;
            half-year for MACRS) and must stay ``None`` for units of production and manual.
        life_years / life_months: useful life; give one (years may be fractional if they make
            whole months, e.g. 2.5). Not used by units of production and manual schedules.
        salvage: residual value as an amount, 0 .. cost. Must be 0 for MACRS.
        salvage_percent: residual value as a percent of cost (rounded to the currency), instead
            of ``salvage``.
        fiscal_year_start: see :class:`FiscalYearStart`; a ``"MM-DD"`` string is accepted.
        frequency: one row per fiscal year or per (fiscal) month.
        factor: declining-balance factor (2 = double declining); the annual rate is
            ``factor / life in years``.
        switch_to_straight_line: declining balance switches to straight line over the remaining
            life in the first year that gives more.
        annual_rate: written-down value rate as a fraction of the opening value (0.25 = 25 %).
        recovery_period: MACRS property class in years: 3, 5, 7, 10, 15 or 20.
        expected_units: units of production: total units expected over the asset's life.
        units_per_period: units of production: actual units per period, the first for the period
            that contains ``placed_in_service``.
        manual_amounts: manual: amounts per period from the period placed in service; they must
            sum exactly to the depreciable base.
    """

    cost: Decimal
    placed_in_service: date
    method: Method
    currency: str
    convention: Convention | None = None
    life_years: Decimal | None = None
    life_months: int | None = None
    salvage: Decimal = Decimal(0)
    salvage_percent: Decimal | None = None
    fiscal_year_start: FiscalYearStart = field(default_factory=FiscalYearStart)
    frequency: Frequency = Frequency.YEARLY
    factor: Decimal = Decimal(2)
    switch_to_straight_line: bool = True
    annual_rate: Decimal | None = None
    recovery_period: int | None = None
    expected_units: Decimal | None = None
    units_per_period: tuple[Decimal, ...] = ()
    manual_amounts: tuple[Decimal, ...] = ()

    def __post_init__(self) -> None:
        put = object.__setattr__
        try:
            put(self, "currency", normalise_currency(self.currency))
        except MoneyError as exc:
            raise DepreciationError(str(exc), field="currency", value=self.currency) from None
        put(self, "method", _enum(Method, self.method, "method"))
        put(self, "frequency", _enum(Frequency, self.frequency, "frequency"))
        if isinstance(self.fiscal_year_start, str):
            put(self, "fiscal_year_start", FiscalYearStart.parse(self.fiscal_year_start))
        if not isinstance(self.placed_in_service, date):
            raise DepreciationError(
                f"placed_in_service must be a date, got {self.placed_in_service!r}",
                field="placed_in_service",
                value=self.placed_in_service,
            )
        self._check_amounts()
        self._check_convention()
        self._check_life()
        self._check_method_inputs()

    # -- validation ------------------------------------------------------------------------

    def _check_amounts(self) -> None:
        put = object.__setattr__
        cost = checked_amount(self.cost, "cost", self.currency)
        if cost <= 0:
            raise DepreciationError(f"cost must be positive, got {cost}", field="cost", value=cost)
        put(self, "cost", cost)
        salvage = checked_amount(self.salvage, "salvage", self.currency)
        put(self, "salvage", salvage)
        if self.salvage_percent is not None:
            percent = checked_number(self.salvage_percent, "salvage_percent")
            if salvage != 0:
                raise DepreciationError(
                    "give salvage as an amount or as a percent of cost, not both",
                    field="salvage_percent",
                    value=percent,
                )
            if not 0 <= percent <= 100:
                raise DepreciationError(
                    f"salvage percent {percent} must be between 0 and 100",
                    field="salvage_percent",
                    value=percent,
                )
            put(self, "salvage_percent", percent)
        if salvage < 0:
            raise DepreciationError(
                f"salvage must not be negative, got {salvage}", field="salvage", value=salvage
            )
        if salvage > cost:
            raise DepreciationError(
                f"salvage {_fmt(salvage)} is above cost {_fmt(cost)}",
                field="salvage",
                value=salvage,
            )

    def _check_convention(self) -> None:
        valid = VALID_CONVENTIONS[self.method]
        if self.convention is None:
            object.__setattr__(self, "convention", valid[0] if valid else None)
            return
        convention = _enum(Convention, self.convention, "convention")
        object.__setattr__(self, "convention", convention)
        if not valid:
            raise DepreciationError(
                f"{self.method.value} follows its own series and takes no convention; "
                f"leave convention empty",
                field="convention",
                value=convention.value,
            )
        if convention not in valid:
            raise DepreciationError(
                f"convention {convention.value} does not apply to {self.method.value}; use "
                + " or ".join(c.value for c in valid),
                field="convention",
                value=convention.value,
            )

    def _check_life(self) -> None:
        put = object.__setattr__
        if self.method in (Method.UNITS_OF_PRODUCTION, Method.MANUAL):
            return
        if self.life_years is not None and self.life_months is not None:
            raise DepreciationError(
                "give the useful life in years or in months, not both",
                field="life_months",
                value=self.life_months,
            )
        if self.life_years is not None:
            years = checked_number(self.life_years, "life_years")
            months = years * 12
            if years <= 0 or months != months.to_integral_value():
                raise DepreciationError(
                    f"useful life {years} years must be positive and a whole number of months",
                    field="life_years",
                    value=years,
                )
            put(self, "life_years", years)
        if self.life_months is not None and (
            isinstance(self.life_months, bool)
            or not isinstance(self.life_months, int)
            or self.life_months <= 0
        ):
            raise DepreciationError(
                f"useful life {self.life_months!r} months must be a positive whole number",
                field="life_months",
                value=self.life_months,
            )
        if self.method is Method.MACRS:
            self._check_macrs()
            return
        if self.life_years is None and self.life_months is None:
            raise DepreciationError(
                f"{self.method.value} needs a useful life: give life_years or life_months",
                field="life_years",
            )
        if (
            self.convention in (Convention.HALF_YEAR, Convention.MID_QUARTER)
            and self.useful_life_months < 12
        ):
            raise DepreciationError(
                f"the {self.convention.value} convention needs a useful life of at least 12 "
                f"months, got {self.useful_life_months}",
                field="life_months",
                value=self.useful_life_months,
            )

    def _check_macrs(self) -> None:
        period = self.recovery_period
        if period is None and self.life_months is None and self.life_years is not None:
            period = int(self.life_years) if self.life_years == int(self.life_years) else None
        if period is None and self.life_months is not None and self.life_months % 12 == 0:
            period = self.life_months // 12
        if period is None:
            raise DepreciationError(
                "MACRS needs a recovery period: 3, 5, 7, 10, 15 or 20",
                field="recovery_period",
            )
        if isinstance(period, bool) or period not in RECOVERY_PERIODS:
            raise DepreciationError(
                f"MACRS recovery period {period} does not exist; use 3, 5, 7, 10, 15 or 20",
                field="recovery_period",
                value=period,
            )
        given = self.life_years or (
            Decimal(self.life_months) / 12 if self.life_months is not None else None
        )
        if given is not None and given != period:
            raise DepreciationError(
                f"useful life {given} years contradicts MACRS recovery period {period}; "
                f"give only recovery_period",
                field="recovery_period",
                value=period,
            )
        object.__setattr__(self, "recovery_period", period)
        if self.salvage != 0 or self.salvage_percent:
            raise DepreciationError(
                f"MACRS depreciates the whole basis: salvage must be 0, got {self.salvage_amount}",
                field="salvage",
                value=self.salvage_amount,
            )

    def _check_method_inputs(self) -> None:
        put = object.__setattr__
        method = self.method
        if method is Method.DECLINING_BALANCE:
            factor = checked_number(self.factor, "factor")
            if factor <= 0:
                raise DepreciationError(
                    f"declining-balance factor must be positive (2 = double), got {factor}",
                    field="factor",
                    value=factor,
                )
            put(self, "factor", factor)
        if method is Method.SUM_OF_YEARS_DIGITS and self.useful_life_months % 12:
            raise DepreciationError(
                f"sum-of-the-years' digits needs a whole number of years of life, got "
                f"{self.useful_life_months} months",
                field="life_months",
                value=self.useful_life_months,
            )
        if method is Method.WRITTEN_DOWN_VALUE:
            if self.annual_rate is None:
                raise DepreciationError(
                    "written-down value needs annual_rate, e.g. 0.25 for 25 % a year",
                    field="annual_rate",
                )
            rate = checked_number(self.annual_rate, "annual_rate")
            if not 0 < rate < 1:
                raise DepreciationError(
                    f"annual_rate {rate} is a fraction of the opening value; for 25 % give 0.25",
                    field="annual_rate",
                    value=rate,
                )
            put(self, "annual_rate", rate)
        if method is Method.UNITS_OF_PRODUCTION:
            if self.expected_units is None:
                raise DepreciationError(
                    "units of production needs expected_units (total units over the life)",
                    field="expected_units",
                )
            expected = checked_number(self.expected_units, "expected_units")
            if expected <= 0:
                raise DepreciationError(
                    f"expected_units must be positive, got {expected}",
                    field="expected_units",
                    value=expected,
                )
            put(self, "expected_units", expected)
            units = tuple(checked_number(u, "units_per_period") for u in self.units_per_period)
            for index, unit in enumerate(units):
                if unit < 0:
                    raise DepreciationError(
                        f"units for period {index + 1} must not be negative, got {unit}",
                        field="units_per_period",
                        value=unit,
                    )
            put(self, "units_per_period", units)
        if method is Method.MANUAL:
            amounts = tuple(
                checked_amount(a, "manual_amounts", self.currency) for a in self.manual_amounts
            )
            for index, amount in enumerate(amounts):
                if amount < 0:
                    raise DepreciationError(
                        f"manual amount for period {index + 1} must not be negative, got {amount}",
                        field="manual_amounts",
                        value=amount,
                    )
            if sum(amounts, Decimal(0)) != self.depreciable_base:
                raise DepreciationError(
                    f"manual amounts sum to {sum(amounts, Decimal(0))}; they must sum to the "
                    f"depreciable base {self.depreciable_base} (cost - salvage)",
                    field="manual_amounts",
                )
            put(self, "manual_amounts", amounts)

    # -- derived values --------------------------------------------------------------------

    @property
    def salvage_amount(self) -> Decimal:
        """Salvage in the currency's minor unit (from the percent when one was given)."""
        if self.salvage_percent is not None:
            return round_to_currency(self.cost * self.salvage_percent / 100, self.currency)
        return self.salvage

    @property
    def depreciable_base(self) -> Decimal:
        """cost - salvage: what the schedule spreads, exactly."""
        return self.cost - self.salvage_amount

    @property
    def useful_life_months(self) -> int:
        """Useful life (MACRS: recovery period) in months; 0 for units of production, manual."""
        if self.method is Method.MACRS:
            return 12 * (self.recovery_period or 0)
        if self.life_months is not None:
            return self.life_months
        if self.life_years is not None:
            return int(self.life_years * 12)
        return 0

    @property
    def annual_db_rate(self) -> Fraction:
        """Declining-balance rate per year: factor / life (declining) or the given rate (WDV)."""
        if self.method is Method.WRITTEN_DOWN_VALUE:
            return Fraction(self.annual_rate or 0)
        return Fraction(self.factor) * 12 / self.useful_life_months

"""Money: exact decimal amounts, currency minor units, one rounding policy, and splitting.

Every number that is money is a :class:`~decimal.Decimal` made from a string or an integer, never
from a float ("never use floating point in an accounting system"). This module is the one place
that decides how amounts are quantised and rounded; everything else calls it.

Sign convention: amounts are plain signed decimals here. Whether a positive number is a debit or a
credit is decided by the caller (see :mod:`ledger.journal`).
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from ledger.errors import ApportionError

#: The one rounding policy: commercial rounding, halves away from zero (what SAP, Business
#: Central and most tax authorities apply). Symmetric, so a negative amount mirrors the positive.
ROUNDING = ROUND_HALF_UP

#: Minor-unit exponents of ISO 4217 currencies whose exponent is not 2. Every other well-formed
#: three-letter code has 2 decimals.
_MINOR_UNIT_EXCEPTIONS: dict[str, int] = {
    # zero-decimal currencies
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # three-decimal currencies
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # four-decimal units of account
    "CLF": 4, "UYW": 4,
}


class MoneyError(ApportionError, ValueError):
    """An amount, currency or split that cannot be made exact."""


class CurrencyMismatchError(MoneyError):
    """Two amounts in different currencies were combined."""


def normalise_currency(code: str) -> str:
    """Return the upper-case ISO 4217 code, or raise :class:`MoneyError` for a malformed one."""
    if not isinstance(code, str):
        raise MoneyError(f"currency must be a three-letter ISO 4217 code, got {code!r}")
    upper = code.strip().upper()
    if len(upper) != 3 or not upper.isascii() or not upper.isalpha():
        raise MoneyError(f"currency must be a three-letter ISO 4217 code, got {code!r}")
    return upper


def minor_unit_exponent(currency: str) -> int:
    """Number of decimals of ``currency``'s minor unit: JPY 0, USD 2, BHD 3."""
    return _MINOR_UNIT_EXCEPTIONS.get(normalise_currency(currency), 2)


def currency_quantum(currency: str) -> Decimal:
    """The smallest amount of ``currency``: ``Decimal("0.01")`` for USD, ``Decimal(1)`` for JPY."""
    return Decimal(1).scaleb(-minor_unit_exponent(currency))


def to_decimal(value: Decimal | int | str) -> Decimal:
    """Make an exact Decimal from a string, an int or a Decimal; floats are refused.

    Raises :class:`MoneyError` for a float, a bool, or text that is not a finite number.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError(
            f"money must not come from a float ({value!r}); pass it as a string such as '{value}'"
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            result = Decimal(text)
        except decimal.InvalidOperation:
            raise MoneyError(f"{value!r} is not a number") from None
    else:
        raise MoneyError(f"cannot make an amount from {type(value).__name__} {value!r}")
    if not result.is_finite():
        raise MoneyError(f"{value!r} is not a finite number")
    return result


def quantize(amount: Decimal, quantum: Decimal) -> Decimal:
    """Round ``amount`` to a multiple of ``quantum`` with the one rounding policy."""
    return to_decimal(amount).quantize(quantum, rounding=ROUNDING)


def round_to_currency(amount: Decimal | int | str, currency: str) -> Decimal:
    """Round ``amount`` to ``currency``'s minor unit with the one rounding policy."""
    return quantize(to_decimal(amount), currency_quantum(currency))


def is_quantised(amount: Decimal, quantum: Decimal) -> bool:
    """True when ``amount`` is an exact multiple of ``quantum``."""
    return (to_decimal(amount) % quantum) == 0


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Exact integer count of minor units; refuses an amount finer than the currency allows."""
    exponent = minor_unit_exponent(currency)
    scaled = to_decimal(amount).scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise MoneyError(
            f"{amount} has more than {exponent} decimals, the minor unit of {currency}"
        )
    return int(scaled)


def from_minor_units(units: int, currency: str) -> Decimal:
    """The amount for an integer count of ``currency``'s minor units, at the currency's scale."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise MoneyError(f"minor units must be an integer, got {units!r}")
    exponent = minor_unit_exponent(currency)
    return Decimal(units).scaleb(-exponent).quantize(currency_quantum(currency))


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount in one currency.

    Attributes:
        amount: the signed amount; not necessarily quantised (cost facts keep source precision).
        currency: upper-case ISO 4217 code.
    """

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", to_decimal(self.amount))
        object.__setattr__(self, "currency", normalise_currency(self.currency))

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        return cls(to_decimal(amount), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0).quantize(currency_quantum(currency)), currency)

    def rounded(self) -> Money:
        """This amount rounded to the currency's minor unit."""
        return Money(round_to_currency(self.amount, self.currency), self.currency)

    @property
    def minor_units(self) -> int:
        return to_minor_units(self.amount, self.currency)

    def _same_currency(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot combine {self.currency} with {other.currency} without an FX rate"
            )

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def split(self, weights: Sequence[Decimal | int]) -> list[Money]:
        """Split the (rounded) amount by ``weights`` with :func:`allocate` at the minor unit."""
        parts = allocate(
            round_to_currency(self.amount, self.currency),
            weights,
            quantum=currency_quantum(self.currency),
        )
        return [Money(part, self.currency) for part in parts]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def allocate(
    total: Decimal,
    weights: Sequence[Decimal | int],
    *,
    quantum: Decimal = Decimal("0.01"),
) -> list[Decimal]:
    """Split ``total`` in proportion to ``weights`` by the largest-remainder method.

    Guarantees, for every valid input:

    - the parts sum exactly to ``total``;
    - each part is a multiple of ``quantum`` and lies within one ``quantum`` of its exact share
      ``total * weight / sum(weights)`` (strictly less than one quantum away);
    - a zero weight receives exactly zero;
    - ties between equal remainders go to the earlier weight, so the result is deterministic;
    - a negative total gives the exact mirror of the positive one.

    Raises :class:`MoneyError` when there are no weights, a weight is negative, all weights are
    zero, a weight is a float, or ``total`` is not a multiple of ``quantum``.
    """
    total = to_decimal(total)
    quantum = to_decimal(quantum)
    if quantum <= 0:
        raise MoneyError(f"the quantum must be positive, got {quantum}")
    if len(weights) == 0:
        raise MoneyError("cannot allocate over no weights: give at least one")
    exact_weights = []
    for index, weight in enumerate(weights):
        try:
            value = to_decimal(weight)
        except MoneyError as exc:
            raise MoneyError(f"weight {index}: {exc}") from None
        if value < 0:
            raise MoneyError(f"weight {index} is negative ({value}); weights must be zero or more")
        exact_weights.append(Fraction(value))
    weight_sum = sum(exact_weights, Fraction(0))
    if weight_sum == 0:
        raise MoneyError("all weights are zero: there is nothing to allocate by")

    units_fraction = Fraction(total) / Fraction(quantum)
    if units_fraction.denominator != 1:
        raise MoneyError(
            f"the total {total} is not a multiple of the quantum {quantum}; round it first"
        )
    units = units_fraction.numerator
    sign = -1 if units < 0 else 1
    units = abs(units)

    floors: list[int] = []
    remainders: list[Fraction] = []
    for weight in exact_weights:
        share = units * weight / weight_sum
        floor = share.numerator // share.denominator
        floors.append(floor)
        remainders.append(share - floor)

    leftover = units - sum(floors)
    # Largest remainder first; equal remainders go to the lower index. Only positive remainders
    # can be chosen (leftover < number of positive remainders), so zero weights stay at zero.
    order = sorted(range(len(floors)), key=lambda i: (-remainders[i], i))
    for index in order[:leftover]:
        floors[index] += 1

    return [(sign * part) * quantum for part in floors]

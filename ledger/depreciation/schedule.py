"""The schedule engine: from :class:`DepreciationTerms` to per-period amounts, exactly.

How a schedule is made (all arithmetic in exact fractions until the last step):

1. Time-based methods compute one exact amount per fiscal year. The convention fixes where the
   depreciation window ``[start, end)`` lies; its length is the useful life. Positions are
   counted in months (full month, mid-month, half-year, mid-quarter) or in days (daily).
   - straight line: base x (window inside the year) / (window length);
   - declining balance: opening NBV x rate x (fraction of the year in the window), rate =
     factor / life in years; with the switch, the straight-line amount over the remaining life
     is taken when larger; never below salvage; the year the window ends takes what is left;
   - written-down value: the same with the given annual rate and no switch;
   - sum-of-the-years' digits: each year of life ("asset year", 12 months from the window start)
     carries ``remaining years / sum of digits`` of the base, shared between the fiscal years it
     overlaps by time;
   - MACRS: cost x the Pub 946 table percentage for each tax (= fiscal) year.
2. Monthly frequency spreads each fiscal year's amount over that year's months in proportion to
   the time each month lies in the window. For half-year and mid-quarter (MACRS included) the
   window is taken to open at the start of the month placed in service, not at the notional
   mid-year or mid-quarter point, so no expense appears before the asset exists and the first
   year's amount is spread over the months from the month placed in service to the year end;
   the last year's amount is spread over the months up to the notional end of the recovery
   period (mid-year for half-year). Yearly totals are therefore the same for both frequencies.
3. Units of production take ``base x cumulative units / expected units`` per period (capped at
   the expected total); manual schedules take the given amounts.
4. Rounding (with the one policy of :mod:`ledger.money`): each period's exact amount is rounded
   to the currency and the last period absorbs what rounding left, so the amounts sum exactly
   to cost - salvage, straight line gives equal amounts, and no row follows full depreciation.
   Time-based schedules round each fiscal year first (the last year absorbing), then split the
   year's amount over its months by largest remainder (:func:`ledger.money.allocate`): monthly
   rows of a fiscal year add up exactly to the yearly row, each month is within one minor unit
   of its exact share (no month carries the year's rounding), and MACRS years are
   ``cost x percentage`` rounded, as on the tax return. A rounded amount never takes the net
   book value below salvage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from ledger.money import allocate, currency_quantum, minor_unit_exponent, round_to_currency

from . import fiscal
from .macrs import HALF_YEAR_TABLE, MID_QUARTER_TABLES
from .terms import TIME_BASED, Convention, DepreciationTerms, Frequency, Method


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """One period of a schedule. Amounts are quantised to the currency and non-negative.

    Attributes:
        fiscal_year: name of the fiscal year (the calendar year it ends in).
        period_start / period_end: the fiscal period, both days inclusive.
        amount: depreciation expense of the period.
        accumulated: accumulated depreciation at the period end (write-downs not included).
        net_book_value: cost - accumulated - write-downs to date, at the period end.
        write_down: impairment recognised at the end of this period (0 almost always).
    """

    fiscal_year: int
    period_start: date
    period_end: date
    amount: Decimal
    accumulated: Decimal
    net_book_value: Decimal
    write_down: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Revision:
    """A prospective change applied to a schedule (see :mod:`ledger.depreciation.events`).

    Attributes:
        kind: ``"change_of_estimate"`` or ``"impairment"``.
        effective_from: first period start depreciated on the revised basis.
        salvage: salvage from then on.
        remaining_life_months: the new remaining life, or ``None`` when it was kept.
        expected_units: units of production: units expected from ``effective_from`` on.
        write_down: impairment amount (0 for a change of estimate).
    """

    kind: str
    effective_from: date
    salvage: Decimal
    remaining_life_months: int | None = None
    expected_units: Decimal | None = None
    write_down: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A depreciation schedule: rows in period order and the terms they came from.

    Attributes:
        terms: the terms the asset was placed in service with.
        rows: one row per period from the period placed in service to full depreciation (or to
            the last period of the usage series, or to disposal).
        salvage: current salvage (the terms' salvage unless a revision changed it).
        revisions: changes of estimate and impairments applied, oldest first.
    """

    terms: DepreciationTerms
    rows: tuple[ScheduleRow, ...]
    salvage: Decimal
    revisions: tuple[Revision, ...] = ()

    @property
    def currency(self) -> str:
        return self.terms.currency

    @property
    def total(self) -> Decimal:
        """Sum of the row amounts, quantised: cost - salvage - write-downs when complete."""
        zero = round_to_currency(0, self.currency)
        return sum((row.amount for row in self.rows), zero)

    @property
    def net_book_value(self) -> Decimal:
        """Net book value after the last row (the cost when there are no rows)."""
        return self.rows[-1].net_book_value if self.rows else self.terms.cost


def build_schedule(terms: DepreciationTerms) -> Schedule:
    """The depreciation schedule for ``terms``; pure, deterministic, exact."""
    rows = make_rows(
        exact_amounts(terms),
        currency=terms.currency,
        opening=terms.cost,
        accumulated_before=Decimal(0),
        target=terms.depreciable_base,
        by_fiscal_year=terms.method in TIME_BASED,
    )
    return Schedule(terms=terms, rows=rows, salvage=terms.salvage_amount)


def schedule_as_dict(schedule: Schedule) -> dict[str, object]:
    """JSON-ready form: ``{"schedule": [row, ...], "total": "..."}``, amounts as strings."""
    return {
        "schedule": [
            {
                "fiscal_year": row.fiscal_year,
                "period_start": row.period_start.isoformat(),
                "period_end": row.period_end.isoformat(),
                "amount": _text(row.amount),
                "accumulated": _text(row.accumulated),
                "net_book_value": _text(row.net_book_value),
            }
            for row in schedule.rows
        ],
        "total": _text(schedule.total),
    }


def _text(amount: Decimal) -> str:
    return format(amount, "f")


# -- periods -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SchedulePeriod:
    """A fiscal period before amounts are known: its fiscal year and first and last day."""

    fiscal_year: int
    start: date
    end: date


def _year_period(first_month: int, terms: DepreciationTerms) -> SchedulePeriod:
    fy = terms.fiscal_year_start
    return SchedulePeriod(
        fiscal.fiscal_year_name(first_month, fy),
        fiscal.month_start(first_month, fy),
        fiscal.month_end(first_month + 11, fy),
    )


def _month_period(month: int, terms: DepreciationTerms) -> SchedulePeriod:
    fy = terms.fiscal_year_start
    return SchedulePeriod(
        fiscal.fiscal_year_name(month, fy),
        fiscal.month_start(month, fy),
        fiscal.month_end(month, fy),
    )


def periods_from(terms: DepreciationTerms) -> Iterator[SchedulePeriod]:
    """Endless sequence of the schedule's periods, from the one placed in service."""
    fy = terms.fiscal_year_start
    month = fiscal.month_index(terms.placed_in_service, fy)
    if terms.frequency is Frequency.YEARLY:
        month = fiscal.year_start_index(month, fy)
    step = 12 if terms.frequency is Frequency.YEARLY else 1
    while True:
        yield _year_period(month, terms) if step == 12 else _month_period(month, terms)
        month += step


# -- exact amounts -------------------------------------------------------------------------


def exact_amounts(terms: DepreciationTerms) -> list[tuple[SchedulePeriod, Fraction]]:
    """Exact (unrounded) depreciation per period, in period order."""
    if terms.method is Method.MANUAL:
        return list(zip(periods_from(terms), map(Fraction, terms.manual_amounts), strict=False))
    if terms.method is Method.UNITS_OF_PRODUCTION:
        return _units_of_production(terms)
    return _time_based(terms)


def _units_of_production(terms: DepreciationTerms) -> list[tuple[SchedulePeriod, Fraction]]:
    base = Fraction(terms.depreciable_base)
    expected = Fraction(terms.expected_units or 0)
    out: list[tuple[SchedulePeriod, Fraction]] = []
    used = Fraction(0)
    before = Fraction(0)
    for period, units in zip(periods_from(terms), terms.units_per_period, strict=False):
        used += Fraction(units)
        reached = base * min(used, expected) / expected
        out.append((period, reached - before))
        before = reached
        if used >= expected:
            break
    return out


def _overlap(lo: Fraction, hi: Fraction, start: Fraction, end: Fraction) -> Fraction:
    return max(Fraction(0), min(hi, end) - max(lo, start))


def _time_based(terms: DepreciationTerms) -> list[tuple[SchedulePeriod, Fraction]]:
    fy = terms.fiscal_year_start
    pis = terms.placed_in_service
    daily = terms.convention is Convention.DAILY
    first_month = fiscal.month_index(pis, fy)
    first_year = fiscal.year_start_index(first_month, fy)
    life = terms.useful_life_months

    def pos(month: int) -> Fraction:
        """Position of the start of fiscal month ``month`` on the measuring axis."""
        if daily:
            return Fraction(fiscal.month_start(month, fy).toordinal())
        return Fraction(month)

    if daily:
        start = Fraction(pis.toordinal())

        def after(months: int) -> Fraction:
            return Fraction(fiscal.add_months(pis, months).toordinal())

        window = start
    else:
        quarter_start = first_year + 3 * ((first_month - first_year) // 3)
        start = {
            Convention.FULL_MONTH: Fraction(first_month),
            Convention.MID_MONTH: first_month + Fraction(1, 2),
            Convention.HALF_YEAR: Fraction(first_year + 6),
            Convention.MID_QUARTER: quarter_start + Fraction(3, 2),
        }[terms.convention]  # type: ignore[index]

        def after(months: int) -> Fraction:
            return start + months

        # Half-year and mid-quarter are notional: show the expense from the month in service.
        notional = terms.convention in (Convention.HALF_YEAR, Convention.MID_QUARTER)
        window = Fraction(first_month) if notional else start
    end = after(life)

    years: list[int] = []
    year = first_year
    while pos(year) < end:
        years.append(year)
        year += 12
    yearly = _yearly_amounts(terms, [(pos(y), pos(y + 12)) for y in years], start, end, after)

    if terms.frequency is Frequency.YEARLY:
        return [(_year_period(y, terms), amount) for y, amount in zip(years, yearly, strict=True)]
    out: list[tuple[SchedulePeriod, Fraction]] = []
    for y, amount in zip(years, yearly, strict=True):
        months = [m for m in range(max(y, first_month), y + 12) if pos(m) < end]
        weights = [_overlap(pos(m), pos(m + 1), window, end) for m in months]
        weight_sum = sum(weights, Fraction(0))
        for month, weight in zip(months, weights, strict=True):
            out.append((_month_period(month, terms), amount * weight / weight_sum))
    return out


def _yearly_amounts(
    terms: DepreciationTerms,
    spans: Sequence[tuple[Fraction, Fraction]],
    start: Fraction,
    end: Fraction,
    after: Callable[[int], Fraction],
) -> list[Fraction]:
    """Exact amount per fiscal year ``spans[i] = (year start, next year start)``."""
    method = terms.method
    base = Fraction(terms.depreciable_base)
    if method is Method.MACRS:
        return _macrs_yearly(terms, len(spans))
    if method is Method.STRAIGHT_LINE:
        return [base * _overlap(lo, hi, start, end) / (end - start) for lo, hi in spans]
    if method is Method.SUM_OF_YEARS_DIGITS:
        years = terms.useful_life_months // 12
        digits_sum = Fraction(years * (years + 1), 2)
        asset_years = [(after(12 * j), after(12 * (j + 1))) for j in range(years)]
        return [
            sum(
                (
                    base * (years - j) / digits_sum * _overlap(lo, hi, a, b) / (b - a)
                    for j, (a, b) in enumerate(asset_years)
                ),
                Fraction(0),
            )
            for lo, hi in spans
        ]
    # Declining balance and written-down value.
    rate = terms.annual_db_rate
    switch = method is Method.DECLINING_BALANCE and terms.switch_to_straight_line
    floor = Fraction(terms.salvage_amount)
    nbv = Fraction(terms.cost)
    out: list[Fraction] = []
    for lo, hi in spans:
        used = _overlap(lo, hi, start, end)
        if hi >= end:
            amount = nbv - floor
        else:
            amount = nbv * rate * used / (hi - lo)
            if switch:
                amount = max(amount, (nbv - floor) * used / (end - max(lo, start)))
            amount = min(amount, nbv - floor)
        out.append(amount)
        nbv -= amount
    return out


def macrs_percentages(terms: DepreciationTerms) -> tuple[Decimal, ...]:
    """The Pub 946 percentages (per tax year) that apply to MACRS ``terms``."""
    period = terms.recovery_period or 0
    if terms.convention is Convention.HALF_YEAR:
        return HALF_YEAR_TABLE[period]
    fy = terms.fiscal_year_start
    month = fiscal.month_index(terms.placed_in_service, fy)
    quarter = (month - fiscal.year_start_index(month, fy)) // 3 + 1
    return MID_QUARTER_TABLES[quarter][period]


def _macrs_yearly(terms: DepreciationTerms, years: int) -> list[Fraction]:
    percentages = macrs_percentages(terms)
    assert len(percentages) == years, "MACRS table length and recovery window disagree"
    cost = Fraction(terms.cost)
    return [cost * Fraction(p) / 100 for p in percentages]


# -- rounding into rows --------------------------------------------------------------------


def round_exact(value: Fraction, currency: str) -> Decimal:
    """Round an exact fraction to ``currency`` with the one rounding policy of ledger.money.

    The fraction is first cut (towards zero) two digits below the minor unit, which cannot move
    it across a rounding boundary, and then rounded by :func:`ledger.money.round_to_currency`.
    """
    places = minor_unit_exponent(currency) + 2
    cut = Decimal(int(value * 10**places)).scaleb(-places)
    return round_to_currency(cut, currency)


def make_rows(
    amounts: Sequence[tuple[SchedulePeriod, Fraction]],
    *,
    currency: str,
    opening: Decimal,
    accumulated_before: Decimal,
    target: Decimal,
    by_fiscal_year: bool,
) -> tuple[ScheduleRow, ...]:
    """Rows from exact amounts: each period rounded, the last absorbing what rounding left.

    ``opening`` is the net book value before the first row, ``accumulated_before`` the
    accumulated depreciation before it, ``target`` the total these rows are to depreciate. The
    last period takes ``target`` minus the rest only when the exact amounts reach ``target``
    (a units-of-production series may stop short). With ``by_fiscal_year`` each fiscal year's
    total is rounded first (the last year absorbing) and its periods are then rounded within it
    (the year's last period absorbing), so monthly rows add up to the yearly ones. Rows stop at
    the first period that completes ``target``.
    """
    if target <= 0 or not amounts:
        return ()
    complete = sum((amount for _, amount in amounts), Fraction(0)) == Fraction(target)
    if by_fiscal_year:
        years: list[list[Fraction]] = []
        previous = None
        for period, amount in amounts:
            if period.fiscal_year != previous:
                years.append([])
                previous = period.fiscal_year
            years[-1].append(amount)
        totals = _round_each(
            [sum(year, Fraction(0)) for year in years], currency, target, plug_last=complete
        )
        rounded = [
            part
            for year, total in zip(years, totals, strict=True)
            for part in _split_year(year, currency, total)
        ]
    else:
        rounded = _round_each([a for _, a in amounts], currency, target, plug_last=complete)
    rows: list[ScheduleRow] = []
    done = round_to_currency(0, currency)
    for (period, _), amount in zip(amounts, rounded, strict=True):
        done += amount
        rows.append(
            ScheduleRow(
                fiscal_year=period.fiscal_year,
                period_start=period.start,
                period_end=period.end,
                amount=amount,
                accumulated=accumulated_before + done,
                net_book_value=opening - done,
            )
        )
        if done == target:
            break
    return tuple(rows)


def _split_year(months: Sequence[Fraction], currency: str, total: Decimal) -> list[Decimal]:
    """Split a rounded year ``total`` over its months in proportion to their exact amounts by
    largest remainder (:func:`ledger.money.allocate`): the months sum exactly to the year and each
    is within one minor unit of its exact share, so no month carries the year's rounding."""
    if total == 0 or not any(months):
        return [total] + [round_to_currency(0, currency)] * (len(months) - 1)
    # Weights to 28 significant digits: equal months stay equal, so ties go to the earlier month.
    weights = [Decimal(m.numerator) / Decimal(m.denominator) for m in months]
    return allocate(total, weights, quantum=currency_quantum(currency))


def _round_each(
    exact: Sequence[Fraction], currency: str, total: Decimal, *, plug_last: bool
) -> list[Decimal]:
    """Round each amount, never passing ``total``; with ``plug_last`` the last makes it exact."""
    out: list[Decimal] = []
    done = round_to_currency(0, currency)
    for index, amount in enumerate(exact):
        if plug_last and index == len(exact) - 1:
            part = total - done
        else:
            part = min(round_exact(amount, currency), total - done)
        out.append(part)
        done += part
    return out

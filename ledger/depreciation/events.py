"""What happens to an asset after it is placed in service, as pure functions on a schedule.

- :func:`change_estimate`: new salvage and/or remaining life, applied prospectively from a period
  on the net book value at that point (IAS 8 / ASC 250: no restatement of earlier periods).
- :func:`impair`: a write-down recognised at the end of the period that contains the date (where
  impairment is tested); later periods depreciate the reduced carrying amount.
- :func:`dispose`: depreciation stops at the disposal date; the gain (or loss, negative) is
  proceeds - net book value at disposal.
- :func:`split_by_days`: share one period's amount between cost centres by the days each held
  the asset, for a transfer within the period.

When the remaining life is kept, the remaining rows are rescaled to the new depreciable amount,
so the pattern of the method carries on (and nothing changes when nothing changed). When a new
remaining life is given, the remaining periods are rebuilt with the same method as a new asset
costing the carrying amount, placed in service at the effective period with the full-month
convention (daily stays daily); declining balance then uses ``factor / new remaining life``.
Units of production always rebuild from the usage series; ``expected_units`` replaces the units
still expected. MACRS tax books have no estimates to change and no impairments: refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

from ledger.money import allocate, currency_quantum, round_to_currency

from .schedule import Revision, Schedule, SchedulePeriod, exact_amounts, make_rows, round_exact
from .terms import Convention, DepreciationError, Method, checked_amount, checked_number


@dataclass(frozen=True, slots=True)
class Disposal:
    """The outcome of disposing of (or retiring) an asset.

    Attributes:
        schedule: the schedule up to disposal; the disposal period's amount prorated by days.
        disposed_on: the disposal date; the asset is depreciated through this day.
        proceeds: what the disposal brought in (net of selling costs, as the caller decides).
        net_book_value: carrying amount at disposal.
        gain_or_loss: proceeds - net_book_value; positive is a gain, negative a loss.
    """

    schedule: Schedule
    disposed_on: date
    proceeds: Decimal
    net_book_value: Decimal
    gain_or_loss: Decimal


def change_estimate(
    schedule: Schedule,
    *,
    effective_from: date,
    remaining_life_months: int | None = None,
    salvage: Decimal | int | str | None = None,
    expected_units: Decimal | int | str | None = None,
) -> Schedule:
    """Apply a change of estimate from the period starting on ``effective_from``.

    Rows before that period are kept as they are. ``remaining_life_months`` counts from
    ``effective_from``; ``salvage`` is the new residual value. Raises
    :class:`DepreciationError` when the date is not a period start of the schedule (or the
    period right after its last row), or the new estimate cannot be depreciated.
    """
    starts = [row.period_start for row in schedule.rows]
    after_last = schedule.rows[-1].period_end + timedelta(days=1) if schedule.rows else None
    if effective_from in starts:
        index = starts.index(effective_from)
    elif effective_from == after_last:
        index = len(starts)
    else:
        hint = next((s for s in reversed(starts) if s <= effective_from), None)
        raise DepreciationError(
            f"{effective_from} is not the start of a period of this schedule"
            + (f"; use {hint}" if hint else ""),
            field="effective_from",
            value=effective_from,
        )
    return _revise(
        schedule,
        index=index,
        kind="change_of_estimate",
        effective_from=effective_from,
        write_down=Decimal(0),
        salvage=salvage,
        remaining_life_months=remaining_life_months,
        expected_units=expected_units,
    )


def impair(
    schedule: Schedule,
    *,
    on: date,
    amount: Decimal | int | str,
    remaining_life_months: int | None = None,
    salvage: Decimal | int | str | None = None,
) -> Schedule:
    """Write the asset down by ``amount`` at the end of the period that contains ``on``.

    That period keeps its depreciation; its net book value drops by the write-down; later
    periods depreciate the reduced carrying amount down to salvage (optionally a new salvage
    and remaining life). The write-down may not take the carrying amount below salvage: lower
    the salvage in the same call if it must.
    """
    write_down = checked_amount(amount, "amount", schedule.currency)
    if write_down <= 0:
        raise DepreciationError(
            f"impairment must be positive, got {write_down}", field="amount", value=write_down
        )
    index = _row_containing(schedule, on, "on")
    row = schedule.rows[index]
    new_salvage = schedule.salvage if salvage is None else salvage
    floor = checked_amount(new_salvage, "salvage", schedule.currency)
    if row.net_book_value - write_down < floor:
        raise DepreciationError(
            f"impairment {write_down} would take the net book value {row.net_book_value} below "
            f"salvage {floor}; lower the salvage too",
            field="amount",
            value=write_down,
        )
    return _revise(
        schedule,
        index=index + 1,
        kind="impairment",
        effective_from=row.period_end + timedelta(days=1),
        write_down=write_down,
        salvage=salvage,
        remaining_life_months=remaining_life_months,
        expected_units=None,
    )


def dispose(
    schedule: Schedule, *, on: date, proceeds: Decimal | int | str = Decimal(0)
) -> Disposal:
    """Stop depreciation at ``on`` (inclusive) and work out the gain or loss on disposal.

    The disposal period's amount is prorated by days in service within the period (from the
    later of the period start and the date placed in service, through ``on``); later periods are
    dropped. A write-down of the disposal period counts only if ``on`` is its last day.
    """
    terms = schedule.terms
    proceeds_amount = checked_amount(proceeds, "proceeds", schedule.currency)
    if on < terms.placed_in_service:
        raise DepreciationError(
            f"disposal on {on} is before the asset was placed in service "
            f"({terms.placed_in_service})",
            field="on",
            value=on,
        )
    kept = []
    for row in schedule.rows:
        if row.period_end <= on:
            kept.append(row)
            continue
        if row.period_start <= on:
            first = max(row.period_start, terms.placed_in_service)
            used = (on - first).days + 1
            whole = (row.period_end - first).days + 1
            amount = round_exact(Fraction(row.amount) * used / whole, schedule.currency)
            nbv_before = kept[-1].net_book_value if kept else terms.cost
            kept.append(
                replace(
                    row,
                    amount=amount,
                    accumulated=row.accumulated - row.amount + amount,
                    net_book_value=nbv_before - amount,
                    write_down=Decimal(0),
                )
            )
        break
    revisions = tuple(r for r in schedule.revisions if r.effective_from <= on)
    truncated = replace(
        schedule,
        rows=tuple(kept),
        salvage=revisions[-1].salvage if revisions else terms.salvage_amount,
        revisions=revisions,
    )
    nbv = truncated.net_book_value
    return Disposal(
        schedule=truncated,
        disposed_on=on,
        proceeds=proceeds_amount,
        net_book_value=nbv,
        gain_or_loss=proceeds_amount - nbv,
    )


def split_by_days(
    amount: Decimal,
    *,
    period_start: date,
    period_end: date,
    holders: Sequence[tuple[date, str]],
    currency: str,
) -> dict[str, Decimal]:
    """Share a period's ``amount`` between cost centres by the days each held the asset.

    ``holders`` lists ``(from_date, cost_centre)`` in date order: each cost centre holds the
    asset from its date (that day included) until the next one's; the first must hold it from
    the period start (its date on or before it). The shares are exact: they sum to ``amount``
    (largest remainder, :func:`ledger.money.allocate`). A cost centre that appears twice gets
    one share. Pass a row as ``split_by_days(row.amount, period_start=row.period_start, ...)``.
    """
    if not holders:
        raise DepreciationError("name at least one cost centre", field="holders")
    dates = [when for when, _ in holders]
    if dates[0] > period_start:
        raise DepreciationError(
            f"nobody holds the asset from {period_start} to {dates[0]}: the first cost centre "
            f"must hold it from the period start",
            field="holders",
            value=dates[0],
        )
    for earlier, later in pairwise(dates):
        if later <= earlier:
            raise DepreciationError(
                f"transfer dates must increase: {later} follows {earlier}",
                field="holders",
                value=later,
            )
    if dates[-1] > period_end:
        raise DepreciationError(
            f"transfer on {dates[-1]} is after the period end {period_end}",
            field="holders",
            value=dates[-1],
        )
    bounds = [max(when, period_start) for when in dates] + [period_end + timedelta(days=1)]
    days = [(bounds[i + 1] - bounds[i]).days for i in range(len(holders))]
    parts = allocate(round_to_currency(amount, currency), days, quantum=currency_quantum(currency))
    shares: dict[str, Decimal] = {}
    for (_, centre), part in zip(holders, parts, strict=True):
        shares[centre] = shares.get(centre, Decimal(0)) + part
    return shares


# -- internals -----------------------------------------------------------------------------


def _row_containing(schedule: Schedule, day: date, field_name: str) -> int:
    for index, row in enumerate(schedule.rows):
        if row.period_start <= day <= row.period_end:
            return index
    raise DepreciationError(
        f"{day} is outside the schedule's periods"
        + (
            f" ({schedule.rows[0].period_start} to {schedule.rows[-1].period_end})"
            if schedule.rows
            else " (it has none)"
        ),
        field=field_name,
        value=day,
    )


def _revise(
    schedule: Schedule,
    *,
    index: int,
    kind: str,
    effective_from: date,
    write_down: Decimal,
    salvage: Decimal | int | str | None,
    remaining_life_months: int | None,
    expected_units: Decimal | int | str | None,
) -> Schedule:
    terms = schedule.terms
    currency = schedule.currency
    if terms.method is Method.MACRS:
        raise DepreciationError(
            "MACRS follows the IRS tables: a tax book has no changes of estimate or impairments",
            field="method",
            value=terms.method.value,
        )
    if remaining_life_months is not None and terms.method in (
        Method.MANUAL,
        Method.UNITS_OF_PRODUCTION,
    ):
        raise DepreciationError(
            f"{terms.method.value} has no useful life to change; give new amounts or units",
            field="remaining_life_months",
            value=remaining_life_months,
        )
    if expected_units is not None and terms.method is not Method.UNITS_OF_PRODUCTION:
        raise DepreciationError(
            "expected_units applies to units of production only",
            field="expected_units",
            value=expected_units,
        )
    head = list(schedule.rows[:index])
    if write_down:
        last = head[-1]
        head[-1] = replace(
            last,
            write_down=last.write_down + write_down,
            net_book_value=last.net_book_value - write_down,
        )
    carrying = head[-1].net_book_value if head else terms.cost
    accumulated = head[-1].accumulated if head else round_to_currency(0, currency)
    new_salvage = (
        schedule.salvage if salvage is None else checked_amount(salvage, "salvage", currency)
    )
    if new_salvage < 0:
        raise DepreciationError(
            f"salvage must not be negative, got {new_salvage}", field="salvage", value=new_salvage
        )
    if new_salvage > carrying:
        raise DepreciationError(
            f"salvage {new_salvage} is above the net book value {carrying} on {effective_from}",
            field="salvage",
            value=new_salvage,
        )
    target = carrying - new_salvage
    units: Decimal | None = None
    by_fiscal_year = False
    if terms.method is Method.UNITS_OF_PRODUCTION:
        units = _units_still_expected(schedule, index, expected_units)
        amounts = _rebuilt(schedule, index, carrying, new_salvage, effective_from, units=units)
    elif remaining_life_months is not None:
        amounts = _rebuilt(
            schedule, index, carrying, new_salvage, effective_from, life=remaining_life_months
        )
        by_fiscal_year = True
    else:
        amounts = _rescaled(schedule, index, target, effective_from)
    tail = make_rows(
        amounts,
        currency=currency,
        opening=carrying,
        accumulated_before=accumulated,
        target=target,
        by_fiscal_year=by_fiscal_year,
    )
    revision = Revision(
        kind=kind,
        effective_from=effective_from,
        salvage=new_salvage,
        remaining_life_months=remaining_life_months,
        expected_units=units,
        write_down=write_down,
    )
    return replace(
        schedule,
        rows=(*head, *tail),
        salvage=new_salvage,
        revisions=(*schedule.revisions, revision),
    )


def _rescaled(
    schedule: Schedule, index: int, target: Decimal, effective_from: date
) -> list[tuple[SchedulePeriod, Fraction]]:
    tail = schedule.rows[index:]
    before = sum((row.amount for row in tail), Decimal(0))
    if target == 0:
        return []
    if before == 0:
        raise DepreciationError(
            f"no depreciation is left after {effective_from} to spread {target} over; "
            f"give remaining_life_months",
            field="remaining_life_months",
        )
    scale = Fraction(target) / Fraction(before)
    return [
        (
            SchedulePeriod(row.fiscal_year, row.period_start, row.period_end),
            Fraction(row.amount) * scale,
        )
        for row in tail
    ]


def _units_still_expected(
    schedule: Schedule, index: int, given: Decimal | int | str | None
) -> Decimal:
    if given is not None:
        units = checked_number(given, "expected_units")
    else:
        terms = schedule.terms
        expected, since = terms.expected_units or Decimal(0), 0
        starts = [row.period_start for row in schedule.rows]
        for revision in schedule.revisions:
            if revision.expected_units is not None and revision.effective_from in starts:
                expected = revision.expected_units
                since = starts.index(revision.effective_from)
        units = expected - sum(terms.units_per_period[since:index], Decimal(0))
    if units <= 0:
        raise DepreciationError(
            f"{units} units are still expected; give a positive expected_units",
            field="expected_units",
            value=units,
        )
    return units


def _rebuilt(
    schedule: Schedule,
    index: int,
    carrying: Decimal,
    salvage: Decimal,
    effective_from: date,
    *,
    life: int | None = None,
    units: Decimal | None = None,
) -> list[tuple[SchedulePeriod, Fraction]]:
    """Exact amounts for the remaining periods, as a new asset costing the carrying amount."""
    terms = schedule.terms
    if carrying == salvage:
        return []
    changes: dict[str, object] = {
        "cost": carrying,
        "salvage": salvage,
        "salvage_percent": None,
        "placed_in_service": effective_from,
    }
    if units is not None:
        changes |= {"expected_units": units, "units_per_period": terms.units_per_period[index:]}
    else:
        daily = terms.convention is Convention.DAILY
        changes |= {
            "convention": Convention.DAILY if daily else Convention.FULL_MONTH,
            "life_years": None,
            "life_months": life,
        }
    try:
        rest = replace(terms, **changes)
    except DepreciationError as exc:
        field = "remaining_life_months" if exc.field in ("life_months", "life_years") else exc.field
        raise DepreciationError(exc.message, field=field or "terms", value=exc.value) from None
    return exact_amounts(rest)

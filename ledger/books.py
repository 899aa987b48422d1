"""Depreciation books at work: an asset's terms plus its dated events give its effective
schedule, and each period's depreciation charged to the cost centres that held the asset.

Pure functions over :mod:`ledger.asset` values and the :mod:`ledger.depreciation` engine. The
monthly run (``ledger.services.depreciation``) stores what these compute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from ledger.asset import Asset, AssetEvent, AssetEventKind, DepreciationBook
from ledger.calendar import Period
from ledger.depreciation import (
    DepreciationError,
    Disposal,
    Frequency,
    Schedule,
    ScheduleRow,
    build_schedule,
    change_estimate,
    dispose,
    impair,
    split_by_days,
)


@dataclass(frozen=True, slots=True)
class BookSchedule:
    """A book's monthly schedule with every event applied.

    Attributes:
        book: the book.
        schedule: monthly rows from placed in service to full depreciation or disposal.
        disposal: the disposal outcome (net book value, gain or loss), if disposed.
    """

    book: DepreciationBook
    schedule: Schedule
    disposal: Disposal | None = None

    def row_for(self, period: Period) -> ScheduleRow | None:
        """The schedule row that falls in ``period`` (monthly rows are calendar months)."""
        for row in self.schedule.rows:
            if row.period_start <= period.end and row.period_end >= period.start:
                return row
        return None


@dataclass(frozen=True, slots=True)
class PeriodCharge:
    """Depreciation of one asset in one book and period, charged to one cost centre.

    Attributes:
        amount: positive, quantised to the currency.
    """

    asset_tag: str
    book: str
    period: str
    cost_centre: str
    expense_account: str
    accumulated_account: str
    amount: Decimal
    currency: str


def _for_book(events: Iterable[AssetEvent], book: str) -> list[AssetEvent]:
    return sorted((e for e in events if e.book in (None, book)),
                  key=lambda e: (e.effective, e.kind != AssetEventKind.DISPOSAL))


def effective_schedule(book: DepreciationBook, events: Sequence[AssetEvent]) -> BookSchedule:
    """The monthly schedule of ``book`` with its changes of estimate, impairments and disposal
    applied in date order. Raises :class:`DepreciationError` naming the asset for an event the
    schedule cannot take (a date outside it, an impairment below salvage ...)."""
    schedule = build_schedule(replace(book.terms, frequency=Frequency.MONTHLY))
    disposal: Disposal | None = None
    for event in _for_book(events, book.book):
        if disposal is not None:
            break  # nothing happens to a book after its asset is gone
        try:
            if event.kind is AssetEventKind.CHANGE_OF_ESTIMATE:
                schedule = change_estimate(schedule, effective_from=event.effective,
                                           remaining_life_months=event.remaining_life_months,
                                           salvage=event.salvage)
            elif event.kind is AssetEventKind.IMPAIRMENT:
                assert event.amount is not None
                schedule = impair(schedule, on=event.effective, amount=event.amount,
                                  remaining_life_months=event.remaining_life_months,
                                  salvage=event.salvage)
            elif event.kind is AssetEventKind.DISPOSAL:
                disposal = dispose(schedule, on=event.effective,
                                   proceeds=event.proceeds or Decimal(0))
                schedule = disposal.schedule
        except DepreciationError as exc:
            raise DepreciationError(
                f"asset {book.asset_tag}, book {book.book}, {event.kind.value} on "
                f"{event.effective}: {exc.message}", field=exc.field or "effective",
                value=exc.value) from None
    return BookSchedule(book, schedule, disposal)


def holders(asset: Asset, events: Sequence[AssetEvent]) -> list[tuple[date, str]]:
    """Who held the asset from when: ``[(from_date, cost_centre), ...]`` in date order.

    The first holder is the giving side of the first transfer (or the asset's cost centre when
    it was never transferred), from the beginning of time.
    """
    transfers = sorted((e for e in events if e.kind is AssetEventKind.TRANSFER),
                       key=lambda e: e.effective)
    first = (transfers[0].from_cost_centre if transfers and transfers[0].from_cost_centre
             else asset.cost_centre)
    if first is None:
        raise DepreciationError(f"asset {asset.tag} has no cost centre to charge",
                                field="cost_centre")
    timeline = [(date.min, first)]
    for transfer in transfers:
        assert transfer.to_cost_centre is not None
        if transfer.effective == timeline[-1][0]:
            timeline[-1] = (transfer.effective, transfer.to_cost_centre)
        else:
            timeline.append((transfer.effective, transfer.to_cost_centre))
    return timeline


def period_charges(asset: Asset, book: DepreciationBook, events: Sequence[AssetEvent],
                   period: Period) -> list[PeriodCharge]:
    """The period's depreciation of ``asset`` in ``book``, split by days between the cost
    centres that held it during the period. Empty when nothing is depreciated then."""
    row = effective_schedule(book, events).row_for(period)
    if row is None or row.amount == 0:
        return []
    timeline = holders(asset, events)
    in_period = [(max(when, row.period_start), centre) for when, centre in timeline
                 if when <= row.period_end]
    # Keep only the holder at the period start and those who took over during the period.
    start_index = max(i for i, (when, _) in enumerate(in_period) if when <= row.period_start)
    shares = split_by_days(row.amount, period_start=row.period_start,
                           period_end=row.period_end, holders=in_period[start_index:],
                           currency=book.terms.currency)
    return [
        PeriodCharge(asset.tag, book.book, period.key, centre, book.expense_account,
                     book.accumulated_account, amount, book.terms.currency)
        for centre, amount in sorted(shares.items()) if amount != 0
    ]

"""The demo company after its month-end allocation: the ground every report test stands on."""

from __future__ import annotations

from client.demo import demo_period, run_month_end
from ledger.persistence.unit_of_work import UnitOfWorkFactory


def allocated_demo(app):
    """Run the demo's month-end (billing import + allocation); returns (period, run outcome)."""
    period = demo_period(app)
    result = run_month_end(app, period)
    return period, result.allocation


def as_user(app, login: str) -> UnitOfWorkFactory:
    return UnitOfWorkFactory(app.engine, login, app.uow.clock)

"""The schema, the unit of work and the embedded database behave as promised."""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from client.bootstrap import NotInitialisedError, open_app
from ledger.persistence import migrate
from ledger.persistence.schema import metadata
from ledger.reference import CostCentre
from ledger.services import reference_data
from ledger.staging import staged


def test_the_migrations_build_exactly_the_schema_the_records_describe(app) -> None:
    with app.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == [], "a record changed without a migration: add one"


def test_opening_an_initialised_database_applies_nothing_more(app) -> None:
    assert migrate.current_revision(app.engine) == migrate.head_revision()
    assert migrate.upgrade(app.engine) is False


def test_a_database_from_a_newer_version_is_refused(app) -> None:
    with app.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(migrate.SchemaError, match="newer version"):
        migrate.needs_upgrade(app.engine)


def test_an_uninitialised_database_is_not_created_by_accident(tmp_path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(NotInitialisedError, match=r"apportion --db .* init"):
        open_app(f"sqlite:///{path}")
    assert not path.exists()


def test_a_unit_of_work_that_is_not_committed_leaves_nothing(app) -> None:
    with app.uow() as uow:
        reference_data.import_cost_centres(
            uow=uow, cost_centres=staged([CostCentre("1000", "Operations")]))
        # no commit: an exception or an early return must not leave half a change behind
    with app.uow(read_only=True) as uow:
        assert uow.cost_centres.count() == 0
        assert uow.audit.count() == 1  # only the administrator's grant from the fixture


def test_exact_decimals_survive_storage_without_passing_through_float(app) -> None:
    from ledger.reference import FxRate

    rate = Decimal("0.1234567890123456789")
    with app.uow() as uow:
        reference_data.set_fx_rates(uow=uow, rates=[FxRate("USD", "EUR", date(2026, 1, 1),
                                                            rate)])
        uow.commit()
    with app.uow(read_only=True) as uow:
        assert uow.fx_rates.rate_on("USD", "EUR", date(2026, 1, 1)).rate == rate


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url) -> None:
    app = open_app(sqlite_url, create=True)
    try:
        with app.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        app.close()


def test_two_sqlite_writers_queue_up_instead_of_failing_half_way(sqlite_url) -> None:
    """Writers begin with BEGIN IMMEDIATE: the second waits for the first's lock up front
    rather than reading, then failing with 'database is locked' when it tries to write."""
    app = open_app(sqlite_url, create=True)
    from ledger.services.users import bootstrap_administrator

    with app.uow() as uow:
        bootstrap_administrator(uow=uow)
        uow.commit()
    first_holds_lock = threading.Event()
    order: list[str] = []
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with app.uow() as uow:
                reference_data.import_cost_centres(
                    uow=uow, cost_centres=staged([CostCentre("1000", "Operations")]))
                uow.session.flush()
                first_holds_lock.set()
                time.sleep(0.5)
                order.append("first")
                uow.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def second() -> None:
        try:
            first_holds_lock.wait(5)
            with app.uow() as uow:
                existing = uow.cost_centres.count()
                reference_data.import_cost_centres(
                    uow=uow, cost_centres=staged([CostCentre(f"20{existing}0", "Sales")]))
                order.append("second")
                uow.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        assert errors == []
        assert order == ["first", "second"]
        with app.uow(read_only=True) as uow:
            # The second writer saw the first's committed row: it began after the first ended.
            assert [cc.code for cc in uow.cost_centres.list()] == ["1000", "2010"]
    finally:
        app.close()

"""On a real PostgreSQL server: the application role may not rewrite the audit trail or posted
journals, and identity is the database login."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from client.bootstrap import open_app
from ledger.access import Role
from ledger.journal import JournalStatus
from ledger.persistence.database import normalise_url
from ledger.services.users import bootstrap_administrator, grant_role
from tests.services.ledger_support import Ledger, approved_batch

pytestmark = pytest.mark.postgresql


@pytest.fixture
def pg_ledger(postgres_url, clock):
    app = open_app(postgres_url, create=True, clock=clock)
    with app.uow() as uow:
        bootstrap_administrator(uow=uow)
        uow.commit()
    ledger = Ledger(app)
    approved_batch(ledger, 2)
    yield ledger
    app.close()


def _as_app_role(engine, sql: str) -> None:
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL ROLE apportion_app"))
        connection.execute(text(sql))


def test_the_app_role_may_append_to_the_audit_trail_but_never_change_it(pg_ledger) -> None:
    engine = pg_ledger.app.engine
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
        may = connection.execute(text(
            "SELECT has_table_privilege('apportion_app', 'audit_events', 'SELECT'), "
            "has_table_privilege('apportion_app', 'audit_events', 'INSERT')")).one()
    assert tuple(may) == (True, True)
    for sql in ("UPDATE audit_events SET reason = 'nothing to see' WHERE sequence = 2",
                "DELETE FROM audit_events WHERE sequence = 2",
                "TRUNCATE audit_events"):
        with pytest.raises(DBAPIError, match="permission denied"):
            _as_app_role(engine, sql)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == count


def test_a_posted_journal_is_changed_only_by_its_reversal(pg_ledger) -> None:
    engine = pg_ledger.app.engine
    with engine.begin() as connection:  # as if the poster had posted journal 1
        connection.execute(text("UPDATE journals SET status = 'posted' WHERE id = 1"))
    for sql in ("UPDATE journal_lines SET amount_minor = 1 WHERE journal_id = 1",
                "DELETE FROM journal_lines WHERE journal_id = 1",
                "UPDATE journals SET description = 'rewritten' WHERE id = 1",
                "DELETE FROM journals WHERE id = 1"):
        with pytest.raises(DBAPIError, match=r"posted journal|cannot change|permission denied"):
            _as_app_role(engine, sql)
    _as_app_role(engine, "UPDATE journal_lines SET memo = 'fine' WHERE journal_id = 2")
    _as_app_role(engine, "UPDATE journals SET status = 'reversed', message = 'by 3' "
                         "WHERE id = 1")
    assert pg_ledger.journal(1).status is JournalStatus.REVERSED


def test_identity_is_the_database_login(pg_ledger, postgres_url, clock) -> None:
    login = f"alice_{uuid.uuid4().hex[:8]}"
    admin = pg_ledger.app.engine
    with admin.begin() as connection:
        connection.execute(text(f"CREATE ROLE {login} LOGIN PASSWORD 'pw' IN ROLE apportion_app"))
    try:
        with pg_ledger.app.uow() as uow:
            grant_role(uow=uow, login=login, role=Role.VIEWER)
            uow.commit()
        url = make_url(normalise_url(postgres_url)).set(username=login, password="pw")
        try:
            app = open_app(url.render_as_string(hide_password=False), clock=clock)
        except DBAPIError as exc:  # the server's pg_hba.conf may not let a new login in
            pytest.skip(f"cannot log in as a new role on this server: {exc}")
        try:
            assert app.login == login
            with app.uow() as uow:
                assert uow.actor.login == login and uow.actor.roles == {Role.VIEWER}
                uow.audit.count()  # reads work through the app role's grants
        finally:
            app.close()
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP OWNED BY {login}"))
            connection.execute(text(f"DROP ROLE {login}"))


"""Engines: the embedded SQLite file and PostgreSQL, each configured safely.

SQLite: WAL journal, foreign keys on, a busy timeout, and pysqlite's own transaction handling
switched off (the documented SQLAlchemy recipe) so that writers start with ``BEGIN IMMEDIATE``
and take the write lock up front instead of failing half-way with "database is locked".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ledger.errors import ApportionError

#: Execution option that marks an engine whose transactions write (BEGIN IMMEDIATE on SQLite).
WRITER_OPTION = "apportion_writer"
SQLITE_BUSY_TIMEOUT_SECONDS = 30


class DatabaseUrlError(ApportionError, ValueError):
    """The database URL cannot be used."""


def normalise_url(url: str) -> str:
    """Accept the common spellings and pick our drivers: ``postgresql://`` uses psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(
            f"{url!r} is not a database URL; use sqlite:///PATH or "
            "postgresql://USER@HOST/DBNAME"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgresql" and parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend not in ("sqlite", "postgresql"):
        raise DatabaseUrlError(f"Apportion supports SQLite and PostgreSQL, not {backend}")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` with the settings Apportion relies on."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().parent
            if not folder.exists():
                folder.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        writer = connection.get_execution_options().get(WRITER_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def writer_engine(engine: Engine) -> Engine:
    """The same engine, marked so that its transactions take the write lock when they begin."""
    return engine.execution_options(**{WRITER_OPTION: True})


def database_login(engine: Engine) -> str | None:
    """The login the server knows us by (PostgreSQL), or None for SQLite."""
    if is_sqlite(engine):
        return None
    with engine.connect() as connection:
        return connection.execute(text("SELECT session_user")).scalar_one()


def describe(engine: Engine) -> str:
    """The URL without its password, for status lines and logs."""
    return engine.url.render_as_string(hide_password=True)

"""The composition root: settings, engine, unit-of-work factory, and the acting user.

Front ends (the CLI, the desktop client, the scheduler) call :func:`open_app` and nothing else
to reach the core. No Qt is imported here, so headless commands start fast.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url

from ledger.costfacts import CostFactStore
from ledger.errors import ApportionError
from ledger.persistence import migrate
from ledger.persistence.database import (
    database_login,
    describe,
    is_sqlite,
    make_engine,
    normalise_url,
)
from ledger.persistence.unit_of_work import UnitOfWorkFactory
from ledger.ports import Clock

APP_NAME = "apportion"
ENV_DB = "APPORTION_DB"
ENV_USER = "APPORTION_USER"
ENV_COSTFACTS = "APPORTION_COSTFACTS"


class NotInitialisedError(ApportionError):
    """The database has no Apportion schema yet."""


def data_dir() -> Path:
    """Where the embedded database and local files live (per user, per OS convention)."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'apportion.db'}"


def demo_database_url() -> str:
    return f"sqlite:///{data_dir() / 'apportion-demo.db'}"


def database_url(explicit: str | None = None) -> str:
    """``--db`` if given, else ``APPORTION_DB``, else the embedded SQLite file."""
    return explicit or os.environ.get(ENV_DB) or default_database_url()


def current_login(engine: Engine) -> str:
    """Who is acting: the database login on PostgreSQL (the server vouches for it); on SQLite,
    where the file is a single-user trust boundary, ``APPORTION_USER`` or the OS login."""
    login = database_login(engine)
    if login is not None:
        return login
    override = os.environ.get(ENV_USER, "").strip()
    if override:
        return override
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass
class App:
    """A database opened for use: its engine, its unit-of-work factory and who is acting."""

    url: str
    engine: Engine
    uow: UnitOfWorkFactory
    login: str
    upgraded: bool = False

    @property
    def where(self) -> str:
        return describe(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @property
    def costfacts_dir(self) -> Path:
        """Where bulk cost facts (Parquet) live: ``APPORTION_COSTFACTS``; else beside the SQLite
        file (``NAME.costfacts/``), so each database keeps its own; else, for a server database,
        a folder per database in the data directory (teams point the variable at shared storage).
        """
        configured = os.environ.get(ENV_COSTFACTS, "").strip()
        if configured:
            return Path(configured).expanduser()
        sqlite_file = sqlite_path(self.url)
        if sqlite_file is not None:
            return sqlite_file.with_name(sqlite_file.stem + ".costfacts")
        url = self.engine.url
        return data_dir() / "costfacts" / f"{url.host or 'local'}-{url.port or ''}-{url.database}"

    def cost_facts(self) -> CostFactStore:
        return CostFactStore(self.costfacts_dir)

    def close(self) -> None:
        self.engine.dispose()


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for other databases and in-memory SQLite."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def has_schema(engine: Engine) -> bool:
    return inspect(engine).has_table("alembic_version")


def open_app(url: str | None = None, *, create: bool = False, clock: Clock | None = None) -> App:
    """Open the database at ``url``; upgrade an older schema; with ``create``, make a new one.

    Raises :class:`NotInitialisedError` when the database has no schema and ``create`` is false.
    """
    resolved = database_url(url)
    sqlite_file = sqlite_path(resolved)
    if sqlite_file is not None and not create and not sqlite_file.exists():
        # Connecting would create an empty file; say what to do instead.
        raise NotInitialisedError(
            f"no Apportion database at {sqlite_file}; create it with: apportion --db "
            f"{resolved} init (add --demo for the demo company)"
        )
    engine = make_engine(resolved)
    try:
        if not has_schema(engine) and not create:
            raise NotInitialisedError(
                f"no Apportion database at {describe(engine)}; create it with: apportion "
                f"--db {describe(engine)} init (add --demo for the demo company)"
            )
        upgraded = migrate.upgrade(engine)
        login = current_login(engine)
    except Exception:
        engine.dispose()
        raise
    return App(resolved, engine, UnitOfWorkFactory(engine, login, clock), login, upgraded)

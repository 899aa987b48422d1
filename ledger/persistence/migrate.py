"""Schema versions: Alembic migrations applied on ``apportion init`` and on start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from ledger.errors import ApportionError

MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaError(ApportionError):
    """The database schema is newer than this version of Apportion understands."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def needs_upgrade(engine: Engine) -> bool:
    current = current_revision(engine)
    if current == head_revision():
        return False
    known = {r.revision for r in ScriptDirectory.from_config(_config()).walk_revisions()}
    if current is not None and current not in known:
        raise SchemaError(
            f"the database is at schema {current}, which this version of Apportion does not "
            "know; it was written by a newer version: upgrade Apportion"
        )
    return True


def upgrade(engine: Engine, revision: str = "head") -> bool:
    """Bring the schema to the newest version (or ``revision``); True when anything was applied.

    On SQLite, altering a table means copying it (Alembic's batch mode), which foreign keys
    would refuse while other tables point at it: they are switched off for the migration, as
    SQLite's documentation prescribes, checked afterwards, and switched on again.
    """
    if revision == "head" and not needs_upgrade(engine):
        return False
    config = _config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        raw = connection.connection.driver_connection if sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")  # outside any transaction, or it is ignored
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise SchemaError(f"the migration left {len(broken)} broken references, "
                                          f"first in table {broken[0][0]}; nothing was changed")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")
    return True

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


def upgrade(engine: Engine) -> bool:
    """Bring the schema to the newest version; returns True when anything was applied."""
    if not needs_upgrade(engine):
        return False
    config = _config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return True

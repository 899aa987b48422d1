"""An older database is upgraded with its data intact, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from ledger.persistence import migrate
from ledger.services.audit import verify_audit
from ledger.services.status import status_summary

#: Status counts of tables that later revisions add: a downgrade below them drops their rows,
#: so an upgrade cannot bring them back and they are left out of the comparison.
ADDED_AFTER_0003 = {"allocation_runs", "discovery_records", "licence_entitlements",
                    "software_installations",
                    # from the policy's review calendar (policy_versions, 0015)
                    "overdue_reviews"}


def _kept(summary: dict) -> dict:
    return {key: value for key, value in summary.items() if key not in ADDED_AFTER_0003}


@pytest.mark.parametrize("older", ["0002_assets", "0003_journal_lifecycle"])
def test_a_database_written_by_an_older_version_upgrades_with_everything_kept(
    demo_app, older
) -> None:
    from alembic import command

    with demo_app.uow(read_only=True) as uow:
        before = status_summary(uow=uow)
    config = migrate._config()
    with demo_app.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        with connection.begin():
            config.attributes["connection"] = connection
            command.downgrade(config, older)
        if connection.dialect.name == "sqlite":
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")
    assert migrate.current_revision(demo_app.engine) == older
    assert migrate.upgrade(demo_app.engine) is True
    with demo_app.uow(read_only=True) as uow:
        after = status_summary(uow=uow)
        problems, head = verify_audit(uow=uow)
    assert _kept(after) == _kept(before)
    assert problems == [] and head.sequence == before["audit_events"]

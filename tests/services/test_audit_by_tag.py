"""An auditor looking for one asset tag finds its changes in the register loads' chunk events
(one ``asset.register`` event per 1,000 assets, keyed ``FIRST..LAST (N)``), each shown with that
asset's own before and after, through an index written with the event; the chain still
verifies. ``apportion audit log --key`` on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from client.cli import cli
from client.commands.common import console
from ledger.asset import Asset, AssetKind
from ledger.persistence.audit_index import AuditEventKeyRecord
from ledger.reference import CostCentre
from ledger.services import assets as assets_service
from ledger.services import reference_data
from ledger.services.audit import audit_event, audit_find, audit_log, verify_audit
from ledger.staging import staged

TAG = "LT-01234"


def laptop(n: int, *, owner: str = "j.doe") -> Asset:
    return Asset(f"LT-{n:05d}", f"Latitude #{n}", AssetKind.LAPTOP, "1010",
                 purchase_cost=Decimal("1349.00"), purchase_date=date(2025, 3, 1),
                 serial_number=f"SN{n:07d}", owner=owner)


def load(app, assets: list[Asset], reason: str) -> None:
    with app.uow() as uow:
        assets_service.register_assets(uow=uow, assets=staged(assets, "register.csv"),
                                       reason=reason)
        uow.commit()


@pytest.fixture
def loaded(app):
    """2,500 laptops in one load (three chunk events), then three of them reassigned."""
    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre("1010", "Manufacturing")]))
        uow.commit()
    load(app, [laptop(n) for n in range(2500)], "initial SAP load")
    load(app, [laptop(n, owner="a.smith") if n in (7, 1234, 2400) else laptop(n)
               for n in range(2500)], "reorganisation")
    return app


def apportion(app, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--db", app.url, *args],
                                env={"APPORTION_USER": app.login})
    assert result.exit_code == 0, result.output
    return result.output


def test_one_tag_finds_its_chunk_events_with_its_own_values(loaded) -> None:
    with loaded.uow(read_only=True) as uow:
        assert [e.event.key for e in audit_log(uow=uow, action="asset.register")] == [
            "LT-00000..LT-00999 (1000)", "LT-01000..LT-01999 (1000)",
            "LT-02000..LT-02499 (500)", "LT-00007..LT-02400 (3)"]
        created, moved = audit_find(uow=uow, key=TAG)
        assert audit_find(uow=uow, key=TAG, entity="depreciation_book") == []
        assert audit_find(uow=uow, key="LT-99999") == []
        indexed = uow.session.scalar(select(func.count()).select_from(AuditEventKeyRecord))
        problems, _ = verify_audit(uow=uow)
    assert indexed == 2503
    assert (created.chained.event.key, created.in_batch, created.before) == (
        "LT-01000..LT-01999 (1000)", True, None)
    assert created.after["tag"] == TAG and created.after["owner"] == "j.doe"
    assert moved.chained.event.reason == "reorganisation"
    assert moved.changed() == [("owner", "j.doe", "a.smith")]
    assert problems == []


def test_audit_log_by_key_prints_the_assets_values_from_the_batch_event(
        loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    found = json.loads(apportion(loaded, "audit", "log", "--entity", "asset", "--key", TAG,
                                 "--json"))["events"]
    assert [(e["action"], e["key"], e["match"], e["in_batch"]) for e in found] == [
        ("asset.register", "LT-01000..LT-01999 (1000)", TAG, True),
        ("asset.register", "LT-00007..LT-02400 (3)", TAG, True)]
    assert found[0]["before"] is None and found[0]["after"]["serial_number"] == "SN0001234"
    assert (found[1]["before"]["owner"], found[1]["after"]["owner"]) == ("j.doe", "a.smith")
    assert len(found[1]["hash"]) == 64  # the whole event's link in the chain
    monkeypatch.setattr(console, "width", 200)  # one line per event, as on a wide terminal
    table = apportion(loaded, "audit", "log", "--key", TAG)
    assert "owner: j.doe → a.smith" in table and f"{TAG} in LT-00007..LT-02400" in table
    assert json.loads(apportion(loaded, "audit", "verify", "--json"))["valid"] is True


def test_a_single_change_is_still_found_by_its_own_key(loaded) -> None:
    load(loaded, [laptop(n, owner="k.lee") if n == 1234 else laptop(n, owner="a.smith")
                  if n in (7, 2400) else laptop(n) for n in range(2500)], "desk move")
    with loaded.uow(read_only=True) as uow:
        entries = audit_find(uow=uow, key=TAG, entity="asset")
        single = entries[-1]
        again = audit_event(uow=uow, sequence=entries[0].chained.sequence, key=TAG)
    assert (single.chained.event.action, single.in_batch) == ("asset.update", False)
    assert [c for c in single.changed() if c[0] == "owner"] == [("owner", "a.smith", "k.lee")]
    assert again.in_batch and again.after["tag"] == TAG


def test_events_recorded_before_the_index_existed_are_indexed_by_the_upgrade(loaded) -> None:
    from alembic import command

    from ledger.persistence import migrate

    config = migrate._config()
    with loaded.engine.connect() as connection, connection.begin():
        config.attributes["connection"] = connection
        command.downgrade(config, "0018_policy_more")  # the index and its rows are gone
    assert migrate.upgrade(loaded.engine) is True
    with loaded.uow(read_only=True) as uow:
        found = audit_find(uow=uow, key=TAG)
        problems, _ = verify_audit(uow=uow)
    assert [(e.chained.event.key, e.in_batch) for e in found] == [
        ("LT-01000..LT-01999 (1000)", True), ("LT-00007..LT-02400 (3)", True)]
    assert problems == []

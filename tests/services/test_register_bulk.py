"""Register loads take the bulk path: every asset's change is in the (hash-chained) audit trail,
one edit in a large register reads only that asset, a bad row anywhere or a failure halfway
leaves the register as it was, and the same load again changes nothing; SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, text

from ledger.asset import Asset, AssetKind
from ledger.errors import InputErrors
from ledger.persistence.repositories import SqlAlchemyAssetRepository
from ledger.reference import CostCentre
from ledger.services import assets as assets_service
from ledger.services import reference_data
from ledger.services.audit import verify_audit
from ledger.staging import staged


def laptop(n: int, *, owner: str = "j.doe", centre: str = "1010") -> Asset:
    return Asset(f"LT-{n:05d}", f"Latitude #{n}", AssetKind.LAPTOP, centre,
                 purchase_cost=Decimal("1349.00"), purchase_date=date(2025, 3, 1),
                 serial_number=f"SN{n:07d}", hostname=f"lt{n:05d}.corp.example", owner=owner)


@pytest.fixture
def register(app):
    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre("1010", "Manufacturing"), CostCentre("6010", "IT Infrastructure")]))
        uow.commit()
    return app


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 50 assets and key lists of 7, so that a few hundred rows cross many of both."""
    monkeypatch.setattr(assets_service, "CHUNK", 50)
    monkeypatch.setattr(SqlAlchemyAssetRepository, "KEY_CHUNK", 7)


def load(app, assets: list[Asset], *, source: str = "register.csv", reason: str | None = None):
    with app.uow() as uow:
        changes = assets_service.register_assets(uow=uow, assets=staged(assets, source),
                                                 reason=reason)
        uow.commit()
    return changes


def events(app, action: str):
    with app.uow(read_only=True) as uow:
        return [c.event for c in uow.audit.chain() if c.event.action == action]


def state(app):
    with app.uow(read_only=True) as uow:
        return uow.assets.list(), uow.audit.count()


def test_a_bulk_load_records_every_assets_change_in_the_audit_trail(register, small_chunks
                                                                    ) -> None:
    first = [laptop(n) for n in range(230)]
    assert load(register, first, reason="monthly SAP load").created == 230
    created = events(register, "asset.register")
    assert len(created) == 5  # 230 assets in chunks of 50
    assert all(e.before == {} and e.reason == "monthly SAP load" for e in created)
    after = {tag: values for e in created for tag, values in e.after.items()}
    assert sorted(after) == [a.tag for a in first]
    assert after["LT-00117"]["owner"] == "j.doe"
    assert after["LT-00117"]["purchase_cost"] == "1349.00"
    assert created[0].key == "LT-00000..LT-00049 (50)"

    # A second load moves 120 laptops to another owner and keeps the rest as they are.
    second = [laptop(n, owner="a.smith") if n % 2 else laptop(n) for n in range(240)]
    changes = load(register, second)
    assert (changes.created, changes.updated, changes.unchanged) == (10, 115, 115)
    updated = events(register, "asset.register")[5:]
    befores = {tag: v for e in updated for tag, v in e.before.items()}
    afters = {tag: v for e in updated for tag, v in e.after.items()}
    assert len(afters) == 125 and len(befores) == 115  # the 10 new ones have no before
    assert (befores["LT-00117"]["owner"], afters["LT-00117"]["owner"]) == ("j.doe", "a.smith")
    assert "LT-00118" not in afters and afters["LT-00235"]["owner"] == "a.smith"
    with register.uow(read_only=True) as uow:
        assert verify_audit(uow=uow)[0] == []


def test_changing_one_assets_values_inside_a_stored_batch_event_breaks_the_chain(
        register, small_chunks) -> None:
    load(register, [laptop(n) for n in range(120)])
    with register.engine.begin() as connection:
        row = connection.execute(text(
            "SELECT id, sequence, after FROM audit_events WHERE action = 'asset.register' "
            "ORDER BY sequence LIMIT 1 OFFSET 1")).one()
        after = json.loads(row.after) if isinstance(row.after, str) else row.after
        assert after["LT-00060"]["owner"] == "j.doe"
        after["LT-00060"]["owner"] = "m.allory"  # one asset of fifty, one field
        forged = json.dumps(after)
        connection.execute(text("UPDATE audit_events SET after = :forged WHERE id = :id"),
                           {"forged": forged, "id": row.id})
    with register.uow(read_only=True) as uow:
        problems, _ = verify_audit(uow=uow)
    assert [(p.kind, p.sequence) for p in problems] == [("edited", row.sequence)]


def test_saving_one_asset_in_a_large_register_reads_only_that_asset(register) -> None:
    load(register, [laptop(n) for n in range(2500)])
    statements: list[tuple[str, object]] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append((" ".join(statement.split()), parameters))

    event.listen(register.engine, "before_cursor_execute", seen)
    try:
        changes = load(register, [laptop(1234, owner="a.smith")], source="desktop client",
                       reason="handed over")
    finally:
        event.remove(register.engine, "before_cursor_execute", seen)
    assert changes.updated == 1
    on_assets = [(s, p) for s, p in statements if re.search(r"\bassets\b", s)]
    reads = [(s, p) for s, p in on_assets if s.startswith("SELECT")]
    assert len(reads) == 1, reads
    statement, parameters = reads[0]
    assert re.search(r"WHERE assets\.tag IN", statement)
    bound = list(parameters.values()) if isinstance(parameters, dict) else list(parameters)
    assert bound == ["LT-01234"]
    assert len(statements) < 20  # no statement per asset of the register either
    [edit] = events(register, "asset.update")  # one change keeps the per-asset event
    assert (edit.key, edit.before["owner"], edit.after["owner"], edit.reason) == (
        "LT-01234", "j.doe", "a.smith", "handed over")
    with register.uow(read_only=True) as uow:
        assert uow.assets.get("LT-01234").owner == "a.smith"


def test_a_bad_row_anywhere_leaves_the_register_unchanged(register, small_chunks) -> None:
    load(register, [laptop(n) for n in range(100)])
    before = state(register)
    batch = [laptop(n, owner="a.smith") for n in range(300)]
    batch[287] = laptop(287, centre="9999")
    with pytest.raises(InputErrors) as raised:
        load(register, batch, source="sap-assets.csv")
    [error] = raised.value.errors
    assert (error.source, error.row, error.field, error.value) == (
        "sap-assets.csv", 288, "cost_centre", "9999")
    assert state(register) == before


def test_a_failure_while_writing_a_later_chunk_leaves_the_register_unchanged(
        register, small_chunks) -> None:
    load(register, [laptop(n) for n in range(100)])
    before = state(register)
    inserts = [0]

    def fail_on_the_fourth_insert(conn, cursor, statement, parameters, context, executemany
                                  ) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ASSETS"):
            inserts[0] += 1
            if inserts[0] == 4:
                raise ConnectionError("the database went away")

    event.listen(register.engine, "before_cursor_execute", fail_on_the_fourth_insert)
    try:
        with pytest.raises(ConnectionError):
            load(register, [laptop(n, owner="a.smith") for n in range(400)])
    finally:
        event.remove(register.engine, "before_cursor_execute", fail_on_the_fourth_insert)
    assert inserts[0] == 4  # three chunks of new assets had gone in before it failed
    assert state(register) == before


def test_the_same_load_again_changes_nothing_and_records_nothing(register, small_chunks
                                                                 ) -> None:
    batch = [laptop(n) for n in range(130)]
    load(register, batch)
    before = state(register)
    again = load(register, [replace(a) for a in reversed(batch)])
    assert (again.changed, again.unchanged) == (False, 130)
    assert state(register) == before


def test_an_asset_read_earlier_in_the_same_transaction_shows_what_the_load_wrote(register
                                                                                 ) -> None:
    load(register, [laptop(n) for n in range(3)])
    with register.uow() as uow:
        seen = uow.assets.get("LT-00001")
        assets_service.register_assets(uow=uow, assets=staged([
            replace(seen, owner="a.smith"), laptop(2, owner="b.jones")]))
        assert uow.assets.get("LT-00001").owner == "a.smith"
        assert [a.owner for a in uow.assets.list()] == ["j.doe", "a.smith", "b.jones"]

"""The audit trail is a hash chain: tampering made directly in the database is caught."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text

from ledger.audit import ChainHead
from ledger.reference import FxRate
from ledger.services import periods, reference_data
from ledger.services.audit import verify_audit


def verify(app, head: ChainHead | None = None):
    with app.uow(read_only=True) as uow:
        return verify_audit(uow=uow, recorded_head=head)


def tamper(app, sql: str, **params) -> None:
    with app.engine.begin() as connection:
        connection.execute(text(sql), params)


def test_an_untouched_trail_verifies_and_every_write_extends_it(demo_app) -> None:
    problems, head = verify(demo_app)
    # The demo's register load is recorded one event per 1,000 assets (not per asset).
    assert problems == [] and head.sequence > 500
    with demo_app.uow() as uow:
        periods.close_period(uow=uow, period="2026-01", reason="month-end")
        uow.commit()
    problems, after = verify(demo_app)
    assert problems == [] and after.sequence == head.sequence + 1


def test_an_edited_event_is_named(demo_app) -> None:
    tamper(demo_app, "UPDATE audit_events SET reason = 'nothing to see' WHERE sequence = 42")
    problems, _ = verify(demo_app)
    assert [(p.kind, p.sequence) for p in problems] == [("edited", 42)]
    assert "was changed after it was recorded" in problems[0].message


def test_a_deleted_event_is_named(demo_app) -> None:
    tamper(demo_app, "DELETE FROM audit_events WHERE sequence = 42")
    problems, _ = verify(demo_app)
    assert problems[0].kind == "deleted" and problems[0].sequence == 42


def test_reordered_events_are_named(demo_app) -> None:
    tamper(demo_app, "UPDATE audit_events SET sequence = -1 WHERE sequence = 42")
    tamper(demo_app, "UPDATE audit_events SET sequence = 42 WHERE sequence = 43")
    tamper(demo_app, "UPDATE audit_events SET sequence = 43 WHERE sequence = -1")
    problems, _ = verify(demo_app)
    assert problems and {p.kind for p in problems} & {"reordered", "edited", "deleted"}
    assert min(p.sequence for p in problems) in (42, 43)


def test_truncation_is_caught_against_the_head_recorded_at_close(demo_app) -> None:
    with demo_app.uow() as uow:
        changes = periods.close_period(uow=uow, period="2026-01")
        uow.commit()
    recorded = ChainHead.parse(changes.ids[1])
    # Someone cuts the last events off and rewrites the head row to match: the chain itself
    # still looks whole; only the head kept outside the database shows the cut.
    tamper(demo_app, "DELETE FROM audit_events WHERE sequence > :keep",
           keep=recorded.sequence - 3)
    tamper(demo_app, "UPDATE audit_chain_head SET sequence = s.sequence, hash = s.hash "
                     "FROM (SELECT sequence, hash FROM audit_events ORDER BY sequence DESC "
                     "LIMIT 1) AS s")
    assert verify(demo_app)[0] == []
    problems, _ = verify(demo_app, recorded)
    assert [p.kind for p in problems] == ["truncated"]


def test_cutting_the_end_without_rewriting_the_head_is_caught_too(demo_app) -> None:
    tamper(demo_app, "DELETE FROM audit_events WHERE sequence = (SELECT max(sequence) FROM "
                     "audit_events)")
    problems, _ = verify(demo_app)
    assert [p.kind for p in problems] == ["truncated"]


def test_twenty_concurrent_writers_leave_the_chain_valid(app) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for day in range(1, 4):
                with app.uow() as uow:
                    reference_data.set_fx_rates(uow=uow, rates=[FxRate(
                        "USD", "EUR", date(2026, n % 12 + 1, n // 12 * 3 + day),
                        Decimal(f"0.9{n:02d}"))])
                    uow.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    problems, head = verify(app)
    assert problems == []
    assert head.sequence == 1 + 20 * 3  # the administrator's grant, then every rate


@pytest.mark.parametrize("who", ["erin", "dave"])
def test_only_auditors_and_administrators_read_the_trail(demo_app, who) -> None:
    from ledger.errors import PermissionDeniedError
    from ledger.persistence.unit_of_work import UnitOfWorkFactory

    factory = UnitOfWorkFactory(demo_app.engine, who, demo_app.uow.clock)
    with factory(read_only=True) as uow:
        if who == "erin":
            assert verify_audit(uow=uow)[0] == []
        else:
            with pytest.raises(PermissionDeniedError):
                verify_audit(uow=uow)

"""The demo company comes from a seed: the same company every time, shaped like a real one."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from client.demo import generate, load_demo, load_spec, run_month_end
from ledger.access import Role
from ledger.journal import Side


def test_the_same_seed_gives_the_same_company() -> None:
    assert generate() == generate()


def test_another_seed_gives_another_company_of_the_same_shape() -> None:
    spec = load_spec()
    other = generate({**spec, "seed": spec["seed"] + 1})
    demo = generate(spec)
    assert [cc.code for cc in other.cost_centres] == [cc.code for cc in demo.cost_centres]
    assert other.headcount != demo.headcount


def test_the_demo_is_a_mid_size_company_with_six_business_units() -> None:
    demo = generate()
    roots = [cc for cc in demo.cost_centres if cc.parent is None]
    assert len(roots) == 6
    assert 35 <= len(demo.cost_centres) <= 45
    assert Counter(cc.business_unit for cc in demo.cost_centres).keys() == {
        "OPS", "SAL", "FIN", "HRL", "RND", "ITS"}
    assert len(demo.periods) == 12
    assert all(q.quantity >= 1 for q in demo.headcount)


def test_the_demo_has_a_named_user_for_each_role_needed_for_maker_checker() -> None:
    users = generate().users
    assert users["alice"] == [Role.ASSET_MANAGER]
    assert users["carol"] == [Role.COST_ANALYST]
    assert users["bob"] == [Role.APPROVER]
    assert users["dave"] == [Role.CONTROLLER]


def test_the_month_end_charges_the_whole_shared_cost_to_the_business_by_headcount(app) -> None:
    demo = generate()
    load_demo(app, demo)
    result = run_month_end(app, "2026-10", demo=demo)
    assert result.total == demo.shared_it_cost["2026-10"]
    debits = [li for li in result.entry.lines if li.side is Side.DEBIT]
    assert sum((li.amount for li in debits), Decimal(0)) == result.total
    assert {li.cost_centre for li in debits} <= set(demo.charged_cost_centres)
    with app.uow(read_only=True) as uow:
        journal = uow.journals.get(result.journal_ids[0])
        event = uow.audit.latest(1)[0]
    assert journal == result.entry
    assert event.action == "journal.draft"
    assert event.actor == ("carol" if app.is_sqlite else app.login)

"""Table models: Qt's model tester on each, and paging that matches the database exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import QLocale, Qt

from client.gui.models import PagedTableModel, RowsTableModel, format_money
from client.gui.operations import OperationRunner
from client.gui.paging import MONEY, Column, TableQuery, asset_register, audit_trail, journal_list


@pytest.fixture
def runner(month_end_app):
    runner = OperationRunner(month_end_app)
    yield runner
    runner.shutdown(wait=True)


def loaded(qtbot, model: PagedTableModel) -> PagedTableModel:
    with qtbot.waitSignal(model.loaded, timeout=30000):
        model.reload()
    return model


def fetch_every_row(qtbot, model: PagedTableModel) -> list[tuple]:
    """Ask for every row as a scrolling view would, and wait until all pages are in."""
    def complete() -> bool:
        missing = [r for r in range(model.rowCount()) if model.row_values(r) is None]
        for row in missing:  # a view repaints what is still empty, asking again
            model.data(model.index(row, 0))
        return not missing

    qtbot.waitUntil(complete, timeout=30000)
    return [model.row_values(r) for r in range(model.rowCount())]


@pytest.mark.parametrize("source", [asset_register, journal_list, audit_trail])
def test_each_paged_model_passes_qts_model_tester(qtbot, qtmodeltester, runner, source):
    model = loaded(qtbot, PagedTableModel(source(), runner, page_size=50))
    assert model.rowCount() > 0
    qtmodeltester.check(model)
    last = model.rowCount() - 1  # a jump to the end, as dragging the scroll bar does

    def arrived() -> bool:
        model.data(model.index(last, 0))
        return model.row_values(last) is not None

    qtbot.waitUntil(arrived, timeout=30000)
    qtmodeltester.check(model)


def test_the_rows_model_passes_qts_model_tester(qtmodeltester):
    model = RowsTableModel((Column("a", "A"), Column("amount", "Amount", MONEY)),
                           [("x", Decimal("1.50")), ("y", None)])
    qtmodeltester.check(model)
    assert model.data(model.index(0, 1)) == format_money(Decimal("1.50"))
    assert model.data(model.index(0, 1), Qt.ItemDataRole.TextAlignmentRole) is not None


def test_pages_put_together_are_the_register_in_order_without_gaps(qtbot, runner,
                                                                   month_end_app):
    model = loaded(qtbot, PagedTableModel(asset_register(), runner, page_size=17))
    rows = fetch_every_row(qtbot, model)
    with month_end_app.uow(read_only=True) as uow:
        tags = sorted(a.tag for a in uow.assets.list())
    assert [row[0] for row in rows] == tags


def test_sorting_by_cost_is_numeric_and_done_by_the_database(qtbot, runner, month_end_app):
    model = loaded(qtbot, PagedTableModel(asset_register(), runner, page_size=40))
    column = model.source.column_index("purchase_cost")
    with qtbot.waitSignal(model.loaded, timeout=30000):
        model.sort(column, Qt.SortOrder.DescendingOrder)
    costs = [row[column] for row in fetch_every_row(qtbot, model)]
    known = [c for c in costs if c is not None]
    assert known == sorted(known, reverse=True)
    assert all(isinstance(c, Decimal) for c in known)


def test_search_and_filters_count_what_the_register_holds(qtbot, runner, month_end_app):
    with month_end_app.uow(read_only=True) as uow:
        assets = uow.assets.list()
    laptops = [a for a in assets if a.kind.value == "laptop"]
    model = loaded(qtbot, PagedTableModel(asset_register(), runner))
    with qtbot.waitSignal(model.loaded, timeout=30000) as counted:
        model.set_query(TableQuery(filters=(("kind", "laptop"),)))
    assert counted.args == [len(laptops)]
    probe = laptops[0].tag
    with qtbot.waitSignal(model.loaded, timeout=30000) as counted:
        model.set_query(TableQuery(search=probe.lower()))
    assert counted.args == [sum(1 for a in assets if probe.lower() in (
        a.tag + a.name + (a.serial_number or "")).lower())]


def test_a_percent_sign_in_the_search_is_text_not_a_wildcard(qtbot, runner):
    model = loaded(qtbot, PagedTableModel(asset_register(), runner))
    with qtbot.waitSignal(model.loaded, timeout=30000) as counted:
        model.set_query(TableQuery(search="%"))
    assert counted.args == [0]


def test_money_is_shown_exactly_in_the_users_locale():
    assert format_money(Decimal("1234567.5"), QLocale(QLocale.Language.English)) \
        == "1,234,567.50"
    assert format_money(Decimal("0.125"), QLocale(QLocale.Language.German)) == "0,125"
    assert format_money(Decimal("-9999999999999.99"), QLocale(QLocale.Language.English)) \
        == "-9,999,999,999,999.99"


def test_the_register_pages_the_same_way_on_postgresql(qtbot, postgres_url, clock):
    """The SQL behind the pages (text decimals sorted as numbers, escaped search) on the
    other backend."""
    from client.bootstrap import open_app
    from ledger.asset import Asset
    from ledger.reference import CostCentre
    from ledger.services import assets, reference_data
    from ledger.services.users import bootstrap_administrator
    from ledger.staging import staged

    app = open_app(postgres_url, create=True, clock=clock)
    runner = OperationRunner(app)
    try:
        with app.uow() as uow:
            bootstrap_administrator(uow=uow)
            reference_data.import_cost_centres(uow=uow, cost_centres=staged(
                [CostCentre("1010", "Ops")]))
            assets.register_assets(uow=uow, assets=staged([
                Asset(f"A{n:03d}", f"Laptop {n}%", "laptop", "1010",
                      purchase_cost=Decimal(n * 7 % 23) + Decimal("0.5")) for n in range(60)]))
            uow.commit()
        model = loaded(qtbot, PagedTableModel(asset_register(), runner, page_size=16))
        column = model.source.column_index("purchase_cost")
        with qtbot.waitSignal(model.loaded, timeout=30000):
            model.sort(column, Qt.SortOrder.AscendingOrder)
        costs = [row[column] for row in fetch_every_row(qtbot, model)]
        assert costs == sorted(costs) and len(costs) == 60
        with qtbot.waitSignal(model.loaded, timeout=30000) as counted:
            model.set_query(TableQuery(search="Laptop 5%"))
        assert counted.args == [1]  # % is searched for, not a wildcard (that would be 11)
    finally:
        runner.shutdown(wait=True)
        app.close()

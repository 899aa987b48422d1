"""A click on a table row is what chooses it, also when that row is already the current one.

Qt makes a row current without selecting it when focus enters a table (and a reload keeps or
clears the current row without a signal), and it signals nothing when the user then clicks
that row: a detail pane or an action that followed the current row acted on a row nobody
chose, and ignored the click that chose it. The views follow the selection instead
(:func:`client.gui.views.base.follow_selection`); these tests put a row in that state as
focus would, then click it with the mouse on the real event loop. Ctrl+E on a page without
a big table exports the table in front of the user, or says why not.
"""

from __future__ import annotations

from openpyxl import load_workbook
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QKeySequence

from tests.gui.conftest import idle


def _current_not_selected(table, row: int = 0) -> None:
    """What focus entering the table does: row ``row`` current, nothing selected."""
    index = table.model().index(row, 0)
    table.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
    assert table.currentIndex().row() == row
    assert not table.selectionModel().selectedRows()


def _click(qtbot, table, row: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    centre = table.visualRect(table.model().index(row, 0)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, modifier, centre)


def _ctrl_e(window) -> None:
    """The window's Ctrl+E action (offscreen, a key press reaches no inactive window)."""
    export = next(a for a in window.actions() if a.shortcut() == QKeySequence("Ctrl+E"))
    export.trigger()


def _reports(qtbot, window):
    view = window.go("Reports")
    qtbot.waitUntil(lambda: view.statement is not None and view.kpis is not None
                    and idle(window), timeout=30000)
    return view


def test_a_click_on_the_current_statement_line_chooses_it_for_a_dispute(
        qtbot, month_end_app, open_window):
    window = open_window(month_end_app, "frank")  # a cost-centre owner: may raise disputes
    view = _reports(qtbot, window)
    table = view.lines_table
    _current_not_selected(table)
    # Current but not chosen: no line to dispute yet (it used to be enabled for line 1).
    assert not view.raise_button.isEnabled()
    assert "Select the statement line" in view.raise_button.toolTip()

    _click(qtbot, table, 0)  # Qt signals no current-row change for this click
    qtbot.waitUntil(view.raise_button.isEnabled, timeout=30000)
    assert view.selected_line() == view.lines_model.row(0)

    _click(qtbot, table, 0, Qt.KeyboardModifier.ControlModifier)  # unselect it again
    qtbot.waitUntil(lambda: not view.raise_button.isEnabled(), timeout=30000)
    assert table.currentIndex().row() == 0 and view.selected_line() is None

    _click(qtbot, table, 0)
    view.reason.setText("we never ran this workload")
    qtbot.mouseClick(view.raise_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.disputes_model.rowCount() == 1 and idle(window),
                    timeout=30000)
    pool, rule = view.lines_model.row(0)[:2]
    assert view.disputes_model.row(0)[3:5] == (pool, rule)  # the clicked line, disputed

    disputes = view.disputes_table
    view.tabs.setCurrentIndex(2)
    _current_not_selected(disputes)
    assert view.selected_dispute() is None
    _click(qtbot, disputes, 0)
    qtbot.waitUntil(lambda: view.selected_dispute() is not None, timeout=30000)
    assert view.selected_dispute().pool == pool


def test_a_click_on_the_current_run_shows_its_cost_centres(qtbot, month_end_app, open_window):
    window = open_window(month_end_app, "carol", page="Allocation runs")
    view = window.views["Allocation runs"]
    qtbot.waitUntil(lambda: view.runs_model.rowCount() > 0 and idle(window), timeout=30000)
    _current_not_selected(view.runs_table)
    qtbot.waitUntil(lambda: idle(window), timeout=30000)  # anything it started has answered
    assert view.centres_model.rowCount() == 0  # nothing chosen, nothing drilled into
    _click(qtbot, view.runs_table, 0)
    qtbot.waitUntil(lambda: view.centres_model.rowCount() > 0 and idle(window), timeout=30000)
    _current_not_selected(view.centres_table)
    _click(qtbot, view.centres_table, 0)
    qtbot.waitUntil(lambda: view.explanation is not None
                    and view.explanation["cost_centre"] == view.centres_model.row(0)[0],
                    timeout=30000)


def test_ctrl_e_exports_the_shown_tables_of_pages_without_a_big_table(
        qtbot, month_end_app, open_window, tmp_path):
    window = open_window(month_end_app, "carol")
    view = _reports(qtbot, window)
    _ctrl_e(window)
    exported = tmp_path / "exports" / "statement-lines.xlsx"
    qtbot.waitUntil(lambda: exported.exists() and idle(window), timeout=30000)
    rows = list(load_workbook(exported).active.iter_rows(values_only=True))
    assert len(rows) - 1 == view.lines_model.rowCount()  # a header, then every line

    more = window.go("Methodology and costs")
    more.show_tab(more.running_cost)
    qtbot.waitUntil(lambda: idle(window) and more.running_cost.model.rowCount() > 0,
                    timeout=30000)
    _ctrl_e(window)
    qtbot.waitUntil(lambda: (tmp_path / "exports" / "running-cost.xlsx").exists()
                    and idle(window), timeout=30000)

    more.show_tab(more.ledger_tie)  # nothing tied yet: told why, no empty file
    qtbot.waitUntil(lambda: idle(window), timeout=30000)
    _ctrl_e(window)
    assert window.statusBar().currentMessage() == (
        "Ledger tie: nothing to export yet, the table is empty")
    assert not (tmp_path / "exports" / "ledger-tie.xlsx").exists()

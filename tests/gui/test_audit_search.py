"""The desktop Audit view finds an asset's changes inside register loads' chunk events by its
tag and shows that asset's own before and after (offscreen Qt, a real SQLite database)."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel

from tests.services.test_audit_by_tag import TAG, laptop, load


def test_searching_a_tag_finds_its_batch_events_and_shows_its_values(qtbot, app,
                                                                     open_window) -> None:
    from ledger.reference import CostCentre
    from ledger.services import reference_data
    from ledger.staging import staged

    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=staged([
            CostCentre("1010", "Manufacturing")]))
        uow.commit()
    load(app, [laptop(n) for n in range(2500)], "initial SAP load")
    load(app, [laptop(n, owner="a.smith") if n in (7, 1234, 2400) else laptop(n)
               for n in range(2500)], "reorganisation")
    window = open_window(app, page="Audit")
    view = window.views["Audit"]
    qtbot.waitUntil(lambda: view.panel.model.rowCount() > 0, timeout=30000)
    with qtbot.waitSignal(view.panel.model.loaded, timeout=30000) as counted:
        view.panel.search.setText(TAG)
    assert counted.args == [2]  # the load that created it and the one that moved it
    model = view.panel.model
    assert [model.value(r, "entity_key") for r in range(2)] == [
        "LT-00007..LT-02400 (3)", "LT-01000..LT-01999 (1000)"]
    view.panel.table.selectionModel().setCurrentIndex(
        model.index(0, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
        | QItemSelectionModel.SelectionFlag.Rows)
    qtbot.waitUntil(lambda: "a.smith" in view.detail.text(), timeout=30000)
    detail = view.detail.text()
    assert f"{TAG} in LT-00007..LT-02400 (3)" in detail
    assert "<td>owner</td><td>j.doe</td><td>a.smith</td>" in detail

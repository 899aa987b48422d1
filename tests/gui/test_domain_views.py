"""End-to-end tests of the views over allocation, rules, licences and reconciliation."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt

from ledger.services import allocation as allocation_service
from ledger.services import inventory as inventory_service
from ledger.services import licences as licence_service
from tests.gui.conftest import idle


def test_an_allocation_run_is_tried_dry_and_explained_down_to_its_sources(
        qtbot, month_end_app, open_window):
    window = open_window(month_end_app, "carol", page="Allocation runs")
    view = window.views["Allocation runs"]
    qtbot.waitUntil(lambda: view.runs_model.rowCount() > 0 and idle(window), timeout=30000)
    qtbot.mouseClick(view.dry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Dry run" in view.state.text(), timeout=30000)
    assert "unallocated" in view.state.text()

    view.runs_table.selectRow(0)
    qtbot.waitUntil(lambda: view.centres_model.rowCount() > 0, timeout=30000)
    centre, charged, _currency = view.centres_model.row(0)
    view.centres_table.selectRow(0)
    qtbot.waitUntil(lambda: view.items_model.rowCount() > 0, timeout=30000)
    explained = sum((Decimal(item["amount"]) for item in view.explanation["items"]),
                    Decimal(0))
    assert view.explanation["cost_centre"] == centre
    assert explained == charged  # the drill-down adds up to what the centre was charged
    view.items_table.selectRow(0)
    qtbot.waitUntil(lambda: view.sources_model.rowCount() > 0, timeout=30000)


def test_the_rule_editor_checks_as_you_type_and_saves_a_new_version(
        qtbot, month_end_app, open_window):
    window = open_window(month_end_app, "carol", page="Cost pools and rules")
    view = window.views["Cost pools and rules"]
    qtbot.waitUntil(lambda: view.versions_model.rowCount() > 0
                    and view.verdict.text().startswith("✓"), timeout=30000)
    good = view.editor.toPlainText()
    view.editor.setPlainText(good.replace('recovery_account = "7990"', "recovery_account = 7"))
    qtbot.waitUntil(lambda: view.verdict.text().startswith("✗"), timeout=2000)
    assert "recovery_account" in view.verdict.text()
    view.editor.setPlainText(good.replace('Network by headcount"', 'Network, by headcount"'))
    qtbot.waitUntil(lambda: view.verdict.text().startswith("✓"), timeout=2000)
    assert not view.activate_button.isEnabled()  # a controller activates (maker-checker)
    view.reason.setText("clearer description")
    qtbot.mouseClick(view.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.versions_model.rowCount() == 2, timeout=30000)
    with month_end_app.uow(read_only=True) as uow:
        versions = allocation_service.list_versions(uow=uow)
    assert [v.version for v in versions] == [1, 2] and versions[1].reason == \
        "clearer description"
    view.versions_table.selectRow(0)  # newest first: the draft
    qtbot.waitUntil(lambda: view.selected.version == 2, timeout=2000)
    qtbot.mouseClick(view.impact_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "against active" in view.changes.text(), timeout=30000)
    assert "S200" in view.changes.text()  # the rule that changed is named


def test_the_licence_position_drills_into_a_products_entitlements(qtbot, month_end_app,
                                                                  open_window):
    with month_end_app.uow(read_only=True) as uow:
        positions = licence_service.licence_position(uow=uow)
    window = open_window(month_end_app, page="Licences")
    view = window.views["Licences"]
    qtbot.waitUntil(lambda: view.model.rowCount() == len(positions) > 0, timeout=30000)
    short = sum(1 for p in positions if p.shortfall)
    assert f"<b>{short}</b> short of licences" in view.summary.text()
    view.table.selectRow(0)
    qtbot.waitUntil(lambda: view.entitlements_model.rowCount() > 0, timeout=30000)


def test_a_reconciliation_decision_is_recorded_with_its_reason(qtbot, month_end_app,
                                                               open_window):
    window = open_window(month_end_app, "alice", page="Reconciliation")  # asset manager
    view = window.views["Reconciliation"]
    qtbot.waitUntil(lambda: view.model.rowCount() > 0, timeout=30000)
    with month_end_app.uow(read_only=True) as uow:
        counts = inventory_service.reconciliation_counts(uow=uow)
    assert f"conflicts: <b>{counts['conflicts']}</b>" in view.counts.text()
    conflicts = view.outcome.findData("conflict")
    view.outcome.setCurrentIndex(conflicts)
    qtbot.waitUntil(lambda: view.findings and all(
        f.outcome.value == "conflict" for f in view.findings), timeout=30000)
    view.table.selectRow(0)
    tag = view.findings[0].asset_tag
    qtbot.waitUntil(lambda: view.register_values["tag"].text() == tag, timeout=30000)
    view.reason.setText("checked on site: the register is right")
    qtbot.mouseClick(view.buttons["accept"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Recorded accept" in view.banner.text(), timeout=30000)
    with month_end_app.uow(read_only=True) as uow:
        decisions = [d for d in uow.inventory.decisions() if d.asset_tag == tag]
        reasons = [e.reason for e in uow.audit.latest(5)]
    assert [(d.kind.value, d.decided_by) for d in decisions] == [("accept", "alice")]
    assert "checked on site: the register is right" in reasons

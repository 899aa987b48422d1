"""Role-aware controls: a viewer sees everything and can change nothing, and is told why."""

from __future__ import annotations

from tests.gui.conftest import idle


def test_a_viewer_finds_every_action_disabled_with_the_reason(qtbot, month_end_app,
                                                             open_window):
    window = open_window(month_end_app, "frank")  # the demo's viewer
    assert "viewer" in window.user_label.text()
    controls = {
        "edit assets": window.views["Inventory"].apply_button,
        "run depreciation": window.views["Depreciation"].run_button,
        "submit journals": window.views["Journals"].buttons["submit"],
        "approve journals": window.views["Journals"].buttons["approve"],
        "post journals": window.views["Journals"].buttons["post"],
        "reverse journals": window.views["Journals"].buttons["reverse"],
        "configure ERP connections": window.views["Settings"].save_button,
        "verify the audit trail": window.views["Audit"].verify_button,
    }
    for doing, control in controls.items():
        assert not control.isEnabled(), doing
        assert f"cannot {doing}" in control.toolTip(), (doing, control.toolTip())


def test_a_cost_analyst_may_run_depreciation_but_not_approve(qtbot, month_end_app,
                                                             open_window):
    window = open_window(month_end_app, "carol", page="Journals")
    qtbot.waitUntil(lambda: idle(window), timeout=30000)
    assert window.views["Depreciation"].run_button.isEnabled()
    approve = window.views["Journals"].buttons["approve"]
    assert not approve.isEnabled() and "approver or controller" in approve.toolTip()


def test_the_audit_trail_is_not_read_for_a_viewer(qtbot, month_end_app, open_window):
    window = open_window(month_end_app, "frank", page="Audit")
    view = window.views["Audit"]
    qtbot.waitUntil(lambda: view.banner.isVisible(), timeout=30000)
    assert "cannot read the audit trail" in view.banner.text()
    assert view.panel.model.rowCount() == 0


def test_an_approver_is_told_when_a_journal_is_above_the_approval_limit(qtbot, month_end_app,
                                                                       open_window):
    """Bob approves up to 250,000; the month's IT chargeback is larger: a controller's."""
    from ledger.services import journals

    with month_end_app.uow.as_user("carol")() as uow:
        big = next(j for j in uow.journals.list(statuses=["draft"])
                   if max(j.entry.totals.values()) > 250_000)
        journals.submit_journal(uow=uow, journal_id=big.id)
        uow.commit()
    window = open_window(month_end_app, "bob", page="Journals")
    view = window.views["Journals"]
    view.load_journal(big.id)
    qtbot.waitUntil(lambda: view.journal is not None, timeout=30000)
    approve = view.buttons["approve"]
    assert not approve.isEnabled()
    assert "above your approval limit of 250,000.00" in approve.toolTip()

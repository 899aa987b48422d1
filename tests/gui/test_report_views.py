"""End-to-end tests of the Reports and the Policy-and-reviews views on the demo company."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import Qt

from client.gui.models import format_money
from client.gui.paging import DATE, Column
from client.gui.views.policy import ReviewsModel, review_state
from client.gui.views.reports import report_choices
from ledger.reviews import DueReview
from ledger.services import disputes as dispute_service
from ledger.services import policy as policy_service
from ledger.services import reports as report_service
from ledger.services import reviews as review_service
from resources.policy import __file__ as policy_package
from tests.gui.conftest import acting_as, idle

TODAY = date(2026, 11, 27)


def _review(subject: str, due_on: date, overdue: bool) -> DueReview:
    return DueReview(subject, None, 3, due_on, None, overdue)


def test_the_review_calendar_model_passes_qts_model_tester_and_marks_overdue_rows(
        qtmodeltester):
    reviews = [_review("pool:cloud", date(2026, 10, 1), True),
               _review("pool:network", date(2026, 12, 10), False),
               _review("ruleset:demo", date(2027, 2, 27), False)]
    model = ReviewsModel((Column("subject", "Subject"), Column("state", "State"),
                          Column("due_on", "Due on", DATE)))
    model.set_rows([(r.subject, review_state(r, TODAY), r.due_on) for r in reviews])
    qtmodeltester.check(model)
    states = [model.index(row, 1).data() for row in range(3)]
    assert states == ["overdue", "due soon", "scheduled"]
    background = Qt.ItemDataRole.BackgroundRole
    assert model.index(0, 0).data(background) is not None
    assert model.index(2, 0).data(background) is None  # nothing to draw the eye to
    assert model.index(0, 0).data(Qt.ItemDataRole.FontRole).bold()


def _reports(qtbot, window):
    view = window.go("Reports")
    qtbot.waitUntil(lambda: view.statement is not None and view.kpis is not None
                    and idle(window), timeout=30000)
    return view


def test_the_statement_shows_the_services_total_and_saves_as_pdf(qtbot, month_end_app,
                                                                 open_window, tmp_path):
    window = open_window(month_end_app, "carol")
    view = _reports(qtbot, window)
    period, centre = view.period.currentText(), view.cost_centre.currentData()
    with month_end_app.uow(read_only=True) as uow:
        expected = report_service.statement(uow=uow, cost_centre=centre, period=period)
    (currency, total), = expected.totals.items()
    assert f"Total {currency} {format_money(total)}" in view.total.text()
    assert view.lines_model.rowCount() == len(expected.lines)
    assert sum(row[5] for row in view.lines_model.rows()) == total
    assert all(row[7] for row in view.lines_model.rows())  # every line says why
    assert view.trend_chart.categories[-1] == period
    assert view.kpi_model.rowCount() >= 8 and view.shares_chart.categories == [
        "Direct", "By driver", "Unallocated"]

    view.cost_centre.setCurrentIndex(1)  # another cost centre: its own statement
    other = view.cost_centre.currentData()
    qtbot.waitUntil(lambda: view.statement.cost_centre == other, timeout=30000)

    view.save_as()
    saved = tmp_path / "exports" / f"statement-{other}-{period}.pdf"
    qtbot.waitUntil(lambda: "Statement saved" in view.banner.text(), timeout=30000)
    assert saved.read_bytes().startswith(b"%PDF")


def test_a_dispute_raised_on_a_statement_line_appears_in_the_disputes_list(
        qtbot, month_end_app, open_window):
    window = open_window(month_end_app, "frank")  # a cost-centre owner: a viewer
    view = _reports(qtbot, window)
    assert not view.raise_button.isEnabled()  # no line chosen yet
    view.lines_table.selectRow(0)
    assert view.raise_button.isEnabled()
    qtbot.mouseClick(view.raise_button, Qt.MouseButton.LeftButton)
    assert "needs a reason" in view.banner.text()  # nothing raised without one
    view.reason.setText("we stopped using this service in October")
    qtbot.mouseClick(view.raise_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.disputes_model.rowCount() == 1, timeout=30000)
    pool, rule = view.lines_model.row(0)[:2]
    row = view.disputes_model.row(0)
    assert row[2:5] == (view.statement.cost_centre, pool, rule)
    assert row[7] == "open" and row[8] == "frank"
    with month_end_app.uow(read_only=True) as uow:
        stored, = dispute_service.list_disputes(uow=uow)
    assert stored.reason == "we stopped using this service in October"

    view.disputes_table.selectRow(0)
    for button in view.decision_buttons:  # a viewer decides no dispute, and is told why
        assert not button.isEnabled()
        assert "cannot review disputes" in button.toolTip(), button.toolTip()


def test_a_cost_analyst_decides_disputes_someone_else_raised(qtbot, month_end_app,
                                                              open_window):
    with acting_as(month_end_app, "frank").uow() as uow:
        periods, centres = report_choices(uow)
        (code, _name), period = centres[periods[0]][0], periods[0]
        statement = report_service.statement(uow=uow, cost_centre=code, period=period)
        charged = [line for line in statement.lines if line.charged and line.amount > 0][:2]
        for line in charged:
            dispute_service.open_dispute(uow=uow, period=period, cost_centre=code,
                                         pool=line.pool, rule=line.rule, reason="not ours",
                                         currency=line.currency)
        uow.commit()
    window = open_window(month_end_app, "carol")
    view = _reports(qtbot, window)
    qtbot.waitUntil(lambda: view.disputes_model.rowCount() == 2, timeout=30000)

    def status(row: int) -> str:
        return view.disputes_model.row(row)[7]

    view.disputes_table.selectRow(0)  # newest first
    assert all(button.isEnabled() for button in view.decision_buttons)
    qtbot.mouseClick(view.review_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status(0) == "under_review" and idle(window), timeout=30000)
    view.disputes_table.selectRow(0)
    assert not view.review_button.isEnabled()  # already under review
    assert "under_review" in view.review_button.toolTip()
    view.answer.setText("the tag was wrong for a week: credited")
    qtbot.mouseClick(view.accept_button, Qt.MouseButton.LeftButton)
    assert "Enter the correction" in view.banner.text()  # nothing accepted without one
    view.correction.setText("10.00")
    qtbot.mouseClick(view.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status(0) == "accepted" and idle(window), timeout=30000)
    assert view.disputes_model.row(0)[12] == Decimal("10.00")
    assert view.disputes_model.row(0)[13] is not None  # the correcting journal

    view.disputes_table.selectRow(1)
    view.answer.setText("the tags on these resources name your cost centre")
    qtbot.mouseClick(view.reject_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: status(1) == "rejected" and idle(window), timeout=30000)
    assert view.disputes_model.row(1)[10] == "carol"


def _policy_view(qtbot, open_window, app, login):
    window = open_window(app, login, page="Policy and reviews")
    view = window.views["Policy and reviews"]
    qtbot.waitUntil(lambda: view.page is not None and idle(window), timeout=30000)
    return window, view


def test_the_policy_view_lists_versions_and_only_the_named_reviewer_completes_a_review(
        qtbot, month_end_app, open_window):
    text = (Path(policy_package).parent / "default.toml").read_text(encoding="utf-8")
    text = text.replace("every_months = 3", 'every_months = 3\nreviewer = "dave"')
    with acting_as(month_end_app, "carol").uow() as uow:
        policy_service.import_policy(uow=uow, text=text, source="default.toml")
        uow.commit()

    controller_window, controller = _policy_view(qtbot, open_window, month_end_app, "dave")
    # The demo's own policy (client/demo_policy.py) is version 1; the import is version 2.
    assert [row[:3] for row in controller.versions_model.rows()] == [
        (2, "default", "draft"), (1, "meridian", "active")]
    controller.versions_table.selectRow(0)
    assert controller.activate_button.isEnabled()
    controller.activate_reason.setText("first policy")
    qtbot.mouseClick(controller.activate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: [r[2] for r in controller.versions_model.rows()] == [
        "active", "retired"] and idle(controller_window), timeout=30000)
    with month_end_app.uow(read_only=True) as uow:
        subjects = [r.subject for r in review_service.list_reviews(uow=uow)]
        assert policy_service.show_policy(uow=uow).activated_by == "dave"

    _window, view = _policy_view(qtbot, open_window, month_end_app, "carol")
    assert "version 2 (active)" in view.policy_state.text() and view.text.isReadOnly()
    assert 'reviewer = "dave"' in view.text.toPlainText()
    view.versions_table.selectRow(0)
    assert not view.activate_button.isEnabled()  # a controller activates
    assert "cannot activate the allocation policy" in view.activate_button.toolTip()
    assert [row[0] for row in view.reviews_model.rows()] == subjects
    assert {row[3] for row in view.reviews_model.rows()} == {"dave"}
    assert view.pools_model.rowCount() > 0 and view.assets_model.rowCount() > 0
    view.reviews_table.selectRow(0)
    qtbot.waitUntil(lambda: view.checklist_model.rowCount() == 4, timeout=30000)
    assert not view.complete_button.isEnabled()  # the calendar names dave
    assert view.complete_button.toolTip() == f"The review of {subjects[0]} is dave's"

    controller.reviews_table.selectRow(0)
    assert controller.complete_button.isEnabled()
    controller.outcome.setCurrentIndex(controller.outcome.findData("no_change"))
    controller.notes.setText("drivers measured, every unit charged")
    qtbot.mouseClick(controller.complete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "recorded" in controller.banner.text(), timeout=30000)
    with month_end_app.uow(read_only=True) as uow:
        done, = review_service.history(uow=uow)
    assert (done.subject, done.reviewer, done.outcome) == (subjects[0], "dave", "no_change")


def test_overdue_reviews_are_counted_on_the_dashboard_and_highlighted(
        qtbot, month_end_app, open_window, clock):
    clock.current = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)  # past the first quarter's reviews
    with month_end_app.uow(read_only=True) as uow:
        overdue = review_service.overdue_count(uow)
    assert overdue > 0
    window = open_window(month_end_app, "carol", page="Dashboard")
    dashboard = window.views["Dashboard"]
    qtbot.waitUntil(lambda: dashboard.figures is not None, timeout=30000)
    assert f"<b>{overdue}</b> rule review(s) overdue" in dashboard.headline.text()
    view = window.go("Policy and reviews")
    qtbot.waitUntil(lambda: view.page is not None, timeout=30000)
    states = [row[1] for row in view.reviews_model.rows()]
    assert states.count("overdue") == overdue
    assert f"<b>{overdue}</b> overdue" in view.reviews_state.text()

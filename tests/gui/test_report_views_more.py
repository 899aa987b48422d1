"""End-to-end tests of the Methodology-and-costs page on the demo company: each tab shows the
numbers its service gives, changes only what the user may change, and generating the
methodology never freezes the window."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import Qt, QTimer

from client.gui.models import format_money
from client.gui.views.ledger_tie import TIE_COLUMNS, TieModel, tie_rows
from connectors.billing import detect_importer
from ledger.accounting import Classification, tie
from ledger.allocation.engine import ManualCost
from ledger.catalogue import parse_catalogue
from ledger.savings import Saving, SavingKind
from ledger.services.catalogue import import_catalogue, preview_tier_change
from ledger.services.costs import import_billing
from ledger.services.methodology import build_methodology
from ledger.services.periods import close_period
from ledger.services.running_cost import running_cost_report
from ledger.services.savings import measure_savings, record_saving
from ledger.staging import Staged
from tests.billing_support import focus_row, write_focus
from tests.gui.conftest import idle

PAGE = "Methodology and costs"
CATALOGUE = Path(__file__).resolve().parents[1] / "fixtures" / "catalogue" / "services.toml"
DEMO_CATALOGUE = Path(__file__).resolve().parents[2] / "resources" / "catalogue" / "demo.toml"
#: The demo's own savings (client/demo_reports.py), effective October 2026.
DEMO_SAVINGS = ["MRD-SAV-01", "MRD-SAV-02", "MRD-SAV-03"]
EC2 = "Amazon Elastic Compute Cloud"


def _page(qtbot, open_window, app, login=None):
    window = open_window(app, login, page=PAGE)
    view = window.views[PAGE]
    qtbot.waitUntil(lambda: view.period.count() > 0, timeout=30000)
    return window, view


def _tab(qtbot, window, view, tab, loaded):
    view.show_tab(tab)
    qtbot.waitUntil(lambda: loaded() and idle(window), timeout=30000)
    return tab


# -- methodology --------------------------------------------------------------------------------


def test_the_methodology_shows_the_closed_periods_audit_head_and_saves_pdf_and_html(
        qtbot, month_end_app, open_window, tmp_path):
    with month_end_app.uow() as uow:
        close_period(uow=uow, period="2026-10", reason="month-end")
        uow.commit()
    with month_end_app.uow(read_only=True) as uow:
        expected = build_methodology(uow=uow, period="2026-10")
        recorded = str(uow.close_heads.list("2026-10")[-1][1])
    assert expected.anchor.recorded_at_close and expected.anchor.head == recorded

    window, view = _page(qtbot, open_window, month_end_app, "carol")
    tab = view.methodology
    view.period.setCurrentText("2026-10")
    qtbot.waitUntil(lambda: tab.document is not None and tab.document.period == "2026-10"
                    and idle(window), timeout=30000)
    assert recorded in tab.state.text()
    assert "recorded when 2026-10 was closed" in tab.state.text()
    titles = [tab.sections.item(n).text() for n in range(tab.sections.count())]
    assert titles == [section.title for section in expected.sections]  # the command's
    tab.sections.setCurrentRow(titles.index("Cost pools"))
    pools = expected.section("Cost pools").tables[0]
    assert tab.section_tables[0].model().rows() == [tuple(r) for r in pools.rows]
    tab.sections.setCurrentRow(titles.index("Audit trail"))
    assert f"apportion audit verify --head {recorded}" in tab.section_text.text()
    assert tab.save_button.isEnabled() and not tab.cancel_button.isEnabled()

    tab.save_as()
    saved = tmp_path / "exports" / "methodology-2026-10.pdf"
    qtbot.waitUntil(lambda: "Methodology saved" in tab.banner.text(), timeout=30000)
    assert saved.read_bytes().startswith(b"%PDF")
    html = tmp_path / "exports" / "methodology-2026-10.html"
    tab.save_as(html)
    qtbot.waitUntil(lambda: html.exists() and idle(window), timeout=30000)
    assert f'<meta name="apportion-audit-head" content="{recorded}">' in html.read_text()


def test_generating_the_methodology_never_freezes_the_window_and_cancel_writes_nothing(
        qtbot, month_end_app, open_window, tmp_path):
    """A 10 ms heartbeat on the UI thread while the document is generated and saved as PDF
    on the worker, three times: the UI thread's own work between two beats stays under
    50 ms (shown: the document a section at a time), and the beats keep coming.

    The UI thread's CPU time is what this code controls; the wall-clock gaps also hold the
    waits for a CPU on this shared machine (load average 6 to 9 while this was written gave
    gaps of 40 to 200 ms with the same few milliseconds of UI work), so they are reported,
    and only their median is held to the goal."""
    window, view = _page(qtbot, open_window, month_end_app)
    tab = view.methodology
    qtbot.waitUntil(lambda: tab.document is not None and idle(window), timeout=30000)
    gaps, work, last = [], [], [time.perf_counter(), time.thread_time()]

    def beat() -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        gaps.append(now - last[0])
        work.append(cpu - last[1])
        last[:] = [now, cpu]

    heartbeat = QTimer()
    heartbeat.setInterval(10)
    heartbeat.timeout.connect(beat)
    heartbeat.start()
    qtbot.wait(200)
    gaps.clear()
    work.clear()
    started = time.perf_counter()
    for _ in range(3):
        qtbot.mouseClick(tab.generate_button, Qt.MouseButton.LeftButton)
        assert not tab.generate_button.isEnabled() and tab.cancel_button.isEnabled()
        qtbot.waitUntil(lambda: tab.operation is None, timeout=30000)
        tab.save_as(tmp_path / "heartbeat.pdf")
        qtbot.waitUntil(lambda: tab.operation is None, timeout=30000)
    heartbeat.stop()
    assert (tmp_path / "heartbeat.pdf").read_bytes().startswith(b"%PDF")
    assert tab.sections.count() == len(tab.document.sections)
    assert time.perf_counter() - started > 0.3, "the work was too short to prove anything"
    gaps.sort()
    report = (f"UI work per pass at most {max(work) * 1000:.0f} ms; wall gaps median "
              f"{gaps[len(gaps) // 2] * 1000:.0f} ms, worst {gaps[-1] * 1000:.0f} ms")
    print(report)  # the measure, for the README (pytest -s)
    assert max(work) < 0.050, report
    assert gaps[len(gaps) // 2] < 0.050, report

    target = tmp_path / "cancelled.pdf"
    tab.save_as(target)
    qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.operation is None, timeout=30000)
    assert "cancelled" in tab.state.text()
    assert not target.exists() and not list(tmp_path.glob(".cancelled*"))
    assert tab.generate_button.isEnabled() and tab.save_button.isEnabled()


# -- savings ------------------------------------------------------------------------------------


def _bill_ec2(app, tmp_path: Path) -> None:
    """Three months of EC2 billing before the demo's own November."""
    store = app.cost_facts()
    for month, daily in ((8, "3120.40"), (9, "3055.15"), (10, "2990.05")):
        rows = [focus_row(date(2026, month, day), EC2, Decimal(daily)) for day in range(1, 29)]
        path = write_focus(tmp_path / f"focus-2026-{month:02d}.csv", rows)
        with app.uow() as uow:
            import_billing(uow=uow, store=store, path=path, importer=detect_importer(path))
            uow.commit()


def test_the_savings_tab_shows_the_measured_saving_and_records_a_new_one(
        qtbot, month_end_app, open_window, tmp_path):
    _bill_ec2(month_end_app, tmp_path)
    with month_end_app.uow() as uow:
        record_saving(uow=uow, saving=Saving(
            "OPT-1", SavingKind.RIGHTSIZING, "Rightsize the ERP application tier", "2026-11",
            Decimal("1500.00"), "USD", service="*elastic compute*", provider="aws"),
            reason="FinOps review")
        uow.commit()
    with month_end_app.uow(read_only=True) as uow:
        everything = measure_savings(uow=uow, store=month_end_app.cost_facts())
    measured = next(m for m in everything if m.saving.id == "OPT-1")
    assert measured.months and measured.realised_total != 0  # measured, not guessed
    realised = sum((m.realised_total for m in everything), Decimal(0))
    expected = sum((m.expected_total for m in everything), Decimal(0))

    window, view = _page(qtbot, open_window, month_end_app, "carol")
    tab = _tab(qtbot, window, view, view.savings, lambda: view.savings.measured is not None)
    row = next(r for r in tab.model.rows() if r[0] == "OPT-1")
    assert row[11] == measured.realised_total
    assert row[8] == measured.baseline and row[10] == measured.expected_total
    assert (f"Realised USD {format_money(realised)}</b> of "
            f"{format_money(expected)} expected") in tab.summary.text()
    assert tab.chart.categories == [*DEMO_SAVINGS, "OPT-1"]  # by effective month
    assert tab.chart.series[1] == ("Realised", [float(m.realised_total) for m in everything])

    assert tab.record_button.isEnabled()
    tab.fields["id"].setText("OPT-2")
    tab.fields["title"].setText("Harvest unused Visio seats")
    tab.kind.setCurrentIndex(tab.kind.findData("licence_harvesting"))
    tab.fields["effective"].setText("2026-12")
    qtbot.mouseClick(tab.record_button, Qt.MouseButton.LeftButton)
    assert "field 'expected'" in tab.banner.text()  # nothing recorded without it
    tab.fields["expected"].setText("45.00")
    qtbot.mouseClick(tab.record_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.model.rowCount() == len(DEMO_SAVINGS) + 2 and idle(window),
                    timeout=30000)
    harvest = next(r for r in tab.model.rows() if r[0] == "OPT-2")
    assert harvest[1] == "licence_harvesting" and harvest[11] == 0
    assert "no billing scope" in harvest[13]  # says why instead of guessing


def test_a_viewer_may_not_record_savings_and_is_told_why(qtbot, month_end_app, open_window):
    window, view = _page(qtbot, open_window, month_end_app, "frank")
    tab = _tab(qtbot, window, view, view.savings, lambda: view.savings.measured is not None)
    assert not tab.record_button.isEnabled()
    assert "cannot record a saving" in tab.record_button.toolTip()
    # The demo's savings are there to read: the warehouse retired in October realises its
    # whole baseline each billed month since.
    assert [r[0] for r in tab.model.rows()] == DEMO_SAVINGS
    warehouse = next(m for m in tab.measured if m.saving.id == "MRD-SAV-01")
    assert warehouse.baseline == Decimal("4170.58") and warehouse.months
    assert all(m.realised == Decimal("4170.58") for m in warehouse.months)
    assert f"{len(DEMO_SAVINGS)} optimisation(s)" in tab.summary.text()


# -- the service catalogue ----------------------------------------------------------------------


def _catalogue(qtbot, open_window, app, login):
    window, view = _page(qtbot, open_window, app, login)
    tab = _tab(qtbot, window, view, view.catalogue, lambda: view.catalogue.page is not None)
    return window, view, tab


def _choose(qtbot, window, tab, service: str, centre: str, tier: str) -> None:
    row = next(n for n, r in enumerate(tab.subscriptions_model.rows())
               if r[:2] == (service, centre))
    tab.subscriptions_table.selectRow(row)
    tab.tier.setCurrentIndex(tab.tier.findData(tier))
    qtbot.waitUntil(lambda: tab.preview is not None and tab.preview.to_tier.name == tier
                    and idle(window), timeout=30000)


def test_a_tier_change_shows_the_services_cost_first_and_is_made_after_confirming(
        qtbot, month_end_app, open_window):
    with month_end_app.uow() as uow:  # the fixture is the demo catalogue's core: no change
        assert not import_catalogue(uow=uow, text=CATALOGUE.read_text(),
                                    source=str(CATALOGUE)).changed
        uow.commit()
    window, view, tab = _catalogue(qtbot, open_window, month_end_app, "carol")
    period = view.period.currentText()
    demo = parse_catalogue(DEMO_CATALOGUE.read_text())
    with month_end_app.uow(read_only=True) as uow:
        expected = preview_tier_change(uow=uow, service="EMAIL", cost_centre="1010",
                                       tier="gold", period=period)
    # The demo's catalogue: every service's tiers, every subscription priced for the period.
    assert tab.tiers_model.rowCount() == sum(len(s.tiers) for s in demo.services) == 9
    assert {r[0] for r in tab.tiers_model.rows()} == {"EMAIL", "DBAAS", "SERVICEDESK", "VDI"}
    assert ("VDI", "Virtual desktops", "gpu", Decimal("146.00"), "desktop", "USD",
            "99.9 % availability, response within 4 h, business hours", "6010") in \
        tab.tiers_model.rows()
    assert tab.subscriptions_model.rowCount() == len(demo.subscriptions) == 13
    assert ("VDI", "5040", "gpu", "6", "stated", Decimal("876.00"), "USD") in \
        tab.subscriptions_model.rows()
    assert ("DBAAS", "5010", "standard", "3", "stated", Decimal("930.00"), "USD") in \
        tab.subscriptions_model.rows()

    _choose(qtbot, window, tab, "EMAIL", "1010", "gold")
    assert tab.preview.difference == expected.difference > 0
    shown = tab.preview_label.text()
    assert f"+{format_money(expected.difference)} a month" in shown
    assert f"+{format_money(expected.difference * 12)} a year" in shown
    assert "99.95 % availability" in shown
    with month_end_app.uow(read_only=True) as uow:  # the preview changed nothing
        assert uow.catalogue.subscription("EMAIL", "1010").tier == "bronze"

    asked = []
    tab.confirm = lambda title, text: asked.append(text) or False
    tab.reason.setText("the plant needs 24x7 mail")
    qtbot.mouseClick(tab.change_button, Qt.MouseButton.LeftButton)
    assert format_money(expected.cost_after) in asked[0]  # the cost, once more, before
    with month_end_app.uow(read_only=True) as uow:  # declined: nothing changed
        assert uow.catalogue.subscription("EMAIL", "1010").tier == "bronze"
    tab.confirm = lambda title, text: True
    qtbot.mouseClick(tab.change_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "is now gold" in tab.banner.text(), timeout=30000)
    qtbot.waitUntil(lambda: ("EMAIL", "1010", "gold") in
                    [r[:3] for r in tab.subscriptions_model.rows()] and idle(window),
                    timeout=30000)
    with month_end_app.uow(read_only=True) as uow:
        assert uow.catalogue.subscription("EMAIL", "1010").tier == "gold"
        event = uow.audit.latest(1)[0]
    assert (event.action, event.actor, event.reason) == (
        "catalogue.tier_change", "carol", "the plant needs 24x7 mail")


def test_a_viewer_sees_the_cost_of_a_tier_change_but_may_not_make_it(
        qtbot, month_end_app, open_window):
    with month_end_app.uow() as uow:
        import_catalogue(uow=uow, text=CATALOGUE.read_text(), source=str(CATALOGUE))
        uow.commit()
    window, _view, tab = _catalogue(qtbot, open_window, month_end_app, "frank")
    _choose(qtbot, window, tab, "DBAAS", "5010", "ha")
    assert tab.preview.cost_after == Decimal("2056.50")  # 3 instances at 685.50
    assert not tab.change_button.isEnabled()
    assert "cannot change a service tier" in tab.change_button.toolTip()
    tab.confirm = lambda title, text: True
    tab.reason.setText("more availability")
    tab.change()  # past the disabled button: the service refuses as well
    qtbot.waitUntil(lambda: "cannot change a service tier" in tab.banner.text()
                    and idle(window), timeout=30000)
    with month_end_app.uow(read_only=True) as uow:
        assert uow.catalogue.subscription("DBAAS", "5010").tier == "standard"


# -- running cost and the ledger tie ------------------------------------------------------------


def test_the_running_cost_tab_shows_the_cost_per_allocated_unit_and_manual_decisions(
        qtbot, month_end_app, open_window):
    with month_end_app.uow() as uow:
        from ledger.services.allocation import import_manual_costs

        import_manual_costs(uow=uow, costs=[
            Staged(ManualCost("OPS-2026-11-H", "2026-11", "allocation-ops", Decimal("2400.00"),
                              "USD", "FinOps analyst, 32 h at 75.00")),
            Staged(ManualCost("OPS-2026-11-I", "2026-11", "allocation-ops", Decimal("187.45"),
                              "USD", "database and runner"))])
        uow.commit()
    with month_end_app.uow(read_only=True) as uow:
        expected = {r.period: r for r in running_cost_report(uow=uow)}
    november = expected["2026-11"]
    window, view = _page(qtbot, open_window, month_end_app, "carol")
    tab = _tab(qtbot, window, view, view.running_cost,
               lambda: view.running_cost.rows is not None)
    row = next(r for r in tab.model.rows() if r[:2] == ("2026-11", "USD"))
    assert row[2] == Decimal("2587.45") == november.running_cost["USD"]
    assert row[3] == november.allocated["USD"] > 0
    assert row[4] == format(november.per_allocated_unit("USD"), "f")
    assert row[5] == november.manual_decisions > 0
    assert tab.decisions_chart.categories == list(expected)
    assert dict(tab.actions_model.rows()) == dict(november.decisions_by_action)


def test_the_ledger_tie_reads_the_erp_back_and_ties_the_posted_month_end(
        qtbot, month_end_app, open_window, tmp_path, monkeypatch):
    from client.commands.gui import sandbox_erp
    from client.demo import post_month_end
    from client.erp import gateway_for
    from ledger.services.accounting import account_mapping_report, ledger_tie
    from ledger.services.erp_profiles import get_profile

    posted = post_month_end(month_end_app, "2026-11", erp_data=tmp_path / "erp")
    assert posted.report.posted and not posted.report.failed
    monkeypatch.setenv("APPORTION_ERP_SECRET", "demo")
    with sandbox_erp(month_end_app, tmp_path / "erp"):
        with month_end_app.uow(read_only=True) as uow:
            profile = get_profile(uow=uow, name="sandbox")
        gateway = gateway_for(profile)
        try:
            with month_end_app.uow(read_only=True) as uow:
                expected = ledger_tie(uow=uow, gateway=gateway, profile=profile,
                                      period="2026-11")
        finally:
            gateway.close()
        window, view = _page(qtbot, open_window, month_end_app, "frank")  # reading only
        tab = _tab(qtbot, window, view, view.ledger_tie, lambda: view.ledger_tie.erp.count())
        assert view.period.currentText() == "2026-11"
        assert tab.tie_button.isEnabled()
        qtbot.mouseClick(tab.tie_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: tab.result is not None and idle(window), timeout=30000)
    assert expected.tied and tab.result.tied
    assert tab.model.rows() == tie_rows(expected)
    assert "Tied" in tab.state.text() and f"{expected.journals} journal(s)" in tab.state.text()
    assert tab.model.index(0, 0).data(Qt.ItemDataRole.BackgroundRole) is None  # nothing shaded
    with month_end_app.uow(read_only=True) as uow:
        mapping = {m.account: m for m in account_mapping_report(uow=uow)}
    shown = {row[0]: row for row in tab.mapping_model.rows()}
    assert list(shown) == list(mapping)
    depreciation = mapping["6800"].to_json()
    assert depreciation["classification"] == "depreciation"
    assert shown["6800"][2:6] == ("depreciation", depreciation["capital_or_operating"],
                                  depreciation["ifrs"], depreciation["us_gaap"])


def test_the_tie_model_shades_the_lines_that_differ(qtmodeltester):
    posted = {("6900", "USD"): Decimal("100.00"), ("7990", "USD"): Decimal("-100.00")}
    erp = {("6900", "USD"): Decimal("100.01"), ("7990", "USD"): Decimal("-100.00"),
           ("8999", "USD"): Decimal("-0.01")}
    result = tie("2026-11", "sap", posted, erp, {"6900": Classification.OPERATING},
                 journals=1, documents=1)
    model = TieModel(TIE_COLUMNS)
    model.set_rows(tie_rows(result))
    qtmodeltester.check(model)
    background = Qt.ItemDataRole.BackgroundRole
    shaded = [model.index(row, 0).data() for row in range(model.rowCount())
              if model.index(row, 0).data(background) is not None]
    assert shaded == ["6900", "8999"]  # the round-off the ERP added, and where it went
    assert model.index(0, 5).data() == "0.01"
    assert model.index(0, 0).data(Qt.ItemDataRole.FontRole).bold()

"""Shadow chargeback on the statement: the cost centre's mode, and beside its showback figure
what the charge would have been, equal to the run's policy report, in JSON, XLSX, PDF and HTML."""

from __future__ import annotations

from decimal import Decimal

import pypdfium2
import pytest
from openpyxl import load_workbook

from client.commands.reports import _statement_json
from client.render import write_document
from client.render.reports import statement_document
from ledger.reports.statement import ShadowFigure
from ledger.services import reports
from tests.services.test_policy_runs import PolicyCompany, manual, policy

D = Decimal


@pytest.fixture
def shadow_run(app):
    """2010 in shadow chargeback (the policy of tests/services/test_policy_runs.py); a cloud
    cost of 100.00 shared 60/40 between 1010 and 2010."""
    company = PolicyCompany(app)
    company.set_policy(policy())
    run = company.run(costs=[manual("power", "cloud", "100.00"),
                             manual("rack", "cloud", "7.77", "2010")], ruleset="it@1")
    with company.app.uow(read_only=True) as uow:
        found = {code: reports.statement(uow=uow, cost_centre=code, period="2026-10")
                 for code in ("1010", "2010")}
    return run, found


def test_the_statement_shows_both_figures_equal_to_the_runs_policy_report(shadow_run) -> None:
    run, found = shadow_run
    (figure,) = [f for f in run.result.policy.modes if f.cost_centre == "2010"]
    sales = found["2010"]
    assert sales.mode == "shadow" == figure.mode.value
    assert sales.shadow == (ShadowFigure("USD", figure.showback, figure.chargeback),)
    # 40.00 of the shared cloud and its own 7.77: shown, and what chargeback would have posted
    assert (figure.showback, figure.chargeback, figure.posted) == (
        D("47.77"), D("47.77"), D(0))
    assert sales.totals == {"USD": D("47.77")} and sales.charged_totals == {}
    assert (found["1010"].mode, found["1010"].shadow) == ("chargeback", ())
    data = _statement_json(sales)
    assert data["mode"] == "shadow"
    assert data["shadow"] == [{"currency": "USD", "showback": "47.77", "chargeback": "47.77"}]


def test_every_format_shows_the_would_be_chargeback(shadow_run, tmp_path) -> None:
    _, found = shadow_run
    document = statement_document(found["2010"])
    book = load_workbook(write_document(document, tmp_path / "sales.xlsx"))
    summary = {row[0].value: row[1].value for row in book["Summary"].iter_rows()}
    assert summary["Charging mode"] == "shadow"
    assert summary["Shadow: showback USD"] == summary["Shadow: would-be chargeback USD"] == 47.77
    html = write_document(document, tmp_path / "sales.html").read_text()
    assert "Shadow: would-be chargeback USD" in html and "47.77" in html
    pdf = pypdfium2.PdfDocument(str(write_document(document, tmp_path / "sales.pdf")))
    try:
        text = "".join(page.get_textpage().get_text_range() for page in pdf)
    finally:
        pdf.close()
    assert "would-be chargeback USD" in text and "47.77" in text

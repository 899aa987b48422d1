"""Pairing vendor invoice lines with the billing's invoice totals: per invoice id where the
billing carries it, per billing account and period otherwise, and nothing counted twice."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.allocation.stored import InvoiceLine
from ledger.costfacts import InvoiceTotal
from ledger.services.allocation import compare_invoices


def line(invoice: str, account: str, amount: str, currency: str = "USD",
         period: str = "2026-10") -> InvoiceLine:
    return InvoiceLine(invoice, account, period, currency, D(amount))


def billed(invoice: str | None, account: str, amount: str, currency: str = "USD",
           period: str = "2026-10", rows: int = 3) -> InvoiceTotal:
    return InvoiceTotal(invoice, account, period, currency, rows, D(amount))


def test_each_invoice_is_checked_per_invoice_id_or_else_per_account_and_period() -> None:
    lines = [
        line("INV-A1", "ACC-A", "100.00"), line("INV-A1", "ACC-A", "20.00"),
        line("INV-B1", "ACC-B", "50.00"), line("INV-B2", "ACC-B", "25.00"),
        line("INV-C1", "ACC-C", "10.00", currency="EUR"),
        line("INV-F1", "ACC-F", "9.99"),
    ]
    totals = [
        billed("INV-A1", "ACC-A", "119.996"),
        billed(None, "ACC-B", "60.00"), billed("AWS-77", "ACC-B", "15.00"),  # ids not invoiced
        billed("INV-D1", "ACC-D", "7.5"), billed(None, "ACC-E", "3"),
        billed("INV-A1", "ACC-Z", "1.00"),  # the invoice's id under another account
        billed("INV-F1", "ACC-F", "10.00"),
    ]
    checks = compare_invoices(lines, totals)
    assert [(c.basis, c.invoice_ids, c.billing_account_id, c.currency, c.invoiced, c.billed,
             str(c.difference), c.status) for c in checks] == [
        ("invoice", ("INV-A1",), "ACC-A", "USD", D("120.00"), D("119.996"), "0.00", "matches"),
        ("account", ("INV-B1", "INV-B2"), "ACC-B", "USD", D("75.00"), D("75.00"), "0.00",
         "matches"),
        ("account", ("INV-C1",), "ACC-C", "EUR", D("10.00"), D(0), "10.00", "no billing"),
        ("invoice", ("INV-D1",), "ACC-D", "USD", D(0), D("7.5"), "-7.50", "no invoice"),
        ("account", (), "ACC-E", "USD", D(0), D("3"), "-3.00", "no invoice"),
        ("invoice", ("INV-F1",), "ACC-F", "USD", D("9.99"), D("10.00"), "-0.01", "different"),
        ("invoice", ("INV-A1",), "ACC-Z", "USD", D(0), D("1.00"), "-1.00", "no invoice"),
    ]
    assert [c.matches for c in checks] == [True, True, False, False, False, False, False]
    assert [(c.invoice_lines, c.billed_rows) for c in checks[:3]] == [(2, 3), (2, 6), (1, 0)]


def test_a_per_invoice_check_names_the_periods_its_lines_and_facts_fall_in() -> None:
    [check] = compare_invoices([line("INV-1", "ACC", "30.00", period="2026-10")],
                               [billed("INV-1", "ACC", "10.00", period="2026-09"),
                                billed("INV-1", "ACC", "20.00", period="2026-10")])
    assert (check.billing_period, check.billed, check.status) == (
        "2026-09, 2026-10", D("30.00"), "matches")


accounts = st.sampled_from(["A", "B", "C"])
invoice_ids = st.sampled_from(["I1", "I2", "I3", "I4"])
amounts = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(invoice_ids, accounts, st.sampled_from(["2026-09", "2026-10"]),
                       st.sampled_from(["USD", "EUR"]), amounts), max_size=8),
    st.lists(st.tuples(st.one_of(st.none(), invoice_ids), accounts,
                       st.sampled_from(["2026-09", "2026-10"]), st.sampled_from(["USD", "EUR"]),
                       st.integers(1, 5), amounts), max_size=8),
)
def test_every_line_and_every_billed_total_is_counted_exactly_once(raw_lines, raw_totals
                                                                    ) -> None:
    lines = [InvoiceLine(i, a, p, c, amount) for i, a, p, c, amount in raw_lines]
    totals = [InvoiceTotal(*values) for values in raw_totals]
    checks = compare_invoices(lines, totals)
    assert sum((c.invoiced for c in checks), D(0)) == sum((x.amount for x in lines), D(0))
    assert sum((c.billed for c in checks), D(0)) == sum((t.billed_cost for t in totals), D(0))
    assert sum(c.invoice_lines for c in checks) == len(lines)
    assert sum(c.billed_rows for c in checks) == sum(t.rows for t in totals)
    for check in checks:
        assert check.difference == (check.invoiced - check.billed).quantize(D("0.01"))
        assert str(check.difference) != "-0.00"

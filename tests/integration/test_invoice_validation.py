"""Invoice validation on the real AWS CUR sample: the billed total of each invoice id equals an
independent Decimal sum of the file, and a vendor invoice one cent off is reported with exactly
that difference, through the service and through ``apportion invoices check|totals --json``."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from client.cli import cli
from connectors.allocation_files import file_sha256, read_invoices
from connectors.billing import detect_importer, import_billing_file
from ledger.costfacts import CostFactStore, InvoiceTotal
from ledger.services import allocation
from ledger.services.costs import import_billing
from tests.billing_support import focus_header, focus_row
from tests.services.allocation_support import AllocationCompany

CUR = Path(__file__).resolve().parents[1] / "fixtures" / "billing" / "aws_cur_sample_anonymous.csv"
PAYER = "123412340534"
CENT = Decimal("0.01")


def cur_with_invoice_ids(target: Path) -> Path:
    """The real CUR sample with ``bill/InvoiceId`` filled in.

    AWS fills that column only once the month's invoice is issued, and the sample was exported
    before: it is empty in all 1,281 rows. The copy puts Amazon S3 on one invoice and the other
    services on another, so that there are two invoices to tell apart; every other cell is the
    file's own.
    """
    with CUR.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = list(reader)
    invoice, product = header.index("bill/InvoiceId"), header.index("lineItem/ProductCode")
    for row in rows:
        assert row[invoice] == ""
        row[invoice] = "EUCA23-0001" if row[product] == "AmazonS3" else "EUCA23-0002"
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return target


def independent_totals(path: Path) -> list[InvoiceTotal]:
    """Billed cost per invoice id, payer, month and currency, with csv and Decimal only."""
    sums: dict[tuple, Decimal] = defaultdict(Decimal)
    counts: dict[tuple, int] = defaultdict(int)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = (row["bill/InvoiceId"] or None, row["bill/PayerAccountId"],
                   row["bill/BillingPeriodStartDate"][:7], row["lineItem/CurrencyCode"])
            sums[key] += Decimal(row["lineItem/UnblendedCost"])
            counts[key] += 1
    return [InvoiceTotal(*key, counts[key], sums[key]) for key in sorted(sums)]


def test_the_billed_total_of_each_invoice_is_the_sum_of_its_cur_rows(tmp_path: Path) -> None:
    as_exported = CostFactStore(tmp_path / "as-exported")
    import_billing_file(as_exported, CUR)
    assert as_exported.invoice_totals() == independent_totals(CUR) == [
        InvoiceTotal(None, PAYER, "2023-11", "USD", 1281, Decimal("1.68230869740"))]

    invoiced = cur_with_invoice_ids(tmp_path / "cur-invoiced.csv")
    store = CostFactStore(tmp_path / "invoiced")
    import_billing_file(store, invoiced)
    totals = store.invoice_totals()
    assert totals == independent_totals(invoiced)
    assert [(t.invoice_id, t.rows) for t in totals] == [("EUCA23-0001", 799), ("EUCA23-0002", 482)]
    assert sum(t.billed_cost for t in totals) == Decimal("1.68230869740")
    assert store.invoice_totals(periods=["2023-10"]) == []


@pytest.fixture
def company(app) -> AllocationCompany:
    return AllocationCompany(app)


def test_a_vendor_invoice_one_cent_off_is_reported_with_exactly_that_difference(
        company, tmp_path: Path) -> None:
    billing = cur_with_invoice_ids(tmp_path / "cur-invoiced.csv")
    with company.as_("carol")() as uow:
        import_billing(uow=uow, store=company.app.cost_facts(), path=billing,
                       importer=detect_importer(billing))
        uow.commit()
    s3, rest = (t.billed_cost for t in independent_totals(billing))
    amounts = {"EUCA23-0001": s3.quantize(CENT, ROUND_HALF_UP),
               "EUCA23-0002": rest.quantize(CENT, ROUND_HALF_UP) + CENT}
    vendor = tmp_path / "vendor-invoices.csv"
    vendor.write_text("invoice_id,billing_account_id,billing_period,amount,currency\n" + "".join(
        f"{number},{PAYER},2023-11,{amount},USD\n" for number, amount in amounts.items()))
    with company.as_("carol")() as uow:
        allocation.import_invoices(uow=uow, file_name=vendor.name, sha256=file_sha256(vendor),
                                   lines=read_invoices(vendor))
        uow.commit()

    with company.app.uow(read_only=True) as uow:
        checks = allocation.check_invoices(uow=uow, store=company.app.cost_facts())
    assert [(c.basis, c.invoice_ids, c.invoiced, c.billed, c.difference, c.status)
            for c in checks] == [
        ("invoice", ("EUCA23-0001",), amounts["EUCA23-0001"], s3, Decimal("0.00"), "matches"),
        ("invoice", ("EUCA23-0002",), amounts["EUCA23-0002"], rest, CENT, "different")]

    def apportion(*args: str) -> dict:
        result = CliRunner().invoke(cli, ["--db", company.app.url, *args, "--json"],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    checked = apportion("invoices", "check", "--period", "2023-11")
    assert checked["all_match"] is False
    assert [(r["invoice_ids"], r["difference"], r["status"]) for r in checked["invoices"]] == [
        (["EUCA23-0001"], "0.00", "matches"), (["EUCA23-0002"], "0.01", "different")]
    assert Decimal(checked["invoices"][1]["invoiced"]) == amounts["EUCA23-0002"]
    assert Decimal(checked["invoices"][1]["billed"]) == rest
    totals = apportion("invoices", "totals", "--period", "2023-11")["invoices"]
    assert [(t["invoice_id"], t["rows"], Decimal(t["billed"]), t["billed_rounded"])
            for t in totals] == [("EUCA23-0001", 799, s3, "1.44"), ("EUCA23-0002", 482, rest,
                                                                       "0.24")]


def focus_1_2(path: Path, rows: list[tuple[date, str, str, str | None]]) -> Path:
    """A FOCUS file with the real sample's header plus the 1.2 column InvoiceId."""
    header = [*focus_header(), "InvoiceId"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, quoting=csv.QUOTE_NONNUMERIC)
        writer.writeheader()
        for day, account, cost, invoice in rows:
            row = focus_row(day, "Amazon Elastic Compute Cloud", Decimal(cost), account=account)
            writer.writerow({name: {**row, "InvoiceId": invoice or "NULL"}.get(name, "NULL")
                             for name in header})
    return path


def test_invoices_fall_back_per_account_and_name_what_has_no_counterpart(company, tmp_path: Path
                                                                         ) -> None:
    billing = focus_1_2(tmp_path / "focus-1.2.csv", [
        (date(2026, 10, 3), "ACC-1", "70.004", "INV-10"),
        (date(2026, 11, 1), "ACC-1", "30.00", "INV-10"),  # the invoice's line a month later
        (date(2026, 11, 2), "ACC-1", "99.00", "INV-11"),  # another month's invoice
        (date(2026, 10, 4), "ACC-2", "40.00", None),  # billing without invoice ids
        (date(2026, 10, 5), "ACC-2", "2.50", None),
        (date(2026, 10, 6), "ACC-3", "12.34", "INV-30"),  # no vendor invoice for it
    ])
    with company.as_("carol")() as uow:
        import_billing(uow=uow, store=company.app.cost_facts(), path=billing,
                       importer=detect_importer(billing))
        uow.commit()
    vendor = tmp_path / "vendor.csv"
    vendor.write_text("invoice_id,billing_account_id,billing_period,amount,currency\n"
                      "INV-10,ACC-1,2026-10,100.00,USD\n"
                      "V-2001,ACC-2,2026-10,42.50,USD\n"
                      "V-9001,ACC-9,2026-10,5.00,USD\n")
    with company.as_("carol")() as uow:
        allocation.import_invoices(uow=uow, file_name=vendor.name, sha256=file_sha256(vendor),
                                   lines=read_invoices(vendor))
        uow.commit()
    with company.app.uow(read_only=True) as uow:
        checks = allocation.check_invoices(uow=uow, store=company.app.cost_facts(),
                                           periods=["2026-10"])
    assert [(c.basis, c.invoice_ids, c.billing_account_id, c.billing_period, c.invoiced,
             c.billed, str(c.difference), c.status) for c in checks] == [
        ("invoice", ("INV-10",), "ACC-1", "2026-10, 2026-11", Decimal("100.00"),
         Decimal("100.004"), "0.00", "matches"),
        ("account", ("V-2001",), "ACC-2", "2026-10", Decimal("42.50"), Decimal("42.50"),
         "0.00", "matches"),
        ("invoice", ("INV-30",), "ACC-3", "2026-10", Decimal(0), Decimal("12.34"), "-12.34",
         "no invoice"),
        ("account", ("V-9001",), "ACC-9", "2026-10", Decimal("5.00"), Decimal(0), "5.00",
         "no billing"),
    ]

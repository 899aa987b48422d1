"""SAP S/4HANA over SOAP: zeep, loading the real WSDL, against the sandbox ERP over loopback."""

from __future__ import annotations

import base64
import logging
import socket
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import zeep
from lxml import etree

from connectors.erp.sandbox import FaultKind, RunningSandbox, SandboxErp
from connectors.erp.sap_soap import SapSoapSettings, ZeepSapJournalGateway
from ledger.erp import (
    ErpAmbiguousError,
    ErpRejectedError,
    ErpUnavailableError,
    JournalPosting,
)
from ledger.journal import JournalEntry, JournalLine

COMPANY = "MRD1"
ACCOUNTS = ["6900", "7990", "6100", "1500"]
COST_CENTRES = ["1010", "1020", "6010"]
TIMEOUT = 1.0
HANG = 3.0


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with SandboxErp.start(data_dir=tmp_path_factory.mktemp("sap-sandbox"),
                          companies={COMPANY: "USD"}, accounts=ACCOUNTS,
                          cost_centres=COST_CENTRES, closed_periods=["2025-12"],
                          hang_seconds=HANG, slow_seconds=0.2) as running:
        yield running


@pytest.fixture
def gateway(sandbox: RunningSandbox) -> Iterator[ZeepSapJournalGateway]:
    sandbox.faults.clear()
    settings = SapSoapSettings(base_url=sandbox.url, username="demo",
                               connect_timeout=TIMEOUT, operation_timeout=TIMEOUT)
    with ZeepSapJournalGateway(settings, password="demo") as gateway:
        yield gateway
    sandbox.faults.clear()


_counter = iter(range(1, 1_000_000))


def chargeback(reference: str | None = None, *, day: date = date(2026, 1, 31),
               debit_account: str = "6900", cost_centre: str = "1010") -> JournalPosting:
    reference = reference or f"APP-SAP-{next(_counter):05d}"
    entry = JournalEntry(day, f"IT chargeback {reference}", (
        JournalLine.debit(debit_account, Decimal("1234.56"), "USD", cost_centre=cost_centre,
                          memo="laptops"),
        JournalLine.debit("6900", Decimal("0.44"), "USD", cost_centre="1020"),
        JournalLine.credit("7990", Decimal("1235.00"), "USD", cost_centre="6010"),
    ), source="allocation", reference="run-1")
    return JournalPosting(entry, COMPANY, reference, f"key-{reference}")


def sandbox_documents(sandbox: RunningSandbox, reference: str) -> list[dict]:
    response = httpx.get(f"{sandbox.url}/sandbox/documents",
                         params={"system": "sap", "external_reference": reference})
    response.raise_for_status()
    return response.json()["documents"]


def test_a_journal_posted_through_the_real_wsdl_appears_in_the_sandbox_line_by_line(
        sandbox: RunningSandbox, gateway: ZeepSapJournalGateway) -> None:
    posting = chargeback()

    document = gateway.post_journal(posting)

    assert document.document_number.isdigit() and len(document.document_number) == 10
    assert document.fiscal_year == 2026
    [stored] = sandbox_documents(sandbox, posting.external_reference)
    assert stored["document_number"] == document.document_number
    assert stored["company_code"] == COMPANY
    assert stored["posting_date"] == "2026-01-31"
    assert stored["document_type"] == "SA"
    assert stored["created_by"] == "DEMO"
    assert stored["header_text"] == f"IT chargeback {posting.external_reference}"[:25]
    assert [(line["account"], line["debit_credit_code"], line["amount"], line["currency"],
             line["cost_centre"]) for line in stored["lines"]] == [
        ("6900", "S", "1234.56", "USD", "1010"),
        ("6900", "S", "0.44", "USD", "1020"),
        ("7990", "H", "-1235.00", "USD", "6010"),
    ]
    assert stored["totals"] == {"USD": {"debit": "1235.00", "credit": "1235.00"}}


def test_find_by_reference_reads_the_document_back_over_odata(
        gateway: ZeepSapJournalGateway) -> None:
    posting = chargeback()
    posted = gateway.post_journal(posting)

    found = gateway.find_by_reference(COMPANY, posting.external_reference)

    assert found == posted
    assert gateway.find_by_reference(COMPANY, "NO-SUCH-REF") is None
    assert gateway.find_by_reference(COMPANY, "it's quoted") is None


def test_documents_between_lists_documents_of_the_period_only(
        gateway: ZeepSapJournalGateway) -> None:
    inside = gateway.post_journal(chargeback(day=date(2026, 3, 15)))
    gateway.post_journal(chargeback(day=date(2026, 4, 1)))

    listed = gateway.documents_between(COMPANY, date(2026, 3, 1), date(2026, 3, 31))

    assert inside in listed
    assert all(date(2026, 3, 1) <= d.posting_date <= date(2026, 3, 31) for d in listed)


def test_sap_does_not_deduplicate_by_reference_so_a_blind_resend_books_twice(
        sandbox: RunningSandbox, gateway: ZeepSapJournalGateway) -> None:
    posting = chargeback()
    first = gateway.post_journal(posting)
    second = gateway.post_journal(posting)

    assert first.document_number != second.document_number
    assert len(sandbox_documents(sandbox, posting.external_reference)) == 2
    assert gateway.find_by_reference(COMPANY, posting.external_reference) == first


# -- hostile replies -------------------------------------------------------------------------


def post_forcing(sandbox: RunningSandbox, gateway: ZeepSapJournalGateway, kind: FaultKind,
                 posting: JournalPosting) -> tuple[Exception, float]:
    sandbox.force_fault(kind)
    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        gateway.post_journal(posting)
    return caught.value, time.monotonic() - started


def test_a_reply_that_never_comes_after_commit_is_ambiguous_within_the_timeout(
        sandbox: RunningSandbox, gateway: ZeepSapJournalGateway) -> None:
    posting = chargeback()
    error, elapsed = post_forcing(sandbox, gateway, FaultKind.COMMIT_THEN_TIMEOUT, posting)

    assert isinstance(error, ErpAmbiguousError)
    assert "did not answer within" in str(error)
    assert elapsed < TIMEOUT + 1.0
    assert gateway.find_by_reference(COMPANY, posting.external_reference) is not None


def test_a_500_after_commit_forced_over_http_is_ambiguous_and_the_document_exists(
        sandbox: RunningSandbox, gateway: ZeepSapJournalGateway) -> None:
    posting = chargeback()
    forced = httpx.post(f"{sandbox.url}/sandbox/faults",
                        json={"kind": "commit_then_error", "count": 1})
    assert forced.json()["forced"] == ["commit_then_error"]
    with pytest.raises(ErpAmbiguousError) as caught:
        gateway.post_journal(posting)

    error = caught.value
    assert "HTTP 500" in str(error)
    assert len(sandbox_documents(sandbox, posting.external_reference)) == 1


def test_an_error_before_commit_is_ambiguous_and_nothing_was_booked(
        sandbox: RunningSandbox, gateway: ZeepSapJournalGateway) -> None:
    posting = chargeback()
    error, _ = post_forcing(sandbox, gateway, FaultKind.ERROR_BEFORE_COMMIT, posting)

    assert isinstance(error, ErpAmbiguousError)
    assert "HTTP 503" in str(error)
    assert gateway.find_by_reference(COMPANY, posting.external_reference) is None


def test_malformed_xml_is_ambiguous(sandbox: RunningSandbox,
                                    gateway: ZeepSapJournalGateway) -> None:
    error, _ = post_forcing(sandbox, gateway, FaultKind.MALFORMED_REPLY, chargeback())

    assert isinstance(error, ErpAmbiguousError)
    assert "not valid XML" in str(error)


def test_an_xml_bomb_is_refused_quickly_and_is_ambiguous(
        sandbox: RunningSandbox, gateway: ZeepSapJournalGateway) -> None:
    error, elapsed = post_forcing(sandbox, gateway, FaultKind.XML_BOMB, chargeback())

    assert isinstance(error, ErpAmbiguousError)
    assert "DTD" in str(error)
    assert elapsed < TIMEOUT


def test_a_slow_reply_within_the_timeout_still_posts(
        sandbox: RunningSandbox, gateway: ZeepSapJournalGateway) -> None:
    sandbox.force_fault(FaultKind.SLOW_REPLY)
    document = gateway.post_journal(chargeback())
    assert document.document_number


def test_a_soap_fault_is_a_rejection_carrying_sap_s_log_message(
        sandbox: RunningSandbox, gateway: ZeepSapJournalGateway) -> None:
    posting = chargeback()
    error, _ = post_forcing(sandbox, gateway, FaultKind.SOAP_FAULT, posting)

    assert isinstance(error, ErpRejectedError)
    assert f"Company code {COMPANY} is locked for posting" in str(error)
    assert any("locked for posting" in m for m in error.messages)
    assert sandbox_documents(sandbox, posting.external_reference) == []


def test_an_unknown_gl_account_is_rejected_with_sap_s_note(
        sandbox: RunningSandbox, gateway: ZeepSapJournalGateway) -> None:
    posting = chargeback(debit_account="9999")
    with pytest.raises(ErpRejectedError) as caught:
        gateway.post_journal(posting)

    assert "G/L account 9999 does not exist in company code MRD1" in str(caught.value)
    assert sandbox_documents(sandbox, posting.external_reference) == []


def test_an_unknown_cost_centre_is_rejected_with_sap_s_note(
        gateway: ZeepSapJournalGateway) -> None:
    with pytest.raises(ErpRejectedError, match="Cost center 4040 does not exist"):
        gateway.post_journal(chargeback(cost_centre="4040"))


def test_a_closed_posting_period_is_rejected(gateway: ZeepSapJournalGateway) -> None:
    with pytest.raises(ErpRejectedError, match="Posting period 012 2025 is not open"):
        gateway.post_journal(chargeback(day=date(2025, 12, 31)))


class _UnbalanceFirstAmount(zeep.Plugin):
    """Alters the outgoing envelope: what SAP sees no longer balances."""

    def egress(self, envelope, http_headers, operation, binding_options):  # type: ignore[no-untyped-def]
        amount = next(e for e in envelope.iter() if isinstance(e.tag, str)
                      and etree.QName(e).localname == "AmountInTransactionCurrency")
        amount.text = str(Decimal(amount.text) + Decimal("0.01"))
        return envelope, http_headers


def test_an_unbalanced_document_is_rejected_with_sap_s_balance_note(
        sandbox: RunningSandbox) -> None:
    settings = SapSoapSettings(base_url=sandbox.url, username="demo", operation_timeout=TIMEOUT)
    with ZeepSapJournalGateway(settings, password="demo",
                               plugins=[_UnbalanceFirstAmount()]) as gateway:
        with pytest.raises(ErpRejectedError) as caught:
            gateway.post_journal(chargeback())

    assert "Balance in transaction currency USD: 0.01" in str(caught.value)
    assert "F5(702)" in str(caught.value)


def test_a_reference_too_long_for_sap_is_refused_before_sending(
        gateway: ZeepSapJournalGateway) -> None:
    with pytest.raises(ErpRejectedError, match="nothing was sent"):
        gateway.post_journal(chargeback("X" * 21))


def test_a_reply_over_the_size_cap_is_ambiguous(sandbox: RunningSandbox) -> None:
    settings = SapSoapSettings(base_url=sandbox.url, username="demo", operation_timeout=TIMEOUT,
                               max_response_bytes=300)
    with ZeepSapJournalGateway(settings, password="demo") as gateway:
        with pytest.raises(ErpAmbiguousError, match="cap"):
            gateway.post_journal(chargeback())


def test_a_wrong_password_is_a_rejection_that_books_nothing(sandbox: RunningSandbox) -> None:
    settings = SapSoapSettings(base_url=sandbox.url, username="demo", operation_timeout=TIMEOUT)
    with ZeepSapJournalGateway(settings, password="not-the-password") as gateway:
        with pytest.raises(ErpRejectedError, match="HTTP 401"):
            gateway.post_journal(chargeback())


def test_a_refused_connection_means_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = SapSoapSettings(base_url=f"http://127.0.0.1:{port}", username="demo",
                               connect_timeout=TIMEOUT, operation_timeout=TIMEOUT)
    with ZeepSapJournalGateway(settings, password="demo") as gateway:
        with pytest.raises(ErpUnavailableError, match="was not sent"):
            gateway.post_journal(chargeback())
        with pytest.raises(ErpUnavailableError):
            gateway.find_by_reference(COMPANY, "X")


# -- the sandbox itself ---------------------------------------------------------------------


def test_the_sandbox_serves_the_wsdl_pointing_at_itself(sandbox: RunningSandbox) -> None:
    response = httpx.get(f"{sandbox.url}/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi",
                         params="wsdl", auth=("demo", "demo"))
    assert response.status_code == 200
    assert f'location="{sandbox.url}/sap/bc/srt/scs_ext/sap/' in response.text
    assert "JournalEntryCreateRequestConfirmation_In" in response.text


def test_the_sandbox_refuses_a_request_carrying_a_dtd(sandbox: RunningSandbox) -> None:
    body = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>'
            b'<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
            b"<soap-env:Body>&e;</soap-env:Body></soap-env:Envelope>")
    response = httpx.post(f"{sandbox.url}/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi",
                          content=body, auth=("demo", "demo"),
                          headers={"Content-Type": "text/xml"})
    assert response.status_code == 500
    assert "DTDs are not allowed" in response.text


def test_a_restarted_sandbox_still_holds_what_was_posted(tmp_path: Path) -> None:
    with SandboxErp.start(data_dir=tmp_path) as first:
        settings = SapSoapSettings(base_url=first.url, username="demo",
                                   operation_timeout=TIMEOUT)
        with ZeepSapJournalGateway(settings, password="demo") as gateway:
            posted = gateway.post_journal(chargeback("APP-RESTART-1"))
    with SandboxErp.start(data_dir=tmp_path) as second:
        settings = SapSoapSettings(base_url=second.url, username="demo",
                                   operation_timeout=TIMEOUT)
        with ZeepSapJournalGateway(settings, password="demo") as gateway:
            assert gateway.find_by_reference(COMPANY, "APP-RESTART-1") == posted


# -- secrets --------------------------------------------------------------------------------

CANARY = "canary-Pw-7f3a9e1c"


def test_the_password_never_reaches_the_logs_even_at_debug(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with SandboxErp.start(data_dir=tmp_path, secret=CANARY) as sandbox:
        settings = SapSoapSettings(base_url=sandbox.url, username="demo",
                                   operation_timeout=TIMEOUT)
        with ZeepSapJournalGateway(settings, password=CANARY) as gateway:
            posting = chargeback()
            gateway.post_journal(posting)
            gateway.find_by_reference(COMPANY, posting.external_reference)
            sandbox.force_fault(FaultKind.SOAP_FAULT)
            with pytest.raises(ErpRejectedError) as refused:
                gateway.post_journal(chargeback())
        # The libraries log at DEBUG; whatever they print must not carry the secret.
        logging.getLogger("zeep.transports").debug("Authorization: Basic %s",
                                                   base64.b64encode(f"demo:{CANARY}".encode())
                                                   .decode())
        logging.getLogger("httpx").debug("password=%s", CANARY)

    basic = base64.b64encode(f"demo:{CANARY}".encode()).decode()
    assert caplog.records, "DEBUG logging was not captured"
    assert CANARY not in caplog.text
    assert basic not in caplog.text
    assert CANARY not in str(refused.value)
    assert CANARY not in repr(gateway)


def test_documents_between_follows_odata_paging_links(
        sandbox: RunningSandbox, gateway: ZeepSapJournalGateway,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connectors.erp.sandbox.sap.PAGE_SIZE", 2)
    posted = [gateway.post_journal(chargeback(day=date(2026, 6, 30))) for _ in range(3)]

    listed = gateway.documents_between(COMPANY, date(2026, 6, 30), date(2026, 6, 30))

    assert listed == posted  # 9 items over 5 pages, grouped back into 3 documents

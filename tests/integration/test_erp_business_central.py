"""Business Central API v2.0 over REST: httpx against the sandbox ERP over loopback."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from connectors.erp.business_central import BusinessCentralSettings, HttpxBusinessCentralGateway
from connectors.erp.sandbox import FaultKind, RunningSandbox, SandboxErp
from ledger.erp import ErpAmbiguousError, ErpRejectedError, JournalPosting
from ledger.journal import JournalEntry, JournalLine

COMPANY = "MRD1"
ACCOUNTS = ["6900", "7990", "6100"]
COST_CENTRES = ["1010", "1020", "6010"]
TIMEOUT = 1.0


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with SandboxErp.start(data_dir=tmp_path_factory.mktemp("bc-sandbox"),
                          companies={COMPANY: "USD"}, accounts=ACCOUNTS,
                          cost_centres=COST_CENTRES, closed_periods=["2025-12"],
                          hang_seconds=3.0, slow_seconds=0.2) as running:
        yield running


def settings_for(sandbox: RunningSandbox, **overrides: object) -> BusinessCentralSettings:
    values: dict = {"base_url": sandbox.url, "tenant": "sandbox", "environment": "production",
                    "client_id": "demo", "token_url": f"{sandbox.url}/oauth2/token",
                    "connect_timeout": TIMEOUT, "operation_timeout": TIMEOUT}
    values.update(overrides)
    return BusinessCentralSettings(**values)


@pytest.fixture
def gateway(sandbox: RunningSandbox) -> Iterator[HttpxBusinessCentralGateway]:
    sandbox.faults.clear()
    with HttpxBusinessCentralGateway(settings_for(sandbox), client_secret="demo") as gateway:
        yield gateway
    sandbox.faults.clear()


_counter = iter(range(1, 1_000_000))


def chargeback(reference: str | None = None, *, day: date = date(2026, 1, 31),
               debit_account: str = "6900", cost_centre: str = "1010") -> JournalPosting:
    reference = reference or f"APP-BC-{next(_counter):05d}"
    entry = JournalEntry(day, f"IT chargeback {reference}", (
        JournalLine.debit(debit_account, Decimal("800.25"), "USD", cost_centre=cost_centre,
                          memo="service desk"),
        JournalLine.debit("6900", Decimal("199.75"), "USD", cost_centre="1020"),
        JournalLine.credit("7990", Decimal("1000.00"), "USD"),
    ))
    return JournalPosting(entry, COMPANY, reference, f"key-{reference}")


def sandbox_documents(sandbox: RunningSandbox, reference: str) -> list[dict]:
    response = httpx.get(f"{sandbox.url}/sandbox/documents",
                         params={"system": "bc", "external_reference": reference})
    response.raise_for_status()
    return response.json()["documents"]


def test_a_journal_posted_over_rest_appears_in_the_sandbox_line_by_line(
        sandbox: RunningSandbox, gateway: HttpxBusinessCentralGateway) -> None:
    posting = chargeback()

    document = gateway.post_journal(posting)

    [stored] = sandbox_documents(sandbox, posting.external_reference)
    assert stored["document_number"] == document.document_number
    assert stored["source_document"] == posting.external_reference
    assert stored["posting_date"] == "2026-01-31"
    assert [(line["account"], line["side"], line["amount"], line["cost_centre"])
            for line in stored["lines"]] == [
        ("6900", "debit", "800.25", "1010"),
        ("6900", "debit", "199.75", "1020"),
        ("7990", "credit", "-1000.00", None),
    ]
    assert stored["totals"] == {"USD": {"debit": "1000.00", "credit": "1000.00"}}
    assert [(line.account, line.amount, line.cost_centre) for line in document.lines] == [
        ("6900", Decimal("800.25"), "1010"),
        ("6900", Decimal("199.75"), "1020"),
        ("7990", Decimal("-1000.00"), None),
    ]


def test_find_by_reference_reads_general_ledger_entries(
        gateway: HttpxBusinessCentralGateway) -> None:
    posting = chargeback()
    posted = gateway.post_journal(posting)

    assert gateway.find_by_reference(COMPANY, posting.external_reference) == posted
    assert gateway.find_by_reference(COMPANY, "NO-SUCH-REF") is None
    in_month = gateway.documents_between(COMPANY, date(2026, 1, 1), date(2026, 1, 31))
    assert posted in in_month


def test_business_central_keeps_the_external_number_but_a_blind_resend_books_twice(
        sandbox: RunningSandbox, gateway: HttpxBusinessCentralGateway) -> None:
    posting = chargeback()
    first = gateway.post_journal(posting)
    second = gateway.post_journal(posting)

    assert first.document_number != second.document_number
    assert len(sandbox_documents(sandbox, posting.external_reference)) == 2
    listed = gateway.documents_between(COMPANY, date(2026, 1, 31), date(2026, 1, 31))
    assert [d for d in listed if d.external_reference == posting.external_reference] == [
        first, second]


def test_a_retry_after_a_failure_before_commit_reuses_the_batch_and_books_once(
        sandbox: RunningSandbox, gateway: HttpxBusinessCentralGateway) -> None:
    posting = chargeback()
    sandbox.force_fault(FaultKind.ERROR_BEFORE_COMMIT)
    with pytest.raises(ErpAmbiguousError, match="HTTP 503"):
        gateway.post_journal(posting)
    assert gateway.find_by_reference(COMPANY, posting.external_reference) is None

    gateway.post_journal(posting)

    [stored] = sandbox_documents(sandbox, posting.external_reference)
    assert len(stored["lines"]) == 3


@pytest.mark.parametrize(("kind", "expected"), [
    (FaultKind.COMMIT_THEN_TIMEOUT, "no reply within"),
    (FaultKind.COMMIT_THEN_ERROR, "HTTP 500"),
    (FaultKind.MALFORMED_REPLY, "unexpected HTTP 200"),
    (FaultKind.XML_BOMB, "application/xml"),
])
def test_a_hostile_reply_after_commit_is_ambiguous_within_the_timeout(
        sandbox: RunningSandbox, gateway: HttpxBusinessCentralGateway, kind: FaultKind,
        expected: str) -> None:
    posting = chargeback()
    sandbox.force_fault(kind)
    started = time.monotonic()
    with pytest.raises(ErpAmbiguousError, match=expected):
        gateway.post_journal(posting)

    assert time.monotonic() - started < TIMEOUT + 1.0
    assert gateway.find_by_reference(COMPANY, posting.external_reference) is not None


def test_an_erp_error_message_is_a_rejection(sandbox: RunningSandbox,
                                             gateway: HttpxBusinessCentralGateway) -> None:
    posting = chargeback()
    sandbox.force_fault(FaultKind.SOAP_FAULT)
    with pytest.raises(ErpRejectedError, match="Posting is locked for company MRD1"):
        gateway.post_journal(posting)
    assert sandbox_documents(sandbox, posting.external_reference) == []


def test_an_unknown_account_is_rejected_when_the_line_is_created(
        gateway: HttpxBusinessCentralGateway) -> None:
    with pytest.raises(ErpRejectedError, match=r"The G/L Account does not exist.*No\.='9999'"):
        gateway.post_journal(chargeback(debit_account="9999"))


def test_an_unknown_cost_centre_is_rejected_as_a_missing_dimension_value(
        gateway: HttpxBusinessCentralGateway) -> None:
    with pytest.raises(ErpRejectedError, match=r"Dimension Value does not exist.*Code='4040'"):
        gateway.post_journal(chargeback(cost_centre="4040"))


def test_a_closed_period_is_rejected_when_posting(gateway: HttpxBusinessCentralGateway) -> None:
    with pytest.raises(ErpRejectedError, match="not within your range of allowed posting dates"):
        gateway.post_journal(chargeback(day=date(2025, 12, 31)))


def test_the_sandbox_refuses_an_unbalanced_batch_like_business_central(
        sandbox: RunningSandbox) -> None:
    token = httpx.post(f"{sandbox.url}/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": "demo", "client_secret": "demo"}
    ).json()["access_token"]
    api = settings_for(sandbox).api_url
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as http:
        company = http.get(f"{api}/companies").json()["value"][0]["id"]
        journal = http.post(f"{api}/companies({company})/journals",
                            json={"code": "UNBAL"}).json()["id"]
        for amount in ("10.00", "-9.99"):
            http.post(f"{api}/companies({company})/journals({journal})/journalLines", json={
                "accountNumber": "6900", "postingDate": "2026-01-31",
                "documentNumber": "UNBAL-1", "amount": amount}).raise_for_status()
        wrong_case = http.post(f"{api}/companies({company})/journals({journal})/"
                               f"Microsoft.NAV.Post")
        response = http.post(f"{api}/companies({company})/journals({journal})/Microsoft.NAV.post")

    assert wrong_case.status_code == 404
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "Application_DialogException"
    assert "Document No. UNBAL-1 is out of balance by 0.01" in error["message"]


def test_a_posting_in_a_foreign_currency_is_refused_before_sending(
        gateway: HttpxBusinessCentralGateway) -> None:
    entry = JournalEntry(date(2026, 1, 31), "EUR charge", (
        JournalLine.debit("6900", Decimal("5.00"), "EUR"),
        JournalLine.credit("7990", Decimal("5.00"), "EUR"),
    ))
    with pytest.raises(ErpRejectedError, match="company currency USD; nothing was sent"):
        gateway.post_journal(JournalPosting(entry, COMPANY, "APP-BC-EUR", "key-eur"))


def test_wrong_client_credentials_are_a_rejection(sandbox: RunningSandbox) -> None:
    with HttpxBusinessCentralGateway(settings_for(sandbox), client_secret="wrong") as gateway:
        with pytest.raises(ErpRejectedError, match="refused the client credentials"):
            gateway.post_journal(chargeback())


CANARY = "canary-Secret-0b5e2d71"


def test_the_client_secret_and_tokens_never_reach_the_logs_even_at_debug(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with SandboxErp.start(data_dir=tmp_path, secret=CANARY) as sandbox:
        with HttpxBusinessCentralGateway(settings_for(sandbox),
                                         client_secret=CANARY) as gateway:
            posting = chargeback()
            gateway.post_journal(posting)
            gateway.find_by_reference(COMPANY, posting.external_reference)
            token = gateway._token
            logging.getLogger("httpcore.http11").debug("headers: Bearer %s", token)
            logging.getLogger("httpx").debug("client_secret=%s", CANARY)

    assert token
    assert caplog.records, "DEBUG logging was not captured"
    assert CANARY not in caplog.text
    assert token not in caplog.text


def test_documents_between_follows_next_links(
        sandbox: RunningSandbox, gateway: HttpxBusinessCentralGateway,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("connectors.erp.sandbox.bc.PAGE_SIZE", 2)
    posted = [gateway.post_journal(chargeback(day=date(2026, 6, 30))) for _ in range(3)]

    listed = gateway.documents_between(COMPANY, date(2026, 6, 30), date(2026, 6, 30))

    assert listed == posted

"""ERP adapters without a network: request mapping, reply parsing, exact JSON, log redaction,
seeded faults and the sandbox's OData filters."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import zeep
from lxml import etree

from connectors.erp.business_central import (
    BusinessCentralSettings,
    HttpxBusinessCentralGateway,
    batch_code,
)
from connectors.erp.hardening import dumps_exact, loads_exact, protect_secrets
from connectors.erp.sandbox.faults import FaultKind, FaultPlan
from connectors.erp.sandbox.odata import FilterError, matches, parse_filter
from connectors.erp.sap_odata import group_items, odata_literal, parse_odata_date
from connectors.erp.sap_soap import (
    BINDING,
    OPERATION,
    CappedTransport,
    SapSoapSettings,
    _wsdl_path,
    build_request,
    parse_confirmation,
)
from ledger.erp import ErpAmbiguousError, ErpLine, ErpRejectedError, JournalPosting
from ledger.journal import JournalEntry, JournalLine

SETTINGS = SapSoapSettings(base_url="https://s4.example.com", username="apportion_comm_user")


def posting(reference: str = "APP-000123") -> JournalPosting:
    entry = JournalEntry(date(2026, 2, 28), "Chargeback of shared IT costs, February 2026", (
        JournalLine.debit("6900", Decimal("100.00"), "USD", cost_centre="1010", memo="servers"),
        JournalLine.credit("7990", Decimal("100.00"), "USD"),
    ))
    return JournalPosting(entry, "MRD1", reference, "idem-" + "x" * 40)


def test_a_posting_maps_to_sap_journal_entry_fields() -> None:
    request = build_request(posting(), SETTINGS, now=datetime(2026, 3, 1, 8, 0, tzinfo=UTC))

    header = request["MessageHeader"]
    [message] = request["JournalEntryCreateRequest"]
    entry = message["JournalEntry"]
    assert header["CreationDateTime"] == "2026-03-01T08:00:00Z"
    assert len(header["ID"]["_value_1"]) <= 35  # a long idempotency key is hashed to fit
    assert header == build_request(posting(), SETTINGS,
                                   now=datetime(2026, 3, 1, 8, 0, tzinfo=UTC))["MessageHeader"]
    assert entry["CompanyCode"] == "MRD1"
    assert entry["OriginalReferenceDocument"] == "APP-000123"
    assert entry["AccountingDocumentType"] == "SA"
    assert entry["DocumentHeaderText"] == "Chargeback of shared IT c"  # SAP keeps 25
    assert entry["CreatedByUser"] == "APPORTION_CO"
    assert entry["PostingDate"] == entry["DocumentDate"] == date(2026, 2, 28)
    debit, credit = entry["Item"]
    assert debit["DebitCreditCode"] == "S"
    assert debit["AmountInTransactionCurrency"] == {"_value_1": Decimal("100.00"),
                                                    "currencyCode": "USD"}
    assert debit["AccountAssignment"] == {"CostCenter": "1010"}
    assert debit["DocumentItemText"] == "servers"
    assert credit["DebitCreditCode"] == "H"
    assert credit["AmountInTransactionCurrency"]["_value_1"] == Decimal("-100.00")
    assert "AccountAssignment" not in credit


def test_the_request_renders_through_the_shipped_wsdl() -> None:
    client = zeep.Client(_wsdl_path(), settings=zeep.Settings(strict=True, forbid_dtd=True,
                                                              forbid_entities=True,
                                                              forbid_external=True))
    service = client.create_service(BINDING, "https://s4.example.com/x")
    envelope = client.create_message(service, OPERATION, **build_request(posting(), SETTINGS))
    text = etree.tostring(envelope).decode()

    assert "<GLAccount>6900</GLAccount>" in text
    assert '<AmountInTransactionCurrency currencyCode="USD">-100.00</' in text
    assert "<CostCenter>1010</CostCenter>" in text
    assert "<OriginalReferenceDocument>APP-000123</OriginalReferenceDocument>" in text


def _log(*items: tuple[str, str, str]) -> SimpleNamespace:
    return SimpleNamespace(Item=[SimpleNamespace(SeverityCode=s, TypeID=t, Note=n)
                                 for s, t, n in items])


def _confirmation(number: str, *items: tuple[str, str, str]) -> SimpleNamespace:
    inner = SimpleNamespace(AccountingDocument=number, CompanyCode="MRD1", FiscalYear="2026")
    message = SimpleNamespace(JournalEntryCreateConfirmation=inner, Log=_log(*items))
    return SimpleNamespace(JournalEntryCreateConfirmation=[message], Log=_log())


def test_a_confirmation_gives_the_accounting_document_and_our_lines() -> None:
    document = parse_confirmation(
        _confirmation("0100000042", ("1", "RW(609)", "Document posted successfully")), posting())

    assert document.document_number == "0100000042"
    assert document.fiscal_year == 2026
    assert document.lines == (ErpLine("6900", Decimal("100.00"), "USD", "1010"),
                              ErpLine("7990", Decimal("-100.00"), "USD", None))


def test_a_confirmation_with_error_notes_is_a_rejection_naming_them() -> None:
    reply = _confirmation("0000000000", ("3", "FH(031)", "G/L account 9999 does not exist"),
                          ("2", "X(1)", "just a warning"))
    with pytest.raises(ErpRejectedError) as caught:
        parse_confirmation(reply, posting())

    assert str(caught.value) == ("SAP did not post journal APP-000123: "
                                 "G/L account 9999 does not exist (FH(031))")
    assert caught.value.messages == ("G/L account 9999 does not exist (FH(031))",)


def test_a_confirmation_without_document_or_notes_is_ambiguous() -> None:
    with pytest.raises(ErpAmbiguousError):
        parse_confirmation(SimpleNamespace(JournalEntryCreateConfirmation=[], Log=None),
                           posting())


def test_odata_items_group_into_documents_with_signed_amounts() -> None:
    rows = [
        {"CompanyCode": "MRD1", "FiscalYear": "2026", "AccountingDocument": "0100000001",
         "LedgerGLLineItem": "000002", "PostingDate": "/Date(1772236800000)/",
         "OriginalReferenceDocument": "R1", "GLAccount": "7990", "CostCenter": "",
         "AmountInTransactionCurrency": "-5.00", "TransactionCurrency": "USD"},
        {"CompanyCode": "MRD1", "FiscalYear": "2026", "AccountingDocument": "0100000001",
         "LedgerGLLineItem": "000001", "PostingDate": "/Date(1772236800000)/",
         "OriginalReferenceDocument": "R1", "GLAccount": "6900", "CostCenter": "1010",
         "AmountInTransactionCurrency": "5.00", "TransactionCurrency": "USD"},
    ]
    [document] = group_items(rows)

    assert document.posting_date == date(2026, 2, 28)
    assert document.lines == (ErpLine("6900", Decimal("5.00"), "USD", "1010"),
                              ErpLine("7990", Decimal("-5.00"), "USD", None))
    assert parse_odata_date("2026-02-28T00:00:00") == date(2026, 2, 28)
    assert odata_literal("it's") == "'it''s'"


def test_business_central_batch_codes_are_stable_and_fit_ten_characters() -> None:
    assert batch_code("AP", "key-1") == batch_code("AP", "key-1")
    assert batch_code("AP", "key-1") != batch_code("AP", "key-2")
    assert len(batch_code("AP", "key-1")) == 10


def test_business_central_entries_of_two_postings_of_one_reference_are_two_documents() -> None:
    gateway = HttpxBusinessCentralGateway(BusinessCentralSettings(
        base_url="https://bc.example.com", tenant="t", environment="e", client_id="c",
        token_url="https://login.example.com/token"), client_secret="unit-test-secret")
    rows = [{"entryNumber": n, "documentNumber": "R1", "postingDate": "2026-01-31",
             "accountNumber": account, "debitAmount": debit, "creditAmount": credit}
            for n, account, debit, credit in [(5, "6900", Decimal(3), Decimal(0)),
                                              (6, "7990", Decimal(0), Decimal(3)),
                                              (7, "6900", Decimal(3), Decimal(0)),
                                              (8, "7990", Decimal(0), Decimal(3))]]
    documents = gateway._group(rows, "MRD1")
    gateway.close()

    assert [d.document_number for d in documents] == ["5", "7"]
    assert all(sum(line.amount for line in d.lines) == 0 for d in documents)


def test_json_amounts_stay_exact_both_ways() -> None:
    text = dumps_exact({"amount": Decimal("-1234567890.12345678"), "n": 3})
    assert text == '{"amount": -1234567890.12345678, "n": 3}'
    assert loads_exact(text)["amount"] == Decimal("-1234567890.12345678")
    with pytest.raises(TypeError):
        dumps_exact({"amount": 0.1})
    with pytest.raises(ValueError):
        loads_exact('{"amount": NaN}')


def test_registered_secrets_are_redacted_from_library_log_records(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    protect_secrets("unit-canary-5150", username="someone")
    basic = base64.b64encode(b"someone:unit-canary-5150").decode()

    logging.getLogger("zeep.transports").debug("HTTP Post with Authorization: Basic %s", basic)
    logging.getLogger("httpx").debug("body client_secret=%s", "unit-canary-5150")

    assert "unit-canary-5150" not in caplog.text
    assert basic not in caplog.text
    assert caplog.text.count("***") == 2


def test_seeded_faults_replay_exactly_and_forced_faults_come_first() -> None:
    rates = {"error_before_commit": 0.1, "commit_then_error": 0.05}
    first, second = FaultPlan(seed=7, rates=rates), FaultPlan(seed=7, rates=rates)
    draws = [first.draw() for _ in range(500)]

    assert draws == [second.draw() for _ in range(500)]
    assert 25 <= draws.count(FaultKind.ERROR_BEFORE_COMMIT) <= 80
    first.force("xml_bomb", 2)
    assert [first.draw(), first.draw()] == [FaultKind.XML_BOMB, FaultKind.XML_BOMB]
    with pytest.raises(ValueError):
        first.force("no_such_fault")


def test_the_sandbox_understands_the_odata_filters_the_gateways_send() -> None:
    clauses = parse_filter("CompanyCode eq 'MRD1' and OriginalReferenceDocument eq 'it''s' "
                           "and PostingDate ge datetime'2026-01-01T00:00:00' and "
                           "postingDate le 2026-01-31")
    assert clauses[1] == ("OriginalReferenceDocument", "eq", "it's")
    row = {"CompanyCode": "MRD1", "OriginalReferenceDocument": "it's",
           "PostingDate": date(2026, 1, 15), "postingDate": "2026-01-15"}
    assert matches(row, clauses)
    assert not matches({**row, "postingDate": "2026-02-01"}, clauses)
    with pytest.raises(FilterError):
        parse_filter("substringof('x', Name)")
    with pytest.raises(FilterError):
        matches({}, parse_filter("Unknown eq 'x'"))


def test_the_sap_transport_never_fetches_wsdl_parts_from_the_network() -> None:
    transport = CappedTransport(max_response_bytes=1000)
    with pytest.raises(ValueError, match="refusing to fetch"):
        transport.load("https://attacker.example.com/evil.xsd")
    assert b"JournalEntryCreateRequestConfirmation_In" in transport.load(_wsdl_path())

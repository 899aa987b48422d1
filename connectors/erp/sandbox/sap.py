"""The sandbox's SAP S/4HANA face: the WSDL, the Journal Entry - Post SOAP service, and the
OData journal entry item read API.

Requests are parsed with lxml safely (no entity resolution, no network, no huge trees, DTDs
refused). Validation answers like SAP does: HTTP 200 with a confirmation whose ``Log`` carries
items with severity 3 and SAP-style notes, accounting document ``0000000000``. SAP does not
deduplicate by ``OriginalReferenceDocument``: posting the same journal twice books two documents.
The message numbers in the notes are illustrative, in SAP's ``CLASS(NNN)`` style.
"""

from __future__ import annotations

import importlib.resources
import logging
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from lxml import etree
from lxml.builder import ElementMaker

from connectors.erp.sandbox.chart import SandboxChart
from connectors.erp.sandbox.faults import FaultKind, FaultPlan
from connectors.erp.sandbox.odata import FilterError, matches, parse_filter
from connectors.erp.sandbox.store import NewDocument, SandboxStore, StoredDocument, StoredLine
from connectors.erp.sandbox.wire import (
    BILLION_LAUGHS,
    Reply,
    Request,
    html_error_page,
    json_reply,
)

log = logging.getLogger(__name__)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SFIN = "http://sap.com/xi/SAPSCORE/SFIN"
SOAP_PATH = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi"
ODATA_PATH = "/sap/opu/odata/sap/API_JOURNALENTRYITEMBASIC_SRV"
ENTITY_SET = "A_JournalEntryItemBasic"
WSDL_RESOURCE = "sap_journal_entry_create_request_confirmation.wsdl"
PAGE_SIZE = 1000
MAX_NOTE = 200

ENV = ElementMaker(namespace=SOAP_ENV, nsmap={"soap-env": SOAP_ENV})
N0 = ElementMaker(namespace=SFIN, nsmap={"n0": SFIN})
E = ElementMaker()


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           load_dtd=False, remove_comments=True, remove_pis=True)


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _child(element: Any, name: str) -> Any:
    if element is None:
        return None
    for child in element:
        if _local(child) == name:
            return child
    return None


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child) == name]


def _text(element: Any, name: str) -> str:
    child = _child(element, name)
    return (child.text or "").strip() if child is not None else ""


@dataclass(frozen=True, slots=True)
class Note:
    severity: int
    type_id: str
    text: str


@dataclass(frozen=True, slots=True)
class Outcome:
    company: str
    document: StoredDocument | None
    notes: tuple[Note, ...]


class SapService:
    """Handles the SAP endpoints of the sandbox."""

    def __init__(self, store: SandboxStore, chart: SandboxChart, faults: FaultPlan, *,
                 slow_seconds: float, hang_seconds: float, stopping: threading.Event) -> None:
        self.store = store
        self.chart = chart
        self.faults = faults
        self.slow_seconds = slow_seconds
        self.hang_seconds = hang_seconds
        self._stopping = stopping

    # -- WSDL ------------------------------------------------------------------------------

    def wsdl(self, request: Request) -> Reply:
        text = (importlib.resources.files("resources.erp") / WSDL_RESOURCE).read_text("utf-8")
        text = text.replace("https://host:port/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi",
                            request.base_url + SOAP_PATH)
        return Reply(200, text.encode("utf-8"), "text/xml; charset=utf-8")

    # -- SOAP post -------------------------------------------------------------------------

    def post(self, request: Request) -> Reply:
        try:
            root = etree.fromstring(request.body, safe_parser())
        except etree.XMLSyntaxError as exc:
            return soap_fault("soap-env:Client", f"The request is not well-formed XML: {exc}")
        if root.getroottree().docinfo.doctype:
            return soap_fault("soap-env:Client", "DTDs are not allowed in SOAP messages")
        body = _child(root, "Body")
        bulk = body[0] if body is not None and len(body) else None
        if bulk is None or _local(bulk) != "JournalEntryBulkCreateRequest":
            return soap_fault("soap-env:Client",
                              "Unknown operation: expected JournalEntryBulkCreateRequest")
        entries = _children(bulk, "JournalEntryCreateRequest")
        if not entries:
            return soap_fault("soap-env:Client", "The request holds no JournalEntryCreateRequest")

        kind = self.faults.draw()
        if kind is FaultKind.ERROR_BEFORE_COMMIT:
            return html_error_page(503)
        if kind is FaultKind.SOAP_FAULT:
            company = _text(_child(entries[0], "JournalEntry"), "CompanyCode") or "?"
            return soap_fault(
                "soap-env:Server",
                "Web service processing error; more details in the web service error log on "
                f"provider side (UTC timestamp {datetime.now(UTC):%Y%m%d%H%M%S}; "
                f"Transaction ID {uuid.uuid4().hex.upper()})",
                log_text=f"Company code {company} is locked for posting by user CLOSE_BATCH",
                log_id="F5(155)")
        if kind is FaultKind.SLOW_REPLY:
            self._stopping.wait(self.slow_seconds)

        outcomes = [self._book(entry) for entry in entries]
        reply = Reply(200, confirmation(outcomes, _text(_child(bulk, "MessageHeader"), "UUID")),
                      "text/xml; charset=utf-8")
        if kind is FaultKind.COMMIT_THEN_ERROR:
            return html_error_page(500)
        if kind is FaultKind.COMMIT_THEN_TIMEOUT:
            reply.hang_seconds = self.hang_seconds
        elif kind is FaultKind.MALFORMED_REPLY:
            reply.body = reply.body[: len(reply.body) // 2]
        elif kind is FaultKind.XML_BOMB:
            reply.body = BILLION_LAUGHS
        return reply

    def _book(self, message: Any) -> Outcome:
        entry = _child(message, "JournalEntry")
        if entry is None:
            return Outcome("", None, (Note(3, "FINS_ACDOC_POST(001)",
                                           "JournalEntry is missing"),))
        company = _text(entry, "CompanyCode")
        notes: list[Note] = []
        try:
            posting_date = date.fromisoformat(_text(entry, "PostingDate"))
            document_date = date.fromisoformat(_text(entry, "DocumentDate") or
                                               _text(entry, "PostingDate"))
        except ValueError:
            return Outcome(company, None, (Note(3, "F5(100)", "Enter a valid posting date"),))
        if company not in self.chart.companies:
            notes.append(Note(3, "F5(165)", f"Company code {company} does not exist"))
        if self.chart.is_closed(posting_date):
            notes.append(Note(3, "F5(201)", f"Posting period {posting_date.month:03d} "
                                            f"{posting_date.year} is not open"))
        lines: list[StoredLine] = []
        balance: dict[str, Decimal] = defaultdict(Decimal)
        items = _children(entry, "Item")
        if not items:
            notes.append(Note(3, "F5(708)", "No items were transferred for the document"))
        for number, item in enumerate(items, start=1):
            account = _text(item, "GLAccount")
            amount_element = _child(item, "AmountInTransactionCurrency")
            currency = amount_element.get("currencyCode", "") if amount_element is not None else ""
            try:
                amount = Decimal((amount_element.text or "").strip())
                if not amount.is_finite():
                    raise InvalidOperation
            except (InvalidOperation, AttributeError):
                notes.append(Note(3, "F5(060)", f"Item {number}: amount is not a number"))
                continue
            code = _text(item, "DebitCreditCode")
            cost_centre = _text(_child(item, "AccountAssignment"), "CostCenter") or None
            if account not in self.chart.accounts:
                notes.append(Note(3, "FH(031)", f"G/L account {account} does not exist in "
                                                f"company code {company}"))
            if cost_centre is not None and cost_centre not in self.chart.cost_centres:
                notes.append(Note(3, "KI(235)", f"Cost center {cost_centre} does not exist on "
                                                f"{posting_date:%d.%m.%Y}"))
            if code not in ("", "S", "H") or (code == "S" and amount < 0) or (
                    code == "H" and amount > 0):
                notes.append(Note(3, "F5(042)", f"Item {number}: debit/credit code {code!r} "
                                                f"does not match the sign of amount {amount}"))
            balance[currency] += amount
            lines.append(StoredLine(account, amount, currency, cost_centre,
                                    _text(item, "DocumentItemText")))
        for currency, difference in sorted(balance.items()):
            if difference != 0:
                notes.append(Note(3, "F5(702)",
                                  f"Balance in transaction currency {currency}: {difference}"))
        if notes:
            notes.append(Note(3, "RW(609)", "Error in document: BKPFF $ "
                                            f"{_text(entry, 'OriginalReferenceDocument')}"))
            return Outcome(company, None, tuple(notes))
        with self.store.transaction() as db:
            document = self.store.book(db, NewDocument(
                system="sap",
                company=company,
                posting_date=posting_date,
                document_date=document_date,
                external_reference=_text(entry, "OriginalReferenceDocument"),
                lines=tuple(lines),
                header_text=_text(entry, "DocumentHeaderText"),
                created_by=_text(entry, "CreatedByUser"),
                document_type=_text(entry, "AccountingDocumentType"),
            ))
        success = Note(1, "RW(609)", f"Document posted successfully: BKPFF "
                                     f"{document.document_number}{company}{document.fiscal_year}")
        return Outcome(company, document, (success,))

    # -- OData read ------------------------------------------------------------------------

    def odata(self, request: Request, entity_path: str) -> Reply:
        if entity_path != ENTITY_SET:
            return odata_error(404, f"Resource not found for segment '{entity_path}'")
        try:
            clauses = parse_filter(request.query.get("$filter"))
            top = int(request.query["$top"]) if "$top" in request.query else None
            skip = int(request.query.get("$skip", 0))
        except (FilterError, ValueError) as exc:
            return odata_error(400, str(exc))
        narrowing = {field: value for field, op, value in clauses
                     if op == "eq" and field in ("CompanyCode", "OriginalReferenceDocument")}
        documents = self.store.documents(
            system="sap", company=narrowing.get("CompanyCode"),
            external_reference=narrowing.get("OriginalReferenceDocument"))
        rows = []
        try:
            for document in documents:
                for index, line in enumerate(document.lines, start=1):
                    row = item_row(document, index, line)
                    if matches(row, clauses):
                        rows.append(row)
        except FilterError as exc:
            return odata_error(400, str(exc))
        wanted = len(rows) - skip if top is None else top
        page_size = min(wanted, PAGE_SIZE)
        page = rows[skip: skip + page_size]
        payload: dict[str, Any] = {"results": [odata_json(row) for row in page]}
        if skip + page_size < len(rows) and wanted > page_size:
            query = {k: v for k, v in request.query.items() if k not in ("$skip", "$top")}
            query["$skip"] = str(skip + page_size)
            if top is not None:
                query["$top"] = str(top - page_size)
            payload["__next"] = (f"{request.base_url}{ODATA_PATH}/{ENTITY_SET}?"
                                 f"{urlencode(query)}")
        return json_reply(200, {"d": payload})


def item_row(document: StoredDocument, index: int, line: StoredLine) -> dict[str, Any]:
    return {
        "ID": f"{document.company}{document.fiscal_year}{document.document_number}{index:06d}",
        "Ledger": "0L",
        "CompanyCode": document.company,
        "FiscalYear": str(document.fiscal_year),
        "AccountingDocument": document.document_number,
        "LedgerGLLineItem": f"{index:06d}",
        "AccountingDocumentType": document.document_type,
        "PostingDate": document.posting_date,
        "DocumentDate": document.document_date,
        "OriginalReferenceDocument": document.external_reference,
        "GLAccount": line.account,
        "CostCenter": line.cost_centre or "",
        "AmountInTransactionCurrency": str(line.amount),
        "TransactionCurrency": line.currency,
        "DebitCreditCode": "S" if line.amount >= 0 else "H",
        "DocumentItemText": line.text,
    }


def odata_json(row: dict[str, Any]) -> dict[str, Any]:
    """OData v2 JSON: dates as ``/Date(ms)/``, decimals as strings."""
    out: dict[str, Any] = {"__metadata": {"type": "API_JOURNALENTRYITEMBASIC_SRV."
                                                  "A_JournalEntryItemBasicType"}}
    for key, value in row.items():
        if isinstance(value, date):
            stamp = datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
            value = f"/Date({int(stamp) * 1000})/"
        out[key] = value
    return out


def odata_error(status: int, message: str) -> Reply:
    return json_reply(status, {"error": {"code": "SY/530", "message": {"lang": "en",
                                                                       "value": message}}})


def _envelope(body_child: Any) -> bytes:
    envelope = ENV.Envelope(ENV.Header(), ENV.Body(body_child))
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def _log(notes: tuple[Note, ...] | list[Note], *, failed: bool) -> Any:
    items = [E.Item(E.TypeID(n.type_id), E.SeverityCode(str(n.severity)),
                    E.Note(n.text[:MAX_NOTE])) for n in notes]
    highest = max((n.severity for n in notes), default=1)
    return E.Log(E.BusinessDocumentProcessingResultCode("5" if failed else "3"),
                 E.MaximumLogItemSeverityCode(str(highest)), *items)


def confirmation(outcomes: list[Outcome], reference_uuid: str) -> bytes:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def header() -> Any:
        parts = [E.UUID(str(uuid.uuid4()))]
        if reference_uuid:
            parts.append(E.ReferenceUUID(reference_uuid))
        return E.MessageHeader(*parts, E.CreationDateTime(now))

    messages = []
    all_notes: list[Note] = []
    for outcome in outcomes:
        document = outcome.document
        number = document.document_number if document else "0000000000"
        year = str(document.fiscal_year) if document else "0000"
        messages.append(E.JournalEntryCreateConfirmation(
            header(),
            E.JournalEntryCreateConfirmation(E.AccountingDocument(number),
                                             E.CompanyCode(outcome.company or "????"),
                                             E.FiscalYear(year)),
            _log(outcome.notes, failed=document is None),
        ))
        all_notes.extend(outcome.notes)
    failed = any(outcome.document is None for outcome in outcomes)
    bulk = N0.JournalEntryBulkCreateConfirmation(header(), *messages,
                                                 _log(all_notes, failed=failed))
    return _envelope(bulk)


def soap_fault(code: str, text: str, *, log_text: str | None = None,
               log_id: str = "") -> Reply:
    fault = ENV.Fault(E.faultcode(code), E.faultstring(text))
    if log_text:
        fault.append(E.detail(E.StandardMessageFault(E.standard(
            E.faultText(log_text),
            E.faultDetail(E.severity("error"), E.text(log_text), E.id(log_id)),
        ))))
    return Reply(500, _envelope(fault), "text/xml; charset=utf-8")

"""SAP S/4HANA journals over SOAP: ``JournalEntryCreateRequestConfirmation_In`` with zeep.

The gateway loads the real WSDL shipped in ``resources/erp`` (never from the network) and posts
one journal per call (Journal Entry - Post, synchronous). Reading documents back goes over the
OData journal entry item API (:mod:`connectors.erp.sap_odata`).

Mapping of a :class:`ledger.erp.JournalPosting` to the request's ``JournalEntry``:

=============================  ==================================================================
``CompanyCode``                ``posting.company_code``
``DocumentDate/PostingDate``   ``entry.entry_date``
``AccountingDocumentType``     ``settings.document_type`` (default ``SA``)
``OriginalReferenceDocument``  ``posting.external_reference`` (at most 20 characters)
``DocumentHeaderText``         ``entry.description``, cut to SAP's 25 characters
``CreatedByUser``              ``settings.created_by_user`` or the user name (12 characters)
``Item``                       one per line: ``GLAccount``, ``AmountInTransactionCurrency``
                               (signed: credits negative, with ``currencyCode``),
                               ``DebitCreditCode`` S (debit) / H (credit),
                               ``AccountAssignment/CostCenter``, ``DocumentItemText`` (memo)
=============================  ==================================================================

The message header carries the idempotency key as its ``ID`` (and a UUID derived from it); SAP
does not deduplicate synchronous postings by either, which is why the outbox looks a document up
by external reference before any resend.

Errors: a timeout, an HTTP 5xx without a SOAP fault, an unreadable or oversized reply, or a reply
carrying a DTD/entities (XML bomb) raise :class:`ErpAmbiguousError`; a refused connection raises
:class:`ErpUnavailableError`; a SOAP fault, an HTTP 4xx or a confirmation whose log holds errors
raises :class:`ErpRejectedError` with SAP's own notes.
"""

from __future__ import annotations

import importlib.resources
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse

import httpx
import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.transports import Transport

from connectors.erp.hardening import protect_secrets
from connectors.erp.sap_odata import ODataQuery, ODataReadError, SapJournalItemReader
from connectors.http import HttpSettings
from ledger.erp import (
    ErpAmbiguousError,
    ErpDocument,
    ErpLine,
    ErpRejectedError,
    ErpUnavailableError,
    JournalPosting,
)
from ledger.journal import Side

log = logging.getLogger(__name__)

NAMESPACE = "http://sap.com/xi/SAPSCORE/SFIN"
BINDING = f"{{{NAMESPACE}}}binding"
OPERATION = "JournalEntryCreateRequestConfirmation_In"
WSDL_RESOURCE = "sap_journal_entry_create_request_confirmation.wsdl"
# SAP log severities: 1 information, 2 warning, 3 error, 4 abort.
ERROR_SEVERITY = 3
EMPTY_DOCUMENT_NUMBERS = {"", "0000000000"}
MAX_REFERENCE = 20
MAX_HEADER_TEXT = 25
MAX_ITEM_TEXT = 50
MAX_USER = 12


@dataclass(frozen=True, slots=True)
class SapSoapSettings(HttpSettings):
    """How to reach one SAP S/4HANA system; holds no secret (the password is passed apart).

    Attributes:
        base_url: scheme, host and port of the system, e.g. ``https://my-s4.example.com``.
        username: the communication user (HTTP Basic).
        soap_path: path of the Journal Entry - Post (synchronous) endpoint.
        odata_path: path of the OData service holding journal entry items.
        odata_entity_set: the entity set with item fields (see :mod:`sap_odata`).
        ledger: the ledger read back (``0L`` leading ledger); None reads all ledgers.
        document_type: ``AccountingDocumentType`` of posted journals.
        created_by_user: ``CreatedByUser``; default the user name (cut to 12 characters).
        original_reference_document_type: ``OriginalReferenceDocumentType`` (``BKPFF``).
        business_transaction_type: ``BusinessTransactionType`` (``RFBU``, manual posting).

    The connection's timeouts (``connect_timeout`` also bounds loading the local WSDL parts;
    ``operation_timeout`` each SOAP or OData reply), reply cap (an oversized reply is treated
    as ambiguous), TLS and proxy settings are those of :class:`connectors.http.HttpSettings`.
    """

    base_url: str
    username: str
    soap_path: str = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi"
    odata_path: str = "/sap/opu/odata/sap/API_JOURNALENTRYITEMBASIC_SRV"
    odata_entity_set: str = "A_JournalEntryItemBasic"
    ledger: str | None = "0L"
    document_type: str = "SA"
    created_by_user: str | None = None
    original_reference_document_type: str = "BKPFF"
    business_transaction_type: str = "RFBU"

    @property
    def soap_url(self) -> str:
        return self.base_url.rstrip("/") + self.soap_path

    @property
    def odata_url(self) -> str:
        return self.base_url.rstrip("/") + self.odata_path


class _ReplyTooLargeError(requests.RequestException):
    """Raised inside the transport when a SOAP reply exceeds the cap."""


class _DtdRefusedError(requests.RequestException):
    """Raised inside the transport when a SOAP reply declares a DTD or entities."""


class _HttpStatusError(requests.RequestException):
    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        super().__init__(f"HTTP {status} {reason}".strip())


class CappedTransport(Transport):
    """A zeep transport that reads replies with a size cap and never logs message bodies.

    zeep's own transport logs whole envelopes at DEBUG; this one logs address, status and size.
    A reply with HTTP status >= 400 that is not XML (an HTML error page, an empty body) is turned
    into :class:`_HttpStatusError` here, so zeep never tries to parse it.
    """

    def __init__(self, *, max_response_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_response_bytes = max_response_bytes
        self.logger = log

    def load(self, url: str) -> bytes:
        """WSDL and schema parts come from the shipped files only, never from the network."""
        if urlparse(url).scheme not in ("", "file"):
            raise ValueError(f"refusing to fetch {url}: the SAP WSDL is loaded from "
                             f"resources/erp and must not import remote parts")
        return super().load(url)

    def post(self, address: str, message: Any, headers: dict[str, str]) -> requests.Response:
        log.debug("SOAP POST to %s (%d bytes)", address, len(message))
        response = self.session.post(address, data=message, headers=headers,
                                     timeout=self.operation_timeout, stream=True)
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_response_bytes:
                raise _ReplyTooLargeError(f"the reply announces {declared} bytes, over the "
                                          f"{self.max_response_bytes}-byte cap")
            chunks, size = [], 0
            for chunk in response.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise _ReplyTooLargeError(
                        f"the reply exceeds the {self.max_response_bytes}-byte cap")
                chunks.append(chunk)
            response._content = b"".join(chunks)
        finally:
            response.close()
        log.debug("SOAP reply from %s: HTTP %d, %d bytes", address, response.status_code, size)
        if b"<!DOCTYPE" in response.content or b"<!ENTITY" in response.content:
            # Refused before any parser sees it: SOAP forbids DTDs, and entities are how XML
            # bombs and XXE work. (Escaped text would read &lt;!DOCTYPE, so this is markup.)
            raise _DtdRefusedError("the reply carries a DTD or entity declarations")
        media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if response.status_code >= 400 and not (media.endswith("xml") and response.content):
            raise _HttpStatusError(response.status_code, response.reason or "")
        return response


def _wsdl_path() -> str:
    resource = importlib.resources.files("resources.erp") / WSDL_RESOURCE
    # resources ships as a regular package directory, so the resource is a real file.
    return str(resource)


def _fit(text: str, limit: int) -> str:
    # SAP stores at most ``limit`` characters; whitespace runs are collapsed first.
    return " ".join(text.split())[:limit]


def _message_id(idempotency_key: str) -> tuple[str, str]:
    """``ID`` (max 35 characters) and ``UUID`` for the message header, stable per key."""
    stable = uuid.uuid5(uuid.NAMESPACE_URL, f"apportion:{idempotency_key}")
    message_id = idempotency_key if len(idempotency_key) <= 35 else stable.hex
    return message_id, str(stable)


def build_request(posting: JournalPosting, settings: SapSoapSettings,
                  now: datetime | None = None) -> dict[str, Any]:
    """The keyword arguments of the SOAP operation for ``posting`` (plain data, no I/O).

    Raises ErpRejectedError when the posting cannot be expressed in SAP's fields (a reference
    longer than 20 characters); nothing is sent then.
    """
    entry = posting.entry
    reference = posting.external_reference
    if not reference or len(reference) > MAX_REFERENCE:
        raise ErpRejectedError(
            f"the external reference {reference!r} must have 1 to {MAX_REFERENCE} characters "
            f"for SAP OriginalReferenceDocument; nothing was sent")
    created = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    message_id, message_uuid = _message_id(posting.idempotency_key)
    items = []
    for index, line in enumerate(entry.lines, start=1):
        signed: Decimal = line.signed_amount
        item: dict[str, Any] = {
            "ReferenceDocumentItem": str(index),
            "GLAccount": {"_value_1": line.account},
            "AmountInTransactionCurrency": {"_value_1": signed, "currencyCode": line.currency},
            "DebitCreditCode": "S" if line.side is Side.DEBIT else "H",
        }
        if line.memo:
            item["DocumentItemText"] = _fit(line.memo, MAX_ITEM_TEXT)
        if line.cost_centre:
            item["AccountAssignment"] = {"CostCenter": line.cost_centre}
        items.append(item)
    journal_entry = {
        "OriginalReferenceDocumentType": settings.original_reference_document_type,
        "OriginalReferenceDocument": reference,
        "BusinessTransactionType": settings.business_transaction_type,
        "AccountingDocumentType": settings.document_type,
        "DocumentHeaderText": _fit(entry.description, MAX_HEADER_TEXT),
        "CreatedByUser": (settings.created_by_user or settings.username)[:MAX_USER].upper(),
        "CompanyCode": posting.company_code,
        "DocumentDate": entry.entry_date,
        "PostingDate": entry.entry_date,
        "Item": items,
    }
    header = {"ID": {"_value_1": message_id}, "UUID": {"_value_1": message_uuid},
              "CreationDateTime": created}
    return {
        "MessageHeader": header,
        "JournalEntryCreateRequest": [
            {"MessageHeader": {"CreationDateTime": created}, "JournalEntry": journal_entry},
        ],
    }


@dataclass(frozen=True, slots=True)
class LogNote:
    severity: int
    type_id: str
    note: str

    def __str__(self) -> str:
        return f"{self.note} ({self.type_id})" if self.type_id else self.note


def _value(node: Any) -> Any:
    """zeep gives simpleContent types as objects with ``_value_1``; plain values pass through."""
    return getattr(node, "_value_1", node)


def log_notes(log_node: Any) -> list[LogNote]:
    if log_node is None:
        return []
    notes = []
    for item in log_node.Item or []:
        try:
            severity = int(str(_value(item.SeverityCode) or "0"))
        except ValueError:
            severity = 0
        notes.append(LogNote(severity, str(_value(item.TypeID) or ""),
                             str(_value(item.Note) or "").strip()))
    return notes


def parse_confirmation(result: Any, posting: JournalPosting) -> ErpDocument:
    """The booked document from a ``JournalEntryBulkCreateConfirmation``.

    Raises ErpRejectedError when SAP's log holds an error (severity 3 or 4) or no document
    number was assigned with an error log; ErpAmbiguousError when the reply is well-formed but
    says nothing usable.
    """
    reference = posting.external_reference
    confirmations = list(getattr(result, "JournalEntryCreateConfirmation", None) or [])
    notes = log_notes(getattr(result, "Log", None))
    confirmation = None
    if confirmations:
        message = confirmations[0]
        notes = log_notes(getattr(message, "Log", None)) + notes
        confirmation = getattr(message, "JournalEntryCreateConfirmation", None)
    errors = [n for n in notes if n.severity >= ERROR_SEVERITY]
    number = str(_value(confirmation.AccountingDocument) or "") if confirmation else ""
    if errors or (notes and number in EMPTY_DOCUMENT_NUMBERS):
        shown = errors or notes
        texts = tuple(str(n) for n in shown)
        raise ErpRejectedError(
            f"SAP did not post journal {reference}: " + "; ".join(texts), texts)
    if confirmation is None or number in EMPTY_DOCUMENT_NUMBERS:
        raise ErpAmbiguousError(
            f"SAP's confirmation for journal {reference} names no accounting document")
    for note in notes:
        if note.severity == 2:
            log.warning("SAP warning on journal %s: %s", reference, note)
    try:
        fiscal_year = int(str(_value(confirmation.FiscalYear)))
    except (TypeError, ValueError):
        fiscal_year = posting.entry.entry_date.year
    return ErpDocument(
        document_number=number,
        external_reference=reference,
        company_code=str(_value(confirmation.CompanyCode) or posting.company_code),
        fiscal_year=fiscal_year,
        posting_date=posting.entry.entry_date,
        lines=tuple(ErpLine(line.account, line.signed_amount, line.currency, line.cost_centre)
                    for line in posting.entry.lines),
    )


def fault_messages(fault: zeep.exceptions.Fault) -> tuple[str, ...]:
    """SAP's own texts from a SOAP fault: the fault string, then every detail text."""
    texts = []
    if fault.message:
        texts.append(" ".join(str(fault.message).split()))
    detail = fault.detail
    if detail is not None:
        for element in detail.iter():
            if not isinstance(element.tag, str):
                continue
            local = etree.QName(element).localname
            if local in ("text", "faultText", "Note") and element.text and element.text.strip():
                text = " ".join(element.text.split())
                if text not in texts:
                    texts.append(text)
    return tuple(texts)


def _is_refused(exc: requests.ConnectionError) -> bool:
    if isinstance(exc, requests.ConnectTimeout):
        return True
    text = repr(exc)
    return any(mark in text for mark in
               ("NewConnectionError", "Connection refused", "NameResolutionError",
                "Failed to resolve", "No route to host"))


class ZeepSapJournalGateway:
    """:class:`ledger.ports.ErpGateway` for SAP S/4HANA: SOAP posting, OData read-back.

    Args:
        settings: where and how to connect (no secret in it).
        password: the communication user's password; kept in the HTTP sessions only and
            registered with the log redaction filter.
        plugins: zeep plugins (egress/ingress hooks), e.g. for message signing or tests.
    """

    def __init__(self, settings: SapSoapSettings, *, password: str,
                 plugins: Sequence[zeep.Plugin] = ()) -> None:
        self.settings = settings
        protect_secrets(password, username=settings.username)
        self._transport = CappedTransport(
            max_response_bytes=settings.max_response_bytes,
            **settings.zeep_transport_options(
                requests.auth.HTTPBasicAuth(settings.username, password)),
        )
        zeep_settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True,
                                      forbid_external=True, xml_huge_tree=False,
                                      raw_response=False)
        self._client = zeep.Client(_wsdl_path(), transport=self._transport,
                                   settings=zeep_settings, plugins=list(plugins))
        self._service = self._client.create_service(BINDING, settings.soap_url)
        self._http = settings.httpx_client(auth=httpx.BasicAuth(settings.username, password))
        self._reader = SapJournalItemReader(
            self._http,
            ODataQuery(settings.odata_url, settings.odata_entity_set, settings.ledger),
            max_response_bytes=settings.max_response_bytes,
        )

    def __repr__(self) -> str:
        return f"ZeepSapJournalGateway({self.settings.soap_url!r}, user={self.settings.username!r})"

    def close(self) -> None:
        self._http.close()
        self._transport.session.close()

    def __enter__(self) -> ZeepSapJournalGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ErpGateway ------------------------------------------------------------------------

    def post_journal(self, posting: JournalPosting) -> ErpDocument:
        request = build_request(posting, self.settings)
        reference = posting.external_reference
        url = self.settings.soap_url
        try:
            result = self._service[OPERATION](**request)
        except requests.ConnectionError as exc:
            if _is_refused(exc):
                raise ErpUnavailableError(
                    f"cannot reach SAP at {url}; journal {reference} was not sent") from None
            raise ErpAmbiguousError(
                f"the connection to SAP broke while posting journal {reference}; "
                f"look it up before resending") from None
        except requests.Timeout:
            raise ErpAmbiguousError(
                f"SAP did not answer within {self.settings.operation_timeout} s while posting "
                f"journal {reference}; look it up before resending") from None
        except _ReplyTooLargeError as exc:
            raise ErpAmbiguousError(
                f"SAP's reply to journal {reference} was refused ({exc}); "
                f"look it up before resending") from None
        except _HttpStatusError as exc:
            raise self._status_error(exc.status, reference) from None
        except zeep.exceptions.Fault as fault:
            texts = fault_messages(fault)
            raise ErpRejectedError(
                f"SAP refused journal {reference}: " + ("; ".join(texts) or "SOAP fault"),
                texts) from None
        except (_DtdRefusedError, zeep.exceptions.DTDForbidden,
                zeep.exceptions.EntitiesForbidden):
            raise ErpAmbiguousError(
                f"SAP's reply to journal {reference} carried a DTD or entities (refused as a "
                f"possible XML bomb); look it up before resending") from None
        except zeep.exceptions.TransportError as exc:
            if exc.status_code and exc.status_code != 200:
                raise self._status_error(exc.status_code, reference) from None
            raise ErpAmbiguousError(
                f"SAP's reply to journal {reference} is not valid XML; "
                f"look it up before resending") from None
        except (zeep.exceptions.XMLSyntaxError, zeep.exceptions.XMLParseError,
                zeep.exceptions.UnexpectedElementError, zeep.exceptions.ValidationError,
                etree.XMLSyntaxError) as exc:
            raise ErpAmbiguousError(
                f"SAP's reply to journal {reference} could not be read ({type(exc).__name__}); "
                f"look it up before resending") from None
        except requests.RequestException as exc:
            raise ErpAmbiguousError(
                f"posting journal {reference} to SAP failed ({type(exc).__name__}); "
                f"look it up before resending") from None
        return parse_confirmation(result, posting)

    def find_by_reference(self, company_code: str, external_reference: str) -> ErpDocument | None:
        documents = self._read(lambda: self._reader.find(company_code, external_reference))
        if len(documents) > 1:
            log.warning("SAP holds %d documents for reference %s in company %s: %s",
                        len(documents), external_reference, company_code,
                        ", ".join(d.document_number for d in documents))
        return documents[0] if documents else None

    def documents_between(self, company_code: str, first: date, last: date) -> list[ErpDocument]:
        return self._read(lambda: self._reader.between(company_code, first, last))

    def _read(self, call: Callable[[], list[ErpDocument]]) -> list[ErpDocument]:
        try:
            return call()
        except ODataReadError as exc:
            raise ErpRejectedError(str(exc)) from None

    @staticmethod
    def _status_error(status: int, reference: str) -> Exception:
        if status in (401, 403):
            return ErpRejectedError(
                f"SAP refused journal {reference} (HTTP {status}): check the user and password "
                f"of the ERP profile; nothing was booked")
        if status == 429:
            return ErpUnavailableError(
                f"SAP is throttling requests (HTTP 429); journal {reference} was not taken")
        if 400 <= status < 500 and status != 408:
            return ErpRejectedError(
                f"SAP refused journal {reference} (HTTP {status}): check the service path")
        return ErpAmbiguousError(
            f"SAP answered HTTP {status} while posting journal {reference}; "
            f"look it up before resending")

"""What the core asks of an ERP general ledger, and what it gets back.

The journal lifecycle (approval, the outbox, reconciliation) talks to every ERP through
:class:`ledger.ports.ErpGateway` with these plain values; adapters in ``connectors.erp`` map them
to SAP SOAP, Business Central REST and others. An adapter must tell a definite refusal
(:class:`ErpRejectedError`: nothing was booked, safe to fix and resend) from an ambiguous outcome
(:class:`ErpAmbiguousError`: a timeout, a 5xx, an unreadable reply: the document may or may not
exist and must be looked up by external reference before any resend).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from ledger.errors import ApportionError
from ledger.journal import JournalEntry

ERP_KINDS = ("sap-soap", "bc-rest")


@dataclass(frozen=True, slots=True)
class ErpProfile:
    """How to reach one ERP; the secret is never here (it lives in the OS keyring).

    Attributes:
        name: the profile's name, e.g. ``sap-prod``.
        kind: ``sap-soap`` or ``bc-rest``.
        url: the ERP's base URL; the adapter knows its service paths (overridable in settings).
        company_code: the ERP company journals are posted to.
        username: the technical user or OAuth client id.
        settings: adapter settings (service paths, timeouts, document type ...).
    """

    name: str
    kind: str
    url: str
    company_code: str
    username: str | None = None
    settings: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JournalPosting:
    """One approved journal on its way to the ERP.

    Attributes:
        entry: the balanced entry; amounts in minor-unit precision.
        company_code: the ERP company (SAP company code, BC company).
        external_reference: our reference, unique per journal, stored in the ERP document header
            (SAP ``OriginalReferenceDocument``, 20 characters at most; BC
            ``externalDocumentNumber``) and used to find it again.
        idempotency_key: sent with every attempt for this journal (where the ERP supports one);
            never regenerated on retry.
    """

    entry: JournalEntry
    company_code: str
    external_reference: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class ErpLine:
    """A line as the ERP holds it: signed amount (debit positive, credit negative)."""

    account: str
    amount: Decimal
    currency: str
    cost_centre: str | None = None


@dataclass(frozen=True, slots=True)
class ErpDocument:
    """A journal document as the ERP holds it.

    Attributes:
        document_number: the ERP's own number (SAP ``AccountingDocument``, BC entry number).
        external_reference: our reference, as stored in the ERP.
        company_code, fiscal_year, posting_date: where and when it was booked.
        lines: the ERP's lines, which may include a round-off line it added itself.
    """

    document_number: str
    external_reference: str
    company_code: str
    fiscal_year: int
    posting_date: date
    lines: tuple[ErpLine, ...]


class ErpError(ApportionError):
    """Base of errors reported by an ERP gateway."""


class ErpRejectedError(ErpError):
    """The ERP answered clearly that it did not book the document (validation, authorisation).

    Attributes:
        messages: the ERP's own messages, for the user to act on.
    """

    def __init__(self, message: str, messages: tuple[str, ...] = ()) -> None:
        self.messages = messages
        super().__init__(message)


class ErpAmbiguousError(ErpError):
    """The outcome is unknown (timeout, 5xx, unreadable reply): reconcile before resending."""


class ErpUnavailableError(ErpError):
    """The ERP could not be reached at all (connection refused, DNS): nothing was sent."""

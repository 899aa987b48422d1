"""Test doubles for the ports: an in-memory ERP with seeded faults."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from ledger.erp import (
    ErpAmbiguousError,
    ErpDocument,
    ErpLine,
    ErpRejectedError,
    ErpUnavailableError,
    JournalPosting,
)


class PosterKilled(BaseException):
    """The process running the poster died (not an Exception: nothing catches it)."""


@dataclass
class FakeErpGateway:
    """An ERP general ledger in memory that, like SAP, does not deduplicate by reference.

    ``faults`` forces the outcome of the next sends, in order: ``"reject"``, ``"unavailable"``,
    ``"lost_before"`` (timeout, nothing booked), ``"lost_after"`` (booked, then a timeout),
    ``"kill_before"`` / ``"kill_after"`` (the poster dies before / after the ERP books).
    With ``rng`` set, faults are drawn at the given rates instead.
    """

    documents: list[ErpDocument] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    rng: random.Random | None = None
    rates: dict[str, float] = field(default_factory=dict)
    round_off_account: str | None = None
    sends: int = 0

    def _next_fault(self) -> str | None:
        if self.faults:
            return self.faults.pop(0)
        if self.rng is not None:
            draw = self.rng.random()
            for fault, rate in self.rates.items():
                if draw < rate:
                    return fault
                draw -= rate
        return None

    def post_journal(self, posting: JournalPosting) -> ErpDocument:
        self.sends += 1
        fault = self._next_fault()
        if fault == "reject":
            raise ErpRejectedError("G/L account 6999 is not defined in company code MRD1",
                                   ("FI 001",))
        if fault == "unavailable":
            raise ErpUnavailableError("connection refused")
        if fault == "lost_before":
            raise ErpAmbiguousError("no reply within 1 s")
        if fault == "kill_before":
            raise PosterKilled
        lines = tuple(ErpLine(li.account, li.signed_amount, li.currency, li.cost_centre)
                      for li in posting.entry.lines)
        if self.round_off_account:
            # An ERP that "fixes" rounding: it adds a line and shifts the first one.
            first = lines[0]
            lines = (ErpLine(first.account, first.amount - first.amount.__class__("0.01"),
                             first.currency, first.cost_centre), *lines[1:],
                     ErpLine(self.round_off_account, first.amount.__class__("0.01"),
                             first.currency))
        document = ErpDocument(f"{5100000000 + len(self.documents):010d}",
                               posting.external_reference, posting.company_code,
                               posting.entry.entry_date.year, posting.entry.entry_date, lines)
        self.documents.append(document)
        if fault == "lost_after":
            raise ErpAmbiguousError("HTTP 503 after the document was saved")
        if fault == "kill_after":
            raise PosterKilled
        return document

    def find_by_reference(self, company_code: str, external_reference: str) -> ErpDocument | None:
        return next((d for d in self.documents if d.external_reference == external_reference
                     and d.company_code == company_code), None)

    def documents_between(self, company_code: str, first: date, last: date) -> list[ErpDocument]:
        return [d for d in self.documents
                if d.company_code == company_code and first <= d.posting_date <= last]

    def by_reference(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for document in self.documents:
            counts[document.external_reference] = counts.get(document.external_reference, 0) + 1
        return counts

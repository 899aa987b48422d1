"""The sandbox's Microsoft Dynamics 365 Business Central face: API v2.0 journals,
journalLines (with dimensionSetLines), ``Microsoft.NAV.post``, generalLedgerEntries, accounts,
dimensions, dimensionValues, companyInformation, and an OAuth2 client-credentials token endpoint.

Like Business Central, an unknown account is refused when the journal line is inserted, an
unknown dimension value when the dimension line is inserted, and an unbalanced document or a
date outside the allowed posting dates when the batch is posted; errors are
``{"error": {"code", "message"}}``. Posting moves the lines to G/L entries (numbered in sequence,
``documentNumber`` kept, ``externalDocumentNumber`` stored but not unique) and empties the batch.
The API path is case-sensitive: ``Microsoft.NAV.Post`` is a 404 as in the real service.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
import uuid
from collections import defaultdict
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlencode

from connectors.erp.hardening import loads_exact
from connectors.erp.sandbox.chart import SandboxChart
from connectors.erp.sandbox.faults import FaultKind, FaultPlan
from connectors.erp.sandbox.odata import FilterError, matches, parse_filter
from connectors.erp.sandbox.store import NewDocument, SandboxStore, StoredLine
from connectors.erp.sandbox.wire import BILLION_LAUGHS, Reply, Request, bc_error, json_reply

API_PREFIX = re.compile(r"^/v2\.0/(?P<tenant>[^/]+)/(?P<environment>[^/]+)/api/v2\.0/(?P<rest>.*)$")
TOKEN_PATH = "/oauth2/token"  # noqa: S105 (a path, not a password)
PAGE_SIZE = 1000
TOKEN_SECONDS = 3600
GUID = r"([0-9A-Fa-f-]{36})"
ROUTES = [
    ("companies", re.compile(r"^companies$")),
    ("journals", re.compile(rf"^companies\({GUID}\)/journals$")),
    ("journal", re.compile(rf"^companies\({GUID}\)/journals\({GUID}\)$")),
    ("lines", re.compile(rf"^companies\({GUID}\)/journals\({GUID}\)/journalLines$")),
    ("line", re.compile(rf"^companies\({GUID}\)/journals\({GUID}\)/journalLines\({GUID}\)$")),
    ("dimensions", re.compile(
        rf"^companies\({GUID}\)/journals\({GUID}\)/journalLines\({GUID}\)/dimensionSetLines$")),
    ("post", re.compile(rf"^companies\({GUID}\)/journals\({GUID}\)/Microsoft\.NAV\.post$")),
    ("entries", re.compile(rf"^companies\({GUID}\)/generalLedgerEntries$")),
    ("accounts", re.compile(rf"^companies\({GUID}\)/accounts$")),
    ("dimension_values", re.compile(rf"^companies\({GUID}\)/dimensionValues$")),
    ("dimensions_list", re.compile(rf"^companies\({GUID}\)/dimensions$")),
    ("values_of_dimension", re.compile(
        rf"^companies\({GUID}\)/dimensions\({GUID}\)/dimensionValues$")),
    ("company_information", re.compile(rf"^companies\({GUID}\)/companyInformation$")),
]
# Business Central's G/L account categories (API v2.0 enum) per sandbox account kind.
CATEGORIES = {"asset": ("Assets", "Equipment"),
              "accumulated_depreciation": ("Assets", "Accumulated Depreciation"),
              "liability": ("Liabilities", "Current Liabilities"),
              "equity": ("Equity", "Common Stock"),
              "revenue": ("Income", "Income, Services"),
              "expense": ("Expense", "Other Expenses"),
              "recovery": ("Expense", "Other Expenses")}
_NAMESPACE = uuid.UUID("6f1c1f0e-7d0e-4a39-9a7e-2f2d5d0b9c11")


def company_id(code: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"company:{code}"))


def _stable_id(kind: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{key}"))


def _etag(row_id: str, modified: str) -> str:
    return f'W/"{uuid.uuid5(_NAMESPACE, row_id + modified).hex}"'


class BusinessCentralService:
    """Handles the Business Central endpoints of the sandbox."""

    def __init__(self, store: SandboxStore, chart: SandboxChart, faults: FaultPlan, *,
                 client_id: str, client_secret: str, cost_centre_dimension: str,
                 slow_seconds: float, hang_seconds: float, stopping: threading.Event) -> None:
        self.store = store
        self.chart = chart
        self.faults = faults
        self.client_id = client_id
        self.client_secret = client_secret
        self.dimension = cost_centre_dimension
        self.slow_seconds = slow_seconds
        self.hang_seconds = hang_seconds
        self._stopping = stopping
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self._companies = {company_id(code): code for code in chart.companies}

    # -- OAuth2 ----------------------------------------------------------------------------

    def token(self, request: Request) -> Reply:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return json_reply(400, {"error": "unsupported_grant_type",
                                    "error_description": "Only client_credentials is supported"})
        if (form.get("client_id") != self.client_id
                or not secrets.compare_digest(form.get("client_secret", ""), self.client_secret)):
            return json_reply(401, {"error": "invalid_client",
                                    "error_description": "AADSTS7000215: Invalid client secret "
                                                         "provided."})
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = time.monotonic() + TOKEN_SECONDS
        return json_reply(200, {"token_type": "Bearer", "expires_in": TOKEN_SECONDS,
                                "access_token": token})

    def _authorised(self, request: Request) -> bool:
        token = request.bearer()
        with self._lock:
            expiry = self._tokens.get(token or "")
        return expiry is not None and expiry > time.monotonic()

    # -- API -------------------------------------------------------------------------------

    def handle(self, request: Request, rest: str) -> Reply:
        if not self._authorised(request):
            return bc_error(401, "Authentication_InvalidCredentials",
                            "The server has rejected the client credentials.")
        for name, pattern in ROUTES:
            match = pattern.match(rest)
            if match:
                ids = match.groups()
                if ids and ids[0] not in self._companies:
                    return bc_error(404, "BadRequest_NotFound",
                                    f"The company with id {ids[0]} does not exist.")
                handler = getattr(self, f"_{name}_{request.method.lower()}", None)
                if handler is None:
                    return bc_error(405, "BadRequest_MethodNotAllowed",
                                    f"'{request.method}' is not allowed on this resource.")
                try:
                    return handler(request, *ids)
                except FilterError as exc:
                    return bc_error(400, "BadRequest", str(exc))
        return bc_error(404, "BadRequest_NotFound", f"No HTTP resource was found for '{rest}'.")

    def _body(self, request: Request) -> dict[str, Any]:
        try:
            value = loads_exact(request.body or b"{}")
        except ValueError as exc:
            raise FilterError(f"the request body is not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise FilterError("the request body must be a JSON object")
        return value

    def _companies_get(self, request: Request) -> Reply:
        rows = [{"id": cid, "systemVersion": "24.0", "name": code,
                 "displayName": f"{code} (sandbox)", "businessProfileId": ""}
                for cid, code in self._companies.items()]
        return self._collection(request, rows)

    def _journal_json(self, row: Any) -> dict[str, Any]:
        return {"@odata.etag": _etag(row["id"], row["modified_at"]), "id": row["id"],
                "code": row["code"], "displayName": row["display_name"],
                "templateDisplayName": "GENERAL", "lastModifiedDateTime": row["modified_at"],
                "balancingAccountId": "00000000-0000-0000-0000-000000000000",
                "balancingAccountNumber": ""}

    def _journals_get(self, request: Request, cid: str) -> Reply:
        rows = [self._journal_json(r) for r in self.store.bc_journals(cid)]
        return self._collection(request, rows)

    def _journals_post(self, request: Request, cid: str) -> Reply:
        body = self._body(request)
        code = str(body.get("code", "")).strip().upper()
        if not code or len(code) > 10:
            return bc_error(400, "BadRequest_InvalidRequestBody",
                            "The journal code must have 1 to 10 characters.")
        row = self.store.bc_add_journal(cid, code, str(body.get("displayName", ""))[:100])
        if row is None:
            return bc_error(400, "Internal_EntityWithSameKeyExists",
                            f"The record already exists. Identification fields and values: "
                            f"Journal Template Name='GENERAL',Name='{code}'")
        return json_reply(201, self._journal_json(row))

    def _journal_get(self, request: Request, cid: str, jid: str) -> Reply:
        row = self.store.bc_journal(cid, jid)
        if row is None:
            return bc_error(404, "Internal_RecordNotFound", "The journal does not exist.")
        return json_reply(200, self._journal_json(row))

    def _line_json(self, journal: Any, row: Any) -> dict[str, Any]:
        return {
            "@odata.etag": _etag(row["id"], row["modified_at"]),
            "id": row["id"], "journalId": journal["id"], "journalDisplayName": journal["code"],
            "lineNumber": row["line_number"], "accountType": "G/L Account",
            "accountId": _stable_id("account", row["account_number"]),
            "accountNumber": row["account_number"], "postingDate": row["posting_date"],
            "documentNumber": row["document_number"],
            "externalDocumentNumber": row["external_document_number"],
            "amount": Decimal(row["amount"]), "description": row["description"], "comment": "",
            "taxCode": "", "balanceAccountType": "G/L Account",
            "balancingAccountId": "00000000-0000-0000-0000-000000000000",
            "balancingAccountNumber": "", "lastModifiedDateTime": row["modified_at"],
        }

    def _lines_get(self, request: Request, cid: str, jid: str) -> Reply:
        journal = self.store.bc_journal(cid, jid)
        if journal is None:
            return bc_error(404, "Internal_RecordNotFound", "The journal does not exist.")
        return self._collection(request, [self._line_json(journal, r)
                                          for r in self.store.bc_lines(jid)])

    def _lines_post(self, request: Request, cid: str, jid: str) -> Reply:
        journal = self.store.bc_journal(cid, jid)
        if journal is None:
            return bc_error(404, "Internal_RecordNotFound", "The journal does not exist.")
        body = self._body(request)
        if body.get("accountType", "G/L Account") != "G/L Account":
            return bc_error(400, "BadRequest_InvalidRequestBody",
                            "The sandbox accepts only accountType 'G/L Account'.")
        account = str(body.get("accountNumber", ""))
        if account not in self.chart.accounts:
            return bc_error(400, "Internal_RecordNotFound",
                            f"The G/L Account does not exist. Identification fields and values: "
                            f"No.='{account}'")
        try:
            amount = Decimal(str(body.get("amount", "0")))
            posting_date = date.fromisoformat(str(body.get("postingDate", "")))
        except (InvalidOperation, ValueError):
            return bc_error(400, "BadRequest_InvalidRequestBody",
                            "amount must be a number and postingDate a date (YYYY-MM-DD).")
        document_number = str(body.get("documentNumber", ""))
        if not document_number or len(document_number) > 20:
            return bc_error(400, "BadRequest_InvalidRequestBody",
                            "documentNumber must have 1 to 20 characters.")
        row = self.store.bc_add_line(jid, {
            "line_number": body.get("lineNumber"),
            "account_number": account,
            "posting_date": posting_date.isoformat(),
            "document_number": document_number,
            "external_document_number": str(body.get("externalDocumentNumber", ""))[:35],
            "amount": amount,
            "description": str(body.get("description", ""))[:100],
        })
        return json_reply(201, self._line_json(journal, row))

    def _line_delete(self, request: Request, cid: str, jid: str, lid: str) -> Reply:
        if self.store.bc_line(jid, lid) is None:
            return bc_error(404, "Internal_RecordNotFound", "The journal line does not exist.")
        self.store.bc_delete_line(lid)
        return Reply(204)

    def _dimension_json(self, line_id: str, code: str, value: str) -> dict[str, Any]:
        return {"id": _stable_id("dimension", code), "code": code, "parentId": line_id,
                "parentType": "Journal Line", "displayName": code,
                "valueId": _stable_id("dimension-value", f"{code}:{value}"),
                "valueCode": value, "valueDisplayName": value}

    def _dimensions_get(self, request: Request, cid: str, jid: str, lid: str) -> Reply:
        rows = [self._dimension_json(lid, r["code"], r["value_code"])
                for r in self.store.bc_dimensions(lid)]
        return self._collection(request, rows)

    def _dimensions_post(self, request: Request, cid: str, jid: str, lid: str) -> Reply:
        if self.store.bc_line(jid, lid) is None:
            return bc_error(404, "Internal_RecordNotFound", "The journal line does not exist.")
        body = self._body(request)
        code, value = str(body.get("code", "")), str(body.get("valueCode", ""))
        if code != self.dimension:
            return bc_error(400, "Internal_RecordNotFound",
                            f"The Dimension does not exist. Identification fields and values: "
                            f"Code='{code}'")
        if value not in self.chart.cost_centres:
            return bc_error(400, "Internal_RecordNotFound",
                            f"The Dimension Value does not exist. Identification fields and "
                            f"values: Dimension Code='{code}',Code='{value}'")
        self.store.bc_set_dimension(lid, code, value)
        return json_reply(201, self._dimension_json(lid, code, value))

    def _post_post(self, request: Request, cid: str, jid: str) -> Reply:
        journal = self.store.bc_journal(cid, jid)
        if journal is None:
            return bc_error(404, "Internal_RecordNotFound", "The journal does not exist.")
        kind = self.faults.draw()
        if kind is FaultKind.ERROR_BEFORE_COMMIT:
            return bc_error(503, "ServiceUnavailable",
                            "The service is temporarily unavailable. Try again later.")
        if kind is FaultKind.SOAP_FAULT:
            return bc_error(400, "Application_DialogException",
                            f"Posting is locked for company {self._companies[cid]}: the period "
                            f"is being closed by user CLOSE_BATCH.")
        if kind is FaultKind.SLOW_REPLY:
            self._stopping.wait(self.slow_seconds)
        reply = self._post_batch(cid, journal)
        if kind is FaultKind.COMMIT_THEN_ERROR:
            return bc_error(500, "Internal_ServerError",
                            "An unexpected error occurred after the database commit.")
        if kind is FaultKind.COMMIT_THEN_TIMEOUT:
            reply.hang_seconds = self.hang_seconds
        elif kind is FaultKind.MALFORMED_REPLY:
            return Reply(200, b'{"value": [{"id": "', "application/json; charset=utf-8")
        elif kind is FaultKind.XML_BOMB:
            return Reply(200, BILLION_LAUGHS, "application/xml")
        return reply

    def _post_batch(self, cid: str, journal: Any) -> Reply:
        company = self._companies[cid]
        currency = self.chart.companies[company]
        with self.store.transaction() as db:
            lines = db.execute("SELECT * FROM bc_journal_lines WHERE journal_id = ? "
                               "ORDER BY line_number", (journal["id"],)).fetchall()
            if not lines:
                return bc_error(400, "Application_DialogException", "There is nothing to post.")
            groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
            for line in lines:
                groups[(line["document_number"], line["posting_date"])].append(line)
            for (document_number, posting_text), group in groups.items():
                posting_date = date.fromisoformat(posting_text)
                if self.chart.is_closed(posting_date):
                    return bc_error(400, "Application_DialogException",
                                    f"Posting Date {posting_text} is not within your range of "
                                    f"allowed posting dates. Document No. {document_number}.")
                difference = sum((Decimal(r["amount"]) for r in group), Decimal(0))
                if difference != 0:
                    return bc_error(400, "Application_DialogException",
                                    f"Document No. {document_number} is out of balance by "
                                    f"{difference}. Please check that Posting Date, Document "
                                    f"Type, Document No. and Currency Code are correct for "
                                    f"each line.")
            for (document_number, posting_text), group in groups.items():
                stored = []
                for row in group:
                    dims = db.execute("SELECT value_code FROM bc_dimension_lines WHERE "
                                      "line_id = ? AND code = ?",
                                      (row["id"], self.dimension)).fetchone()
                    stored.append(StoredLine(row["account_number"], Decimal(row["amount"]),
                                             currency, dims[0] if dims else None,
                                             row["description"]))
                posting_date = date.fromisoformat(posting_text)
                self.store.book(db, NewDocument(
                    system="bc", company=company, posting_date=posting_date,
                    document_date=posting_date,
                    external_reference=group[0]["external_document_number"] or document_number,
                    lines=tuple(stored), source_document=document_number,
                    header_text=journal["display_name"], document_type="",
                ))
            ids = [line["id"] for line in lines]
            db.executemany("DELETE FROM bc_dimension_lines WHERE line_id = ?",
                           [(i,) for i in ids])
            db.executemany("DELETE FROM bc_journal_lines WHERE id = ?", [(i,) for i in ids])
        return Reply(204)

    def _entries_get(self, request: Request, cid: str) -> Reply:
        clauses = parse_filter(request.query.get("$filter"))
        narrowing = {f: v for f, op, v in clauses if op == "eq" and f == "documentNumber"}
        expand = "dimensionSetLines" in request.query.get("$expand", "")
        rows = []
        for document in self.store.documents(system="bc", company=self._companies[cid],
                                             source_document=narrowing.get("documentNumber")):
            for line in document.lines:
                row: dict[str, Any] = {
                    "id": line.entry_id, "entryNumber": line.entry_number,
                    "postingDate": document.posting_date.isoformat(),
                    "documentNumber": document.source_document, "documentType": "",
                    "accountId": _stable_id("account", line.account),
                    "accountNumber": line.account, "description": line.text,
                    "debitAmount": line.amount if line.amount > 0 else Decimal("0"),
                    "creditAmount": -line.amount if line.amount < 0 else Decimal("0"),
                    "lastModifiedDateTime": document.posted_at,
                }
                if not matches(row, clauses):
                    continue
                if expand:
                    row["dimensionSetLines"] = (
                        [self._dimension_json(str(line.entry_id), self.dimension,
                                              line.cost_centre)] if line.cost_centre else [])
                rows.append(row)
        return self._collection(request, rows)

    def _accounts_get(self, request: Request, cid: str) -> Reply:
        rows = []
        for account in self.chart.account_records:
            category, sub_category = CATEGORIES[account.kind]
            rows.append({"id": _stable_id("account", account.number), "number": account.number,
                         "displayName": account.name[:100], "category": category,
                         "subCategory": sub_category, "blocked": account.blocked,
                         "accountType": "Posting", "directPosting": True,
                         "lastModifiedDateTime": "2026-01-01T00:00:00Z"})
        return self._collection(request, rows)

    def _dimension_value_rows(self) -> list[dict[str, Any]]:
        return [{"id": _stable_id("dimension-value", f"{self.dimension}:{c.code}"),
                 "code": c.code, "dimensionId": _stable_id("dimension", self.dimension),
                 "displayName": c.name[:50], "consolidationCode": "",
                 "lastModifiedDateTime": "2026-01-01T00:00:00Z"}
                for c in self.chart.cost_centre_records]

    def _dimension_values_get(self, request: Request, cid: str) -> Reply:
        return self._collection(request, self._dimension_value_rows())

    def _dimensions_list_get(self, request: Request, cid: str) -> Reply:
        rows = [{"id": _stable_id("dimension", self.dimension), "code": self.dimension,
                 "displayName": "Cost centre", "lastModifiedDateTime": "2026-01-01T00:00:00Z"}]
        return self._collection(request, rows)

    def _values_of_dimension_get(self, request: Request, cid: str, did: str) -> Reply:
        if did != _stable_id("dimension", self.dimension):
            return bc_error(404, "Internal_RecordNotFound", "The dimension does not exist.")
        return self._collection(request, self._dimension_value_rows())

    def _company_information_get(self, request: Request, cid: str) -> Reply:
        code = self._companies[cid]
        rows = [{"id": cid, "displayName": self.chart.company_name(code),
                 "currencyCode": self.chart.companies[code],
                 "currentFiscalYearStartDate": "2026-01-01",
                 "lastModifiedDateTime": "2026-01-01T00:00:00Z"}]
        return self._collection(request, rows)

    def _collection(self, request: Request, rows: list[dict[str, Any]]) -> Reply:
        """An OData v4 collection with ``$filter``, ``$top``, ``$skip`` and server paging."""
        clauses = parse_filter(request.query.get("$filter"))
        rows = [r for r in rows if matches(r, clauses)] if clauses else rows
        skip = int(request.query.get("$skip", "0") or 0)
        top = int(request.query["$top"]) if "$top" in request.query else None
        wanted = len(rows) - skip if top is None else top
        size = max(0, min(wanted, PAGE_SIZE))
        payload: dict[str, Any] = {"value": rows[skip: skip + size]}
        if skip + size < len(rows) and wanted > size:
            query = {k: v for k, v in request.query.items() if k not in ("$skip", "$top")}
            query["$skip"] = str(skip + size)
            if top is not None:
                query["$top"] = str(top - size)
            payload["@odata.nextLink"] = f"{request.base_url}{request.path}?{urlencode(query)}"
        return json_reply(200, payload)

"""Microsoft Dynamics 365 Business Central journals over the REST API v2.0 (httpx).

Posting one :class:`ledger.erp.JournalPosting`:

1. find or create the journal batch whose ``code`` is derived from the idempotency key (so a
   retry reuses the same batch), and delete lines left in it by an earlier, unposted attempt;
2. create one ``journalLine`` per line: ``accountType`` "G/L Account", ``accountNumber``,
   ``postingDate``, ``documentNumber`` and ``externalDocumentNumber`` = the external reference,
   ``amount`` signed (debit positive, credit negative), ``description``; then the cost centre
   as a ``dimensionSetLine`` (``settings.cost_centre_dimension``);
3. ``POST .../journals({id})/Microsoft.NAV.post`` (204 No Content);
4. confirm through ``generalLedgerEntries`` filtered by ``documentNumber`` (with
   ``dimensionSetLines`` expanded), keeping only entries newer than those seen before step 3.

Only step 3 can book anything. A failure in steps 1-2 (nothing booked) is an
:class:`ErpRejectedError` when Business Central refused the data (unknown account or dimension
value), else :class:`ErpUnavailableError`; a timeout, 5xx or unreadable reply in step 3 is an
:class:`ErpAmbiguousError`. Business Central keeps ``externalDocumentNumber`` but enforces no
uniqueness, so a blind resend books twice.

Business Central API v2.0 journal lines carry no currency: amounts are in the company's local
currency (``settings.currency``); a posting in another currency is refused before sending.
The ERP document number reported is the first G/L entry number of the transaction.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from connectors.erp.hardening import (
    ResponseTooLargeError,
    dumps_exact,
    loads_exact,
    protect_secrets,
    same_origin,
)
from connectors.http import HttpSettings
from ledger.erp import (
    ErpAmbiguousError,
    ErpDocument,
    ErpLine,
    ErpRejectedError,
    ErpUnavailableError,
    JournalPosting,
)

log = logging.getLogger(__name__)

MAX_DOCUMENT_NUMBER = 20
MAX_PAGES = 1000
TOKEN_MARGIN_SECONDS = 60


@dataclass(frozen=True, slots=True)
class BusinessCentralSettings(HttpSettings):
    """How to reach one Business Central environment; holds no secret.

    Attributes:
        base_url: e.g. ``https://api.businesscentral.dynamics.com``.
        tenant, environment: fill ``api_path``.
        client_id: the Entra ID app (OAuth2 client credentials).
        token_url: the token endpoint, e.g.
            ``https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token``.
        scope: requested scope.
        api_path: path of the API root below ``base_url``.
        company_id: the company's GUID; when None it is looked up by name (= company code).
        currency: the company's local currency (API v2.0 journal lines have no currency).
        cost_centre_dimension: dimension code that carries the cost centre (its dimension
            values are the cost centres read by :mod:`connectors.erp.master_data`).
        account_types: master data: account types by account-number prefix, e.g.
            ``7990=recovery,159=accumulated_depreciation`` (longest prefix wins; see
            :func:`connectors.erp.master_data.parse_account_types`).
        journal_prefix: start of the batch codes this adapter creates (batch codes are 10
            characters: prefix + hash of the idempotency key).

    Timeouts, reply cap, TLS and proxy settings are those of
    :class:`connectors.http.HttpSettings`.
    """

    base_url: str
    tenant: str
    environment: str
    client_id: str
    token_url: str
    scope: str = "https://api.businesscentral.dynamics.com/.default"
    api_path: str = "/v2.0/{tenant}/{environment}/api/v2.0"
    company_id: str | None = None
    currency: str = "USD"
    cost_centre_dimension: str = "COSTCENTER"
    account_types: str = ""
    journal_prefix: str = "AP"

    @property
    def api_url(self) -> str:
        path = self.api_path.format(tenant=self.tenant, environment=self.environment)
        return self.base_url.rstrip("/") + path


class _Refused(Exception):
    """Business Central answered 4xx with its error object."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message
        super().__init__(f"{message} ({code}, HTTP {status})")


class _NoAnswer(Exception):
    """No usable answer: ``refused`` tells a refused connection (nothing sent) from the rest."""

    def __init__(self, text: str, *, refused: bool = False) -> None:
        self.refused = refused
        super().__init__(text)


def batch_code(prefix: str, idempotency_key: str) -> str:
    """A 10-character journal batch code, stable for one idempotency key."""
    digest = base64.b32encode(hashlib.sha256(idempotency_key.encode()).digest()).decode()
    return (prefix + digest)[:10].upper()


def odata_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class HttpxBusinessCentralGateway:
    """:class:`ledger.ports.ErpGateway` for Business Central API v2.0.

    Args:
        settings: where and how to connect (no secret in it).
        client_secret: the OAuth2 client secret; kept in memory only and registered with the
            log redaction filter, as is every access token obtained with it.
    """

    def __init__(self, settings: BusinessCentralSettings, *, client_secret: str) -> None:
        self.settings = settings
        self._secret = client_secret
        protect_secrets(client_secret)
        self._http = settings.httpx_client()
        self._token: str | None = None
        self._token_expiry = 0.0
        self._token_lock = threading.Lock()
        self._company_ids: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"HttpxBusinessCentralGateway({self.settings.api_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HttpxBusinessCentralGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ErpGateway ------------------------------------------------------------------------

    def post_journal(self, posting: JournalPosting) -> ErpDocument:
        reference = posting.external_reference
        entry = posting.entry
        if not reference or len(reference) > MAX_DOCUMENT_NUMBER:
            raise ErpRejectedError(
                f"the external reference {reference!r} must have 1 to {MAX_DOCUMENT_NUMBER} "
                f"characters for Business Central's documentNumber; nothing was sent")
        other = sorted(set(entry.currencies) - {self.settings.currency})
        if other:
            raise ErpRejectedError(
                f"journal {reference} has lines in {', '.join(other)}, but Business Central "
                f"journal lines are in the company currency {self.settings.currency}; "
                f"nothing was sent")
        with self._stage(reference, "preparing"):
            company = self._company_id(posting.company_code)
            journal_id = self._fresh_batch(company, posting)
            for number, line in enumerate(entry.lines, start=1):
                created = self._request("POST", f"companies({company})/journals({journal_id})"
                                                f"/journalLines", json_body={
                    "lineNumber": number * 10000,
                    "accountType": "G/L Account",
                    "accountNumber": line.account,
                    "postingDate": entry.entry_date.isoformat(),
                    "documentNumber": reference,
                    "externalDocumentNumber": reference,
                    "amount": line.signed_amount,
                    "description": (line.memo or entry.description)[:100],
                })
                if line.cost_centre:
                    self._request(
                        "POST", f"companies({company})/journals({journal_id})/journalLines"
                                f"({created['id']})/dimensionSetLines",
                        json_body={"code": self.settings.cost_centre_dimension,
                                   "valueCode": line.cost_centre})
            seen = self._last_entry_number(company, reference)
        try:
            self._request("POST", f"companies({company})/journals({journal_id})/Microsoft.NAV.post",
                          expect_body=False)
        except _Refused as exc:
            raise ErpRejectedError(f"Business Central did not post journal {reference}: "
                                   f"{exc.message}", (exc.message,)) from None
        except _NoAnswer as exc:
            if exc.refused:
                raise ErpUnavailableError(
                    f"cannot reach Business Central to post journal {reference}: {exc}; "
                    f"nothing was booked") from None
            raise ErpAmbiguousError(
                f"posting journal {reference} to Business Central gave no clear answer ({exc});"
                f" look it up before resending") from None
        try:
            documents = self._documents(company, posting.company_code, reference, after=seen)
        except (_Refused, _NoAnswer) as exc:
            raise ErpAmbiguousError(
                f"Business Central accepted journal {reference} but confirming it failed "
                f"({exc}); look it up before resending") from None
        if not documents:
            raise ErpAmbiguousError(
                f"Business Central accepted journal {reference} but shows no G/L entries for "
                f"it; look it up before resending")
        return documents[0]

    def find_by_reference(self, company_code: str, external_reference: str) -> ErpDocument | None:
        with self._reading(external_reference):
            company = self._company_id(company_code)
            documents = self._documents(company, company_code, external_reference)
        if len(documents) > 1:
            log.warning("Business Central holds %d documents for reference %s in %s",
                        len(documents), external_reference, company_code)
        return documents[0] if documents else None

    def documents_between(self, company_code: str, first: date, last: date) -> list[ErpDocument]:
        with self._reading(f"{first}..{last}"):
            company = self._company_id(company_code)
            rows = self._collection(
                f"companies({company})/generalLedgerEntries",
                {"$filter": f"postingDate ge {first.isoformat()} and "
                            f"postingDate le {last.isoformat()}",
                 "$expand": "dimensionSetLines"})
        return self._group(rows, company_code)

    # -- master data -----------------------------------------------------------------------

    def read_company_collection(self, company_code: str, path: str,
                                params: dict[str, str] | None = None, *,
                                what: str) -> list[dict[str, Any]]:
        """Every row (all pages) of ``companies({id})/{path}`` for the company named
        ``company_code``; errors as for lookups (refused: ErpRejectedError; no connection:
        ErpUnavailableError; timeout, 5xx, unreadable: ErpAmbiguousError)."""
        with self._reading(what):
            company = self._company_id(company_code)
            return self._collection(f"companies({company})/{path}", dict(params or {}))

    # -- steps -----------------------------------------------------------------------------

    @contextmanager
    def _stage(self, reference: str, stage: str) -> Iterator[None]:
        """Steps before the post action: nothing can have been booked."""
        try:
            yield
        except _Refused as exc:
            raise ErpRejectedError(f"Business Central refused journal {reference} while "
                                   f"{stage} it: {exc.message}", (exc.message,)) from None
        except _NoAnswer as exc:
            raise ErpUnavailableError(f"Business Central did not answer while {stage} journal "
                                      f"{reference} ({exc}); nothing was booked") from None

    @contextmanager
    def _reading(self, what: str) -> Iterator[None]:
        try:
            yield
        except _Refused as exc:
            raise ErpRejectedError(f"Business Central refused the lookup of {what}: "
                                   f"{exc.message}", (exc.message,)) from None
        except _NoAnswer as exc:
            if exc.refused:
                raise ErpUnavailableError(f"cannot reach Business Central: {exc}") from None
            raise ErpAmbiguousError(f"looking up {what} in Business Central failed: {exc}") \
                from None

    def _company_id(self, company_code: str) -> str:
        if self.settings.company_id:
            return self.settings.company_id
        if company_code not in self._company_ids:
            rows = self._collection("companies",
                                    {"$filter": f"name eq {odata_string(company_code)}"})
            if not rows:
                raise _Refused(404, "CompanyNotFound",
                               f"Business Central has no company named {company_code}")
            self._company_ids[company_code] = str(rows[0]["id"])
        return self._company_ids[company_code]

    def _fresh_batch(self, company: str, posting: JournalPosting) -> str:
        """The batch for this idempotency key, emptied of lines from an unposted attempt."""
        code = batch_code(self.settings.journal_prefix, posting.idempotency_key)
        found = self._collection(f"companies({company})/journals",
                                 {"$filter": f"code eq {odata_string(code)}"})
        if found:
            journal_id = str(found[0]["id"])
            for line in self._collection(
                    f"companies({company})/journals({journal_id})/journalLines", {}):
                self._request("DELETE", f"companies({company})/journals({journal_id})"
                                        f"/journalLines({line['id']})",
                              expect_body=False, headers={"If-Match": line.get("@odata.etag",
                                                                              "*")})
            return journal_id
        created = self._request("POST", f"companies({company})/journals", json_body={
            "code": code, "displayName": f"Apportion {posting.external_reference}"[:100]})
        return str(created["id"])

    def _last_entry_number(self, company: str, reference: str) -> int:
        rows = self._collection(
            f"companies({company})/generalLedgerEntries",
            {"$filter": f"documentNumber eq {odata_string(reference)}"})
        return max((int(r["entryNumber"]) for r in rows), default=0)

    def _documents(self, company: str, company_code: str, reference: str, *,
                   after: int = 0) -> list[ErpDocument]:
        rows = self._collection(
            f"companies({company})/generalLedgerEntries",
            {"$filter": f"documentNumber eq {odata_string(reference)}",
             "$expand": "dimensionSetLines"})
        rows = [r for r in rows if int(r["entryNumber"]) > after]
        return self._group(rows, company_code)

    def _group(self, rows: list[dict[str, Any]], company_code: str) -> list[ErpDocument]:
        """G/L entries to documents: one per run of consecutive entry numbers with the same
        document number (Business Central numbers the entries of one posting in sequence;
        the API exposes no transaction number)."""
        documents: list[ErpDocument] = []
        run: list[dict[str, Any]] = []
        try:
            for row in sorted(rows, key=lambda r: (str(r["documentNumber"]),
                                                   int(r["entryNumber"]))):
                if run and (row["documentNumber"] != run[-1]["documentNumber"]
                            or int(row["entryNumber"]) != int(run[-1]["entryNumber"]) + 1
                            or self._starts_repeat(run, row)):
                    documents.append(self._document(run, company_code))
                    run = []
                run.append(row)
            if run:
                documents.append(self._document(run, company_code))
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise ErpAmbiguousError(f"Business Central returned an unreadable G/L entry: {exc}") \
                from None
        documents.sort(key=lambda d: int(d.document_number))
        return documents

    @staticmethod
    def _starts_repeat(run: list[dict[str, Any]], row: dict[str, Any]) -> bool:
        """A balanced run followed by the same first line again: two postings back to back."""
        balance = sum((Decimal(str(r["debitAmount"])) - Decimal(str(r["creditAmount"]))
                       for r in run), Decimal(0))
        first = run[0]
        return balance == 0 and (row["accountNumber"], str(row["debitAmount"]),
                                 str(row["creditAmount"])) == (
            first["accountNumber"], str(first["debitAmount"]), str(first["creditAmount"]))

    def _document(self, run: list[dict[str, Any]], company_code: str) -> ErpDocument:
        lines = []
        for row in run:
            amount = Decimal(str(row["debitAmount"])) - Decimal(str(row["creditAmount"]))
            cost_centre = None
            for dimension in row.get("dimensionSetLines") or []:
                if dimension.get("code") == self.settings.cost_centre_dimension:
                    cost_centre = str(dimension.get("valueCode"))
            lines.append(ErpLine(str(row["accountNumber"]), amount, self.settings.currency,
                                 cost_centre))
        posting_date = date.fromisoformat(str(run[0]["postingDate"])[:10])
        return ErpDocument(
            document_number=str(run[0]["entryNumber"]),
            external_reference=str(run[0]["documentNumber"]),
            company_code=company_code,
            fiscal_year=posting_date.year,
            posting_date=posting_date,
            lines=tuple(lines),
        )

    # -- HTTP ------------------------------------------------------------------------------

    def _access_token(self, *, renew: bool = False) -> str:
        with self._token_lock:
            if not renew and self._token and time.monotonic() < self._token_expiry:
                return self._token
            try:
                with self._http.stream("POST", self.settings.token_url, data={
                        "grant_type": "client_credentials",
                        "client_id": self.settings.client_id,
                        "client_secret": self._secret,
                        "scope": self.settings.scope}) as response:
                    body = self.settings.read_capped(response)
                    status = response.status_code
            except httpx.ConnectError as exc:
                raise _NoAnswer(f"cannot reach the token endpoint: {exc}", refused=True) \
                    from None
            except (httpx.HTTPError, ResponseTooLargeError) as exc:
                raise _NoAnswer(f"the token endpoint failed: {type(exc).__name__}", refused=True) \
                    from None
            try:
                payload = loads_exact(body)
            except ValueError:
                payload = {}
            if status != 200 or not isinstance(payload, dict) or "access_token" not in payload:
                detail = payload.get("error_description") or payload.get("error") \
                    if isinstance(payload, dict) else None
                raise _Refused(status, "invalid_client",
                               f"the token endpoint refused the client credentials "
                               f"(HTTP {status}): {detail or 'no detail'}")
            token = str(payload["access_token"])
            protect_secrets(token)
            self._token = token
            self._token_expiry = time.monotonic() + max(
                0, int(payload.get("expires_in", 300)) - TOKEN_MARGIN_SECONDS)
            return token

    def _request(self, method: str, path: str, *, json_body: Any = None,
                 params: dict[str, str] | None = None, expect_body: bool = True,
                 headers: dict[str, str] | None = None) -> Any:
        url = path if path.startswith("http") else f"{self.settings.api_url}/{path}"
        content = dumps_exact(json_body).encode() if json_body is not None else None
        for attempt in (1, 2):
            request_headers = {"Authorization": f"Bearer {self._access_token(renew=attempt > 1)}",
                               "Accept": "application/json", **(headers or {})}
            if content is not None:
                request_headers["Content-Type"] = "application/json"
            try:
                with self._http.stream(method, url, params=params, content=content,
                                       headers=request_headers) as response:
                    body = self.settings.read_capped(response)
                    status = response.status_code
                    media = response.headers.get("Content-Type", "").split(";")[0].strip()
            except httpx.ConnectError as exc:
                raise _NoAnswer(f"connection failed: {exc}", refused=True) from None
            except httpx.TimeoutException:
                raise _NoAnswer(f"no reply within {self.settings.operation_timeout} s") from None
            except httpx.HTTPError as exc:
                raise _NoAnswer(f"the connection broke ({type(exc).__name__})") from None
            except ResponseTooLargeError as exc:
                raise _NoAnswer(f"reply refused: {exc}") from None
            if status == 401 and attempt == 1:
                continue  # the token may have expired early: renew once
            break
        if status >= 500 or status in (408,):
            raise _NoAnswer(f"HTTP {status}")
        if status == 429:
            raise _NoAnswer("HTTP 429 (throttled)", refused=True)
        if status >= 400:
            code, message = _error_of(body)
            raise _Refused(status, code, message or f"HTTP {status}")
        if not expect_body:
            if status == 204 or not body.strip():
                return None
            raise _NoAnswer(f"unexpected HTTP {status} reply with a {media or 'typeless'} body")
        if media != "application/json":
            raise _NoAnswer(f"the reply is {media or 'typeless'}, not JSON")
        try:
            return loads_exact(body)
        except ValueError:
            raise _NoAnswer("the reply is not valid JSON") from None

    def _collection(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        url: str = path
        query: dict[str, str] | None = params
        for _page in range(MAX_PAGES):
            payload = self._request("GET", url, params=query)
            if not isinstance(payload, dict) or not isinstance(payload.get("value"), list):
                raise _NoAnswer("the reply holds no 'value' list")
            rows.extend(payload["value"])
            next_link = payload.get("@odata.nextLink")
            if not next_link:
                return rows
            if not same_origin(next_link, self.settings.base_url):
                raise _NoAnswer(f"the next page points at another server ({next_link})")
            url, query = next_link, None
        raise _NoAnswer(f"more than {MAX_PAGES} pages")


def _error_of(body: bytes) -> tuple[str, str]:
    try:
        payload = loads_exact(body)
        error = payload["error"]
        return str(error.get("code", "")), str(error.get("message", ""))[:500]
    except (ValueError, KeyError, TypeError, AttributeError):
        return "", ""

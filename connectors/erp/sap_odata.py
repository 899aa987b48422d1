"""Reading posted journal entry items back from SAP S/4HANA over OData v2 (httpx).

``find_by_reference`` and ``documents_between`` of :class:`connectors.erp.sap_soap.
ZeepSapJournalGateway` use this reader. It queries the entity set of journal entry items
(``API_JOURNALENTRYITEMBASIC_SRV/A_JournalEntryItemBasic`` by default; both overridable, because
the shipped EDMX of that service is an analytical cube without document-level fields, so a tenant
may expose the same item fields through another service or a custom CDS view) with ``$filter`` on
``CompanyCode``, ``OriginalReferenceDocument`` and ``PostingDate``, follows ``__next`` paging links
on the same origin only (:func:`read_entity_set`, also used by the master-data readers of
:mod:`connectors.erp.master_data`), and groups the items into one
:class:`ledger.erp.ErpDocument` per (company code, fiscal year, accounting document).

Item fields read: CompanyCode, FiscalYear, AccountingDocument, LedgerGLLineItem, PostingDate,
OriginalReferenceDocument, GLAccount, CostCenter, AmountInTransactionCurrency (signed: credits
negative), TransactionCurrency. Amounts arrive as decimal strings and stay ``Decimal``.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from connectors.erp.hardening import (
    ResponseTooLargeError,
    loads_exact,
    read_capped_httpx,
    same_origin,
)
from ledger.erp import ErpAmbiguousError, ErpDocument, ErpError, ErpLine, ErpUnavailableError

log = logging.getLogger(__name__)

ITEM_FIELDS = (
    "CompanyCode", "FiscalYear", "AccountingDocument", "LedgerGLLineItem", "PostingDate",
    "OriginalReferenceDocument", "GLAccount", "CostCenter", "AmountInTransactionCurrency",
    "TransactionCurrency",
)
MAX_PAGES = 1000
_ODATA_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d+)?\)/$")


class ODataReadError(ErpError):
    """The OData service refused the query (4xx): wrong path, filter or authorisation."""


@dataclass(frozen=True, slots=True)
class ODataQuery:
    """Where and how to read journal entry items."""

    service_url: str
    entity_set: str
    ledger: str | None = "0L"


def odata_literal(text: str) -> str:
    """An OData v2 string literal: single quotes, inner quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def odata_datetime(day: date) -> str:
    return f"datetime'{day.isoformat()}T00:00:00'"


def parse_odata_date(value: Any) -> date:
    """``/Date(ms)/`` (OData v2 JSON) or ISO ``YYYY-MM-DD[...]`` to a date."""
    if isinstance(value, str):
        match = _ODATA_DATE.match(value)
        if match:
            return datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC).date()
        return date.fromisoformat(value[:10])
    raise ValueError(f"not an OData date: {value!r}")


def group_items(rows: list[dict[str, Any]]) -> list[ErpDocument]:
    """One document per (company code, fiscal year, accounting document), in the order seen,
    lines in ledger line-item order. Raises ValueError on a row it cannot read."""
    grouped: OrderedDict[tuple[str, str, str], list[dict[str, Any]]] = OrderedDict()
    for row in rows:
        key = (str(row["CompanyCode"]), str(row["FiscalYear"]), str(row["AccountingDocument"]))
        grouped.setdefault(key, []).append(row)
    documents = []
    for (company, year, number), items in grouped.items():
        items.sort(key=lambda r: str(r.get("LedgerGLLineItem") or ""))
        lines = []
        for item in items:
            try:
                amount = Decimal(str(item["AmountInTransactionCurrency"]))
            except InvalidOperation:
                raise ValueError(
                    f"amount {item['AmountInTransactionCurrency']!r} is not a number"
                ) from None
            lines.append(ErpLine(
                account=str(item["GLAccount"]),
                amount=amount,
                currency=str(item["TransactionCurrency"]),
                cost_centre=(str(item["CostCenter"]) or None) if item.get("CostCenter") else None,
            ))
        first = items[0]
        documents.append(ErpDocument(
            document_number=number,
            external_reference=str(first.get("OriginalReferenceDocument") or ""),
            company_code=company,
            fiscal_year=int(year),
            posting_date=parse_odata_date(first["PostingDate"]),
            lines=tuple(lines),
        ))
    return documents


class SapJournalItemReader:
    """Queries journal entry items over OData v2 with an injected ``httpx.Client``."""

    def __init__(self, client: httpx.Client, query: ODataQuery, *, max_response_bytes: int) -> None:
        self._client = client
        self._query = query
        self._cap = max_response_bytes

    def find(self, company_code: str, external_reference: str) -> list[ErpDocument]:
        clauses = [f"CompanyCode eq {odata_literal(company_code)}",
                   f"OriginalReferenceDocument eq {odata_literal(external_reference)}"]
        return self._documents(clauses)

    def between(self, company_code: str, first: date, last: date) -> list[ErpDocument]:
        clauses = [f"CompanyCode eq {odata_literal(company_code)}",
                   f"PostingDate ge {odata_datetime(first)}",
                   f"PostingDate le {odata_datetime(last)}",
                   "OriginalReferenceDocument ne ''"]
        return self._documents(clauses)

    def _documents(self, clauses: list[str]) -> list[ErpDocument]:
        if self._query.ledger:
            clauses.append(f"Ledger eq {odata_literal(self._query.ledger)}")
        url = f"{self._query.service_url.rstrip('/')}/{self._query.entity_set}"
        params = {
            "$filter": " and ".join(clauses),
            "$select": ",".join(ITEM_FIELDS),
            "$orderby": "AccountingDocument,LedgerGLLineItem",
            "$format": "json",
        }
        rows = read_entity_set(self._client, url, params, origin=self._query.service_url,
                               max_response_bytes=self._cap)
        try:
            return group_items(rows)
        except (KeyError, ValueError, TypeError) as exc:
            raise ErpAmbiguousError(f"the SAP OData reply has an unreadable item: {exc}") from None


def read_entity_set(client: httpx.Client, url: str, params: dict[str, str] | None, *,
                    origin: str, max_response_bytes: int) -> list[dict[str, Any]]:
    """Every row of an OData v2 entity set query, following ``__next`` links on ``origin``'s
    scheme, host and port only, each reply read with the size cap.

    Raises ErpUnavailableError (no connection), ErpAmbiguousError (timeout, 5xx, unreadable or
    oversized reply, a next link to another server, too many pages) or ODataReadError (4xx).
    """
    rows: list[dict[str, Any]] = []
    for _page in range(MAX_PAGES):
        payload = _get(client, url, params, max_response_bytes)
        body = payload.get("d") if isinstance(payload, dict) else None
        if isinstance(body, dict):
            results = body.get("results")
            next_link = body.get("__next")
        elif isinstance(body, list):  # OData v2 without the "results" wrapper
            results, next_link = body, None
        else:
            raise ErpAmbiguousError("the SAP OData reply has no 'd' object; cannot read it")
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise ErpAmbiguousError("the SAP OData reply has no result list; cannot read it")
        rows.extend(results)
        if not next_link:
            return rows
        if not isinstance(next_link, str):
            raise ErpAmbiguousError("the SAP OData reply has an unreadable next-page link")
        if not next_link.startswith("http"):
            next_link = str(httpx.URL(url).join(next_link))
        if not same_origin(next_link, origin):
            raise ErpAmbiguousError(
                f"the SAP OData reply points its next page at another server ({next_link})"
            )
        url, params = next_link, None
    raise ErpAmbiguousError(f"the SAP OData reply has more than {MAX_PAGES} pages")


def _get(client: httpx.Client, url: str, params: dict[str, str] | None, cap: int) -> Any:
    try:
        with client.stream("GET", url, params=params,
                           headers={"Accept": "application/json"}) as response:
            body = read_capped_httpx(response, cap)
            status = response.status_code
    except httpx.ConnectError as exc:
        raise ErpUnavailableError(
            f"cannot reach the SAP OData service at {url}: {exc}") from None
    except httpx.TimeoutException:
        raise ErpAmbiguousError(
            f"the SAP OData service at {url} did not answer in time") from None
    except httpx.HTTPError as exc:
        raise ErpAmbiguousError(f"the SAP OData read failed: {exc}") from None
    except ResponseTooLargeError as exc:
        raise ErpAmbiguousError(f"the SAP OData reply was refused: {exc}") from None
    if status in (401, 403):
        raise ODataReadError(
            f"SAP refused the OData read (HTTP {status}): check the user and its roles"
        )
    if 400 <= status < 500:
        raise ODataReadError(f"SAP refused the OData query (HTTP {status}): "
                             f"{_odata_message(body) or 'no message'}")
    if status >= 500 or status != 200:
        raise ErpAmbiguousError(f"the SAP OData service answered HTTP {status}")
    try:
        return loads_exact(body)
    except ValueError:
        raise ErpAmbiguousError("the SAP OData reply is not valid JSON") from None


def _odata_message(body: bytes) -> str:
    try:
        payload = loads_exact(body)
        message = payload["error"]["message"]
        return str(message.get("value", message) if isinstance(message, dict) else message)[:300]
    except (ValueError, KeyError, TypeError):
        return ""

"""ERP master data: company codes, cost centres and GL accounts, read as plain domain values.

:class:`SapMasterDataReader` reads SAP S/4HANA over OData v2 (httpx, JSON) from three services,
each path overridable in :class:`SapMasterDataSettings`:

======================================  ========================================================
``API_COMPANYCODE_SRV/A_CompanyCode``   ``CompanyCode`` -> ``Company.code``, ``CompanyCodeName``
                                        -> name, ``Currency`` -> functional currency,
                                        ``FiscalYearVariant`` -> first month (K1-K4 January, V3
                                        April, V6 July, V9 October, else January);
                                        ``ChartOfAccounts`` picks the chart read below
``API_COSTCENTER_SRV/A_CostCenter``     filtered on the profile's ``CompanyCode`` (and
                                        ``ControllingArea`` when set): ``CostCenter`` -> code,
                                        ``ValidityStartDate`` / ``ValidityEndDate`` -> valid from
                                        / to (9999-12-31: open-ended; several time slices are
                                        merged: earliest start, latest end, the other fields
                                        from the latest slice), ``ProfitCenter`` -> business
                                        unit, ``CostCtrResponsibleUser`` -> owner
``.../A_CostCenterText``                in ``language``: ``CostCenterDescription`` (40
                                        characters), else ``CostCenterName`` (20) -> name; the
                                        code when SAP has no text
``API_GLACCOUNTINCHARTOFACCOUNTS_SRV``  ``A_GLAccountInChartOfAccounts`` of the chart:
                                        ``GLAccount`` -> number, ``GLAccountType`` -> type (see
                                        :func:`sap_account_type`); accounts marked for deletion
                                        or blocked for posting are left out;
                                        ``A_GLAccountText``: ``GLAccountLongName``, else
                                        ``GLAccountName`` -> name
======================================  ========================================================

Numeric codes come back without leading zeros (SAP's ALPHA conversion: ``0000006900`` is
``6900``), as users and journals write them.

:class:`BusinessCentralMasterDataReader` reads Business Central API v2.0 through
:class:`connectors.erp.business_central.HttpxBusinessCentralGateway`: ``accounts`` (``number``,
``displayName``; ``category`` and ``subCategory`` -> type; only ``accountType`` Posting, not
blocked), the values of the dimension ``cost_centre_dimension`` (``dimensions`` filtered by
code, then ``dimensions({id})/dimensionValues``: ``code``, ``displayName``) and
``companyInformation`` (``displayName``, ``currencyCode``, ``currentFiscalYearStartDate``).
Neither ERP reports a parent cost centre here (SAP keeps the hierarchy in sets, Business Central
in dimension totalling), so ``parent`` is always None.

Types: ``account_types`` (a setting, e.g. ``7990=recovery,159=accumulated_depreciation``) maps
account-number prefixes to types first, the longest prefix winning; no ERP reports Apportion's
``recovery`` or (SAP) ``accumulated_depreciation``.

Errors: the transport as the journal gateways (ErpUnavailableError, ErpAmbiguousError for a
timeout, 5xx, unreadable or oversized reply, or a next-page link to another server;
ErpRejectedError when the ERP refuses the read); a record that cannot become a domain value
raises :class:`ledger.errors.InputError` naming the ERP record (InputErrors when there are
several), and nothing is returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import date
from types import TracebackType
from typing import Any, Protocol, TypeVar

import httpx

from connectors.erp.business_central import BusinessCentralSettings, HttpxBusinessCentralGateway
from connectors.erp.hardening import protect_secrets
from connectors.erp.sap_odata import (
    ODataReadError,
    odata_literal,
    parse_odata_date,
    read_entity_set,
)
from connectors.http import HttpSettings
from ledger.erp import ErpAmbiguousError, ErpRejectedError
from ledger.errors import ApportionError, InputError, InputErrors
from ledger.reference import AccountType, Company, CostCentre, GlAccount

T = TypeVar("T")
END_OF_TIME = date(9999, 12, 31)
FISCAL_YEAR_VARIANTS = {"K1": 1, "K2": 1, "K3": 1, "K4": 1, "V3": 4, "V6": 7, "V9": 10}
BC_CATEGORIES = {"assets": AccountType.ASSET, "liabilities": AccountType.LIABILITY,
                 "equity": AccountType.EQUITY, "income": AccountType.REVENUE,
                 "costofgoodssold": AccountType.EXPENSE, "expense": AccountType.EXPENSE}


@dataclass(frozen=True, slots=True)
class MasterData:
    """What an ERP holds as master data, as domain values.

    Attributes:
        companies: the company codes (SAP: all; Business Central: the profile's company).
        cost_centres: of the profile's company; ``parent`` None (no ERP here reports it).
        accounts: postable GL accounts of the company's chart.
        source: the ERP, for messages (``SAP https://...``).
        cost_centre_validity: True when the ERP keeps validity dates (SAP), so that
            ``valid_from``/``valid_to`` (None: open-ended) are its word, not a blank.
    """

    companies: tuple[Company, ...]
    cost_centres: tuple[CostCentre, ...]
    accounts: tuple[GlAccount, ...]
    source: str
    cost_centre_validity: bool


class MasterDataReader(Protocol):
    def read(self, company_code: str) -> MasterData: ...
    def close(self) -> None: ...


# -- mapping (pure) ---------------------------------------------------------------------------


def parse_account_types(text: str | None) -> tuple[tuple[str, AccountType], ...]:
    """``"7990=recovery, 159=accumulated_depreciation"`` -> (prefix, type) pairs, longest
    prefix first. Raises InputError naming the bad item."""
    pairs: list[tuple[str, AccountType]] = []
    for item in (text or "").replace(";", ",").split(","):
        if not item.strip():
            continue
        prefix, sep, kind = item.partition("=")
        prefix = prefix.strip()
        try:
            if not sep or not prefix:
                raise ValueError
            pairs.append((prefix, AccountType(kind.strip().lower())))
        except ValueError:
            allowed = ", ".join(t.value for t in AccountType)
            raise InputError(f"{item.strip()!r} is not PREFIX=TYPE (types: {allowed})",
                             field="account_types", value=text) from None
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


def override_type(number: str, overrides: Iterable[tuple[str, AccountType]]) -> AccountType | None:
    for prefix, kind in overrides:
        if number.startswith(prefix):
            return kind
    return None


def external_code(value: Any) -> str:
    """An ERP key as users write it: stripped; digits-only keys without leading zeros."""
    text = str(value if value is not None else "").strip()
    if text.isdigit():
        return text.lstrip("0") or "0"
    return text


def _text(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    return str(value).strip() if value is not None else ""


def _flag(row: dict[str, Any], name: str) -> bool:
    """OData v2 booleans are JSON booleans; some SAP flags are ``"X"``/``""`` strings."""
    value = row.get(name)
    if isinstance(value, str):
        return value.strip().upper() in ("X", "TRUE")
    return bool(value)


class _Collector:
    """Maps records one by one, collecting every failure as an InputError naming the record."""

    def __init__(self) -> None:
        self.errors: list[InputError] = []

    def map(self, record: str, build: Callable[[], T]) -> T | None:
        try:
            return build()
        except InputError as exc:
            self.errors.append(InputError(exc.message, source=record, field=exc.field,
                                          value=exc.value))
        except (ApportionError, KeyError, TypeError, ValueError) as exc:
            self.errors.append(InputError(str(exc), source=record))
        return None

    def raise_if_any(self, source: str) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise InputErrors(self.errors, source=source)


def sap_company(row: dict[str, Any]) -> Company:
    code = _text(row, "CompanyCode")  # no ALPHA conversion: company code 0001 stays 0001
    return Company(code=code, name=_text(row, "CompanyCodeName") or code,
                   functional_currency=_text(row, "Currency"),
                   fiscal_year_start_month=FISCAL_YEAR_VARIANTS.get(
                       _text(row, "FiscalYearVariant").upper(), 1))


def _sap_date(value: Any, *, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return parse_odata_date(value)
    except (ValueError, OverflowError, OSError):
        raise InputError(f"{value!r} is not an OData date", field=field, value=value) from None


def sap_cost_centres(rows: list[dict[str, Any]], texts: list[dict[str, Any]], *,
                     language: str, source: str) -> list[CostCentre]:
    """Cost centres from ``A_CostCenter`` rows and ``A_CostCenterText`` rows (any language;
    ``language`` is preferred). Raises InputError / InputErrors naming the record."""
    by_slice: dict[tuple[str, str, Any], str] = {}
    by_code: dict[tuple[str, str], tuple[bool, date, str]] = {}
    for text in texts:
        name = _text(text, "CostCenterDescription") or _text(text, "CostCenterName")
        if not name:
            continue
        key = (_text(text, "ControllingArea"), external_code(text.get("CostCenter")))
        preferred = _text(text, "Language").upper() == language.upper()
        if preferred:
            by_slice[(*key, text.get("ValidityEndDate"))] = name
        try:
            end = _sap_date(text.get("ValidityEndDate"), field="ValidityEndDate") or END_OF_TIME
        except InputError:
            end = date.min
        current = by_code.get(key)
        if current is None or (preferred, end) > current[:2]:
            by_code[key] = (preferred, end, name)
    slices: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        slices.setdefault(external_code(row.get("CostCenter")), []).append(row)
    collector = _Collector()
    result = []
    for code, group in slices.items():
        areas = sorted({_text(r, "ControllingArea") for r in group})
        record = f"{source}: cost centre {code or '(blank)'}"
        if len(areas) > 1:
            collector.errors.append(InputError(
                f"the code is in several controlling areas ({', '.join(areas)}); set "
                f"controlling_area in the ERP profile", source=record, field="ControllingArea"))
            continue
        record += f" (controlling area {areas[0]})" if areas[0] else ""

        def build(code: str = code, group: list[dict[str, Any]] = group,
                  area: str = areas[0]) -> CostCentre:
            starts, ends = [], []
            latest: tuple[date, dict[str, Any]] | None = None
            for row in group:
                start = _sap_date(row.get("ValidityStartDate"), field="ValidityStartDate")
                end = _sap_date(row.get("ValidityEndDate"), field="ValidityEndDate") \
                    or END_OF_TIME
                starts.append(start)
                ends.append(end)
                if latest is None or end > latest[0]:
                    latest = (end, row)
            assert latest is not None
            row = latest[1]
            name = (by_slice.get((area, code, row.get("ValidityEndDate")))
                    or (by_code.get((area, code)) or (False, date.min, ""))[2] or code)
            last = max(ends)
            return CostCentre(
                code=code, name=name,
                business_unit=_text(row, "ProfitCenter") or None,
                owner=_text(row, "CostCtrResponsibleUser") or None,
                valid_from=min((s for s in starts if s is not None), default=None),
                valid_to=None if last >= END_OF_TIME else last,
            )

        centre = collector.map(record, build)
        if centre is not None:
            result.append(centre)
    collector.raise_if_any(source)
    return sorted(result, key=lambda c: c.code)


def sap_account_type(row: dict[str, Any], number: str,
                     overrides: Iterable[tuple[str, AccountType]] = ()) -> AccountType:
    """The type of a G/L account: ``account_types`` first; else by ``GLAccountType`` (C cash:
    asset; X balance sheet: by the first digit, 1 asset, 2 liability, 3 equity; P, N, S
    (primary, non-operating, secondary costs or revenue): first digit 4 revenue, else expense);
    without ``GLAccountType``, ``IsBalanceSheetAccount`` decides between X and P. Raises
    InputError when a balance-sheet account's number does not tell which kind it is."""
    chosen = override_type(number, overrides)
    if chosen is not None:
        return chosen
    kind = _text(row, "GLAccountType").upper()
    if not kind:
        if "IsBalanceSheetAccount" not in row and "IsProfitLossAccount" not in row:
            raise InputError("SAP gives neither GLAccountType nor IsBalanceSheetAccount; set "
                             f"account_types, e.g. account_types={number}=expense",
                             field="GLAccountType")
        kind = "X" if _flag(row, "IsBalanceSheetAccount") else "P"
    first = number[:1]
    if kind == "C":
        return AccountType.ASSET
    if kind == "X":
        by_digit = {"1": AccountType.ASSET, "2": AccountType.LIABILITY, "3": AccountType.EQUITY}
        if first in by_digit:
            return by_digit[first]
        raise InputError(
            f"balance-sheet account {number}: its number does not tell asset, liability or "
            f"equity; set account_types, e.g. account_types={number}=liability",
            field="GLAccountType", value=kind)
    if kind in ("P", "N", "S"):
        return AccountType.REVENUE if first == "4" else AccountType.EXPENSE
    raise InputError(f"G/L account type {kind!r} is not one Apportion knows (C, X, P, N, S); "
                     f"set account_types, e.g. account_types={number}=expense",
                     field="GLAccountType", value=kind)


def sap_accounts(rows: list[dict[str, Any]], texts: list[dict[str, Any]], *, language: str,
                 overrides: Iterable[tuple[str, AccountType]] = (),
                 source: str) -> list[GlAccount]:
    """Postable accounts from ``A_GLAccountInChartOfAccounts`` and ``A_GLAccountText`` rows."""
    overrides = tuple(overrides)
    names: dict[tuple[str, str], tuple[bool, str]] = {}
    for text in texts:
        name = _text(text, "GLAccountLongName") or _text(text, "GLAccountName")
        if not name:
            continue
        key = (_text(text, "ChartOfAccounts"), external_code(text.get("GLAccount")))
        preferred = _text(text, "Language").upper() == language.upper()
        if key not in names or (preferred and not names[key][0]):
            names[key] = (preferred, name)
    collector = _Collector()
    result = []
    for row in rows:
        number = external_code(row.get("GLAccount"))
        chart = _text(row, "ChartOfAccounts")
        if _flag(row, "AccountIsMarkedForDeletion") or _flag(row, "AccountIsBlockedForPosting"):
            continue

        def build(row: dict[str, Any] = row, number: str = number,
                  chart: str = chart) -> GlAccount:
            name = (names.get((chart, number)) or (False, ""))[1] or number
            return GlAccount(number, name, sap_account_type(row, number, overrides))

        account = collector.map(f"{source}: G/L account {number or '(blank)'} "
                                f"(chart of accounts {chart})", build)
        if account is not None:
            result.append(account)
    collector.raise_if_any(source)
    return sorted(result, key=lambda a: a.number)


def bc_account_type(row: dict[str, Any], number: str,
                    overrides: Iterable[tuple[str, AccountType]] = ()) -> AccountType:
    """``account_types`` first; else ``category`` (Assets, with a ``subCategory`` naming
    depreciation: accumulated depreciation; Liabilities, Equity, Income: revenue,
    CostOfGoodsSold and Expense: expense). Raises InputError for a blank category."""
    chosen = override_type(number, overrides)
    if chosen is not None:
        return chosen
    category = _text(row, "category").replace("_x0020_", "").replace(" ", "").lower()
    kind = BC_CATEGORIES.get(category)
    if kind is None:
        raise InputError(f"account category {row.get('category')!r} does not tell the account "
                         f"type; set account_types, e.g. account_types={number}=expense",
                         field="category", value=row.get("category"))
    if kind is AccountType.ASSET and "depreciation" in _text(row, "subCategory").lower():
        return AccountType.ACCUMULATED_DEPRECIATION
    return kind


def bc_accounts(rows: list[dict[str, Any]], *,
                overrides: Iterable[tuple[str, AccountType]] = (),
                source: str) -> list[GlAccount]:
    """Posting accounts that are not blocked (headings and totals cannot take postings)."""
    overrides = tuple(overrides)
    collector = _Collector()
    result = []
    for row in rows:
        number = external_code(row.get("number"))
        if _text(row, "accountType") not in ("", "Posting") or _flag(row, "blocked"):
            continue

        def build(row: dict[str, Any] = row, number: str = number) -> GlAccount:
            return GlAccount(number, _text(row, "displayName") or number,
                             bc_account_type(row, number, overrides))

        account = collector.map(f"{source}: account {number or '(blank)'}", build)
        if account is not None:
            result.append(account)
    collector.raise_if_any(source)
    return sorted(result, key=lambda a: a.number)


def bc_cost_centres(rows: list[dict[str, Any]], *, source: str) -> list[CostCentre]:
    collector = _Collector()
    result = []
    for row in rows:
        code = _text(row, "code")
        centre = collector.map(
            f"{source}: dimension value {code or '(blank)'}",
            lambda row=row, code=code: CostCentre(code, _text(row, "displayName") or code))
        if centre is not None:
            result.append(centre)
    collector.raise_if_any(source)
    return sorted(result, key=lambda c: c.code)


def bc_company(code: str, information: dict[str, Any], *, fallback_currency: str) -> Company:
    start = _text(information, "currentFiscalYearStartDate")
    try:
        month = date.fromisoformat(start[:10]).month if start else 1
    except ValueError:
        month = 1
    return Company(code=code, name=_text(information, "displayName") or code,
                   functional_currency=_text(information, "currencyCode") or fallback_currency,
                   fiscal_year_start_month=month)


def _dicts(rows: list[Any], what: str) -> list[dict[str, Any]]:
    if not all(isinstance(row, dict) for row in rows):
        raise ErpAmbiguousError(f"the reply for {what} holds something other than records")
    return rows


# -- SAP ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SapMasterDataSettings(HttpSettings):
    """How to read SAP master data; holds no secret. Timeouts, TLS and the reply cap are the
    shared :class:`connectors.http.HttpSettings` fields.

    The connection fields come from :class:`connectors.erp.sap_soap.SapSoapSettings` (see
    :meth:`from_connection`); the rest can be set per ERP profile.

    Attributes:
        cost_centre_path, gl_account_path, company_code_path: the OData services' paths.
        language: the language of names (SAP's two-letter ISO code, ``EN``).
        chart_of_accounts: the chart to read; None: the company code's.
        controlling_area: read cost centres of this controlling area only; None: all of the
            company code's.
        account_types: ``PREFIX=TYPE,...`` overrides of account types (longest prefix wins).
    """

    base_url: str
    username: str
    cost_centre_path: str = "/sap/opu/odata/sap/API_COSTCENTER_SRV"
    gl_account_path: str = "/sap/opu/odata/sap/API_GLACCOUNTINCHARTOFACCOUNTS_SRV"
    company_code_path: str = "/sap/opu/odata/sap/API_COMPANYCODE_SRV"
    language: str = "EN"
    chart_of_accounts: str | None = None
    controlling_area: str | None = None
    account_types: str = ""

    @classmethod
    def from_connection(cls, connection: Any, **options: Any) -> SapMasterDataSettings:
        """Settings sharing ``connection``'s URL, user, timeouts, cap and TLS settings."""
        shared = {f.name: getattr(connection, f.name) for f in fields(cls)
                  if hasattr(connection, f.name)}
        return cls(**{**shared, **options})

    def url(self, path: str, entity_set: str) -> str:
        return f"{self.base_url.rstrip('/')}{path.rstrip('/')}/{entity_set}"


# Settings of SapMasterDataSettings that an ERP profile may carry beside the SOAP ones.
SAP_MASTER_DATA_OPTIONS = ("cost_centre_path", "gl_account_path", "company_code_path",
                           "language", "chart_of_accounts", "controlling_area", "account_types")


class SapMasterDataReader:
    """Reads SAP master data over OData v2 with its own ``httpx.Client`` (HTTP Basic).

    Args:
        settings: where and how (no secret in it).
        password: the communication user's password; kept in the client only and
            registered with the log redaction filter.
    """

    def __init__(self, settings: SapMasterDataSettings, *, password: str) -> None:
        self.settings = settings
        self._overrides = parse_account_types(settings.account_types)
        protect_secrets(password, username=settings.username)
        self._http = settings.httpx_client(auth=httpx.BasicAuth(settings.username, password))

    def __repr__(self) -> str:
        return f"SapMasterDataReader({self.settings.base_url!r}, user={self.settings.username!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SapMasterDataReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def read(self, company_code: str) -> MasterData:
        """The company codes, and the cost centres and accounts of ``company_code``."""
        source = f"SAP {self.settings.base_url}"
        settings = self.settings
        company_rows = self._rows(settings.company_code_path, "A_CompanyCode", [])
        collector = _Collector()
        companies = []
        chart = settings.chart_of_accounts
        for row in company_rows:
            code = _text(row, "CompanyCode")
            if code == company_code and chart is None:
                chart = _text(row, "ChartOfAccounts") or None
            company = collector.map(f"{source}: company code {code or '(blank)'}",
                                    lambda row=row: sap_company(row))
            if company is not None:
                companies.append(company)
        collector.raise_if_any(source)
        if not any(c.code == company_code for c in companies):
            raise ErpRejectedError(f"SAP has no company code {company_code} (or the user may "
                                   f"not read it)")
        if chart is None:
            raise ErpRejectedError(f"SAP names no chart of accounts for company code "
                                   f"{company_code}; set chart_of_accounts in the ERP profile")
        centre_filter = [f"CompanyCode eq {odata_literal(company_code)}"]
        text_filter = [f"Language eq {odata_literal(settings.language)}"]
        if settings.controlling_area:
            area = f"ControllingArea eq {odata_literal(settings.controlling_area)}"
            centre_filter.append(area)
            text_filter.append(area)
        centres = sap_cost_centres(
            self._rows(settings.cost_centre_path, "A_CostCenter", centre_filter),
            self._rows(settings.cost_centre_path, "A_CostCenterText", text_filter),
            language=settings.language, source=f"{source} A_CostCenter")
        chart_clause = f"ChartOfAccounts eq {odata_literal(chart)}"
        accounts = sap_accounts(
            self._rows(settings.gl_account_path, "A_GLAccountInChartOfAccounts", [chart_clause]),
            self._rows(settings.gl_account_path, "A_GLAccountText",
                       [chart_clause, f"Language eq {odata_literal(settings.language)}"]),
            language=settings.language, overrides=self._overrides,
            source=f"{source} A_GLAccountInChartOfAccounts")
        return MasterData(tuple(sorted(companies, key=lambda c: c.code)), tuple(centres),
                          tuple(accounts), source, cost_centre_validity=True)

    def _rows(self, path: str, entity_set: str, clauses: list[str]) -> list[dict[str, Any]]:
        params = {"$format": "json"}
        if clauses:
            params["$filter"] = " and ".join(clauses)
        try:
            rows = read_entity_set(self._http, self.settings.url(path, entity_set), params,
                                   origin=self.settings.base_url,
                                   max_response_bytes=self.settings.max_response_bytes)
        except ODataReadError as exc:
            raise ErpRejectedError(f"{exc} (reading {entity_set})") from None
        return _dicts(rows, f"SAP {entity_set}")


# -- Business Central ---------------------------------------------------------------------


class BusinessCentralMasterDataReader:
    """Reads Business Central master data through the REST gateway (same token, caps,
    timeouts and paging rules).

    Args:
        settings: the profile's Business Central settings (no secret in them).
        client_secret: the OAuth2 client secret.
    """

    def __init__(self, settings: BusinessCentralSettings, *, client_secret: str) -> None:
        self.settings = settings
        self._overrides = parse_account_types(settings.account_types)
        self._gateway = HttpxBusinessCentralGateway(settings, client_secret=client_secret)

    def __repr__(self) -> str:
        return f"BusinessCentralMasterDataReader({self.settings.api_url!r})"

    def close(self) -> None:
        self._gateway.close()

    def __enter__(self) -> BusinessCentralMasterDataReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def read(self, company_code: str) -> MasterData:
        """The company ``company_code`` with its cost-centre dimension values and accounts."""
        source = f"Business Central {self.settings.api_url} company {company_code}"
        read = self._gateway.read_company_collection
        dimension = self.settings.cost_centre_dimension
        information = _dicts(read(company_code, "companyInformation",
                                  what="the company information"), "companyInformation")
        collector = _Collector()
        company = collector.map(f"{source}: companyInformation", lambda: bc_company(
            company_code, information[0] if information else {},
            fallback_currency=self.settings.currency))
        collector.raise_if_any(source)
        assert company is not None
        dimensions = _dicts(read(company_code, "dimensions",
                                 {"$filter": f"code eq {odata_literal(dimension)}"},
                                 what=f"dimension {dimension}"), "dimensions")
        if not dimensions:
            raise ErpRejectedError(f"Business Central has no dimension {dimension} in company "
                                   f"{company_code}; set cost_centre_dimension in the profile")
        dimension_id = _text(dimensions[0], "id")
        values = _dicts(read(company_code, f"dimensions({dimension_id})/dimensionValues",
                             what=f"the values of dimension {dimension}"), "dimensionValues")
        accounts = _dicts(read(company_code, "accounts", what="the accounts"), "accounts")
        return MasterData(
            (company,),
            tuple(bc_cost_centres(values, source=f"{source} dimension {dimension}")),
            tuple(bc_accounts(accounts, overrides=self._overrides, source=f"{source} accounts")),
            source, cost_centre_validity=False)

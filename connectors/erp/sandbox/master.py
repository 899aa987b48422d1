"""The sandbox's SAP S/4HANA master data over OData v2 (JSON): cost centres, G/L accounts in
the chart of accounts, company codes, with their text entity sets, from :mod:`chart`.

==========================================================  ===================================
``/sap/opu/odata/sap/API_COSTCENTER_SRV/A_CostCenter``        one row per company code and cost
                                                              centre (controlling area = company
                                                              code; ``ProfitCenter`` = business
                                                              unit; ``CostCtrResponsibleUser`` =
                                                              owner)
``.../API_COSTCENTER_SRV/A_CostCenterText``                   ``CostCenterName`` (20 characters)
                                                              and ``CostCenterDescription`` (40)
``/sap/opu/odata/sap/API_GLACCOUNTINCHARTOFACCOUNTS_SRV/A_GLAccountInChartOfAccounts``  chart
                                                              ``YCOA``; ``GLAccountType`` X for
                                                              balance-sheet kinds, P otherwise
``.../API_GLACCOUNTINCHARTOFACCOUNTS_SRV/A_GLAccountText``    ``GLAccountName`` (20),
                                                              ``GLAccountLongName`` (50)
``/sap/opu/odata/sap/API_COMPANYCODE_SRV/A_CompanyCode``      code, name, currency, chart
==========================================================  ===================================

Texts exist in language ``EN`` only. Queries take ``$filter`` (``eq`` ... joined by ``and``),
``$top`` and ``$skip``; the server pages at :data:`PAGE_SIZE` rows with a ``__next`` link, as
SAP Gateway does. ``$select``, ``$orderby`` and ``$format`` are accepted and ignored (rows come in
key order, always as JSON).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from connectors.erp.sandbox.chart import SandboxChart
from connectors.erp.sandbox.odata import FilterError, matches, parse_filter
from connectors.erp.sandbox.wire import Reply, Request, json_reply

SERVICE_ROOT = "/sap/opu/odata/sap/"
COST_CENTRE_SERVICE = "API_COSTCENTER_SRV"
GL_ACCOUNT_SERVICE = "API_GLACCOUNTINCHARTOFACCOUNTS_SRV"
COMPANY_CODE_SERVICE = "API_COMPANYCODE_SRV"
SERVICES = (COST_CENTRE_SERVICE, GL_ACCOUNT_SERVICE, COMPANY_CODE_SERVICE)
CHART_OF_ACCOUNTS = "YCOA"
LANGUAGE = "EN"
END_OF_TIME = date(9999, 12, 31)
PAGE_SIZE = 1000
BALANCE_SHEET_KINDS = {"asset", "accumulated_depreciation", "liability", "equity"}
ACCOUNT_GROUPS = {"asset": "BSAS", "accumulated_depreciation": "BSAD", "liability": "BSLI",
                  "equity": "BSEQ", "expense": "PLEX", "recovery": "PLEX", "revenue": "PLRV"}


class SapMasterDataService:
    """Serves the master-data entity sets from the sandbox's chart."""

    def __init__(self, chart: SandboxChart) -> None:
        self.chart = chart
        self._sets: dict[tuple[str, str], Callable[[], list[dict[str, Any]]]] = {
            (COST_CENTRE_SERVICE, "A_CostCenter"): self._cost_centres,
            (COST_CENTRE_SERVICE, "A_CostCenterText"): self._cost_centre_texts,
            (GL_ACCOUNT_SERVICE, "A_GLAccountInChartOfAccounts"): self._accounts,
            (GL_ACCOUNT_SERVICE, "A_GLAccountText"): self._account_texts,
            (COMPANY_CODE_SERVICE, "A_CompanyCode"): self._company_codes,
        }

    @staticmethod
    def serves(path: str) -> bool:
        return any(path.startswith(f"{SERVICE_ROOT}{service}/") for service in SERVICES)

    def handle(self, request: Request) -> Reply:
        service, _, entity_set = request.path[len(SERVICE_ROOT):].partition("/")
        produce = self._sets.get((service, entity_set))
        if produce is None:
            return odata_error(404, f"Resource not found for segment '{entity_set}'")
        try:
            clauses = parse_filter(request.query.get("$filter"))
            top = int(request.query["$top"]) if "$top" in request.query else None
            skip = int(request.query.get("$skip", 0))
            rows = [row for row in produce() if matches(row, clauses)]
        except (FilterError, ValueError) as exc:
            return odata_error(400, str(exc))
        wanted = len(rows) - skip if top is None else top
        page_size = max(0, min(wanted, PAGE_SIZE))
        page = rows[skip: skip + page_size]
        type_name = f"{service}.{entity_set}Type"
        payload: dict[str, Any] = {"results": [_json(row, type_name) for row in page]}
        if skip + page_size < len(rows) and wanted > page_size:
            query = {k: v for k, v in request.query.items() if k not in ("$skip", "$top")}
            query["$skip"] = str(skip + page_size)
            if top is not None:
                query["$top"] = str(top - page_size)
            payload["__next"] = f"{request.base_url}{request.path}?{urlencode(query)}"
        return json_reply(200, {"d": payload})

    # -- entity sets -----------------------------------------------------------------------

    def _cost_centres(self) -> list[dict[str, Any]]:
        rows = []
        for company, currency in sorted(self.chart.companies.items()):
            for centre in self.chart.cost_centre_records:
                rows.append({
                    "ControllingArea": company,
                    "CostCenter": centre.code,
                    "ValidityEndDate": centre.valid_to or END_OF_TIME,
                    "ValidityStartDate": centre.valid_from,
                    "CompanyCode": company,
                    "BusinessArea": "",
                    "CostCtrResponsiblePersonName": "",
                    "CostCtrResponsibleUser": centre.owner,
                    "CostCenterCurrency": currency,
                    "ProfitCenter": centre.business_unit,
                    "Department": "",
                    "CostCenterCategory": "V",
                    "IsBlkdForPrimaryCostsPosting": "",
                    "IsBlkdForSecondaryCostsPosting": "",
                    "Language": LANGUAGE,
                })
        return rows

    def _cost_centre_texts(self) -> list[dict[str, Any]]:
        return [{
            "CostCenter": centre.code,
            "ControllingArea": company,
            "Language": LANGUAGE,
            "ValidityEndDate": centre.valid_to or END_OF_TIME,
            "ValidityStartDate": centre.valid_from,
            "CostCenterName": centre.name[:20],
            "CostCenterDescription": centre.name[:40],
        } for company in sorted(self.chart.companies)
            for centre in self.chart.cost_centre_records]

    def _accounts(self) -> list[dict[str, Any]]:
        rows = []
        for account in self.chart.account_records:
            balance = account.kind in BALANCE_SHEET_KINDS
            rows.append({
                "ChartOfAccounts": CHART_OF_ACCOUNTS,
                "GLAccount": account.number,
                "IsBalanceSheetAccount": balance,
                "GLAccountGroup": ACCOUNT_GROUPS[account.kind],
                "CorporateGroupAccount": "",
                "ProfitLossAccountType": "" if balance else "X",
                "SampleGLAccount": "",
                "AccountIsMarkedForDeletion": False,
                "AccountIsBlockedForCreation": False,
                "AccountIsBlockedForPosting": account.blocked,
                "AccountIsBlockedForPlanning": False,
                "PartnerCompany": "",
                "FunctionalArea": "",
                "CreatedByUser": "SANDBOX",
                "GLAccountType": "X" if balance else "P",
                "GLAccountExternal": account.number,
                "IsProfitLossAccount": not balance,
            })
        return rows

    def _account_texts(self) -> list[dict[str, Any]]:
        return [{
            "ChartOfAccounts": CHART_OF_ACCOUNTS,
            "GLAccount": account.number,
            "Language": LANGUAGE,
            "GLAccountName": account.name[:20],
            "GLAccountLongName": account.name[:50],
        } for account in self.chart.account_records]

    def _company_codes(self) -> list[dict[str, Any]]:
        return [{
            "CompanyCode": code,
            "CompanyCodeName": self.chart.company_name(code)[:25],
            "CityName": "",
            "Country": "",
            "Currency": currency,
            "Language": LANGUAGE,
            "ChartOfAccounts": CHART_OF_ACCOUNTS,
            "FiscalYearVariant": "K4",
            "Company": code,
            "ControllingArea": code,
        } for code, currency in sorted(self.chart.companies.items())]


def _json(row: dict[str, Any], type_name: str) -> dict[str, Any]:
    """OData v2 JSON: ``__metadata``, dates as ``/Date(ms)/``."""
    out: dict[str, Any] = {"__metadata": {"type": type_name}}
    for key, value in row.items():
        if isinstance(value, date):
            stamp = datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
            value = f"/Date({int(stamp) * 1000})/"
        out[key] = value
    return out


def odata_error(status: int, message: str) -> Reply:
    return json_reply(status, {"error": {"code": "SY/530", "message": {"lang": "en",
                                                                       "value": message}}})

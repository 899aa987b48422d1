"""Mapping ERP master-data records to domain values, and merging them with what is stored."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from client.erp import merge_accounts, merge_cost_centres, settings_for
from connectors.erp.master_data import (
    SAP_MASTER_DATA_OPTIONS,
    SapMasterDataSettings,
    bc_account_type,
    bc_accounts,
    bc_company,
    bc_cost_centres,
    external_code,
    parse_account_types,
    sap_account_type,
    sap_accounts,
    sap_company,
    sap_cost_centres,
)
from connectors.erp.sap_soap import SapSoapSettings
from ledger.erp import ErpProfile
from ledger.errors import InputError, InputErrors
from ledger.reference import AccountType, Company, CostCentre, GlAccount

A = AccountType


def odata_date(day: date) -> str:
    return f"/Date({int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 1000})/"


OPEN = odata_date(date(9999, 12, 31))


def centre_row(code: str, start: date, end: str = OPEN, **extra: object) -> dict:
    return {"CostCenter": code, "ControllingArea": "A000", "CompanyCode": "1010",
            "ValidityStartDate": odata_date(start), "ValidityEndDate": end, **extra}


def centre_text(code: str, end: str = OPEN, *, name: str = "", description: str = "",
                language: str = "EN") -> dict:
    return {"CostCenter": code, "ControllingArea": "A000", "Language": language,
            "ValidityEndDate": end, "CostCenterName": name,
            "CostCenterDescription": description}


# -- settings -------------------------------------------------------------------------------


def test_account_types_parse_with_the_longest_prefix_first() -> None:
    assert parse_account_types(" 7=expense, 7990=recovery;159=accumulated_depreciation ") == (
        ("7990", A.RECOVERY), ("159", A.ACCUMULATED_DEPRECIATION), ("7", A.EXPENSE))
    assert parse_account_types("") == ()
    with pytest.raises(InputError, match="'7990=costs' is not PREFIX=TYPE"):
        parse_account_types("7990=costs")
    with pytest.raises(InputError, match="not PREFIX=TYPE"):
        parse_account_types("recovery")


def test_master_data_settings_share_the_sap_connection_and_take_their_own_options(
        tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"  # a CA bundle must exist (HttpSettings checks it)
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    soap = SapSoapSettings("https://s4.example.com", "COMM_USER", operation_timeout=5.0,
                           verify_tls=str(ca))
    settings = SapMasterDataSettings.from_connection(soap, language="DE")
    assert (settings.base_url, settings.username, settings.operation_timeout,
            settings.verify_tls, settings.language) == (
        "https://s4.example.com", "COMM_USER", 5.0, str(ca), "DE")
    assert settings.url(settings.cost_centre_path, "A_CostCenter") == (
        "https://s4.example.com/sap/opu/odata/sap/API_COSTCENTER_SRV/A_CostCenter")


def test_a_sap_profile_may_carry_master_data_settings_and_bad_ones_are_refused() -> None:
    profile = ErpProfile("sap", "sap-soap", "https://s4.example.com", "1010", "U",
                         {"language": "DE", "account_types": "7990=recovery",
                          "operation_timeout": "5"})
    assert settings_for(profile).operation_timeout == 5.0
    assert "language" in SAP_MASTER_DATA_OPTIONS
    bad = ErpProfile("sap", "sap-soap", "https://s4.example.com", "1010", "U",
                     {"account_types": "7990"})
    with pytest.raises(InputError, match="account_types"):
        settings_for(bad)
    bc = ErpProfile("bc", "bc-rest", "https://api.example.com", "CRONUS", "client",
                    {"tenant": "t", "environment": "e", "token_url": "https://t/token",
                     "account_types": "x=nothing"})
    with pytest.raises(InputError, match="account_types"):
        settings_for(bc)


# -- SAP --------------------------------------------------------------------------------------


def test_sap_numeric_codes_lose_their_leading_zeros_like_sap_alpha_conversion() -> None:
    assert external_code("0000006900") == "6900"
    assert external_code("0000000000") == "0"
    assert external_code(" CC-01 ") == "CC-01"
    assert external_code("00A1") == "00A1"


def test_sap_company_codes_keep_their_zeros_and_map_the_fiscal_year_variant() -> None:
    row = {"CompanyCode": "0001", "CompanyCodeName": "Meridian AG", "Currency": "eur",
           "FiscalYearVariant": "V3"}
    assert sap_company(row) == Company("0001", "Meridian AG", "EUR", 4)
    assert sap_company({**row, "FiscalYearVariant": "ZZ"}).fiscal_year_start_month == 1


def test_sap_cost_centre_time_slices_merge_into_one_with_the_latest_name() -> None:
    mid = odata_date(date(2025, 12, 31))
    rows = [centre_row("0000001010", date(2024, 1, 1), mid, ProfitCenter="YB900",
                       CostCtrResponsibleUser="OLD_USER"),
            centre_row("0000001010", date(2026, 1, 1), ProfitCenter="YB110",
                       CostCtrResponsibleUser="JSMITH")]
    texts = [centre_text("0000001010", mid, name="Old name"),
             centre_text("0000001010", name="Manufacturing",
                         description="Manufacturing and plant engineering"),
             centre_text("0000001010", name="Fertigung", language="DE")]

    assert sap_cost_centres(rows, texts, language="EN", source="SAP") == [
        CostCentre("1010", "Manufacturing and plant engineering", business_unit="YB110",
                   owner="JSMITH", valid_from=date(2024, 1, 1))]


def test_sap_cost_centre_names_fall_back_to_the_short_name_then_the_code() -> None:
    rows = [centre_row("1010", date(2026, 1, 1)), centre_row("1020", date(2026, 1, 1),
                                                             odata_date(date(2026, 6, 30)))]
    texts = [centre_text("1010", name="Logistics")]
    assert sap_cost_centres(rows, texts, language="EN", source="SAP") == [
        CostCentre("1010", "Logistics", valid_from=date(2026, 1, 1)),
        CostCentre("1020", "1020", valid_from=date(2026, 1, 1), valid_to=date(2026, 6, 30))]


def test_sap_cost_centre_errors_name_every_record() -> None:
    rows = [centre_row("BAD CODE", date(2026, 1, 1)),
            centre_row("1010", date(2026, 1, 1)), {**centre_row("1010", date(2026, 1, 1)),
                                                   "ControllingArea": "B000"},
            centre_row("1030", date(2026, 1, 1), "yesterday")]
    with pytest.raises(InputErrors) as caught:
        sap_cost_centres(rows, [], language="EN", source="SAP A_CostCenter")
    messages = [str(e) for e in caught.value.errors]
    assert len(messages) == 3
    assert "SAP A_CostCenter: cost centre BAD CODE (controlling area A000)" in messages[0]
    assert "cost centre 1010" in messages[1] and "A000, B000" in messages[1]
    assert "cost centre 1030" in messages[2] and "ValidityEndDate" in messages[2]


def test_sap_account_types_by_gl_account_type_number_and_overrides() -> None:
    def kind(number: str, **row: object) -> AccountType:
        return sap_account_type(row, number, parse_account_types("7990=recovery"))

    assert kind("1000", GLAccountType="C") is A.ASSET
    assert kind("1500", GLAccountType="X") is A.ASSET
    assert kind("2100", GLAccountType="X") is A.LIABILITY
    assert kind("3000", GLAccountType="X") is A.EQUITY
    assert kind("4100", GLAccountType="P") is A.REVENUE
    assert kind("6100", GLAccountType="P") is A.EXPENSE
    assert kind("8100", GLAccountType="N") is A.EXPENSE
    assert kind("9400", GLAccountType="S") is A.EXPENSE
    assert kind("7990", GLAccountType="P") is A.RECOVERY
    assert kind("2200", IsBalanceSheetAccount=True) is A.LIABILITY  # no GLAccountType
    assert kind("6200", IsBalanceSheetAccount=False) is A.EXPENSE
    with pytest.raises(InputError, match="account_types=9100=liability"):
        kind("9100", GLAccountType="X")
    with pytest.raises(InputError, match="'Q'"):
        kind("6100", GLAccountType="Q")
    with pytest.raises(InputError, match="neither"):
        kind("6100")


def test_sap_accounts_leave_out_blocked_and_deleted_ones_and_take_the_long_text() -> None:
    rows = [{"ChartOfAccounts": "YCOA", "GLAccount": "0000006100", "GLAccountType": "P"},
            {"ChartOfAccounts": "YCOA", "GLAccount": "0000006110", "GLAccountType": "P",
             "AccountIsBlockedForPosting": True},
            {"ChartOfAccounts": "YCOA", "GLAccount": "0000006120", "GLAccountType": "P",
             "AccountIsMarkedForDeletion": True},
            {"ChartOfAccounts": "YCOA", "GLAccount": "0000006130", "GLAccountType": "P"}]
    texts = [{"ChartOfAccounts": "YCOA", "GLAccount": "0000006100", "Language": "EN",
              "GLAccountName": "HW maint.", "GLAccountLongName": "Hardware maintenance"},
             {"ChartOfAccounts": "YCOA", "GLAccount": "0000006130", "Language": "EN",
              "GLAccountName": "Cloud"}]
    assert sap_accounts(rows, texts, language="EN", source="SAP") == [
        GlAccount("6100", "Hardware maintenance", A.EXPENSE),
        GlAccount("6130", "Cloud", A.EXPENSE)]


def test_a_sap_account_that_cannot_map_names_the_record() -> None:
    rows = [{"ChartOfAccounts": "YCOA", "GLAccount": "9100", "GLAccountType": "X"}]
    with pytest.raises(InputError) as caught:
        sap_accounts(rows, [], language="EN", source="SAP https://s4 A_GLAccount")
    assert str(caught.value).startswith(
        "SAP https://s4 A_GLAccount: G/L account 9100 (chart of accounts YCOA), "
        "field 'GLAccountType': balance-sheet account 9100")


# -- Business Central ---------------------------------------------------------------------------


def test_bc_account_types_by_category_and_sub_category() -> None:
    def kind(category: str, sub: str = "", number: str = "1000") -> AccountType:
        return bc_account_type({"category": category, "subCategory": sub}, number,
                               parse_account_types("7990=recovery"))

    assert kind("Assets", "Equipment") is A.ASSET
    assert kind("Assets", "Accumulated Depreciation") is A.ACCUMULATED_DEPRECIATION
    assert kind("Liabilities") is A.LIABILITY
    assert kind("Equity") is A.EQUITY
    assert kind("Income") is A.REVENUE
    assert kind("CostOfGoodsSold") is A.EXPENSE
    assert kind("Expense") is A.EXPENSE
    assert kind("Expense", number="7990") is A.RECOVERY
    with pytest.raises(InputError, match="category"):
        kind("_x0020_")


def test_bc_accounts_are_posting_accounts_that_are_not_blocked() -> None:
    rows = [{"number": "10000", "displayName": "BALANCE SHEET", "accountType": "Heading",
             "category": "_x0020_"},
            {"number": "10100", "displayName": "Checking account", "accountType": "Posting",
             "category": "Assets", "subCategory": "Cash", "blocked": False},
            {"number": "10200", "displayName": "Old bank", "accountType": "Posting",
             "category": "Assets", "blocked": True},
            {"number": "19999", "displayName": "Total assets", "accountType": "End-Total"}]
    assert bc_accounts(rows, source="BC") == [GlAccount("10100", "Checking account", A.ASSET)]


def test_bc_cost_centres_and_company() -> None:
    assert bc_cost_centres([{"code": "SALES", "displayName": "Sales"}, {"code": "ADM"}],
                           source="BC") == [CostCentre("ADM", "ADM"), CostCentre("SALES", "Sales")]
    with pytest.raises(InputError, match="dimension value BAD VALUE"):
        bc_cost_centres([{"code": "BAD VALUE", "displayName": "x"}], source="BC")
    info = {"displayName": "CRONUS USA, Inc.", "currencyCode": "",
            "currentFiscalYearStartDate": "2026-07-01"}
    assert bc_company("CRONUS", info, fallback_currency="USD") == Company(
        "CRONUS", "CRONUS USA, Inc.", "USD", 7)


# -- merging with what is stored ----------------------------------------------------------------


def test_merging_cost_centres_keeps_what_the_erp_does_not_say() -> None:
    stored = {"1000": CostCentre("1000", "Ops", owner="olga@x.example", business_unit="OPS"),
              "1020": CostCentre("1020", "Logistics", parent="1000",
                                 valid_from=date(2020, 1, 1))}
    incoming = [CostCentre("1000", "Operations"),
                CostCentre("1020", "Logistics", business_unit="LOG"),
                CostCentre("1030", "Quality", parent="9999"),
                CostCentre("1040", "Warehouse", parent="1030")]

    with_validity = merge_cost_centres(incoming, stored, erp_validity=True)
    without = merge_cost_centres(incoming, stored, erp_validity=False)

    assert with_validity == [
        CostCentre("1000", "Operations", owner="olga@x.example", business_unit="OPS"),
        CostCentre("1020", "Logistics", parent="1000", business_unit="LOG"),
        CostCentre("1030", "Quality"),  # parent unknown: None
        CostCentre("1040", "Warehouse", parent="1030"),  # parent in the same sync: kept
    ]
    assert without[1].valid_from == date(2020, 1, 1)


def test_merging_accounts_keeps_the_stored_type() -> None:
    stored = {"7990": GlAccount("7990", "Recovery", A.RECOVERY)}
    incoming = [GlAccount("7990", "IT cost recovery", A.EXPENSE),
                GlAccount("6100", "Maintenance", A.EXPENSE)]
    assert merge_accounts(incoming, stored) == [
        GlAccount("7990", "IT cost recovery", A.RECOVERY),
        GlAccount("6100", "Maintenance", A.EXPENSE)]

"""ERP master data (company codes, cost centres, GL accounts) from the sandbox ERP over loopback:
SAP over OData v2, Business Central over REST, and the sync into a fresh database."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from client.erp import read_master_data, sync_master_data
from connectors.erp.sandbox import ChartAccount, ChartCostCentre, RunningSandbox, SandboxErp
from ledger.erp import ErpAmbiguousError, ErpProfile, ErpRejectedError, ErpUnavailableError
from ledger.errors import InputError, InputErrors
from ledger.reference import AccountType, Company, CostCentre, GlAccount
from ledger.services import erp_profiles, reference_data

COMPANY = "MRD1"
TIMEOUT = 1.0
LONG_NAME = "Manufacturing Engineering and Plant Services"  # 44: over SAP's 20 and 40
ACCOUNTS = [
    ChartAccount("1500", "IT equipment at cost", "asset"),
    ChartAccount("1590", "Accumulated depreciation - IT equipment", "accumulated_depreciation"),
    ChartAccount("2100", "Accounts payable", "liability"),
    ChartAccount("3000", "Share capital", "equity"),
    ChartAccount("4100", "IT services revenue", "revenue"),
    ChartAccount("6100", "Hardware maintenance", "expense"),
    ChartAccount("6900", "IT chargeback expense", "expense"),
    ChartAccount("6999", "Blocked for posting", "expense", blocked=True),
    ChartAccount("7990", "IT cost recovery (clearing)", "recovery"),
]
COST_CENTRES = [
    ChartCostCentre("1000", "Operations", "OPS", valid_from=date(2026, 1, 1)),
    ChartCostCentre("1010", LONG_NAME, "OPS", owner="anna.lee@meridian.example",
                    valid_from=date(2026, 1, 1)),
    ChartCostCentre("1020", "Logistics", "OPS", valid_from=date(2025, 7, 1),
                    valid_to=date(2026, 12, 31)),
    ChartCostCentre("6010", "IT Infrastructure", "ITS", valid_from=date(2026, 1, 1)),
]
COMPANIES = {"MRD1": "USD", "MRD2": "EUR"}
NAMES = {"MRD1": "Meridian Components Ltd", "MRD2": "Meridian GmbH"}
TYPES = "159=accumulated_depreciation,7990=recovery"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    with SandboxErp.start(data_dir=tmp_path_factory.mktemp("master-data"), companies=COMPANIES,
                          company_names=NAMES, accounts=ACCOUNTS,
                          cost_centres=COST_CENTRES) as running:
        yield running


def sap_profile(url: str, **settings: object) -> ErpProfile:
    return ErpProfile("sap", "sap-soap", url, COMPANY, "demo",
                      {"operation_timeout": TIMEOUT, "connect_timeout": TIMEOUT, **settings})


def bc_profile(url: str, **settings: object) -> ErpProfile:
    return ErpProfile("bc", "bc-rest", url, COMPANY, "demo",
                      {"tenant": "sandbox", "environment": "production",
                       "token_url": f"{url}/oauth2/token", "operation_timeout": TIMEOUT,
                       "connect_timeout": TIMEOUT, **settings})


def expected_accounts(*, mapped: dict[str, str] | None = None) -> tuple[GlAccount, ...]:
    kinds = mapped or {}
    return tuple(GlAccount(a.number, a.name, AccountType(kinds.get(a.number, a.kind)))
                 for a in ACCOUNTS if not a.blocked)


# -- reading ---------------------------------------------------------------------------------


def test_sap_master_data_reads_back_the_sandbox_chart(sandbox: RunningSandbox) -> None:
    data = read_master_data(sap_profile(sandbox.url, account_types=TYPES), secret="demo")

    assert data.companies == (Company("MRD1", "Meridian Components Ltd", "USD"),
                              Company("MRD2", "Meridian GmbH", "EUR"))
    assert data.cost_centres == (
        CostCentre("1000", "Operations", business_unit="OPS", valid_from=date(2026, 1, 1)),
        CostCentre("1010", LONG_NAME[:40], business_unit="OPS",
                   owner="anna.lee@meridian.example", valid_from=date(2026, 1, 1)),
        CostCentre("1020", "Logistics", business_unit="OPS", valid_from=date(2025, 7, 1),
                   valid_to=date(2026, 12, 31)),
        CostCentre("6010", "IT Infrastructure", business_unit="ITS",
                   valid_from=date(2026, 1, 1)),
    )
    assert data.accounts == expected_accounts()  # the blocked account is left out
    assert data.cost_centre_validity


def test_sap_account_types_without_settings_follow_gl_account_type_and_number(
        sandbox: RunningSandbox) -> None:
    data = read_master_data(sap_profile(sandbox.url), secret="demo")

    # SAP knows balance sheet (X) or P&L (P); neither says recovery or accumulated depreciation.
    assert data.accounts == expected_accounts(mapped={"1590": "asset", "7990": "expense"})


def test_business_central_master_data_reads_back_the_sandbox_chart(
        sandbox: RunningSandbox) -> None:
    data = read_master_data(bc_profile(sandbox.url, account_types="7990=recovery"),
                            secret="demo")

    assert data.companies == (Company("MRD1", "Meridian Components Ltd", "USD"),)
    assert data.cost_centres == tuple(CostCentre(c.code, c.name) for c in COST_CENTRES)
    # accumulated depreciation comes from the subCategory; recovery from the setting
    assert data.accounts == expected_accounts()
    assert not data.cost_centre_validity


def test_server_paging_is_followed_and_changes_nothing(
        sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    unpaged_sap = read_master_data(sap_profile(sandbox.url, account_types=TYPES), secret="demo")
    unpaged_bc = read_master_data(bc_profile(sandbox.url), secret="demo")
    monkeypatch.setattr("connectors.erp.sandbox.master.PAGE_SIZE", 3)
    monkeypatch.setattr("connectors.erp.sandbox.bc.PAGE_SIZE", 3)
    first_page = httpx.get(f"{sandbox.url}/sap/opu/odata/sap/API_GLACCOUNTINCHARTOFACCOUNTS_SRV"
                           f"/A_GLAccountInChartOfAccounts", auth=("demo", "demo")).json()["d"]
    assert len(first_page["results"]) == 3 and "skip=3" in first_page["__next"]

    assert read_master_data(sap_profile(sandbox.url, account_types=TYPES),
                            secret="demo") == unpaged_sap
    assert read_master_data(bc_profile(sandbox.url), secret="demo") == unpaged_bc


def test_a_wrong_password_is_a_rejection(sandbox: RunningSandbox) -> None:
    with pytest.raises(ErpRejectedError, match="HTTP 401"):
        read_master_data(sap_profile(sandbox.url), secret="wrong")
    with pytest.raises(ErpRejectedError, match="client credentials"):
        read_master_data(bc_profile(sandbox.url), secret="wrong")


def test_an_unknown_company_code_is_a_rejection(sandbox: RunningSandbox) -> None:
    profile = sap_profile(sandbox.url)
    other = ErpProfile(profile.name, profile.kind, profile.url, "XX99", profile.username,
                       profile.settings)
    with pytest.raises(ErpRejectedError, match="no company code XX99"):
        read_master_data(other, secret="demo")


def test_a_record_that_cannot_map_is_an_input_error_naming_it(tmp_path: Path) -> None:
    with SandboxErp.start(data_dir=tmp_path, companies={COMPANY: "USD"},
                          accounts=[ChartAccount("6100", "Maintenance"),
                                    ChartAccount("9100", "Intercompany", "liability")],
                          cost_centres=["1010"]) as sandbox:
        with pytest.raises(InputError) as caught:
            read_master_data(sap_profile(sandbox.url), secret="demo")
        message = str(caught.value)
        assert "G/L account 9100" in message and "chart of accounts YCOA" in message
        assert "account_types=9100=liability" in message
        # the setting the message names fixes it
        fixed = read_master_data(sap_profile(sandbox.url, account_types="9100=liability"),
                                 secret="demo")
        assert GlAccount("9100", "Intercompany", "liability") in fixed.accounts


def test_a_reply_over_the_size_cap_is_ambiguous(sandbox: RunningSandbox) -> None:
    with pytest.raises(ErpAmbiguousError, match="cap"):
        read_master_data(sap_profile(sandbox.url, max_response_bytes=300), secret="demo")
    with pytest.raises(ErpAmbiguousError, match="cap"):
        read_master_data(bc_profile(sandbox.url, max_response_bytes=300), secret="demo")


def test_a_refused_connection_means_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ErpUnavailableError):
        read_master_data(sap_profile(f"http://127.0.0.1:{port}"), secret="demo")


CANARY = "canary-Pw-5b1d0c7e"


def test_the_secret_never_reaches_the_logs(tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with SandboxErp.start(data_dir=tmp_path, secret=CANARY) as sandbox:
        read_master_data(sap_profile(sandbox.url), secret=CANARY)
        read_master_data(bc_profile(sandbox.url, account_types="7990=recovery"), secret=CANARY)
    assert caplog.records
    assert CANARY not in caplog.text


# -- hostile replies -------------------------------------------------------------------------


class Hostile:
    """A loopback server answering every OData read with one kind of hostile reply (and BC's
    token endpoint normally)."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.release = threading.Event()
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes,
                      media: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._send(200, json.dumps({"access_token": "t", "expires_in": 3600}).encode())

            def do_GET(self) -> None:
                if hostile.mode == "hang":
                    hostile.release.wait(10)
                    return
                if hostile.mode == "malformed":
                    self._send(200, b'{"d": {"results": [{"CompanyCode": "MR')
                elif hostile.mode == "foreign_next":
                    self._send(200, json.dumps({
                        "d": {"results": [], "__next": "http://evil.example/steal?$skip=1"},
                        "value": [], "@odata.nextLink": "http://evil.example/steal"}).encode())
                else:
                    self._send(500, b"<html>gateway error</html>", "text/html")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.05})
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hostile(request: pytest.FixtureRequest) -> Iterator[Hostile]:
    server = Hostile(request.param)
    yield server
    server.close()


@pytest.mark.parametrize(("hostile", "expected"), [
    ("hang", "did not answer|no reply within"),
    ("malformed", "not valid JSON"),
    ("foreign_next", "another server"),
    ("error", "HTTP 500"),
], indirect=["hostile"])
@pytest.mark.parametrize("kind", ["sap", "bc"])
def test_a_hostile_reply_is_ambiguous_within_the_timeout(hostile: Hostile, expected: str,
                                                         kind: str) -> None:
    profile = sap_profile(hostile.url) if kind == "sap" else bc_profile(hostile.url)
    started = time.monotonic()
    with pytest.raises(ErpAmbiguousError, match=expected):
        read_master_data(profile, secret="demo")
    assert time.monotonic() - started < TIMEOUT + 1.0


# -- sync ------------------------------------------------------------------------------------


def add_profile(app, profile: ErpProfile) -> None:
    with app.uow() as uow:
        erp_profiles.save_profile(uow=uow, profile=profile)
        uow.commit()


def stored(app) -> tuple[list[CostCentre], list[GlAccount]]:
    with app.uow(read_only=True) as uow:
        return (sorted(reference_data.list_cost_centres(uow=uow), key=lambda c: c.code),
                sorted(reference_data.list_accounts(uow=uow), key=lambda a: a.number))


def test_sync_creates_cost_centres_and_accounts_and_a_second_sync_changes_nothing(
        app, sandbox: RunningSandbox) -> None:
    add_profile(app, sap_profile(sandbox.url, account_types=TYPES))

    first = sync_master_data(app, "sap", secret="demo")
    second = sync_master_data(app, "sap", secret="demo")

    total = len(COST_CENTRES) + len(expected_accounts())
    assert (first.created, first.updated, first.unchanged) == (total, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, total)
    assert first.entities == {"cost_centre", "gl_account"}
    centres, accounts = stored(app)
    sap = read_master_data(sap_profile(sandbox.url, account_types=TYPES), secret="demo")
    assert centres == list(sap.cost_centres)
    assert accounts == list(expected_accounts())


def test_sync_keeps_local_parents_types_and_owners_the_erp_does_not_know(
        app, sandbox: RunningSandbox) -> None:
    with app.uow() as uow:
        reference_data.import_cost_centres(uow=uow, cost_centres=[
            *_staged(CostCentre("1000", "Ops (old name)", owner="olga@meridian.example")),
            *_staged(CostCentre("1020", "Logistics", parent="1000", business_unit="LOG")),
        ])
        reference_data.import_accounts(uow=uow, accounts=_staged(
            GlAccount("1590", "Old name", AccountType.ACCUMULATED_DEPRECIATION)))
        uow.commit()
    add_profile(app, sap_profile(sandbox.url))  # no account_types: 1590 maps to asset

    changes = sync_master_data(app, "sap", secret="demo")
    again = sync_master_data(app, "sap", secret="demo")

    centres, accounts = stored(app)
    by_code = {c.code: c for c in centres}
    assert by_code["1000"].name == "Operations"  # the ERP's name wins
    assert by_code["1000"].owner == "olga@meridian.example"  # SAP has none: the local stays
    assert by_code["1020"].parent == "1000"  # SAP reports no parent: the local one stays
    assert by_code["1020"].business_unit == "OPS"  # SAP's profit centre wins
    assert by_code["1020"].valid_to == date(2026, 12, 31)  # SAP keeps validity
    assert by_code["1010"].parent is None  # new, parent unknown
    assert {a.number: a for a in accounts}["1590"] == GlAccount(
        "1590", "Accumulated depreciation - IT equipment", AccountType.ACCUMULATED_DEPRECIATION)
    assert (changes.created, changes.updated) == (len(accounts) + len(centres) - 3, 3)
    assert not again.changed


def test_a_business_central_sync_after_a_sap_sync_keeps_what_bc_does_not_hold(
        app, sandbox: RunningSandbox) -> None:
    add_profile(app, sap_profile(sandbox.url, account_types=TYPES))
    add_profile(app, bc_profile(sandbox.url, account_types="7990=recovery"))
    sync_master_data(app, "sap", secret="demo")
    before = stored(app)

    changes = sync_master_data(app, "bc", secret="demo")

    # BC's dimension values carry code and name only: validity, business unit, owner stay;
    # the one change is the name SAP cut to 40 characters, which BC holds in full.
    assert (changes.updated, changes.created) == (1, 0)
    centres, accounts = stored(app)
    assert accounts == before[1]
    assert centres == [c if c.code != "1010" else dataclasses.replace(c, name=LONG_NAME)
                       for c in before[0]]


def test_a_sync_that_cannot_store_everything_stores_nothing(app, tmp_path: Path) -> None:
    # "6100" and "06100" are the same account once SAP's leading zeros are dropped: the
    # accounts import refuses the duplicate after the cost centres were written in the same
    # unit of work, which must roll them back.
    with SandboxErp.start(data_dir=tmp_path, companies={COMPANY: "USD"},
                          accounts=["6100", "06100"], cost_centres=["1010", "1020"]) as sandbox:
        add_profile(app, sap_profile(sandbox.url))
        with pytest.raises(InputErrors, match="account 6100 appears twice"):
            sync_master_data(app, "sap", secret="demo")

    assert stored(app) == ([], [])


def _staged(*values):
    from ledger.staging import staged

    return staged(list(values), "test")


def test_syncing_the_demo_company_from_its_sandbox_changes_nothing(demo_app,
                                                                   tmp_path: Path) -> None:
    # The sandbox serves the demo company's chart; what the demo loaded is what SAP holds.
    with SandboxErp.start(data_dir=tmp_path / "erp") as sandbox:
        add_profile(demo_app, sap_profile(sandbox.url))
        before = stored(demo_app)

        changes = sync_master_data(demo_app, "sap", secret="demo")

    assert not changes.changed
    assert changes.unchanged == len(before[0]) + len(before[1])
    assert stored(demo_app) == before

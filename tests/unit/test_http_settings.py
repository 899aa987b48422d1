"""One value for how every HTTP adapter connects (connectors.http.HttpSettings), and one log
filter that keeps every adapter's secrets out of the logs."""

from __future__ import annotations

import http.server
import logging
import math
import threading
from pathlib import Path
from typing import Any

import pytest

import connectors.erp.business_central as business_central
import connectors.erp.sap_soap as sap_soap
import connectors.inventory.jamf as jamf
import connectors.kubernetes as kubernetes
import connectors.ticketing.jira as jira
import connectors.ticketing.servicenow as servicenow
import connectors.ticketing.transport as transport
from client.erp import settings_for
from connectors.erp.hardening import protect_secrets
from connectors.http import HttpSettings
from ledger.erp import ErpProfile
from ledger.errors import InputError

SITE = "https://example.test"


def sap(**values: Any) -> Any:
    return sap_soap.SapSoapSettings(SITE, "COMM_USER", **values)


def business(**values: Any) -> Any:
    return business_central.BusinessCentralSettings(SITE, "t", "prod", "app", f"{SITE}/token",
                                                    **values)


def jira_cloud(**values: Any) -> Any:
    return jira.JiraCloudSettings(SITE, "OPS", "ops@example.test", **values)


def service_now(**values: Any) -> Any:
    return servicenow.ServiceNowSettings(SITE, "integration", **values)


def jamf_pro(**values: Any) -> Any:
    return jamf.JamfSettings(SITE, client_id="id", client_secret="secret-id", **values)


@pytest.mark.parametrize(("build", "name", "value"), [
    (sap, "operation_timeout", 0),
    (sap, "connect_timeout", -1.0),
    (business, "operation_timeout", math.nan),
    (business, "max_response_bytes", 0),
    (jira_cloud, "timeout", 0),
    (jira_cloud, "connect_timeout", math.inf),
    (service_now, "max_response_bytes", -5),
    (service_now, "timeout", True),
    (jamf_pro, "timeout", 0),
    (jamf_pro, "max_reply_bytes", 0),
])
def test_a_timeout_or_reply_cap_that_cannot_work_is_refused_under_the_adapters_own_name(
        build: Any, name: str, value: object) -> None:
    with pytest.raises(InputError) as caught:
        build(**{name: value})

    assert caught.value.field == name
    assert caught.value.value is value


@pytest.mark.parametrize("build", [sap, business, jira_cloud, service_now, jamf_pro])
def test_a_ca_bundle_that_does_not_exist_is_refused_and_its_path_is_named(
        build: Any, tmp_path: Path) -> None:
    missing = tmp_path / "corporate-ca.pem"

    with pytest.raises(InputError, match=r"corporate-ca\.pem") as caught:
        build(verify_tls=str(missing))

    assert caught.value.field == "verify_tls"
    assert str(missing) in str(caught.value)


def test_an_existing_ca_bundle_reaches_both_http_stacks(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    settings = sap(verify_tls=str(bundle), connect_timeout=3, operation_timeout=7)

    options = settings.zeep_transport_options(auth=("COMM_USER", "pw"))
    assert options["session"].verify == str(bundle)
    assert options["session"].trust_env is False
    assert (options["timeout"], options["operation_timeout"]) == (3, (3, 7))
    assert settings.httpx_timeout().connect == 3
    assert settings.httpx_timeout().read == 7
    assert settings.http == HttpSettings(connect_timeout=3, operation_timeout=7,
                                         verify_tls=str(bundle))


def test_every_adapter_states_its_connection_as_one_http_settings_value() -> None:
    assert isinstance(sap(), HttpSettings)
    assert isinstance(business(), HttpSettings)
    assert jira_cloud(timeout=5).http == HttpSettings(
        connect_timeout=10.0, operation_timeout=5, max_response_bytes=5 * 1024 * 1024)
    assert service_now().http.trust_env is False
    # Jamf and OpenCost: one timeout for connecting and reading, proxies as before.
    assert jamf_pro(timeout=4, max_reply_bytes=1000).http == HttpSettings(
        connect_timeout=4, operation_timeout=4, max_response_bytes=1000, trust_env=True)
    assert kubernetes.opencost_http(12).operation_timeout == 12


def test_an_erp_profile_with_a_missing_ca_bundle_is_refused_when_it_is_added(
        tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere" / "ca.pem")
    profile = ErpProfile("sap", "sap-soap", SITE, "1010", "U",
                         {"verify_tls": missing, "operation_timeout": "5"})

    with pytest.raises(InputError, match="does not exist") as caught:
        settings_for(profile)

    assert (caught.value.field, caught.value.value) == ("verify_tls", missing)
    with pytest.raises(InputError) as zero:
        settings_for(ErpProfile("sap", "sap-soap", SITE, "1010", "U",
                                {"operation_timeout": "0"}))
    assert zero.value.field == "operation_timeout"


@pytest.mark.parametrize("adapter", [sap_soap, business_central, transport, jamf, kubernetes])
def test_a_secret_in_any_adapters_log_record_is_redacted(
        adapter: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    protect_secrets("canary-adapter-7731")
    logger = logging.getLogger(adapter.__name__)
    seen: list[str] = []

    class Printing(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(self.format(record))

    # A printing handler configured on the package logger itself also sees the redacted text.
    own = Printing()
    logging.getLogger("connectors").addHandler(own)
    try:
        logger.warning("token=%s", "canary-adapter-7731")
        try:
            raise RuntimeError("server echoed canary-adapter-7731")
        except RuntimeError:
            logger.exception("call failed")
    finally:
        logging.getLogger("connectors").removeHandler(own)

    assert "canary-adapter-7731" not in caplog.text
    assert not any("canary-adapter-7731" in line for line in seen)
    assert caplog.records[0].getMessage() == "token=***"
    assert len(seen) == 2


class _BigReply(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"code": 200, "data": [{}], "padding": "' + b"x" * 5000 + b'"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()  # no Content-Length: the cap must stop the read itself
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_an_opencost_reply_over_the_cap_is_refused_and_one_under_it_is_read() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BigReply)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(InputError, match="1000-byte cap"):
            kubernetes.fetch_opencost(url, window="lastmonth",
                                      http=kubernetes.opencost_http(5, max_reply_bytes=1000))
        assert kubernetes.fetch_opencost(url, window="lastmonth", timeout=5).records == ()
    finally:
        server.shutdown()
        server.server_close()

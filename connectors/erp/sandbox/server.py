"""The sandbox ERP: a threaded WSGI server on loopback speaking SAP and Business Central.

Endpoints (``{url}`` is the server's base URL):

==========================================================  =====================================
``GET  /sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi?wsdl``  the SAP WSDL (address
                                                            pointing here)
``POST /sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi``  Journal Entry - Post (SOAP)
``GET  /sap/opu/odata/sap/API_JOURNALENTRYITEMBASIC_SRV/A_JournalEntryItemBasic``  OData v2 items
``GET  /sap/opu/odata/sap/API_COSTCENTER_SRV/A_CostCenter[Text]``  master data, OData v2 (see
``GET  /sap/opu/odata/sap/API_GLACCOUNTINCHARTOFACCOUNTS_SRV/...``  :mod:`.master`): cost centres,
``GET  /sap/opu/odata/sap/API_COMPANYCODE_SRV/A_CompanyCode``  G/L accounts, company codes
``POST /oauth2/token``                                      OAuth2 client credentials (for BC)
``/v2.0/{tenant}/{environment}/api/v2.0/companies(...)/...``  Business Central API v2.0
``GET  /sandbox/documents[?system=&external_reference=&company_code=]``  posted documents (JSON)
``GET|POST|DELETE /sandbox/faults``                         fault state; force or clear faults
``GET  /sandbox/health``                                    liveness
==========================================================  =====================================

SAP endpoints take HTTP Basic (``demo``/``demo`` unless told otherwise); Business Central takes a
bearer token from ``/oauth2/token`` for the same pair as client id and secret. The ``/sandbox``
admin endpoints take no credentials: the server is meant for loopback.

Forcing faults: ``POST /sandbox/faults`` with ``{"kind": "commit_then_error", "count": 2}`` makes
the next two posting requests meet that fault; ``{"rates": {"error_before_commit": 0.1}}``
replaces the random rates; ``DELETE /sandbox/faults`` clears forced faults.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socketserver
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from connectors.erp.hardening import loads_exact
from connectors.erp.sandbox.bc import API_PREFIX, TOKEN_PATH, BusinessCentralService
from connectors.erp.sandbox.chart import ChartAccount, ChartCostCentre, SandboxChart
from connectors.erp.sandbox.faults import FaultKind, FaultPlan
from connectors.erp.sandbox.master import SapMasterDataService
from connectors.erp.sandbox.sap import ODATA_PATH, SOAP_PATH, SapService
from connectors.erp.sandbox.store import SandboxStore
from connectors.erp.sandbox.wire import STATUS_TEXT, Reply, Request, json_reply, text_reply

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 8 * 1024 * 1024
DEFAULT_PORT = 8765
DATABASE_NAME = "sandbox-erp.sqlite3"


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    """Logs requests at DEBUG to the module logger instead of printing to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class SandboxApp:
    """The WSGI application: routes requests to the SAP and Business Central services."""

    def __init__(self, *, store: SandboxStore, chart: SandboxChart, faults: FaultPlan,
                 username: str, secret: str, cost_centre_dimension: str,
                 slow_seconds: float, hang_seconds: float) -> None:
        self.store = store
        self.faults = faults
        self.username = username
        self._secret = secret
        self.stopping = threading.Event()
        self.sap = SapService(store, chart, faults, slow_seconds=slow_seconds,
                              hang_seconds=hang_seconds, stopping=self.stopping)
        self.sap_master = SapMasterDataService(chart)
        self.bc = BusinessCentralService(
            store, chart, faults, client_id=username, client_secret=secret,
            cost_centre_dimension=cost_centre_dimension, slow_seconds=slow_seconds,
            hang_seconds=hang_seconds, stopping=self.stopping)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        try:
            reply = self._dispatch(environ)
        except Exception:
            log.exception("sandbox ERP: unexpected error")
            reply = text_reply(500, "internal error in the sandbox ERP")
        if reply.hang_seconds:
            self.stopping.wait(reply.hang_seconds)
        headers = [("Content-Type", reply.content_type),
                   ("Content-Length", str(len(reply.body))), *reply.headers.items()]
        start_response(f"{reply.status} {STATUS_TEXT.get(reply.status, 'Status')}", headers)
        return [reply.body]

    def _dispatch(self, environ: dict[str, Any]) -> Reply:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length > MAX_REQUEST_BYTES:
            return text_reply(413, "request too large")
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {key[5:].replace("_", "-").lower(): value
                   for key, value in environ.items() if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        raw_query = environ.get("QUERY_STRING", "")
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        request = Request(
            method=environ["REQUEST_METHOD"].upper(),
            path=environ.get("PATH_INFO", "/"),
            query=dict(parse_qsl(raw_query, keep_blank_values=True)),
            headers=headers,
            body=body,
            base_url=f"http://{host}",
        )
        path = request.path
        if path.startswith("/sandbox/"):
            return self._admin(request)
        if path == TOKEN_PATH and request.method == "POST":
            return self.bc.token(request)
        match = API_PREFIX.match(path)
        if match:
            return self.bc.handle(request, match["rest"])
        master = self.sap_master.serves(path)
        if path == SOAP_PATH or path.startswith(ODATA_PATH + "/") or master:
            if not self._basic_ok(request):
                return Reply(401, b"Logon failed", "text/plain",
                             {"WWW-Authenticate": 'Basic realm="SAP NetWeaver Application Server"'})
            if path == SOAP_PATH:
                if request.method == "GET" and "wsdl" in {k.lower() for k in request.query}:
                    return self.sap.wsdl(request)
                if request.method == "POST":
                    return self.sap.post(request)
                return text_reply(405, "method not allowed")
            if request.method != "GET":
                return text_reply(405, "the OData service is read-only")
            if master:
                return self.sap_master.handle(request)
            return self.sap.odata(request, path[len(ODATA_PATH) + 1:])
        return text_reply(404, f"no such resource: {path}")

    def _basic_ok(self, request: Request) -> bool:
        pair = request.basic_auth()
        return (pair is not None and pair[0] == self.username
                and secrets.compare_digest(pair[1], self._secret))

    def _admin(self, request: Request) -> Reply:
        if request.path == "/sandbox/health":
            return json_reply(200, {"status": "ok"})
        if request.path == "/sandbox/documents" and request.method == "GET":
            documents = self.store.documents(
                system=request.query.get("system"),
                company=request.query.get("company_code"),
                external_reference=request.query.get("external_reference"))
            return json_reply(200, {"documents": [d.as_json() for d in documents]})
        if request.path == "/sandbox/faults":
            if request.method == "GET":
                return json_reply(200, self.faults.state())
            if request.method == "DELETE":
                self.faults.clear()
                return json_reply(200, self.faults.state())
            if request.method == "POST":
                try:
                    body = loads_exact(request.body or b"{}")
                    if "kind" in body:
                        self.faults.force(str(body["kind"]), int(body.get("count", 1)))
                    if "rates" in body:
                        self.faults.set_rates({k: float(v) for k, v in body["rates"].items()})
                except (ValueError, TypeError, AttributeError) as exc:
                    kinds = ", ".join(k.value for k in FaultKind)
                    return json_reply(400, {"error": f"{exc}; kinds are: {kinds}"})
                return json_reply(200, self.faults.state())
        return text_reply(404, f"no such sandbox resource: {request.path}")


@dataclass
class RunningSandbox:
    """A started sandbox ERP; stop it with :meth:`stop` or use it as a context manager.

    Attributes:
        url: base URL, e.g. ``http://127.0.0.1:8765``.
        data_dir: where its SQLite file lives.
        username, secret: the credentials it accepts (SAP Basic; BC client id and secret).
    """

    url: str
    data_dir: Path
    username: str
    secret: str
    company_codes: tuple[str, ...]
    _app: SandboxApp
    _server: _ThreadingWSGIServer
    _thread: threading.Thread | None

    @property
    def faults(self) -> FaultPlan:
        return self._app.faults

    @property
    def store(self) -> SandboxStore:
        return self._app.store

    def force_fault(self, kind: str, count: int = 1) -> None:
        """Make the next ``count`` posting requests meet fault ``kind``."""
        self._app.faults.force(kind, count)

    def documents(self, **filters: str) -> list[dict[str, Any]]:
        """Posted documents as ``GET /sandbox/documents`` returns them."""
        return [d.as_json() for d in self._app.store.documents(
            system=filters.get("system"), company=filters.get("company_code"),
            external_reference=filters.get("external_reference"))]

    def stop(self) -> None:
        self._app.stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
        self._app.store.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class SandboxErp:
    """Builds and starts sandbox ERP servers."""

    @staticmethod
    def start(host: str = "127.0.0.1", port: int = 0, data_dir: Path | str | None = None, *,
              fault_rate: float = 0.0, seed: int = 0,
              accounts: Iterable[str | ChartAccount] | None = None,
              cost_centres: Iterable[str | ChartCostCentre] | None = None,
              companies: Mapping[str, str] | None = None,
              closed_periods: Iterable[str] = (),
              company_names: Mapping[str, str] | None = None,
              fault_rates: Mapping[str, float] | None = None,
              username: str = "demo",
              secret: str = "demo",  # noqa: S107 (the documented demo pair)
              cost_centre_dimension: str = "COSTCENTER",
              slow_seconds: float = 0.3, hang_seconds: float = 5.0,
              background: bool = True) -> RunningSandbox:
        """Start a sandbox ERP and return it running (in a background thread by default).

        Args:
            host, port: where to listen; port 0 picks a free port (see ``.url``).
            data_dir: directory of its SQLite file; required (posted documents persist there).
            fault_rate: probability that a posting request meets a fault, spread over all kinds.
            seed: seeds the per-request fault draws.
            accounts, cost_centres, companies: master data (company code -> currency); the
                demo company's values where not given. Accounts and cost centres are codes
                or :class:`~connectors.erp.sandbox.chart.ChartAccount` /
                :class:`~connectors.erp.sandbox.chart.ChartCostCentre` records (names,
                kinds, business units, validity served as master data).
            company_names: company code -> name, served as master data.
            closed_periods: ``YYYY-MM`` periods that refuse postings.
            fault_rates: per-kind rates (``FaultKind`` values); overrides ``fault_rate``.
            username, secret: accepted credentials (``demo``/``demo`` by default).
            slow_seconds: delay of a slow reply; hang_seconds: silence after a commit-then-
                timeout (longer than the client's timeout).
            background: False returns without starting the serving thread (for serve_forever).
        """
        if data_dir is None:
            raise ValueError("the sandbox ERP needs a data directory for its SQLite file")
        directory = Path(data_dir)
        chart = SandboxChart.of(companies=dict(companies) if companies is not None else None,
                                accounts=accounts, cost_centres=cost_centres,
                                closed_periods=closed_periods, company_names=company_names)
        store = SandboxStore(directory / DATABASE_NAME)
        app = SandboxApp(
            store=store, chart=chart,
            faults=FaultPlan(seed=seed, fault_rate=fault_rate, rates=fault_rates),
            username=username, secret=secret, cost_centre_dimension=cost_centre_dimension,
            slow_seconds=slow_seconds, hang_seconds=hang_seconds)
        server = make_server(host, port, app, server_class=_ThreadingWSGIServer,
                             handler_class=_QuietHandler)
        actual_port = server.server_address[1]
        shown_host = f"[{host}]" if ":" in host else host
        thread = None
        if background:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                      name=f"sandbox-erp-{actual_port}", daemon=True)
            thread.start()
        return RunningSandbox(f"http://{shown_host}:{actual_port}", directory, username, secret,
                              tuple(chart.companies), app, server, thread)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve_forever(host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                  data_dir: Path | str | None = None, *, fault_rate: float = 0.0, seed: int = 0,
                  echo: Any = print, **options: Any) -> None:
    """Run the sandbox ERP in the foreground until interrupted (``apportion sandbox-erp``).

    ``echo`` receives the lines to show the user (the URLs and credentials to configure).
    Other keyword options are those of :meth:`SandboxErp.start`.
    """
    if data_dir is None:
        raise ValueError("the sandbox ERP needs a data directory (--data DIR)")
    if not _is_loopback(host):
        echo(f"warning: listening on {host}, not loopback; the /sandbox admin endpoints take "
             f"no credentials")
    sandbox = SandboxErp.start(host, port, data_dir, fault_rate=fault_rate, seed=seed,
                               background=False, **options)
    echo(f"sandbox ERP listening on {sandbox.url} (data in {sandbox.data_dir})")
    echo(f"  SAP SOAP:  {sandbox.url}{SOAP_PATH}  (WSDL: ?wsdl)")
    echo(f"  SAP OData: {sandbox.url}{ODATA_PATH}")
    echo(f"  SAP master data: {sandbox.url}/sap/opu/odata/sap/API_COSTCENTER_SRV, "
         "API_GLACCOUNTINCHARTOFACCOUNTS_SRV, API_COMPANYCODE_SRV")
    echo(f"  BC API:    {sandbox.url}/v2.0/sandbox/production/api/v2.0  "
         f"(token: {sandbox.url}{TOKEN_PATH})")
    echo(f"  companies: {', '.join(sandbox.company_codes)}; user {sandbox.username}; "
         f"fault rate {fault_rate}, seed {seed}")
    try:
        sandbox._server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()

"""What the service-desk adapters say when the wire fails: no server, no reply, a redirect, a
reply too large or not JSON. Each is a TicketingError naming the system and what was being done."""

from __future__ import annotations

import re
import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from connectors.ticketing import TicketingError
from connectors.ticketing.jira import JiraCloudSettings, JiraCloudTicketSink
from connectors.ticketing.servicenow import ServiceNowSettings, ServiceNowTicketSink
from ledger.finding import Finding

FINDING = Finding(key="missing-tag:i-0abc", title="i-0abc lacks CostCenter", description="Tag it.")


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


@contextmanager
def loopback(app: Any) -> Iterator[str]:
    """Serve the WSGI ``app`` on 127.0.0.1 (a free port) in a thread; yield its base URL.
    The fake Jira and ServiceNow of the other ticketing tests run in it too."""
    server = make_server("127.0.0.1", 0, app, server_class=_ThreadingServer,
                         handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


class CannedReply:
    """Answers every request with ``reply``: (status, headers, body)."""

    def __init__(self) -> None:
        self.reply: tuple[int, dict[str, str], bytes] = (204, {}, b"")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        status, headers, body = self.reply
        start_response(f"{status} X", [*headers.items(), ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture
def canned() -> Iterator[tuple[CannedReply, str]]:
    app = CannedReply()
    with loopback(app) as url:
        yield app, url


def jira(url: str, **settings: Any) -> JiraCloudTicketSink:
    return JiraCloudTicketSink(JiraCloudSettings(base_url=url, project_key="OPS",
                                                 email="bot@example.com", **settings),
                               api_token="canary-token-0001")


def servicenow(url: str, **settings: Any) -> ServiceNowTicketSink:
    return ServiceNowTicketSink(ServiceNowSettings(base_url=url, username="bot", **settings),
                                password="canary-password-0001")


def test_no_server_listening_is_a_ticketing_error_naming_the_address() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with jira(url) as sink, pytest.raises(TicketingError) as caught:
        sink.open_or_update(FINDING)
    assert str(caught.value).startswith(f"Jira: searching for the issue of finding "
                                        f"{FINDING.key} failed: cannot connect to {url}")
    assert caught.value.status is None and caught.value.system == "Jira"


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts connections in the backlog, never replies
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with servicenow(url, timeout=0.3) as sink, \
                pytest.raises(TicketingError, match=r"ServiceNow: .* failed: no reply within "
                                                    r"0.3 s"):
            sink.close(FINDING.key, "cleared")


def test_a_redirect_is_not_followed(canned) -> None:
    app, url = canned
    app.reply = (302, {"Location": "https://login.example.net/"}, b"")
    with jira(url) as sink, pytest.raises(TicketingError, match=re.escape(
            "HTTP 302 redirect to 'https://login.example.net/'")):
        sink.open_or_update(FINDING)


def test_a_reply_over_the_size_cap_is_refused_unread(canned) -> None:
    app, url = canned
    app.reply = (200, {"Content-Type": "application/json"}, b"[" + b"0," * 5000 + b"0]")
    with servicenow(url, max_response_bytes=1000) as sink, \
            pytest.raises(TicketingError, match="over the 1000 cap"):
        sink.open_or_update(FINDING)


def test_an_html_page_where_json_was_expected_is_unreadable(canned) -> None:
    app, url = canned
    app.reply = (200, {"Content-Type": "text/html"}, b"<html>Instance hibernating</html>")
    with servicenow(url) as sink, pytest.raises(TicketingError, match="unreadable reply "
                                                                    r"\(HTTP 200, text/html"):
        sink.open_or_update(FINDING)


def test_an_html_error_page_is_carried_as_its_words(canned) -> None:
    app, url = canned
    app.reply = (503, {"Content-Type": "text/html"}, b"<html>\n<b>Instance\nhibernating"
                                                         b"</b></html>")
    with servicenow(url) as sink, pytest.raises(TicketingError, match=r"HTTP 503: Instance "
                                                                    r"hibernating$"):
        sink.open_or_update(FINDING)


def test_a_registered_secret_is_redacted_in_every_connectors_logger_even_new_ones(
        caplog: pytest.LogCaptureFixture) -> None:
    """One silent handler on each package logger redacts records of every module below it,
    so an adapter added tomorrow needs no list of logger names kept in step."""
    import base64
    import logging

    from connectors.ticketing import protect_ticketing_secrets

    protect_ticketing_secrets("canary-token-redact-42", username="bot@example.com")
    basic = base64.b64encode(b"bot@example.com:canary-token-redact-42").decode()
    caplog.set_level(logging.DEBUG)
    for name in ("connectors.ticketing.jira", "connectors.inventory.not_written_yet.deep",
                 "httpx._client", "httpcore.http11"):
        logging.getLogger(name).info("Authorization: Basic %s (token %s)", basic,
                                     "canary-token-redact-42")
    assert len(caplog.records) == 4
    assert "canary-token-redact-42" not in caplog.text and basic not in caplog.text
    assert caplog.text.count("Authorization: Basic *** (token ***)") == 4

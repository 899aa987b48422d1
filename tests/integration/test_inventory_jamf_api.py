"""Pulling the computers inventory from Jamf Pro: a fake Jamf on loopback serves tokens and
pages; the client authenticates, pages to the end, renews an expired token once, and turns
every failure into an error that says what happened, with no secret in the logs."""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.inventory.jamf import JamfError, JamfProClient, JamfSettings
from ledger.errors import InputError, InputErrors

PASSWORD = "canary-jamf-password-7Q"
SECRET = "canary-jamf-client-secret-9Z"


def computer(number: int) -> dict[str, object]:
    return {"id": str(number), "udid": f"00000000-0000-4000-8000-{number:012d}",
            "general": {"name": f"mac-{number:03d}", "reportDate": "2026-11-26T09:00:00Z"},
            "hardware": {"serialNumber": f"C02X{number:04d}", "macAddress": "6A:2C:4B:B7:65:B5"}}


class FakeJamf:
    """Jamf Pro's token and computers-inventory endpoints, with switchable misbehaviour."""

    def __init__(self, computers: int = 5) -> None:
        self.computers = [computer(n) for n in range(1, computers + 1)]
        self.mode = "ok"
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self.tokens_issued = 0
        self.expire_next = False
        # Refusals served (in order) before the next GETs are answered: (status, Retry-After).
        self.busy: list[tuple[int, str | None]] = []
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes, retry_after: str | None = None) -> None:
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                fake.requests.append(("POST", url.path, form))
                fake.tokens_issued += 1
                token = f"token-{fake.tokens_issued}"
                if url.path == "/api/v1/auth/token":
                    import base64
                    expected = base64.b64encode(f"api:{PASSWORD}".encode()).decode()
                    if self.headers.get("Authorization") != f"Basic {expected}":
                        self._send(401, b'{"httpStatus": 401}')
                        return
                    self._send(200, json.dumps({"token": token,
                                                "expires": "2030-01-01T00:00:00Z"}).encode())
                elif url.path == "/api/oauth/token":
                    if form.get("client_secret") != [SECRET] or form.get("grant_type") != [
                            "client_credentials"]:
                        self._send(401, b'{"error": "invalid_client"}')
                        return
                    self._send(200, json.dumps({"access_token": token, "expires_in": 60,
                                                "token_type": "Bearer"}).encode())
                else:
                    self._send(404, b"{}")

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                fake.requests.append(("GET", url.path, query))
                if self.headers.get("Authorization") != f"Bearer token-{fake.tokens_issued}":
                    self._send(401, b'{"httpStatus": 401}')
                    return
                if fake.busy:
                    status, retry_after = fake.busy.pop(0)
                    self._send(status, b'{"httpStatus": %d}' % status, retry_after)
                    return
                if fake.expire_next:
                    fake.expire_next = False
                    fake.tokens_issued += 100  # the current token is no longer valid
                    self._send(401, b'{"httpStatus": 401}')
                    return
                if fake.mode == "hang":
                    fake.release.wait(5)
                    return
                if fake.mode == "error":
                    self._send(500, b"<html>oops</html>")
                    return
                if fake.mode == "malformed":
                    self._send(200, b'{"totalCount": 5, "results": [')
                    return
                page, size = int(query["page"][0]), int(query["page-size"][0])
                results = fake.computers[page * size:(page + 1) * size]
                if fake.mode == "bad_record" and page == 1:
                    results = [{"general": {"name": "no id"}}]
                if fake.mode == "endless":
                    results = fake.computers[:1]
                    body = {"totalCount": 10**9, "results": results}
                else:
                    body = {"totalCount": len(fake.computers), "results": results}
                self._send(200, json.dumps(body).encode())

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
def jamf() -> Iterator[FakeJamf]:
    server = FakeJamf()
    yield server
    server.close()


def basic(jamf: FakeJamf, **changes: object) -> JamfSettings:
    settings = {"base_url": jamf.url, "username": "api", "password": PASSWORD, "page_size": 2,
                "timeout": 1.0, **changes}
    return JamfSettings(**settings)  # type: ignore[arg-type]


def test_every_computer_comes_page_by_page_with_a_bearer_token(jamf: FakeJamf) -> None:
    progress: list[int] = []
    with JamfProClient(basic(jamf)) as client:
        staged = client.computers(progress=progress.append)
    assert [s.value.record_id for s in staged] == ["1", "2", "3", "4", "5"]
    assert progress == [2, 4, 5]
    gets = [r for r in jamf.requests if r[0] == "GET"]
    assert [q["page"] for _, _, q in gets] == [["0"], ["1"], ["2"]]
    assert gets[0][2]["section"] == ["GENERAL", "HARDWARE", "USER_AND_LOCATION",
                                      "OPERATING_SYSTEM", "APPLICATIONS"]
    assert jamf.tokens_issued == 1
    assert staged[0].source == f"jamf {jamf.url} page 0"
    assert staged[0].value.serial == "C02X0001"


def test_an_api_client_gets_its_token_by_client_credentials(jamf: FakeJamf) -> None:
    settings = JamfSettings(base_url=jamf.url, client_id="apportion", client_secret=SECRET,
                            page_size=100, timeout=1.0)
    with JamfProClient(settings) as client:
        assert len(client.computers()) == 5
    assert jamf.requests[0][:2] == ("POST", "/api/oauth/token")


def test_an_expired_token_is_renewed_once(jamf: FakeJamf) -> None:
    with JamfProClient(basic(jamf)) as client:
        list(client.pages())  # first token
        jamf.expire_next = True
        assert len(client.computers()) == 5
    assert jamf.tokens_issued > 100  # a second token was fetched


def test_wrong_credentials_say_so_without_leaking_the_password(
        jamf: FakeJamf, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with JamfProClient(basic(jamf, password="wrong-" + PASSWORD)) as client, \
            pytest.raises(JamfError, match="refused the credentials"):
        client.computers()
    assert PASSWORD not in caplog.text


@pytest.mark.parametrize(("mode", "expected"), [
    ("hang", "did not answer"),
    ("error", "answered 500"),
    ("malformed", "not valid JSON"),
    ("endless", "did not end within 3 pages"),
])
def test_a_misbehaving_jamf_fails_the_pull_with_the_reason(
        jamf: FakeJamf, mode: str, expected: str) -> None:
    jamf.mode = mode
    with JamfProClient(basic(jamf, timeout=0.3, max_pages=3)) as client, \
            pytest.raises(JamfError, match=expected):
        client.computers()


def test_a_bad_computer_on_any_page_fails_the_whole_pull(jamf: FakeJamf) -> None:
    jamf.mode = "bad_record"
    with JamfProClient(basic(jamf)) as client, pytest.raises(InputErrors) as raised:
        client.computers()
    [error] = raised.value.errors
    assert (error.source, error.row, error.field) == (
        f"jamf {jamf.url} page 1", "$.results[0]", "id")


def test_settings_need_credentials() -> None:
    with pytest.raises(InputError, match="client id and secret"):
        JamfSettings(base_url="https://example.jamfcloud.com")


def test_a_throttled_jamf_is_waited_out_as_long_as_it_asks(jamf: FakeJamf) -> None:
    jamf.busy = [(429, "2"), (503, None)]
    waits: list[float] = []
    with JamfProClient(basic(jamf), sleep=waits.append, rng=random.Random(7)) as client:
        staged = client.computers()
    assert len(staged) == 5
    gets = [q["page"] for method, _, q in jamf.requests if method == "GET"]
    assert gets == [["0"], ["0"], ["0"], ["1"], ["2"]]  # page 0 asked three times
    assert 2 <= waits[0] <= 3  # Retry-After: 2, plus at most a second of jitter
    assert 0.5 <= waits[1] <= 2  # no Retry-After: the second step of the back-off, jittered


def test_a_jamf_that_stays_busy_fails_with_its_status_after_bounded_retries(
        jamf: FakeJamf) -> None:
    jamf.busy = [(429, "1")] * 10
    waits: list[float] = []
    with JamfProClient(basic(jamf, retries=3), sleep=waits.append) as client, \
            pytest.raises(JamfError, match=r"still busy \(HTTP 429.*after 3 waits") as raised:
        client.computers()
    assert raised.value.status == 429 and len(waits) == 3
    from client.scheduler import busy_reason
    assert busy_reason(raised.value) == "HTTP 429"  # a scheduled pull backs off, too
    assert len(jamf.busy) == 6  # four asks: the first and three retries


def test_a_retry_after_longer_than_allowed_is_not_waited_for(jamf: FakeJamf) -> None:
    jamf.busy = [(503, "3600")]
    waits: list[float] = []
    with JamfProClient(basic(jamf, max_wait=30), sleep=waits.append) as client, \
            pytest.raises(JamfError, match="asks to wait 3600 s, more than the 30 s") as raised:
        client.computers()
    assert raised.value.status == 503 and waits == []


def test_refused_credentials_name_the_status_and_not_the_secret(
        jamf: FakeJamf, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-" + SECRET
    settings = JamfSettings(base_url=jamf.url, client_id="apportion", client_secret=wrong,
                            timeout=1.0)
    with JamfProClient(settings) as client, pytest.raises(JamfError) as raised:
        client.computers()
    assert raised.value.status == 401 and "HTTP 401" in str(raised.value)
    assert wrong not in str(raised.value) and wrong not in caplog.text

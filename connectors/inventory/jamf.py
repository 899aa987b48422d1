"""Jamf Pro computers inventory: saved ``/v1/computers-inventory`` pages, or a pull from the API.

A page is ``{"totalCount": N, "results": [ComputerInventoryResponse, ...]}``. From each
computer: ``id`` (record id, required), ``udid`` (the Mac's hardware UUID),
``general.name``, ``general.assetTag``, ``general.reportDate`` / ``lastContactTime`` (seen at:
the later), ``hardware.serialNumber``, ``macAddress``, ``altMacAddress``, ``make``, ``model``,
``operatingSystem.name`` and ``version``, ``userAndLocation.username`` (else ``email``) as
owner, ``buildingId`` and ``room`` as location, ``departmentId`` as cost centre, and
``applications`` (name, version) as software.

:class:`JamfProClient` pulls every page over HTTPS (httpx): a bearer token from
``/api/v1/auth/token`` (user and password) or ``/api/oauth/token`` (API client id and secret,
client-credentials grant), pages of ``page-size`` sorted by id, a timeout on every call, a cap
on every reply's size, a fresh token once on a 401. A 429 or 503 is waited out (the server's
``Retry-After``, else a jittered exponential back-off; a few times at most, see
:mod:`connectors.throttle`) before it fails the pull. Every :class:`JamfError` from a reply
carries its HTTP ``status``. Secrets are registered with the log filter of
:mod:`connectors.erp.hardening` and never logged.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from connectors.erp.hardening import protect_secrets
from connectors.http import MIB, HttpSettings, ResponseTooLargeError
from connectors.inventory.reading import MAX_ERRORS, JsonReader, load_json, load_json_text
from connectors.throttle import BUSY_STATUSES, Backoff, retry_after_seconds
from ledger.discovery import DiscoveredDevice, Software, SourceKind, normalise_macs
from ledger.errors import ApportionError, InputError, InputErrors
from ledger.staging import Staged, index_unique

log = logging.getLogger(__name__)

SECTIONS = ("GENERAL", "HARDWARE", "USER_AND_LOCATION", "OPERATING_SYSTEM", "APPLICATIONS")


def read_jamf_page(path: Path) -> list[Staged[DiscoveredDevice]]:
    """The computers of one saved page (or a list of pages) of ``/v1/computers-inventory``."""
    source = str(path)
    document = load_json(path, source)
    pages = document if isinstance(document, list) else [document]
    staged: list[Staged[DiscoveredDevice]] = []
    errors: list[InputError] = []
    for number, page in enumerate(pages):
        where = f"$[{number}]" if isinstance(document, list) else "$"
        try:
            staged.extend(computers_of_page(page, source=source, where=where,
                                            first_row=len(staged) + 1))
        except InputErrors as exc:
            errors.extend(exc.errors)
        except InputError as exc:
            errors.append(exc)
    index_unique(staged, lambda d: d.record_id, what="computer", field="id", errors=errors)
    if errors:
        raise InputErrors(errors[:MAX_ERRORS], source=source)
    if not staged:
        raise InputError("the file lists no computer", source=source)
    return staged


def computers_of_page(page: Any, *, source: str, where: str = "$", first_row: int = 1,
                      ) -> list[Staged[DiscoveredDevice]]:
    """The computers of one page, parsed; every bad computer is reported."""
    reply = JsonReader(page, source=source, where=where)
    if "results" not in reply.value:
        raise reply.error("not a computers-inventory page", field="results")
    staged: list[Staged[DiscoveredDevice]] = []
    errors: list[InputError] = []
    for offset, computer in enumerate(reply.children("results")):
        try:
            staged.append(Staged(_computer(computer), source, first_row + offset))
        except InputError as exc:
            errors.append(exc)
            if len(errors) >= MAX_ERRORS:
                break
    if errors:
        raise InputErrors(errors, source=source)
    return staged


def _computer(computer: JsonReader) -> DiscoveredDevice:
    computer_id = computer.text("id", required=True)
    assert computer_id is not None
    general = computer.child("general")
    hardware = computer.child("hardware")
    system = computer.child("operatingSystem")
    user = computer.child("userAndLocation")
    seen = [t for t in ((general.time("reportDate"), general.time("lastContactTime"))
                        if general else ()) if t is not None]
    software = []
    for app in computer.children("applications"):
        name = app.text("name", required=True)
        assert name is not None
        software.append(Software(None, name, app.text("version")))
    location = None
    if user is not None:
        parts = [p for p in (user.text("buildingId"), user.text("room")) if p]
        location = "/".join(parts) or None
    os_name = None
    if system is not None:
        os_name = " ".join(p for p in (system.text("name"), system.text("version")) if p) or None
    return DiscoveredDevice(
        source=SourceKind.JAMF.value,
        record_id=computer_id,
        seen_at=max(seen) if seen else None,
        hostname=general.text("name") if general else None,
        serial=hardware.text("serialNumber") if hardware else None,
        macs=(normalise_macs([hardware.text("macAddress"), hardware.text("altMacAddress")])
              if hardware else ()),
        hardware_uuid=computer.text("udid"),
        manufacturer=hardware.text("make") if hardware else None,
        model=hardware.text("model") if hardware else None,
        os=os_name,
        owner=(user.text("username") or user.text("email")) if user else None,
        location=location,
        cost_centre=user.text("departmentId") if user else None,
        asset_tag=general.text("assetTag") if general else None,
        software=tuple(software),
    )


# --- the API --------------------------------------------------------------------------------

class JamfError(ApportionError):
    """Jamf Pro refused, failed or did not answer; nothing was imported.

    Attributes:
        status: the HTTP status of Jamf's reply, None when there was no reply (a timeout, no
            connection). 429 and 503 mean "busy": the scheduler backs off from a busy source.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class JamfSettings:
    """How to reach Jamf Pro.

    Attributes:
        base_url: ``https://yourco.jamfcloud.com`` (the API is under ``/api``).
        username, password: for a token from ``/api/v1/auth/token`` (basic auth).
        client_id, client_secret: for an OAuth token (API client; preferred by Jamf).
        page_size: computers per page (Jamf allows up to 2,000).
        timeout: seconds for connecting and for each read.
        max_reply_bytes: a reply larger than this is refused.
        max_pages: a safety stop against a server that never ends.
        sections: the inventory sections requested.
        retries: waits allowed per request when Jamf answers 429 or 503.
        max_wait: the longest single wait (seconds); a ``Retry-After`` asking for more fails
            the pull at once instead.
        verify_tls: True, or the path of a CA bundle (an on-premises Jamf with a private CA).
    """

    base_url: str
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    page_size: int = 200
    timeout: float = 30.0
    max_reply_bytes: int = 64 * MIB
    max_pages: int = 10_000
    sections: tuple[str, ...] = SECTIONS
    retries: int = 4
    max_wait: float = 60.0
    verify_tls: bool | str = True

    def __post_init__(self) -> None:
        if not (self.client_id and self.client_secret) and not (self.username and self.password):
            raise InputError("Jamf needs an API client id and secret, or a user and password",
                             field="client_id")
        if not 1 <= self.page_size <= 2000:
            raise InputError("the page size must be 1 to 2000", field="page_size",
                             value=self.page_size)
        if self.retries < 0 or self.max_wait < 0:
            raise InputError("retries and the longest wait cannot be negative",
                             field="retries", value=self.retries)
        _ = self.http  # the timeout, the cap and the CA bundle

    @property
    def http(self) -> HttpSettings:
        """The connection as :class:`HttpSettings`: one ``timeout`` for connecting and for
        each read; proxies from the environment honoured, as they always were."""
        return HttpSettings.named(
            {"connect_timeout": "timeout", "operation_timeout": "timeout",
             "max_response_bytes": "max_reply_bytes"}, source="Jamf settings",
            connect_timeout=self.timeout, operation_timeout=self.timeout,
            max_response_bytes=self.max_reply_bytes, verify_tls=self.verify_tls,
            trust_env=True)


class JamfProClient:
    """Pulls the computers inventory from Jamf Pro, page by page.

    Args:
        settings: where and how to authenticate.
        transport: an httpx transport (tests pass one; by default httpx's own).
        sleep: how to wait out a busy Jamf (tests record the waits instead).
        rng: the back-off's jitter.
    """

    def __init__(self, settings: JamfSettings, *,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self._sleep = sleep
        self._rng = rng or random.Random()
        protect_secrets(*(s for s in (settings.password, settings.client_secret) if s),
                        username=settings.username)
        self._http = settings.http
        self._client = self._http.httpx_client(
            base_url=settings.base_url.rstrip("/"), transport=transport,
            headers={"Accept": "application/json"})
        self._token: str | None = None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> JamfProClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _authenticate(self) -> str:
        s = self.settings
        if s.client_id and s.client_secret:
            reply = self._send("POST", "/api/oauth/token", data={
                "grant_type": "client_credentials", "client_id": s.client_id,
                "client_secret": s.client_secret}, authenticated=False)
            token = reply.get("access_token") if isinstance(reply, dict) else None
        else:
            assert s.username is not None and s.password is not None
            reply = self._send("POST", "/api/v1/auth/token", auth=(s.username, s.password),
                               authenticated=False)
            token = reply.get("token") if isinstance(reply, dict) else None
        if not isinstance(token, str) or not token:
            raise JamfError("Jamf Pro's token reply holds no token")
        protect_secrets(token)
        return token

    def _send(self, method: str, path: str, *, authenticated: bool = True,
              retry_auth: bool = True, **kwargs: Any) -> Any:
        """One request's JSON reply: a fresh token once on a 401, a busy Jamf waited out."""
        s = self.settings
        backoff = Backoff(retries=s.retries, max_wait=s.max_wait, rng=self._rng)
        while True:
            status, body, retry_after = self._exchange(method, path, authenticated, **kwargs)
            if status == 401 and authenticated and retry_auth:
                self._token, retry_auth = None, False
                continue
            if status not in BUSY_STATUSES:
                break
            asked = retry_after_seconds(retry_after)
            wait = backoff.next_wait(asked)
            if wait is None:
                raise JamfError(self._busy_message(method, path, status, asked, backoff),
                                status=status)
            log.info("Jamf Pro answered %d to %s %s; asking again in %.1f s", status, method,
                     path, wait)
            self._sleep(wait)
        if status == 401:
            raise JamfError(f"Jamf Pro refused the credentials ({method} {path}: HTTP 401); "
                            "check the API client id and secret, or the user and password",
                            status=status)
        if not 200 <= status < 300:
            raise JamfError(f"Jamf Pro answered {status} to {method} {path}", status=status)
        try:
            return load_json_text(body.decode("utf-8"), f"Jamf Pro {path}")
        except UnicodeDecodeError:
            raise JamfError(f"Jamf Pro's reply to {method} {path} is not UTF-8",
                            status=status) from None
        except InputError as exc:
            raise JamfError(f"Jamf Pro's reply to {method} {path} is not valid JSON: "
                            f"{exc.message}", status=status) from None

    def _busy_message(self, method: str, path: str, status: int, asked: float | None,
                      backoff: Backoff) -> str:
        if asked is not None and asked > self.settings.max_wait:
            return (f"Jamf Pro is busy (HTTP {status} to {method} {path}) and asks to wait "
                    f"{asked:g} s, more than the {self.settings.max_wait:g} s allowed; "
                    "try again later")
        return (f"Jamf Pro is still busy (HTTP {status} to {method} {path}) after "
                f"{backoff.attempts} waits; try again later")

    def _exchange(self, method: str, path: str, authenticated: bool, **kwargs: Any
                  ) -> tuple[int, bytes, str | None]:
        """Send once: (status, body, Retry-After header); no reply at all is a JamfError."""
        headers = {}
        if authenticated:
            if self._token is None:
                self._token = self._authenticate()
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            with self._client.stream(method, path, headers=headers, **kwargs) as response:
                status = response.status_code
                retry_after = response.headers.get("Retry-After")
                if status == 401 or status in BUSY_STATUSES:
                    return status, b"", retry_after  # the body of a refusal is not needed
                return status, self._http.read_capped(response), None
        except httpx.TimeoutException:
            raise JamfError(f"Jamf Pro did not answer {method} {path} within "
                            f"{self.settings.timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise JamfError(f"cannot reach Jamf Pro for {method} {path}: "
                            f"{type(exc).__name__}") from None
        except ResponseTooLargeError as exc:
            raise JamfError(f"Jamf Pro's reply to {method} {path} is too large: {exc}",
                            status=status) from None

    def pages(self) -> Iterator[Any]:
        """Each page's JSON, in id order, until ``totalCount`` computers have come."""
        s = self.settings
        received = 0
        for page in range(s.max_pages):
            params = [("page", str(page)), ("page-size", str(s.page_size)),
                      ("sort", "id:asc"), *(("section", x) for x in s.sections)]
            reply = self._send("GET", "/api/v1/computers-inventory", params=params)
            results = reply.get("results") if isinstance(reply, dict) else None
            total = reply.get("totalCount") if isinstance(reply, dict) else None
            if not isinstance(results, list) or not isinstance(total, int):
                raise JamfError(f"page {page} of the computers inventory has no results list "
                                "and totalCount")
            yield reply
            received += len(results)
            if not results or received >= total:
                return
        raise JamfError(f"the computers inventory did not end within {s.max_pages} pages")

    def computers(self, *, progress: Callable[[int], None] | None = None,
                  ) -> list[Staged[DiscoveredDevice]]:
        """Every computer, staged; source ``jamf <base url> page N``, row = position in page.

        All or nothing: a bad computer on any page fails the pull with every error found.
        """
        staged: list[Staged[DiscoveredDevice]] = []
        errors: list[InputError] = []
        for number, page in enumerate(self.pages()):
            source = f"jamf {self.settings.base_url} page {number}"
            try:
                staged.extend(computers_of_page(page, source=source))
            except InputErrors as exc:
                errors.extend(exc.errors)
            if progress is not None:
                progress(len(staged))
        index_unique(staged, lambda d: d.record_id, what="computer", field="id", errors=errors)
        if errors:
            raise InputErrors(errors[:MAX_ERRORS], source=f"jamf {self.settings.base_url}")
        return staged

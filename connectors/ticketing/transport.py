"""JSON over HTTPS with Basic authentication, for the service-desk adapters (httpx).

All I/O of :mod:`connectors.ticketing.jira` and :mod:`connectors.ticketing.servicenow` goes
through :class:`RestTransport`: it sets the timeouts, refuses redirects and oversized replies,
and turns every failure into a :class:`connectors.ticketing.TicketingError` that carries the
service desk's own error text (never a credential).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from connectors.erp.hardening import REDACTED
from connectors.http import MIB, HttpSettings, ResponseTooLargeError
from connectors.ticketing import MAX_ERROR_TEXT, TicketingError, one_line, protect_ticketing_secrets

log = logging.getLogger(__name__)

_TAG = re.compile(r"<[^>]*>")
_HINTS = {
    401: " (check the user name and the API token or password)",
    403: " (the account lacks a permission this needs)",
    404: " (check the base URL, project or table)",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceDeskConnection:
    """The connection part of a service desk's settings, under the names its settings and
    config files have always used (``timeout``, not ``operation_timeout``); checked as
    :class:`connectors.http.HttpSettings`, errors naming these fields.

    Attributes:
        connect_timeout, timeout: seconds (connecting; each read or write).
        verify_tls: True, False or the path of a CA bundle (which must exist).
        max_response_bytes: larger replies are refused.
    """

    connect_timeout: float = 10.0
    timeout: float = 30.0
    verify_tls: bool | str = True
    max_response_bytes: int = 5 * MIB

    @property
    def http(self) -> HttpSettings:
        """These settings as :class:`HttpSettings` (no proxy from the environment)."""
        return HttpSettings.named(
            {"operation_timeout": "timeout"}, source=type(self).__name__,
            connect_timeout=self.connect_timeout, operation_timeout=self.timeout,
            verify_tls=self.verify_tls, max_response_bytes=self.max_response_bytes)

    def check_connection(self) -> None:
        """Raise :class:`ledger.errors.InputError` naming a bad timeout, cap or CA bundle."""
        _ = self.http


class RestTransport:
    """One service desk's REST API.

    Args:
        system: the name used in messages ("Jira", "ServiceNow").
        base_url: scheme, host and optional path prefix; request paths are relative to it.
        username, secret: HTTP Basic credentials; the secret is registered for log redaction.
        error_text: pulls the human-readable error out of a parsed JSON error reply (None when
            it finds none; the raw body text is used instead).
        http: timeouts, TLS and the reply cap (larger replies are refused unread).
    """

    def __init__(self, *, system: str, base_url: str, username: str, secret: str,
                 error_text: Callable[[Any], str | None], http: HttpSettings) -> None:
        protect_ticketing_secrets(secret, username=username)
        self.system = system
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self._error_text = error_text
        self._settings = http
        self._http = http.httpx_client(base_url=self.base_url,
                                       auth=httpx.BasicAuth(username, secret))

    def __repr__(self) -> str:
        return f"RestTransport({self.system!r}, {self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, *, doing: str, body: Any = None,
             params: dict[str, str] | None = None) -> Any:
        """Send one request; return the parsed JSON reply, or None for an empty one.

        Args:
            doing: what the call is for, for messages ("searching for the ticket of ...").
        Raises:
            TicketingError: no connection, a timeout, a redirect, a 4xx or 5xx, or a reply
                that is too large or not JSON.
        """
        headers = {"Accept": "application/json"}
        content = None
        if body is not None:
            content = json.dumps(body, ensure_ascii=False, default=str).encode()
            headers["Content-Type"] = "application/json"
        try:
            with self._http.stream(method, path, params=params, content=content,
                                   headers=headers) as response:
                raw = self._settings.read_capped(response)
                status = response.status_code
                reason = response.reason_phrase
                media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                location = response.headers.get("Location")
        except httpx.ConnectError as exc:
            raise self._error(f"{doing} failed: cannot connect to {self.base_url} "
                              f"({self._clean(str(exc)) or type(exc).__name__})") from None
        except httpx.TimeoutException:
            raise self._error(f"{doing} failed: no reply within "
                              f"{self._settings.operation_timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise self._error(f"{doing} failed: the connection broke "
                              f"({type(exc).__name__})") from None
        except ResponseTooLargeError as exc:
            raise self._error(f"{doing} failed: {exc}") from None
        log.debug("%s %s %s: HTTP %d", self.system, method, path, status)
        if 300 <= status < 400:
            raise self._error(f"{doing} failed: HTTP {status} redirect to {location!r}; "
                              f"check the base URL", status=status)
        parsed: Any = None
        if raw.strip() and "json" in media:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
        if status >= 400:
            detail = self._detail(parsed, raw, html="html" in media) or reason or "no detail"
            raise self._error(f"{doing} failed with HTTP {status}: {detail}"
                              f"{_HINTS.get(status, '')}", status=status, detail=detail)
        if not raw.strip():
            return None
        if parsed is None:
            raise self._error(f"{doing} gave an unreadable reply (HTTP {status}, "
                              f"{media or 'no content type'}, not JSON)", status=status)
        return parsed

    def _detail(self, parsed: Any, raw: bytes, *, html: bool) -> str:
        text = None
        if parsed is not None:
            try:
                text = self._error_text(parsed)
            except (AttributeError, KeyError, TypeError, ValueError):
                text = None
        if not text:
            text = raw.decode("utf-8", errors="replace")
            if html:  # an error page from a proxy or a hibernating instance: keep its words
                text = _TAG.sub(" ", text)
        return self._clean(one_line(text, MAX_ERROR_TEXT))

    def _clean(self, text: str) -> str:
        """A server that echoes the credential must not carry it into our messages."""
        return text.replace(self._secret, REDACTED) if self._secret else text

    def _error(self, message: str, *, status: int | None = None,
               detail: str | None = None) -> TicketingError:
        return TicketingError(f"{self.system}: {message}", system=self.system, status=status,
                              detail=detail)

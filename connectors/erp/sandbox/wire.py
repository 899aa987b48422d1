"""Plain request and reply values passed between the sandbox's WSGI app and its services."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from connectors.erp.hardening import dumps_exact


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]   # lower-case names
    body: bytes
    base_url: str             # scheme://host:port the client used

    def basic_auth(self) -> tuple[str, str] | None:
        value = self.headers.get("authorization", "")
        if not value.lower().startswith("basic "):
            return None
        try:
            user, _, secret = base64.b64decode(value[6:].strip()).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user, secret

    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:].strip() if value.lower().startswith("bearer ") else None


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    hang_seconds: float = 0.0   # wait this long before answering (commit-then-timeout)


STATUS_TEXT = {
    200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
    404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
    500: "Internal Server Error", 503: "Service Unavailable",
}


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, dumps_exact(payload).encode("utf-8"),
                 "application/json; charset=utf-8", headers or {})


def bc_error(status: int, code: str, message: str) -> Reply:
    """Business Central's error shape: ``{"error": {"code": ..., "message": ...}}``."""
    return json_reply(status, {"error": {"code": code, "message": message}})


def text_reply(status: int, text: str) -> Reply:
    return Reply(status, text.encode("utf-8"))


def html_error_page(status: int) -> Reply:
    """What an ICM or gateway in front of the ERP answers on an internal error."""
    reason = STATUS_TEXT.get(status, "Error")
    body = (f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1>"
            f"<p>The request could not be processed.</p></body></html>")
    return Reply(status, body.encode("utf-8"), "text/html; charset=utf-8")


def _laughs(level: int) -> bytes:
    inner = b"&lol%d;" % (level - 1) if level > 1 else b"&lol;"
    return b' <!ENTITY lol%d "%s">\n' % (level, inner * 10)


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(_laughs(level) for level in range(1, 10))
    + b']>\n<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/">'
    b"<soap-env:Body><lolz>&lol9;</lolz></soap-env:Body></soap-env:Envelope>"
)

"""What every ERP adapter shares to stay safe on the wire.

- Secrets never reach a log: :func:`protect_secrets` registers a password, a client secret or a
  bearer token (and the Basic ``user:password`` token made from it) with a filter installed on
  the loggers of zeep, requests/urllib3, httpx and httpcore, which rewrites any record that
  carries one into ``***``. The adapters themselves never log a secret or a whole message body.
- Reply bodies are read with a size cap (:func:`connectors.http.read_capped_httpx`, importable
  from here too), so a hostile or broken server cannot exhaust memory.
- JSON amounts stay exact: :func:`dumps_exact` writes ``Decimal`` as a JSON number from its exact
  text, :func:`loads_exact` reads JSON numbers back as ``Decimal``; a float never appears.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import httpx

# The capped read moved to connectors.http with the settings it reads; kept importable here.
from connectors.http import ResponseTooLargeError as ResponseTooLargeError
from connectors.http import read_capped_httpx as read_capped_httpx

# The loggers of the libraries we drive, and of every adapter of ours, by package. A filter on
# a logger sees only that very logger's records, but a handler on a logger sees every record of
# its descendants on the way up to the handlers that print them; so a silent handler carrying
# the redacting filter sits on each package logger (see :class:`_RedactingHandler`) and covers
# every module below it, including adapters added later.
WATCHED_LOGGERS = (
    "zeep",
    "urllib3",
    "requests",
    "httpx",
    "httpcore",
    "connectors",
)

REDACTED = "***"


class SecretRedactingFilter(logging.Filter):
    """Rewrites log records that contain a registered secret; never drops a record."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *secrets: str) -> None:
        with self._lock:
            # Very short strings would redact half the log; they are not secrets worth the name.
            self._secrets.update(s for s in secrets if s and len(s) >= 4)

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's bug, not ours to hide
            return True
        redacted = self._redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = self._redact(str(record.exc_info[1]))
            if exc_text != str(record.exc_info[1]):
                record.exc_info = None
                record.exc_text = f"(exception text redacted) {exc_text}"
        return True


class _RedactingHandler(logging.Handler):
    """Prints nothing: its filter rewrites each passing record in place, before the record
    propagates to the handlers that print it (the logger's own handlers come first).

    Being a handler, it would also stop Python's last resort (warnings to stderr when nothing
    configured logging); so when no printing handler is up the chain, it hands the (redacted)
    record to the last resort itself."""

    def emit(self, record: logging.LogRecord) -> None:
        last = logging.lastResort
        if last is None or record.levelno < last.level:
            return
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None:
            if any(not isinstance(h, _RedactingHandler) for h in logger.handlers):
                return
            logger = logger.parent if logger.propagate else None
        last.handle(record)


_FILTER = SecretRedactingFilter()
_HANDLER = _RedactingHandler()
_HANDLER.addFilter(_FILTER)
_installed = False
_install_lock = threading.Lock()


def _install() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        for name in WATCHED_LOGGERS:
            logger = logging.getLogger(name)
            logger.addFilter(_FILTER)  # records logged on the package logger itself
            if _HANDLER not in logger.handlers:
                # ... and those of every module below it; first, so that a printing handler
                # configured on the same logger earlier sees the record already redacted.
                logger.handlers.insert(0, _HANDLER)
        _installed = True


def protect_secrets(*secrets: str, username: str | None = None) -> None:
    """Never let these secrets (nor the HTTP Basic token built from them) reach a log record.

    Args:
        secrets: passwords, client secrets, bearer tokens.
        username: when given, the base64 ``username:secret`` Basic token is protected too.
    """
    _install()
    extra: list[str] = []
    for secret in secrets:
        if secret and username is not None:
            extra.append(base64.b64encode(f"{username}:{secret}".encode()).decode("ascii"))
    _FILTER.add(*secrets, *extra)


def dumps_exact(value: Any) -> str:
    """JSON text in which every ``Decimal`` is a number written from its exact digits."""
    placeholders: dict[str, str] = {}

    def convert(item: Any) -> Any:
        if isinstance(item, Decimal):
            token = f"__decimal_{uuid.uuid4().hex}__"
            placeholders[f'"{token}"'] = format(item, "f")
            return token
        if isinstance(item, float):
            raise TypeError("floats are not allowed in ERP payloads; use Decimal")
        if isinstance(item, dict):
            return {key: convert(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [convert(inner) for inner in item]
        return item

    text = json.dumps(convert(value), ensure_ascii=False)
    for token, number in placeholders.items():
        text = text.replace(token, number)
    return text


def loads_exact(data: bytes | str) -> Any:
    """Parse JSON with every non-integer number as ``Decimal`` (never float)."""
    return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"JSON constant {name} is not a valid amount")


def same_origin(url: str, base: str) -> bool:
    """True when ``url`` points at the same scheme, host and port as ``base`` (paging links)."""
    a, b = httpx.URL(url), httpx.URL(base)
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def first_text(items: Iterable[str | None]) -> str:
    """The first non-empty item, stripped, or ``""``."""
    for item in items:
        if item and item.strip():
            return item.strip()
    return ""

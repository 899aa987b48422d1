"""Service-desk tickets and owner mail for findings (:class:`ledger.ports.TicketSink`,
:class:`ledger.ports.Notifier`).

- :class:`connectors.ticketing.jira.JiraCloudTicketSink`: Jira Cloud, REST API v3.
- :class:`connectors.ticketing.servicenow.ServiceNowTicketSink`: ServiceNow Table API
  (``incident`` by default, or ``sc_task``/``task``).
- :class:`connectors.ticketing.mail.SmtpNotifier`: a plain-text mail to the cost centre's owner.

Every adapter keeps one ticket per finding key without any local state: the key (or a hash of
it) is written on the ticket when it is opened and looked up on every call, so a restart, a
second machine or a lost database row cannot open a duplicate. A fingerprint of the evidence is
kept on the ticket too, so an unchanged finding costs one search and no write.

Every failure the caller should hear of (no connection, a timeout, a refusal, a 5xx, an
unreadable reply) is a :class:`TicketingError` carrying the service desk's own error text.
Secrets are registered with the log redaction of :mod:`connectors.erp.hardening`, which covers
every ``connectors.*`` logger (this package's included); no adapter logs a request or reply body.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from connectors.erp.hardening import protect_secrets
from ledger.errors import ApportionError

# Longest service-desk error text carried into a TicketingError (some return whole HTML pages).
MAX_ERROR_TEXT = 500


class TicketingError(ApportionError):
    """A service desk or mail server could not be reached, or refused what was asked.

    Attributes:
        system: "Jira", "ServiceNow" or "SMTP".
        status: the HTTP status (or SMTP reply code) when the server answered, else None.
        detail: the server's own error text, shortened to ``MAX_ERROR_TEXT`` characters.
    """

    def __init__(self, message: str, *, system: str, status: int | None = None,
                 detail: str | None = None) -> None:
        self.system = system
        self.status = status
        self.detail = detail
        super().__init__(message)


def protect_ticketing_secrets(secret: str | None, *, username: str | None = None) -> None:
    """Keep ``secret`` (and the HTTP Basic token ``username:secret``) out of every log record
    of httpx, httpcore and this package."""
    if secret:
        protect_secrets(secret, username=username)


def evidence_fingerprint(evidence: Mapping[str, Any]) -> str:
    """A hex SHA-256 of the evidence as canonical JSON: equal evidence, equal fingerprint."""
    canonical = json.dumps(evidence, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_digest(finding_key: str, length: int = 32) -> str:
    """A hex digest of the finding key, safe where the key's own characters are not (Jira
    labels, length-limited fields)."""
    return hashlib.sha256(finding_key.encode()).hexdigest()[:length]


def evidence_value(value: Any) -> str:
    """One evidence value as text: None is "-", a list of plain values is comma-separated,
    anything nested is compact JSON."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(
            isinstance(item, str | int | float) or item is None for item in value):
        return ", ".join("-" if item is None else str(item) for item in value)
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return str(value)


def evidence_text(evidence: Mapping[str, Any]) -> str:
    """The evidence as ``name: value`` lines in key order ("(none)" when empty)."""
    if not evidence:
        return "(none)"
    return "\n".join(f"{name}: {evidence_value(evidence[name])}" for name in sorted(evidence))


def one_line(text: str, limit: int) -> str:
    """``text`` without line breaks or control characters, cut to ``limit`` characters."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


__all__ = [
    "TicketingError",
    "evidence_fingerprint",
    "evidence_text",
    "evidence_value",
    "key_digest",
    "one_line",
    "protect_ticketing_secrets",
]

"""Tickets for findings in ServiceNow, over the Table API (httpx, Basic auth).

One record per finding key in ``settings.table`` (``incident`` by default; ``sc_task`` or
``task`` work too), found again on every call, never kept locally:

- the record's ``correlation_id`` is the finding key (or ``apportion:<SHA-256 of the key>``
  when the key is longer than the field's 100 characters or holds a ``^``, which would break
  the encoded query) and ``correlation_display`` is "Apportion"; the description ends with the
  key and the evidence fingerprint;
- the open record is found with ``GET /api/now/table/<table>?sysparm_query=
  correlation_id=<id>^active=true^stateNOT IN<done states>`` (a resolved incident stays
  ``active`` until it is closed, hence the state condition); results whose correlation id
  differs in case are ignored (the instance's database compares case-insensitively);
- none open: ``POST`` with short_description, description (with the evidence), urgency and
  impact mapped from the severity, and ``settings.extra_fields`` (assignment group, caller,
  category...);
- open, evidence changed (fingerprint differs): one ``PATCH`` that adds a work note with the new
  evidence and rewrites the description's evidence (so the fingerprint follows); unchanged:
  nothing written;
- ``close``: ``PATCH`` state, close code and close notes (the resolution). A later finding with
  the same key opens a new record: the resolved one is no longer searched.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.ticketing import (
    TicketingError,
    evidence_fingerprint,
    evidence_text,
    key_digest,
    one_line,
)
from connectors.ticketing.transport import RestTransport, ServiceDeskConnection
from ledger.errors import InputError
from ledger.finding import Finding, Severity, TicketRef

log = logging.getLogger(__name__)

SYSTEM = "servicenow"
MAX_CORRELATION_ID = 100
MAX_SHORT_DESCRIPTION = 160
MAX_RESULTS = 10
# ServiceNow's 1 (high) to 3 (low); the default priority matrix makes critical P1, high P2,
# medium P3 and low P5.
DEFAULT_URGENCY: Mapping[Severity, str] = {
    Severity.LOW: "3", Severity.MEDIUM: "2", Severity.HIGH: "1", Severity.CRITICAL: "1"}
DEFAULT_IMPACT: Mapping[Severity, str] = {
    Severity.LOW: "3", Severity.MEDIUM: "2", Severity.HIGH: "2", Severity.CRITICAL: "1"}
# Per table: the closing state, close code, and the states in which a record counts as done.
TABLE_DEFAULTS: Mapping[str, tuple[str, str | None, tuple[str, ...]]] = {
    "incident": ("6", "Solved (Permanently)", ("6", "7", "8")),
    "sc_task": ("3", None, ("3", "4", "7")),
    "task": ("3", None, ("3", "4", "7")),
}
_TABLE = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
_FINGERPRINT = re.compile(r"^Apportion evidence: ([0-9a-f]{64})\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ServiceNowSettings(ServiceDeskConnection):
    """Where tickets go in one ServiceNow instance; holds no secret.

    Attributes:
        base_url: the instance, e.g. ``https://example.service-now.com``.
        username: the integration user (Basic auth).
        table: ``incident``, ``sc_task``, ``task`` or another table extending ``task``.
        correlation_display: written to ``correlation_display`` on every record.
        urgency, impact: ``"1"`` (high) to ``"3"`` (low) by severity.
        close_state: the state set by ``close``; None takes the table's default (incident 6
            Resolved; sc_task and task 3 Closed Complete).
        close_code: the close code set by ``close`` (incident: "Solved (Permanently)"; newer
            releases use e.g. "Solution provided"); None takes the table's default, which is
            none for tables without the field.
        done_states: states in which a record no longer counts as open; None takes the
            table's default (incident 6, 7, 8; sc_task and task 3, 4, 7).
        extra_fields: more fields for new records, e.g. ``assignment_group``, ``caller_id``,
            ``category`` (sys_ids or values, as the table expects).

    The connection settings (``connect_timeout``, ``timeout``, ``verify_tls``,
    ``max_response_bytes``) are those of :class:`ServiceDeskConnection`.
    """

    base_url: str
    username: str
    table: str = "incident"
    correlation_display: str = "Apportion"
    urgency: Mapping[Severity, str] = field(default_factory=lambda: dict(DEFAULT_URGENCY))
    impact: Mapping[Severity, str] = field(default_factory=lambda: dict(DEFAULT_IMPACT))
    close_state: str | None = None
    close_code: str | None = None
    done_states: tuple[str, ...] | None = None
    extra_fields: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        source = "ServiceNow settings"
        if not self.base_url.startswith(("https://", "http://")):
            raise InputError("must start with https://", source=source, field="base_url",
                             value=self.base_url)
        if not _TABLE.match(self.table):
            raise InputError("a table name is lower-case letters, digits and _", source=source,
                             field="table", value=self.table)
        if not self.username:
            raise InputError("the integration user's name is needed", source=source,
                             field="username")
        if self.close_state is None and self.table not in TABLE_DEFAULTS:
            raise InputError(f"table {self.table} has no default: set close_state and "
                             "done_states", source=source, field="close_state")
        for state in self.done_states or ():
            if not state.isdigit():
                raise InputError("states are numbers", source=source, field="done_states",
                                 value=state)
        self.check_connection()

    @property
    def closing(self) -> tuple[str, str | None, tuple[str, ...]]:
        """(close state, close code, done states) with the table's defaults filled in."""
        state, code, done = TABLE_DEFAULTS.get(self.table, ("", None, ()))
        return (self.close_state or state, self.close_code or code,
                self.done_states if self.done_states is not None
                else (done or (self.close_state or state,)))


def correlation_id(finding_key: str) -> str:
    """The ``correlation_id`` that marks the record of ``finding_key``."""
    if len(finding_key) <= MAX_CORRELATION_ID and "^" not in finding_key \
            and finding_key.isprintable() and finding_key == finding_key.strip():
        return finding_key
    return f"apportion:{key_digest(finding_key, 64)}"


class ServiceNowTicketSink:
    """:class:`ledger.ports.TicketSink` for ServiceNow's Table API.

    Args:
        settings: where and how to connect (no secret in it).
        password: the integration user's password; kept in memory only and registered with the
            log redaction filter (with the Basic token built from it).
    """

    def __init__(self, settings: ServiceNowSettings, *, password: str) -> None:
        self.settings = settings
        self._api = RestTransport(
            system="ServiceNow", base_url=settings.base_url, username=settings.username,
            secret=password, error_text=_servicenow_error_text,
            http=settings.http)
        self._path = f"/api/now/table/{settings.table}"

    def __repr__(self) -> str:
        return f"ServiceNowTicketSink({self.settings.base_url!r}, {self.settings.table!r})"

    def close_connection(self) -> None:
        self._api.close()

    def __enter__(self) -> ServiceNowTicketSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_connection()

    # -- TicketSink ------------------------------------------------------------------------

    def open_or_update(self, finding: Finding) -> TicketRef:
        fingerprint = evidence_fingerprint(finding.evidence)
        records = self._open_records(finding.key)
        if not records:
            return self._create(finding, fingerprint)
        record = records[0]
        ref = self._ref(record)
        # The last marker line counts: the finding's own text comes before it.
        markers = _FINGERPRINT.findall(str(record.get("description") or ""))
        if markers and markers[-1] == fingerprint:
            log.debug("ServiceNow %s for finding %s is up to date", ref.id, finding.key)
            return ref
        body = {
            "work_notes": f"Apportion: the evidence changed (severity "
                          f"{finding.severity.value}).\n\n{evidence_text(finding.evidence)}",
            "description": record_description(finding, fingerprint),
        }
        self._api.call("PATCH", f"{self._path}/{record['sys_id']}",
                       doing=f"updating {ref.id} for finding {finding.key}", body=body,
                       params={"sysparm_fields": "sys_id,number"})
        log.info("ServiceNow %s updated: the evidence of finding %s changed", ref.id,
                 finding.key)
        return ref

    def close(self, finding_key: str, resolution: str) -> TicketRef | None:
        records = self._open_records(finding_key)
        if not records:
            log.info("no open ServiceNow record for finding %s: nothing to close", finding_key)
            return None
        state, code, _ = self.settings.closing
        for record in records:
            ref = self._ref(record)
            body = {"state": state, "close_notes": f"Closed by Apportion. Resolution: "
                                                   f"{resolution or 'cleared'}"}
            if code:
                body["close_code"] = code
            self._api.call("PATCH", f"{self._path}/{record['sys_id']}",
                           doing=f"closing {ref.id} for finding {finding_key}", body=body,
                           params={"sysparm_fields": "sys_id,number,state"})
            log.info("ServiceNow %s closed: finding %s %s", ref.id, finding_key, resolution)
        return self._ref(records[0])

    # -- steps -----------------------------------------------------------------------------

    def _open_records(self, finding_key: str) -> list[dict[str, Any]]:
        """Open records of ``finding_key``, oldest first."""
        wanted = correlation_id(finding_key)
        _, _, done = self.settings.closing
        query = f"correlation_id={wanted}^active=true"
        if done:
            query += f"^stateNOT IN{','.join(done)}"
        payload = self._api.call("GET", self._path,
                                 doing=f"searching for the record of finding {finding_key}",
                                 params={
                                     "sysparm_query": query + "^ORDERBYsys_created_on",
                                     "sysparm_fields": "sys_id,number,state,correlation_id,"
                                                       "description",
                                     "sysparm_limit": str(MAX_RESULTS),
                                     "sysparm_display_value": "false",
                                     "sysparm_exclude_reference_link": "true",
                                 })
        rows = payload.get("result") if isinstance(payload, dict) else None
        if not isinstance(rows, list):
            raise self._unreadable("the query reply holds no 'result' list")
        found = []
        for row in rows:
            if not isinstance(row, dict) or not row.get("sys_id"):
                raise self._unreadable("a record in the reply has no sys_id")
            if row.get("correlation_id", wanted) != wanted or str(row.get("state")) in done:
                continue
            found.append(row)
        if len(found) > 1:
            log.warning("ServiceNow holds %d open records for finding %s (%s): updating the "
                        "oldest", len(found), finding_key,
                        ", ".join(str(r.get("number")) for r in found))
        return found

    def _create(self, finding: Finding, fingerprint: str) -> TicketRef:
        body: dict[str, Any] = dict(self.settings.extra_fields)
        body.update({
            "short_description": one_line(finding.title, MAX_SHORT_DESCRIPTION)
            or finding.key[:MAX_SHORT_DESCRIPTION],
            "description": record_description(finding, fingerprint),
            "correlation_id": correlation_id(finding.key),
            "correlation_display": self.settings.correlation_display,
        })
        urgency = self.settings.urgency.get(finding.severity)
        impact = self.settings.impact.get(finding.severity)
        if urgency:
            body["urgency"] = urgency
        if impact:
            body["impact"] = impact
        payload = self._api.call("POST", self._path,
                                 doing=f"opening a record for finding {finding.key}", body=body,
                                 params={"sysparm_fields": "sys_id,number",
                                         "sysparm_exclude_reference_link": "true"})
        record = payload.get("result") if isinstance(payload, dict) else None
        if not isinstance(record, dict) or not record.get("sys_id"):
            raise self._unreadable("the created record's sys_id is missing from the reply")
        ref = self._ref(record)
        log.info("ServiceNow %s opened for finding %s", ref.id, finding.key)
        return ref

    def _ref(self, record: Mapping[str, Any]) -> TicketRef:
        sys_id = str(record["sys_id"])
        return TicketRef(SYSTEM, str(record.get("number") or sys_id),
                         f"{self._api.base_url}/{self.settings.table}.do?sys_id={sys_id}")

    def _unreadable(self, what: str) -> TicketingError:
        return TicketingError(f"ServiceNow gave an unreadable reply: {what}",
                              system="ServiceNow")


def _servicenow_error_text(payload: Any) -> str | None:
    """ServiceNow's ``{"error": {"message": ..., "detail": ...}}`` as one line."""
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
        return None
    error = payload["error"]
    parts = [str(error[name]) for name in ("message", "detail") if error.get(name)]
    return ": ".join(parts) or None


def record_description(finding: Finding, fingerprint: str) -> str:
    """The description with the evidence, ending in the key and fingerprint lines that
    :class:`ServiceNowTicketSink` reads back."""
    facts = f"Severity: {finding.severity.value}"
    if finding.cost_centre:
        facts += f"\nCost centre: {finding.cost_centre}"
    return (f"{finding.description.strip()}\n\n{facts}\n\nEvidence:\n"
            f"{evidence_text(finding.evidence)}\n\n"
            f"Apportion finding: {finding.key}\nApportion evidence: {fingerprint}\n")

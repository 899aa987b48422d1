"""Tickets for findings in Jira Cloud, over the REST API v3 (httpx, Basic auth with e-mail and
API token).

One issue per finding key, found again on every call, never kept locally:

- the issue carries two labels, ``settings.label`` (e.g. ``apportion``, for people's filters)
  and ``<label>-<32 hex of SHA-256(key)>`` (label-safe, for the search), and the entity property
  ``settings.property_key`` = ``{"key": <finding key>, "evidence": <fingerprint>}``; the
  description ends with the key in plain text;
- the open issue is found with ``POST /rest/api/3/search/jql`` and
  ``project = P AND labels = "<hash label>" AND statusCategory != Done``; results whose
  property names another key are ignored, and the ids of issues this process opened or closed
  are passed as ``reconcileIssues`` so that Jira's eventually consistent search sees them at
  once;
- none open: ``POST /rest/api/3/issue`` with the description and the evidence table in Atlassian
  Document Format, the priority mapped from the severity and the property;
- open, evidence changed (fingerprint differs): one comment with the new evidence and the
  property updated; unchanged: nothing written;
- ``close``: a comment with the resolution, then the transition to a status in the Done
  category (``settings.done_transition`` names one, else the first such transition offered).
  A later finding with the same key opens a new issue: the closed one is not searched.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.ticketing import (
    TicketingError,
    evidence_fingerprint,
    evidence_value,
    key_digest,
    one_line,
)
from connectors.ticketing.transport import RestTransport, ServiceDeskConnection
from ledger.errors import InputError
from ledger.finding import Finding, Severity, TicketRef

log = logging.getLogger(__name__)

SYSTEM = "jira"
MAX_SUMMARY = 255
MAX_RESULTS = 50
DEFAULT_PRIORITIES: Mapping[Severity, str] = {
    Severity.LOW: "Low",
    Severity.MEDIUM: "Medium",
    Severity.HIGH: "High",
    Severity.CRITICAL: "Highest",
}
_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,254}$")
_LABEL = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
_PROPERTY_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")


@dataclass(frozen=True, slots=True)
class JiraCloudSettings(ServiceDeskConnection):
    """Where tickets go in one Jira Cloud site; holds no secret.

    Attributes:
        base_url: the site, e.g. ``https://example.atlassian.net``.
        project_key: the project the issues are created in, e.g. ``OPS``.
        email: the Atlassian account the API token belongs to (Basic auth user).
        issue_type: the issue type name for new issues.
        label: a label put on every issue Apportion opens; the per-finding label starts with
            it (``<label>-<hash>``).
        priorities: priority name by severity; empty when the project's create screen has no
            priority field (Jira refuses a field that is not on the screen).
        done_transition: the name of the transition that closes an issue; None takes the first
            transition whose target status is in the Done category.
        resolution: a resolution name to set in the closing transition (e.g. ``Done``), for
            workflows whose transition screen asks for one; None sets none.
        property_key: the issue entity property holding the finding key and evidence
            fingerprint.

    The connection settings (``connect_timeout``, ``timeout``, ``verify_tls``,
    ``max_response_bytes``) are those of :class:`ServiceDeskConnection`.
    """

    base_url: str
    project_key: str
    email: str
    issue_type: str = "Task"
    label: str = "apportion"
    priorities: Mapping[Severity, str] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    done_transition: str | None = None
    resolution: str | None = None
    property_key: str = "apportion.finding"

    def __post_init__(self) -> None:
        source = "Jira settings"
        if not self.base_url.startswith(("https://", "http://")):
            raise InputError("must start with https://", source=source, field="base_url",
                             value=self.base_url)
        if not _PROJECT_KEY.match(self.project_key):
            raise InputError("a Jira project key is upper-case letters, digits and _",
                             source=source, field="project_key", value=self.project_key)
        if not _LABEL.match(self.label):
            raise InputError("a label is letters, digits, '.', ':', '_' or '-' only",
                             source=source, field="label", value=self.label)
        if not _PROPERTY_KEY.match(self.property_key):
            raise InputError("an entity property key is letters, digits, '.', '_' or '-'",
                             source=source, field="property_key", value=self.property_key)
        if not self.email or "@" not in self.email:
            raise InputError("the Atlassian account's e-mail address is needed", source=source,
                             field="email", value=self.email)
        self.check_connection()


class JiraCloudTicketSink:
    """:class:`ledger.ports.TicketSink` for Jira Cloud.

    Args:
        settings: where and how to connect (no secret in it).
        api_token: the account's API token; kept in memory only and registered with the log
            redaction filter (with the Basic token built from it).
    """

    def __init__(self, settings: JiraCloudSettings, *, api_token: str) -> None:
        self.settings = settings
        self._api = RestTransport(
            system="Jira", base_url=settings.base_url, username=settings.email,
            secret=api_token, error_text=_jira_error_text,
            http=settings.http)
        # Issue ids this process opened or closed, by finding key: passed to the search as
        # reconcileIssues, because Jira's search index lags behind writes.
        self._known: dict[str, set[int]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JiraCloudTicketSink({self.settings.base_url!r}, {self.settings.project_key!r})"

    def close_connection(self) -> None:
        self._api.close()

    def __enter__(self) -> JiraCloudTicketSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_connection()

    # -- TicketSink ------------------------------------------------------------------------

    def open_or_update(self, finding: Finding) -> TicketRef:
        fingerprint = evidence_fingerprint(finding.evidence)
        issues = self._open_issues(finding.key)
        if not issues:
            return self._create(finding, fingerprint)
        issue = issues[0]
        ref = self._ref(issue["key"])
        stored = _property(issue, self.settings.property_key)
        if stored.get("evidence") == fingerprint:
            log.debug("Jira issue %s for finding %s is up to date", ref.id, finding.key)
            return ref
        self._api.call("POST", f"/rest/api/3/issue/{ref.id}/comment",
                       doing=f"commenting on {ref.id} for finding {finding.key}",
                       body={"body": evidence_comment(finding)})
        self._api.call("PUT", f"/rest/api/3/issue/{ref.id}/properties/"
                              f"{self.settings.property_key}",
                       doing=f"recording the evidence on {ref.id}",
                       body=self._property_value(finding, fingerprint))
        log.info("Jira issue %s updated: the evidence of finding %s changed", ref.id,
                 finding.key)
        return ref

    def close(self, finding_key: str, resolution: str) -> TicketRef | None:
        issues = self._open_issues(finding_key)
        if not issues:
            log.info("no open Jira issue for finding %s: nothing to close", finding_key)
            return None
        for issue in issues:
            key = issue["key"]
            # The comment goes first so that it is there when the issue is done (a transition
            # screen may not take one); a retry after a failed transition comments again.
            transition = self._done_transition(key)
            self._api.call("POST", f"/rest/api/3/issue/{key}/comment",
                           doing=f"commenting on {key} before closing it",
                           body={"body": _doc(_paragraph(
                               f"Closed by Apportion. Resolution: {resolution or 'cleared'}"))})
            body: dict[str, Any] = {"transition": {"id": transition}}
            if self.settings.resolution:
                body["fields"] = {"resolution": {"name": self.settings.resolution}}
            self._api.call("POST", f"/rest/api/3/issue/{key}/transitions",
                           doing=f"closing {key} for finding {finding_key}", body=body)
            self._remember(finding_key, issue.get("id"))
            log.info("Jira issue %s closed: finding %s %s", key, finding_key, resolution)
        return self._ref(issues[0]["key"])

    # -- steps -----------------------------------------------------------------------------

    def finding_label(self, finding_key: str) -> str:
        """The label that marks the issues of ``finding_key``."""
        return f"{self.settings.label}-{key_digest(finding_key)}"

    def _open_issues(self, finding_key: str) -> list[dict[str, Any]]:
        """Open issues of ``finding_key``, oldest first."""
        label = self.finding_label(finding_key)
        body: dict[str, Any] = {
            "jql": f'project = "{self.settings.project_key}" AND labels = "{label}" '
                   f"AND statusCategory != Done ORDER BY created ASC",
            "fields": ["summary", "status", "labels", "created"],
            "properties": [self.settings.property_key],
            "maxResults": MAX_RESULTS,
        }
        with self._lock:
            known = sorted(self._known.get(finding_key, ()))
        if known:
            body["reconcileIssues"] = known
        payload = self._api.call("POST", "/rest/api/3/search/jql",
                                 doing=f"searching for the issue of finding {finding_key}",
                                 body=body)
        issues = payload.get("issues") if isinstance(payload, dict) else None
        if not isinstance(issues, list):
            raise self._unreadable("the search reply holds no 'issues' list")
        found = []
        for issue in issues:
            if not isinstance(issue, dict) or not issue.get("key"):
                raise self._unreadable("a search result has no issue key")
            fields = issue.get("fields") or {}
            category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
            owner = _property(issue, self.settings.property_key).get("key")
            if category == "done" or (owner is not None and owner != finding_key):
                continue
            if label not in (fields.get("labels") or [label]):
                continue
            found.append(issue)
        if len(found) > 1:
            log.warning("Jira holds %d open issues for finding %s (%s): updating the oldest",
                        len(found), finding_key, ", ".join(str(i["key"]) for i in found))
        return found

    def _create(self, finding: Finding, fingerprint: str) -> TicketRef:
        fields: dict[str, Any] = {
            "project": {"key": self.settings.project_key},
            "issuetype": {"name": self.settings.issue_type},
            "summary": one_line(finding.title, MAX_SUMMARY) or finding.key[:MAX_SUMMARY],
            "description": issue_description(finding),
            "labels": [self.settings.label, self.finding_label(finding.key)],
        }
        priority = self.settings.priorities.get(finding.severity)
        if priority:
            fields["priority"] = {"name": priority}
        created = self._api.call(
            "POST", "/rest/api/3/issue", doing=f"opening an issue for finding {finding.key}",
            body={"fields": fields,
                  "properties": [{"key": self.settings.property_key,
                                  "value": self._property_value(finding, fingerprint)}]})
        if not isinstance(created, dict) or not created.get("key"):
            raise self._unreadable("the created issue's key is missing from the reply")
        self._remember(finding.key, created.get("id"))
        ref = self._ref(str(created["key"]))
        log.info("Jira issue %s opened for finding %s", ref.id, finding.key)
        return ref

    def _done_transition(self, issue_key: str) -> str:
        payload = self._api.call("GET", f"/rest/api/3/issue/{issue_key}/transitions",
                                 doing=f"reading the transitions of {issue_key}")
        transitions = payload.get("transitions") if isinstance(payload, dict) else None
        if not isinstance(transitions, list):
            raise self._unreadable(f"the transitions of {issue_key} are missing from the reply")
        wanted = (self.settings.done_transition or "").casefold()
        for transition in transitions:
            target = (transition.get("to") or {}).get("statusCategory") or {}
            if target.get("key") != "done":
                continue
            if not wanted or str(transition.get("name", "")).casefold() == wanted:
                return str(transition["id"])
        offered = ", ".join(f"{t.get('name')!r}" for t in transitions) or "none"
        name = f" named {self.settings.done_transition!r}" if wanted else ""
        raise TicketingError(
            f"Jira: {issue_key} offers no transition{name} to a Done status (offered: "
            f"{offered}); set done_transition or check the workflow", system="Jira")

    def _property_value(self, finding: Finding, fingerprint: str) -> dict[str, Any]:
        return {"key": finding.key, "evidence": fingerprint, "severity": finding.severity.value}

    def _remember(self, finding_key: str, issue_id: Any) -> None:
        if isinstance(issue_id, int | str) and str(issue_id).isdigit():
            with self._lock:
                self._known.setdefault(finding_key, set()).add(int(issue_id))

    def _ref(self, issue_key: str) -> TicketRef:
        return TicketRef(SYSTEM, issue_key, f"{self._api.base_url}/browse/{issue_key}")

    def _unreadable(self, what: str) -> TicketingError:
        return TicketingError(f"Jira gave an unreadable reply: {what}", system="Jira")


def _property(issue: dict[str, Any], key: str) -> dict[str, Any]:
    value = (issue.get("properties") or {}).get(key)
    return value if isinstance(value, dict) else {}


def _jira_error_text(payload: Any) -> str | None:
    """Jira's ``{"errorMessages": [...], "errors": {field: message}}`` as one line."""
    if not isinstance(payload, dict):
        return None
    parts = [str(m) for m in payload.get("errorMessages") or []]
    errors = payload.get("errors")
    if isinstance(errors, dict):
        parts.extend(f"{name}: {message}" for name, message in errors.items())
    if not parts and payload.get("message"):
        parts.append(str(payload["message"]))
    return "; ".join(parts) or None


# -- Atlassian Document Format -------------------------------------------------------------

def _text(text: str, *marks: str) -> list[dict[str, Any]]:
    """A text node (none for empty text: ADF refuses empty text nodes)."""
    if not text:
        return []
    node: dict[str, Any] = {"type": "text", "text": text}
    if marks:
        node["marks"] = [{"type": mark} for mark in marks]
    return [node]


def _paragraph(text: str, *marks: str) -> dict[str, Any]:
    """A paragraph; line breaks inside it become ADF hard breaks."""
    content: list[dict[str, Any]] = []
    for number, line in enumerate(text.split("\n")):
        if number:
            content.append({"type": "hardBreak"})
        content.extend(_text(line, *marks))
    return {"type": "paragraph", "content": content}


def _heading(text: str, level: int = 3) -> dict[str, Any]:
    return {"type": "heading", "attrs": {"level": level}, "content": _text(text)}


def _cell(kind: str, text: str) -> dict[str, Any]:
    return {"type": kind, "content": [_paragraph(text)]}


def _evidence_table(evidence: Mapping[str, Any]) -> dict[str, Any]:
    rows = [{"type": "tableRow", "content": [_cell("tableHeader", "Evidence"),
                                             _cell("tableHeader", "Value")]}]
    rows.extend({"type": "tableRow", "content": [_cell("tableCell", str(name)),
                                                 _cell("tableCell", evidence_value(value))]}
                for name, value in sorted(evidence.items()))
    return {"type": "table", "attrs": {"isNumberColumnEnabled": False, "layout": "default"},
            "content": rows}


def _doc(*blocks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(blocks)}


def issue_description(finding: Finding) -> dict[str, Any]:
    """The issue's description in ADF: the finding's text (blank lines split paragraphs), its
    severity and cost centre, the evidence as a two-column table, and the finding key."""
    blocks = [_paragraph(part.strip()) for part in finding.description.split("\n\n")
              if part.strip()]
    facts = f"Severity: {finding.severity.value}"
    if finding.cost_centre:
        facts += f" · Cost centre: {finding.cost_centre}"
    blocks.append(_paragraph(facts))
    if finding.evidence:
        blocks.append(_heading("Evidence"))
        blocks.append(_evidence_table(finding.evidence))
    blocks.append({"type": "paragraph", "content": [
        *_text("Apportion finding: "), *_text(finding.key, "code")]})
    return _doc(*blocks)


def evidence_comment(finding: Finding) -> dict[str, Any]:
    """The comment added when the evidence changed: the new evidence as a table."""
    blocks = [_paragraph(f"Apportion: the evidence changed (severity "
                         f"{finding.severity.value}).")]
    blocks.append(_evidence_table(finding.evidence) if finding.evidence
                  else _paragraph("(no evidence)"))
    return _doc(*blocks)

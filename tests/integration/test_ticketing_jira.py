"""The Jira Cloud ticket sink against a fake Jira speaking REST API v3 over loopback: one issue
per finding, updated by comments, closed through a Done transition, errors that say what broke,
and an API token that never reaches a log."""

from __future__ import annotations

import base64
import itertools
import json
import logging
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from connectors.ticketing import TicketingError
from connectors.ticketing.jira import JiraCloudSettings, JiraCloudTicketSink
from ledger.finding import Finding, Severity
from tests.integration.test_ticketing_transport import loopback

EMAIL = "apportion-bot@example.com"
TOKEN = "canary-jira-token-7Qf2x9"
PRIORITIES = {"Lowest", "Low", "Medium", "High", "Highest"}
SEARCH_JQL = re.compile(r'^project = "(?P<project>[A-Z0-9_]+)" AND labels = "(?P<label>[^"]+)" '
                        r"AND statusCategory != Done ORDER BY created ASC$")
STATUSES = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}
TRANSITIONS = [("11", "Start work", "In Progress"), ("31", "Resolve", "Done")]


@dataclass
class FakeIssue:
    id: str
    key: str
    fields: dict[str, Any]
    properties: dict[str, Any]
    status: str = "To Do"
    comments: list[dict[str, Any]] = field(default_factory=list)
    # What the search index last saw (Jira's search lags behind writes).
    indexed_status: str | None = None


class FakeJira:
    """Just enough of Jira Cloud: search/jql, create issue, comments, entity properties and
    transitions, with issues in memory and Basic auth checked on every request."""

    def __init__(self, *, email: str = EMAIL, token: str = TOKEN, project: str = "OPS") -> None:
        self.authorization = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self.project = project
        self.issues: dict[str, FakeIssue] = {}
        self.numbers = itertools.count(1)
        self.lagging_index = False
        self.fail_next: tuple[int, dict[str, Any]] | None = None
        self.calls: list[str] = []
        self.lock = threading.Lock()

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        with self.lock:
            self.calls.append(f"{method} {path}")
            status, reply = self._handle(environ, method, path, raw)
        body = b"" if reply is None else (reply if isinstance(reply, bytes)
                                          else json.dumps(reply).encode())
        media = "text/plain" if isinstance(reply, bytes) else "application/json"
        start_response(f"{status} X", [("Content-Type", media),
                                       ("Content-Length", str(len(body)))])
        return [body]

    def _handle(self, environ: dict[str, Any], method: str, path: str,
                raw: bytes) -> tuple[int, Any]:
        if environ.get("HTTP_AUTHORIZATION") != self.authorization:
            return 401, b"Client must be authenticated to access this resource."
        if self.fail_next is not None:
            (status, reply), self.fail_next = self.fail_next, None
            return status, reply
        body = json.loads(raw) if raw else None
        if (method, path) == ("POST", "/rest/api/3/search/jql"):
            return self._search(body)
        if (method, path) == ("POST", "/rest/api/3/issue"):
            return self._create(body)
        match = re.fullmatch(r"/rest/api/3/issue/([A-Z]+-\d+)/(comment|transitions|properties/"
                             r"[\w.]+)", path)
        if not match or match.group(1) not in self.issues:
            return 404, {"errorMessages": ["Issue does not exist or you do not have permission "
                                           "to see it."], "errors": {}}
        issue, what = self.issues[match.group(1)], match.group(2)
        if (method, what) == ("POST", "comment"):
            _check_adf(body["body"])
            issue.comments.append(body["body"])
            return 201, {"id": str(10000 + len(issue.comments))}
        if (method, what) == ("GET", "transitions"):
            return 200, {"transitions": [
                {"id": tid, "name": name, "to": {"name": to, "statusCategory": {
                    "key": STATUSES[to]}}} for tid, name, to in TRANSITIONS if to != issue.status]}
        if (method, what) == ("POST", "transitions"):
            chosen = [to for tid, _, to in TRANSITIONS if tid == body["transition"]["id"]]
            if not chosen:
                return 400, {"errorMessages": ["Transition id is not valid."], "errors": {}}
            issue.status = chosen[0]
            self._index(issue)
            return 204, None
        if method == "PUT" and what.startswith("properties/"):
            issue.properties[what.removeprefix("properties/")] = body
            return 200, None
        return 405, {"errorMessages": [f"{method} not allowed"], "errors": {}}

    def _search(self, body: dict[str, Any]) -> tuple[int, Any]:
        match = SEARCH_JQL.match(body["jql"])
        if not match:
            return 400, {"errorMessages": [f"The fake cannot parse {body['jql']!r}"],
                         "errors": {}}
        fresh = {str(i) for i in body.get("reconcileIssues", [])}
        found = []
        for issue in self.issues.values():
            status = issue.status if issue.id in fresh else issue.indexed_status
            if status is None or STATUSES[status] == "done":
                continue
            if issue.fields["project"]["key"] != match["project"] or \
                    match["label"] not in issue.fields["labels"]:
                continue
            found.append({"id": issue.id, "key": issue.key, "fields": {
                "summary": issue.fields["summary"], "labels": issue.fields["labels"],
                "status": {"name": status, "statusCategory": {"key": STATUSES[status]}}},
                "properties": {k: v for k, v in issue.properties.items()
                               if k in body.get("properties", [])}})
        return 200, {"issues": found[: body.get("maxResults", 50)], "isLast": True}

    def _create(self, body: dict[str, Any]) -> tuple[int, Any]:
        fields = body["fields"]
        errors = {}
        if fields.get("project", {}).get("key") != self.project:
            errors["project"] = "valid project is required"
        if not fields.get("summary") or "\n" in fields["summary"]:
            errors["summary"] = "You must specify a summary of the issue."
        if fields.get("issuetype", {}).get("name") != "Task":
            errors["issuetype"] = "Specify an issue type"
        if "priority" in fields and fields["priority"]["name"] not in PRIORITIES:
            errors["priority"] = "Specify a valid priority"
        if any(" " in label for label in fields.get("labels", [])):
            errors["labels"] = "The label must not contain spaces."
        _check_adf(fields["description"])
        if errors:
            return 400, {"errorMessages": [], "errors": errors}
        number = next(self.numbers)
        issue = FakeIssue(id=str(10000 + number), key=f"{self.project}-{number}", fields=fields,
                          properties={p["key"]: p["value"] for p in body.get("properties", [])})
        self.issues[issue.key] = issue
        self._index(issue)
        return 201, {"id": issue.id, "key": issue.key, "self": f"/rest/api/3/issue/{issue.id}"}

    def _index(self, issue: FakeIssue) -> None:
        if not self.lagging_index:
            issue.indexed_status = issue.status


def _check_adf(node: Any) -> None:
    """What Jira refuses in Atlassian Document Format: empty text nodes, no doc root."""
    if isinstance(node, dict):
        if node.get("type") == "text":
            assert node["text"], "ADF refuses empty text nodes"
        for child in node.get("content", []):
            _check_adf(child)


def _adf_text(node: Any) -> str:
    if isinstance(node, dict):
        return node.get("text", "") + " ".join(_adf_text(c) for c in node.get("content", []))
    return ""


@pytest.fixture
def jira() -> Iterator[tuple[FakeJira, str]]:
    fake = FakeJira()
    with loopback(fake) as url:
        yield fake, url


def sink_for(url: str, *, token: str = TOKEN, **settings: Any) -> JiraCloudTicketSink:
    return JiraCloudTicketSink(JiraCloudSettings(base_url=url, project_key="OPS", email=EMAIL,
                                                 timeout=5, **settings), api_token=token)


def spike(observed: str = "1840.00", **changes: Any) -> Finding:
    values: dict[str, Any] = {
        "key": "anomaly:cost-spike:2010:AmazonEC2:2026-11-03",
        "title": "Cost spike in 2010/AmazonEC2 on 2026-11-03",
        "description": "EC2 cost rose far above the usual Tuesday.\n\nCheck for runaway jobs.",
        "severity": Severity.HIGH,
        "evidence": {"observed": observed, "baseline": "410.00", "score": None,
                     "comparable_days": ["2026-10-27", "2026-10-20"]},
        "cost_centre": "2010",
    }
    values.update(changes)
    return Finding(**values)


def test_three_calls_for_one_finding_leave_one_issue_with_the_evidence(jira) -> None:
    fake, url = jira
    with sink_for(url) as sink:
        refs = [sink.open_or_update(spike()) for _ in range(3)]
    assert len(fake.issues) == 1 and len(set(refs)) == 1
    issue = fake.issues["OPS-1"]
    assert refs[0].system == "jira" and refs[0].id == "OPS-1"
    assert refs[0].url == f"{url}/browse/OPS-1"
    assert issue.comments == []
    assert issue.fields["priority"] == {"name": "High"}
    assert issue.fields["labels"][0] == "apportion"
    assert issue.fields["labels"][1] == sink.finding_label(spike().key)
    assert issue.properties["apportion.finding"]["key"] == spike().key
    text = _adf_text(issue.fields["description"])
    assert "1840.00" in text and "2026-10-27, 2026-10-20" in text and spike().key in text
    assert any(node["type"] == "table" for node in issue.fields["description"]["content"])


def test_changed_evidence_adds_a_comment_and_never_a_second_issue(jira) -> None:
    fake, url = jira
    with sink_for(url) as sink:
        first = sink.open_or_update(spike("1840.00"))
        second = sink.open_or_update(spike("2260.50"))
        third = sink.open_or_update(spike("2260.50"))
    assert first == second == third and len(fake.issues) == 1
    comments = fake.issues["OPS-1"].comments
    assert len(comments) == 1 and "2260.50" in _adf_text(comments[0])


def test_closing_moves_the_issue_to_done_and_a_returning_finding_opens_a_new_one(jira) -> None:
    fake, url = jira
    with sink_for(url) as sink:
        opened = sink.open_or_update(spike())
        closed = sink.close(spike().key, "planned load test")
        assert sink.close(spike().key, "again") is None
        reopened = sink.open_or_update(spike())
    assert closed == opened and fake.issues["OPS-1"].status == "Done"
    assert "planned load test" in _adf_text(fake.issues["OPS-1"].comments[-1])
    assert reopened.id == "OPS-2" and fake.issues["OPS-2"].status == "To Do"


def test_a_search_index_that_lags_behind_writes_still_yields_one_issue(jira) -> None:
    fake, url = jira
    fake.lagging_index = True
    with sink_for(url) as sink:
        refs = {sink.open_or_update(spike()) for _ in range(3)}
        sink.close(spike().key, "cleared")
        reopened = sink.open_or_update(spike())
    assert len(refs) == 1 and reopened.id == "OPS-2" and len(fake.issues) == 2


def test_without_priorities_no_priority_field_is_sent(jira) -> None:
    fake, url = jira
    with sink_for(url, priorities={}) as sink:
        sink.open_or_update(spike())
    assert "priority" not in fake.issues["OPS-1"].fields


def test_a_wrong_token_is_a_clear_ticketing_error(jira) -> None:
    _, url = jira
    with sink_for(url, token="not-the-token") as sink, \
            pytest.raises(TicketingError) as caught:
        sink.open_or_update(spike())
    message = str(caught.value)
    assert caught.value.status == 401 and "HTTP 401" in message
    assert "Client must be authenticated" in message and "API token" in message
    assert "not-the-token" not in message


def test_a_server_error_is_a_ticketing_error_with_jiras_own_text(jira) -> None:
    fake, url = jira
    fake.fail_next = (500, {"errorMessages": ["Internal server error (ref 4f2c)"]})
    with sink_for(url) as sink, pytest.raises(TicketingError, match=r"HTTP 500: Internal "
                                                                   r"server error \(ref 4f2c\)"):
        sink.open_or_update(spike())


def test_a_refused_field_is_reported_with_jiras_field_message(jira) -> None:
    _, url = jira
    with sink_for(url, priorities={Severity.HIGH: "Urgent"}) as sink, \
            pytest.raises(TicketingError, match="priority: Specify a valid priority"):
        sink.open_or_update(spike())


def test_a_workflow_without_a_done_transition_is_named_in_the_error(jira) -> None:
    fake, url = jira
    with sink_for(url, done_transition="Close for good") as sink:
        sink.open_or_update(spike())
        with pytest.raises(TicketingError, match="no transition named 'Close for good'"):
            sink.close(spike().key, "cleared")
    assert fake.issues["OPS-1"].status == "To Do" and fake.issues["OPS-1"].comments == []


def test_the_api_token_never_reaches_the_log(jira, caplog) -> None:
    _, url = jira
    caplog.set_level(logging.DEBUG)
    basic = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    with sink_for(url) as sink:
        sink.open_or_update(spike())
        sink.open_or_update(spike("2260.50"))
        sink.close(spike().key, "cleared")
    with sink_for(url, token=TOKEN + "-wrong") as sink, pytest.raises(TicketingError):
        sink.open_or_update(spike())
    assert any(r.name.startswith("httpx") or r.name.startswith("httpcore")
               for r in caplog.records)
    assert any(r.name == "connectors.ticketing.jira" for r in caplog.records)
    assert TOKEN not in caplog.text and basic not in caplog.text

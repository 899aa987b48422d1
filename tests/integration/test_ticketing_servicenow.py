"""The ServiceNow ticket sink against a fake Table API over loopback: one record per finding by
correlation id, work notes when the evidence changes, resolved with a close code, errors that
say what broke, and a password that never reaches a log."""

from __future__ import annotations

import base64
import itertools
import json
import logging
import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest

from connectors.ticketing import TicketingError
from connectors.ticketing.servicenow import (
    ServiceNowSettings,
    ServiceNowTicketSink,
    correlation_id,
)
from ledger.finding import Finding, Severity
from tests.integration.test_ticketing_transport import loopback

USER = "apportion.integration"
PASSWORD = "canary-snow-password-K8d3"
# Closing states: a resolved incident (6) stays active until it is closed (7), as in ServiceNow.
INACTIVE_STATES = {"incident": {"7", "8"}, "sc_task": {"3", "4", "7"}}
MANDATORY_ON = {("incident", "6"): ("close_code", "close_notes"),
                ("sc_task", "3"): ("close_notes",)}
TERM = re.compile(r"^(?P<field>[a-z_]+)(?P<op>=|NOT IN)(?P<value>.*)$")


class FakeServiceNow:
    """Just enough of the Table API for ``incident`` and ``sc_task``: encoded queries on
    correlation_id, active and state (compared case-insensitively, as the instance's database
    does), create, and PATCH with work notes kept as a journal; Basic auth on every request."""

    def __init__(self, *, user: str = USER, password: str = PASSWORD) -> None:
        self.authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.tables: dict[str, dict[str, dict[str, Any]]] = {"incident": {}, "sc_task": {}}
        self.work_notes: dict[str, list[str]] = {}
        self.numbers = itertools.count(10001)
        self.fail_next: tuple[int, dict[str, Any]] | None = None
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        with self.lock:
            status, reply = self._handle(environ, raw)
        body = json.dumps(reply).encode()
        start_response(f"{status} X", [("Content-Type", "application/json;charset=UTF-8"),
                                       ("Content-Length", str(len(body)))])
        return [body]

    def _handle(self, environ: dict[str, Any], raw: bytes) -> tuple[int, Any]:
        if environ.get("HTTP_AUTHORIZATION") != self.authorization:
            return 401, _error("User Not Authenticated", "Required to provide Auth information")
        if self.fail_next is not None:
            (status, reply), self.fail_next = self.fail_next, None
            return status, reply
        match = re.fullmatch(r"/api/now/table/(\w+)(?:/(\w+))?", environ["PATH_INFO"])
        if not match or match.group(1) not in self.tables:
            return 400, _error("Invalid table", environ["PATH_INFO"])
        table, sys_id = self.tables[match.group(1)], match.group(2)
        params = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        method = environ["REQUEST_METHOD"]
        if method == "GET" and sys_id is None:
            rows = self._query(table, params.get("sysparm_query", ""))
            if isinstance(rows, str):
                return 400, _error("Invalid query", rows)
            limit = int(params.get("sysparm_limit", "10000"))
            return 200, {"result": [_fields(r, params) for r in rows[:limit]]}
        body = json.loads(raw)
        if method == "POST" and sys_id is None:
            record = {"sys_id": uuid.uuid4().hex, "number": self._number(match.group(1)),
                      "state": "1", "active": "true", "sys_created_on": len(table)}
            record.update({k: str(v) for k, v in body.items()})
            table[record["sys_id"]] = record
            return 201, {"result": _fields(record, params)}
        if method == "PATCH" and sys_id in table:
            record = table[sys_id]
            note = body.pop("work_notes", None)
            state = str(body.get("state", record["state"]))
            missing = [f for f in MANDATORY_ON.get((match.group(1), state), ())
                       if not body.get(f, record.get(f))]
            if missing:
                return 403, _error("Operation Failed", "Data Policy Exception: the following "
                                   f"fields are mandatory: {', '.join(missing)}")
            if note:
                self.work_notes.setdefault(sys_id, []).append(note)
            record.update({k: str(v) for k, v in body.items()})
            record["active"] = "false" if state in INACTIVE_STATES[match.group(1)] else "true"
            return 200, {"result": _fields(record, params)}
        return 404, _error("No Record found", "Record doesn't exist or ACL restricts the record "
                                              "retrieval")

    def _query(self, table: dict[str, dict[str, Any]], query: str) -> list[dict[str, Any]] | str:
        rows = list(table.values())
        for term in query.split("^"):
            if term.startswith("ORDERBY"):
                order = term.removeprefix("ORDERBY")
                rows.sort(key=lambda r: r[order])
                continue
            parsed = TERM.match(term)
            if not parsed:
                return f"cannot parse {term!r}"
            name, op, value = parsed.group("field", "op", "value")
            if op == "=":
                rows = [r for r in rows if str(r.get(name, "")).casefold() == value.casefold()]
            else:
                rows = [r for r in rows if str(r.get(name, "")) not in value.split(",")]
        return rows

    def _number(self, table: str) -> str:
        return f"{'INC' if table == 'incident' else 'SCTASK'}{next(self.numbers):07d}"

    def records(self, table: str = "incident") -> list[dict[str, Any]]:
        return list(self.tables[table].values())


def _fields(record: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
    wanted = params.get("sysparm_fields")
    return {k: v for k, v in record.items() if not wanted or k in wanted.split(",")}


def _error(message: str, detail: str) -> dict[str, Any]:
    return {"error": {"message": message, "detail": detail}, "status": "failure"}


@pytest.fixture
def snow() -> Iterator[tuple[FakeServiceNow, str]]:
    fake = FakeServiceNow()
    with loopback(fake) as url:
        yield fake, url


def sink_for(url: str, *, password: str = PASSWORD, **settings: Any) -> ServiceNowTicketSink:
    return ServiceNowTicketSink(ServiceNowSettings(base_url=url, username=USER, timeout=5,
                                                   **settings), password=password)


def missing_tag(cost: str = "312.40", **changes: Any) -> Finding:
    values: dict[str, Any] = {
        "key": "missing-tag:i-0a1b2c3d4e5f",
        "title": "AmazonEC2 i-0a1b2c3d4e5f lacks tag(s) CostCenter",
        "description": "The resource has no CostCenter tag: its cost cannot be charged.",
        "severity": Severity.LOW,
        "evidence": {"resource": "i-0a1b2c3d4e5f", "missing": ["CostCenter"], "cost": cost},
        "owner_email": "owner@example.com",
    }
    values.update(changes)
    return Finding(**values)


def test_three_calls_for_one_finding_leave_one_incident_carrying_its_key(snow) -> None:
    fake, url = snow
    with sink_for(url, extra_fields={"assignment_group": "finops"}) as sink:
        refs = {sink.open_or_update(missing_tag()) for _ in range(3)}
    [record] = fake.records()
    [ref] = refs
    assert ref.system == "servicenow" and ref.id == record["number"] == "INC0010001"
    assert ref.url == f"{url}/incident.do?sys_id={record['sys_id']}"
    assert record["correlation_id"] == missing_tag().key
    assert record["correlation_display"] == "Apportion"
    assert (record["urgency"], record["impact"]) == ("3", "3")
    assert record["assignment_group"] == "finops"
    assert "cost: 312.40" in record["description"] and "missing: CostCenter" in \
        record["description"]
    assert fake.work_notes == {}


def test_changed_evidence_adds_a_work_note_and_never_a_second_incident(snow) -> None:
    fake, url = snow
    with sink_for(url) as sink:
        first = sink.open_or_update(missing_tag("312.40"))
        second = sink.open_or_update(missing_tag("498.00"))
        third = sink.open_or_update(missing_tag("498.00"))
    [record] = fake.records()
    assert first == second == third
    [notes] = fake.work_notes.values()
    assert len(notes) == 1 and "cost: 498.00" in notes[0]
    assert "cost: 498.00" in record["description"]


def test_resolving_closes_the_incident_and_a_returning_finding_opens_a_new_one(snow) -> None:
    fake, url = snow
    with sink_for(url) as sink:
        opened = sink.open_or_update(missing_tag())
        closed = sink.close(missing_tag().key, "tag added by the owner")
        assert sink.close(missing_tag().key, "again") is None
        reopened = sink.open_or_update(missing_tag())
    first = next(r for r in fake.records() if r["number"] == opened.id)
    assert closed == opened
    assert (first["state"], first["close_code"]) == ("6", "Solved (Permanently)")
    assert "tag added by the owner" in first["close_notes"]
    # A resolved incident is still active in ServiceNow: the state filter is what skips it.
    assert first["active"] == "true"
    assert reopened.id == "INC0010002" and len(fake.records()) == 2


def test_catalog_tasks_close_complete_without_a_close_code(snow) -> None:
    fake, url = snow
    with sink_for(url, table="sc_task") as sink:
        opened = sink.open_or_update(missing_tag())
        sink.close(missing_tag().key, "cleared")
    [task] = fake.records("sc_task")
    assert opened.id.startswith("SCTASK") and task["state"] == "3" and "close_code" not in task


def test_keys_that_differ_only_in_case_keep_separate_incidents(snow) -> None:
    fake, url = snow
    with sink_for(url) as sink:
        lower = sink.open_or_update(missing_tag(key="missing-tag:i-0abc"))
        upper = sink.open_or_update(missing_tag(key="missing-tag:i-0ABC"))
        again = sink.open_or_update(missing_tag(key="missing-tag:i-0ABC"))
    assert lower != upper == again and len(fake.records()) == 2


def test_a_key_too_long_for_correlation_id_is_stored_as_its_hash(snow) -> None:
    fake, url = snow
    key = "missing-tag:arn:aws:ec2:eu-west-1:123456789012:instance/" + "i-0" * 30 + "^x"
    with sink_for(url) as sink:
        refs = {sink.open_or_update(missing_tag(key=key)) for _ in range(2)}
    [record] = fake.records()
    assert len(refs) == 1 and record["correlation_id"] == correlation_id(key)
    assert len(record["correlation_id"]) <= 100 and key in record["description"]


def test_a_wrong_password_is_a_clear_ticketing_error(snow) -> None:
    _, url = snow
    with sink_for(url, password="not-the-password") as sink, \
            pytest.raises(TicketingError) as caught:
        sink.open_or_update(missing_tag())
    message = str(caught.value)
    assert caught.value.status == 401 and message.startswith("ServiceNow: ")
    assert "HTTP 401: User Not Authenticated: Required to provide Auth information" in message
    assert "not-the-password" not in message


def test_a_server_error_is_a_ticketing_error_with_servicenows_own_text(snow) -> None:
    fake, url = snow
    fake.fail_next = (500, _error("Transaction cancelled", "maximum execution time exceeded"))
    with sink_for(url) as sink, pytest.raises(
            TicketingError, match="HTTP 500: Transaction cancelled: maximum execution time"):
        sink.open_or_update(missing_tag())


def test_the_password_never_reaches_the_log(snow, caplog) -> None:
    _, url = snow
    caplog.set_level(logging.DEBUG)
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    with sink_for(url) as sink:
        sink.open_or_update(missing_tag())
        sink.open_or_update(missing_tag("498.00"))
        sink.close(missing_tag().key, "cleared")
    with sink_for(url, password=PASSWORD + "-wrong") as sink, pytest.raises(TicketingError):
        sink.open_or_update(missing_tag())
    assert any(r.name.startswith(("httpx", "httpcore")) for r in caplog.records)
    assert any(r.name == "connectors.ticketing.servicenow" for r in caplog.records)
    assert PASSWORD not in caplog.text and basic not in caplog.text

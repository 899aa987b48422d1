"""How findings are written onto tickets and mails, and which settings are refused, without a
network."""

from __future__ import annotations

import base64
import logging
from typing import Any

import pytest

from connectors.ticketing import evidence_fingerprint, evidence_text, key_digest, one_line
from connectors.ticketing.jira import JiraCloudSettings, JiraCloudTicketSink, issue_description
from connectors.ticketing.mail import SmtpNotifier, SmtpSettings
from connectors.ticketing.servicenow import (
    ServiceNowSettings,
    correlation_id,
    record_description,
)
from ledger.errors import InputError
from ledger.finding import Finding, Severity


def finding(**changes: Any) -> Finding:
    values: dict[str, Any] = {
        "key": "anomaly:untagged-growth:CostCenter",
        "title": "Cost without tag 'CostCenter' rose to 41%",
        "description": "First line\nsecond line.\n\nWhat to do.",
        "severity": Severity.MEDIUM,
        "evidence": {"share": "0.4100", "untagged_cost": "", "days": ["2026-11-02"],
                     "note": None, "nested": {"b": 1, "a": 2}},
    }
    values.update(changes)
    return Finding(**values)


def nodes(node: Any) -> list[dict[str, Any]]:
    found = [node]
    for child in node.get("content", []):
        found.extend(nodes(child))
    return found


def test_equal_evidence_has_one_fingerprint_whatever_the_key_order() -> None:
    a = evidence_fingerprint({"observed": "10.00", "baseline": "2.00"})
    b = evidence_fingerprint({"baseline": "2.00", "observed": "10.00"})
    assert a == b and len(a) == 64
    assert evidence_fingerprint({"observed": "10.01", "baseline": "2.00"}) != a


def test_evidence_reads_as_one_line_per_item_in_name_order() -> None:
    assert evidence_text(finding().evidence).splitlines() == [
        "days: 2026-11-02", 'nested: {"a": 2, "b": 1}', "note: -", "share: 0.4100",
        "untagged_cost: "]
    assert evidence_text({}) == "(none)"


def test_one_line_drops_breaks_and_control_characters_and_cuts() -> None:
    assert one_line("a\r\nb\tc\x00d", 100) == "a b c d"
    assert one_line("x" * 10, 5) == "xxxx…"


def test_the_jira_description_is_valid_adf_with_the_evidence_table_and_the_key() -> None:
    doc = issue_description(finding())
    assert doc["type"] == "doc" and doc["version"] == 1
    everything = nodes(doc)
    assert all(n["text"] for n in everything if n["type"] == "text")
    assert sum(n["type"] == "hardBreak" for n in everything) == 1
    [table] = [n for n in everything if n["type"] == "table"]
    assert len(table["content"]) == 1 + len(finding().evidence)
    assert any(n.get("text") == finding().key and n.get("marks") == [{"type": "code"}]
               for n in everything)


def test_a_finding_without_evidence_or_description_still_gives_valid_adf() -> None:
    doc = issue_description(finding(evidence={}, description=""))
    assert not any(n["type"] == "table" for n in nodes(doc))
    assert all(n["text"] for n in nodes(doc) if n["type"] == "text")


def test_the_jira_label_is_label_safe_and_stable() -> None:
    digest = key_digest("missing-tag:arn:aws:ec2:eu-west-1:1:instance/i-0 abc")
    assert digest == key_digest("missing-tag:arn:aws:ec2:eu-west-1:1:instance/i-0 abc")
    assert len(digest) == 32 and digest.isalnum()


def test_short_plain_keys_are_their_own_correlation_id_others_are_hashed() -> None:
    assert correlation_id("missing-tag:i-0abc") == "missing-tag:i-0abc"
    for key in ("x" * 101, "a^b", "tab\there", " padded"):
        hashed = correlation_id(key)
        assert hashed.startswith("apportion:") and len(hashed) <= 100
        assert hashed == correlation_id(key)


def test_the_servicenow_description_ends_with_the_key_and_the_fingerprint() -> None:
    text = record_description(finding(cost_centre="2010"), "f" * 64)
    assert text.splitlines()[-2:] == [f"Apportion finding: {finding().key}",
                                      f"Apportion evidence: {'f' * 64}"]
    assert "Cost centre: 2010" in text and "share: 0.4100" in text


@pytest.mark.parametrize(("changes", "field"), [
    ({"project_key": "ops"}, "project_key"),
    ({"project_key": 'OPS" OR project = "HR'}, "project_key"),
    ({"label": "apportion findings"}, "label"),
    ({"base_url": "example.atlassian.net"}, "base_url"),
    ({"email": ""}, "email"),
])
def test_jira_settings_that_would_break_the_search_are_refused(changes, field) -> None:
    values = {"base_url": "https://example.atlassian.net", "project_key": "OPS",
              "email": "bot@example.com", **changes}
    with pytest.raises(InputError) as caught:
        JiraCloudSettings(**values)
    assert caught.value.field == field and caught.value.source == "Jira settings"


def test_servicenow_tables_close_with_their_own_states() -> None:
    base = {"base_url": "https://example.service-now.com", "username": "bot"}
    assert ServiceNowSettings(**base).closing == ("6", "Solved (Permanently)", ("6", "7", "8"))
    assert ServiceNowSettings(**base, table="sc_task").closing == ("3", None, ("3", "4", "7"))
    assert ServiceNowSettings(**base, close_code="Solution provided").closing[1] == \
        "Solution provided"
    with pytest.raises(InputError, match="set close_state"):
        ServiceNowSettings(**base, table="u_finops_task")
    assert ServiceNowSettings(**base, table="u_finops_task", close_state="3").closing == \
        ("3", None, ("3",))


def test_a_mail_subject_stays_on_one_line() -> None:
    notifier = SmtpNotifier(SmtpSettings(host="mail.example.com", from_address="a@example.com"))
    message = notifier.message(finding(title="Spike\nBcc: x@example.net"), "o@example.com")
    assert message["Subject"] == "[Apportion] Spike Bcc: x@example.net"
    assert message["Message-ID"].endswith("@example.com>")


def test_smtp_settings_refuse_two_kinds_of_tls_and_a_password_without_a_user() -> None:
    with pytest.raises(InputError, match="not both"):
        SmtpSettings(host="mail.example.com", from_address="a@example.com", implicit_tls=True)
    with pytest.raises(InputError, match="no user name"):
        SmtpNotifier(SmtpSettings(host="mail.example.com", from_address="a@example.com"),
                     password="canary-password")


def test_a_credential_logged_by_mistake_comes_out_redacted(caplog) -> None:
    token = "canary-jira-token-unit-3k9"
    settings = JiraCloudSettings(base_url="https://example.atlassian.net", project_key="OPS",
                                 email="bot@example.com")
    caplog.set_level(logging.DEBUG)
    with JiraCloudTicketSink(settings, api_token=token):
        basic = base64.b64encode(f"bot@example.com:{token}".encode()).decode()
        for name in ("connectors.ticketing.jira", "connectors.ticketing.transport", "httpx"):
            logging.getLogger(name).debug("sent %s and Basic %s", token, basic)
    assert token not in caplog.text and basic not in caplog.text
    assert caplog.text.count("sent *** and Basic ***") == 3

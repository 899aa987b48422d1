"""The SMTP notifier against a local aiosmtpd sink on loopback: one plain-text mail to the
cost centre's owner, none without an owner, and refusals that say what the server said."""

from __future__ import annotations

import email
import logging
import re
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from connectors.ticketing import TicketingError
from connectors.ticketing.mail import SmtpNotifier, SmtpSettings
from ledger.errors import InputError
from ledger.finding import Finding, Severity

SENDER = "apportion@example.com"


class FakeMailbox:
    """An aiosmtpd handler that keeps every mail and refuses the recipients it is told to."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.content, policy=default_policy)  # type: ignore[misc]
                for e in self.envelopes]


class LoopbackController(Controller):
    """aiosmtpd's controller on port 0: learn the port the system chose before the first
    connection (the stock controller connects to the port it was given)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def mailbox() -> Iterator[tuple[FakeMailbox, int]]:
    handler = FakeMailbox()
    controller = LoopbackController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def notifier_for(port: int, **settings: Any) -> SmtpNotifier:
    values: dict[str, Any] = {"host": "127.0.0.1", "port": port, "from_address": SENDER,
                              "starttls": False, "timeout": 5}
    values.update(settings)
    return SmtpNotifier(SmtpSettings(**values))


def spike(**changes: Any) -> Finding:
    values: dict[str, Any] = {
        "key": "anomaly:cost-spike:2010:AmazonEC2:2026-11-03",
        "title": "Cost spike in 2010/AmazonEC2 on 2026-11-03",
        "description": "EC2 cost rose far above the usual Tuesday. Check for runaway jobs.",
        "severity": Severity.HIGH,
        "evidence": {"observed": "1840.00", "baseline": "410.00"},
        "cost_centre": "2010",
        "owner_email": "Cost Centre Owner <owner.2010@example.com>",
    }
    values.update(changes)
    return Finding(**values)


def test_the_owner_receives_exactly_one_plain_text_mail(mailbox) -> None:
    box, port = mailbox
    notifier_for(port).notify(spike())
    [envelope] = box.envelopes
    [message] = box.messages()
    assert envelope.mail_from == SENDER and envelope.rcpt_tos == ["owner.2010@example.com"]
    assert message["To"] == "owner.2010@example.com" and message["From"] == SENDER
    assert message["Subject"] == "[Apportion] Cost spike in 2010/AmazonEC2 on 2026-11-03"
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    assert "EC2 cost rose far above the usual Tuesday" in body
    assert "observed: 1840.00" in body and "baseline: 410.00" in body
    assert "Cost centre: 2010" in body and spike().key in body


def test_a_finding_without_an_owner_sends_no_mail_and_says_so(mailbox, caplog) -> None:
    box, port = mailbox
    caplog.set_level(logging.INFO, logger="connectors.ticketing.mail")
    notifier_for(port).notify(spike(owner_email=None))
    notifier_for(port).notify(spike(owner_email="not an address"))
    assert box.envelopes == []
    assert "has no owner mail address" in caplog.text
    assert "'not an address' is not a mail address" in caplog.text


def test_a_title_with_line_breaks_cannot_inject_headers(mailbox) -> None:
    box, port = mailbox
    notifier_for(port).notify(spike(title="Spike\r\nBcc: attacker@example.net"))
    [message] = box.messages()
    assert message["Bcc"] is None and box.envelopes[0].rcpt_tos == ["owner.2010@example.com"]
    assert message["Subject"] == "[Apportion] Spike Bcc: attacker@example.net"


def test_a_refused_recipient_is_a_ticketing_error_with_the_servers_reply(mailbox) -> None:
    box, port = mailbox
    box.refuse.add("owner.2010@example.com")
    with pytest.raises(TicketingError, match=re.escape(
            "refused the recipient owner.2010@example.com: 550 5.1.1 mailbox unavailable")):
        notifier_for(port).notify(spike())
    assert box.envelopes == []


def test_starttls_that_the_server_does_not_offer_is_an_error_not_a_plain_mail(mailbox) -> None:
    box, port = mailbox
    with pytest.raises(TicketingError, match="does not offer STARTTLS"):
        notifier_for(port, starttls=True).notify(spike())
    assert box.envelopes == []


def test_no_mail_server_listening_is_a_ticketing_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TicketingError, match=f"SMTP: cannot send mail through 127.0.0.1:{port}"):
        notifier_for(port).notify(spike())


def test_a_password_is_never_sent_over_an_unencrypted_connection() -> None:
    settings = SmtpSettings(host="127.0.0.1", from_address=SENDER, starttls=False,
                            username="apportion")
    with pytest.raises(InputError, match="needs STARTTLS or implicit TLS"):
        SmtpNotifier(settings, password="canary-smtp-password")

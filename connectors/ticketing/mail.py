"""Mail about a finding to the owner of the cost centre concerned (smtplib).

One plain-text message per call to ``finding.owner_email``: the subject is the finding's title,
the body its description, severity, cost centre, key and evidence. A finding without an owner
address is skipped with a log line. STARTTLS (or implicit TLS) with certificate checks is used
as configured, and a password is never sent over an unencrypted connection.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from connectors.ticketing import (
    MAX_ERROR_TEXT,
    TicketingError,
    evidence_text,
    one_line,
    protect_ticketing_secrets,
)
from ledger.errors import InputError
from ledger.finding import Finding

log = logging.getLogger(__name__)

MAX_SUBJECT = 200


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """The mail server and sender; holds no secret.

    Attributes:
        host, port: the submission server (587 for STARTTLS, 465 for implicit TLS, 25 for a
            local relay).
        from_address: the sender, e.g. ``apportion@example.com`` or
            ``Apportion <apportion@example.com>``.
        starttls: upgrade the connection with STARTTLS (the server must offer it).
        implicit_tls: connect with TLS from the start (SMTPS); excludes ``starttls``.
        username: log in as this user (with the password given to the notifier); None sends
            without logging in.
        ca_file: a CA bundle to check the server's certificate with; None uses the system's.
        timeout: seconds, for connecting and for each command.
        subject_prefix: put before the finding's title.
    """

    host: str
    from_address: str
    port: int = 587
    starttls: bool = True
    implicit_tls: bool = False
    username: str | None = None
    ca_file: str | None = None
    timeout: float = 30.0
    subject_prefix: str = "[Apportion] "

    def __post_init__(self) -> None:
        source = "SMTP settings"
        if not self.host:
            raise InputError("the mail server's host name is needed", source=source,
                             field="host")
        if self.starttls and self.implicit_tls:
            raise InputError("choose STARTTLS or implicit TLS, not both", source=source,
                             field="starttls")
        _, address = parseaddr(self.from_address)
        if "@" not in address or any(ch in self.from_address for ch in "\r\n"):
            raise InputError("not a mail address", source=source, field="from_address",
                             value=self.from_address)


class SmtpNotifier:
    """:class:`ledger.ports.Notifier` that mails the finding's owner.

    Args:
        settings: the mail server and sender.
        password: the SMTP password for ``settings.username``; registered with the log
            redaction filter. Refused unless the connection is encrypted.
    """

    def __init__(self, settings: SmtpSettings, *, password: str | None = None) -> None:
        if password and not settings.username:
            raise InputError("a password was given but no user name to log in with",
                             source="SMTP settings", field="username")
        if settings.username and not (settings.starttls or settings.implicit_tls):
            raise InputError("logging in needs STARTTLS or implicit TLS: the password would "
                             "cross the network in clear", source="SMTP settings",
                             field="starttls")
        protect_ticketing_secrets(password, username=settings.username)
        self.settings = settings
        self._password = password

    def __repr__(self) -> str:
        return f"SmtpNotifier({self.settings.host!r}, {self.settings.port})"

    def notify(self, finding: Finding) -> None:
        recipient = _recipient(finding.owner_email)
        if recipient is None:
            if finding.owner_email:
                log.warning("finding %s: %r is not a mail address; no mail sent", finding.key,
                            finding.owner_email)
            else:
                log.info("finding %s has no owner mail address; no mail sent", finding.key)
            return
        message = self.message(finding, recipient)
        self._send(message, recipient, finding.key)
        log.info("mailed %s about finding %s", recipient, finding.key)

    def message(self, finding: Finding, recipient: str) -> EmailMessage:
        """The mail for ``finding`` (plain text, UTF-8)."""
        message = EmailMessage()
        message["From"] = self.settings.from_address
        message["To"] = recipient
        message["Subject"] = one_line(self.settings.subject_prefix + finding.title, MAX_SUBJECT)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        domain = parseaddr(self.settings.from_address)[1].rpartition("@")[2] or None
        message["Message-ID"] = make_msgid("apportion", domain=domain)
        lines = [finding.description.strip(), "", f"Severity: {finding.severity.value}"]
        if finding.cost_centre:
            lines.append(f"Cost centre: {finding.cost_centre}")
        lines += ["", "Evidence:", evidence_text(finding.evidence), "",
                  f"Finding: {finding.key}", "-- ",
                  "Sent by Apportion because you own the cost centre concerned."]
        message.set_content("\n".join(lines) + "\n")
        return message

    def _send(self, message: EmailMessage, recipient: str, finding_key: str) -> None:
        settings = self.settings
        where = f"{settings.host}:{settings.port}"
        context = ssl.create_default_context(cafile=settings.ca_file) \
            if settings.starttls or settings.implicit_tls else None
        try:
            smtp: smtplib.SMTP
            if settings.implicit_tls:
                smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                        context=context)
            else:
                smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            with smtp:
                smtp.ehlo()
                if settings.starttls:
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if settings.username:
                    smtp.login(settings.username, self._password or "")
                smtp.send_message(message, to_addrs=[recipient])
        except smtplib.SMTPNotSupportedError:
            raise _error(f"the mail server {where} does not offer STARTTLS; no mail about "
                         f"finding {finding_key} was sent") from None
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (None, b""))
            raise _error(f"the mail server {where} refused the recipient {recipient}: "
                         f"{code} {_text(text)}", status=code) from None
        except smtplib.SMTPResponseException as exc:
            raise _error(f"the mail server {where} refused the mail about finding "
                         f"{finding_key}: {exc.smtp_code} {_text(exc.smtp_error)}",
                         status=exc.smtp_code) from None
        except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
            raise _error(f"the mail server {where} stopped answering "
                         f"({_text(str(exc)) or type(exc).__name__}); the mail about finding "
                         f"{finding_key} may not have been sent") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise _error(f"cannot send mail through {where}: "
                         f"{_text(str(exc)) or type(exc).__name__}") from None


def _recipient(owner_email: str | None) -> str | None:
    """The bare address in ``owner_email``, or None when there is no usable one."""
    if not owner_email or any(ch in owner_email for ch in "\r\n"):
        return None
    address = parseaddr(owner_email)[1]
    if not address or address.count("@") != 1:
        return None
    try:
        Address(addr_spec=address)
    except (ValueError, IndexError):
        return None
    return address


def _text(raw: bytes | str) -> str:
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    return one_line(text, MAX_ERROR_TEXT)


def _error(message: str, *, status: int | None = None) -> TicketingError:
    return TicketingError(f"SMTP: {message}", system="SMTP", status=status)

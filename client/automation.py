"""Where the scheduler's tickets and mail go: the ``[ticketing]`` and ``[notifications]`` tables
of the scheduler's TOML file, checked key by key, and the adapters built from them.

The file names the service desk and the mail server but never holds a secret: a key such as
``api_token`` or ``password`` in it is refused (the file is readable by whoever can read
``/etc/apportion``, and it ends up in backups and tickets). Secrets come from an environment
variable (``APPORTION_JIRA_API_TOKEN``, ``APPORTION_SERVICENOW_PASSWORD``,
``APPORTION_SMTP_PASSWORD``: the systemd unit's root-only ``EnvironmentFile``) or from the OS
keyring under the service ``apportion-ticketing`` (with the same refusal of plaintext backends as
the ERP secrets, :mod:`client.secrets`).

Example::

    [ticketing]
    system = "jira"                 # or "servicenow"
    notify_from = "high"            # mail the cost centre's owner from this severity up

    [ticketing.jira]
    site_url = "https://example.atlassian.net"
    project = "OPS"
    issue_type = "Task"
    user_email = "apportion-bot@example.com"

    [ticketing.servicenow]
    instance_url = "https://example.service-now.com"
    table = "incident"              # or "task" / "sc_task"
    username = "apportion.integration"

    [notifications.smtp]
    host = "smtp.example.com"
    port = 587
    starttls = true
    from = "Apportion <apportion@example.com>"
    username = "apportion"          # optional: log in (password from the environment)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from client import secrets
from ledger.errors import InputError
from ledger.finding import Severity

KEYRING_SERVICE = "apportion-ticketing"
ENV_SECRETS = {
    "jira": "APPORTION_JIRA_API_TOKEN",
    "servicenow": "APPORTION_SERVICENOW_PASSWORD",
    "smtp": "APPORTION_SMTP_PASSWORD",
}
#: Keys that would put a secret in the file; refused wherever they appear.
SECRET_KEYS = frozenset({"password", "api_token", "token", "secret", "client_secret",
                         "api_key", "apikey", "passwd"})
SYSTEMS = ("jira", "servicenow")


@dataclass(frozen=True, slots=True)
class TicketingConfig:
    """The checked ticketing and mail settings (no secret in them).

    Attributes:
        system: "jira" or "servicenow".
        jira, servicenow: the adapter settings of the chosen system (the other may be None).
        smtp: the mail server, or None when owners are not mailed.
        notify_from: owners are mailed about new findings of this severity or worse.
    """

    system: str
    jira: Any = None
    servicenow: Any = None
    smtp: Any = None
    notify_from: Severity = Severity.HIGH


# -- reading the TOML tables ---------------------------------------------------------------


class _Table:
    """One TOML table being read: every problem becomes an InputError naming file, table and
    key; keys nobody reads are reported as unknown (a typo would otherwise be ignored)."""

    def __init__(self, data: Mapping[str, Any], name: str, source: str,
                 errors: list[InputError]) -> None:
        self.data, self.name, self.source, self.errors = data, name, source, errors
        self.read: set[str] = set()

    def error(self, key: str | None, message: str, value: object = None) -> None:
        self.errors.append(InputError(message, source=self.source, row=f"[{self.name}]",
                                      field=key, value=value))

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = None, *,
            required: bool = False) -> Any:
        self.read.add(key)
        if key not in self.data:
            if required:
                self.error(key, "is required")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(
                k.__name__ for k in kind)
            self.error(key, f"must be {names.replace('str', 'text')}", value)
            return default
        return value

    def finish(self, *, subtables: tuple[str, ...] = ()) -> None:
        for key in self.data:
            if key.casefold() in SECRET_KEYS:
                env = ENV_SECRETS.get(self.name.rsplit(".", 1)[-1], "the environment")
                self.error(key, f"secrets do not go in the file: set {env} or keep it in "
                                f"the system keyring (service {KEYRING_SERVICE})")
            elif key not in self.read and key not in subtables:
                known = ", ".join(sorted(self.read))
                self.error(key, f"unknown key (known: {known})")


def _settings(where: _Table, build: Callable[..., Any], names: Mapping[str, str],
              **values: Any) -> Any:
    """Build adapter settings; their own checks are reported under the TOML key names."""
    try:
        return build(**values)
    except InputError as exc:
        key = {v: k for k, v in names.items()}.get(exc.field or "", exc.field)
        where.error(key, exc.message, exc.value)
        return None


def _jira(data: Mapping[str, Any], source: str, errors: list[InputError]) -> Any:
    from connectors.ticketing.jira import JiraCloudSettings

    table = _Table(data, "ticketing.jira", source, errors)
    site = table.get("site_url", str, required=True)
    project = table.get("project", str, required=True)
    email = table.get("user_email", str, required=True)
    values = {"issue_type": table.get("issue_type", str, "Task"),
              "label": table.get("label", str, "apportion"),
              "done_transition": table.get("done_transition", str),
              "resolution": table.get("resolution", str),
              "timeout": float(table.get("timeout_seconds", (int, float), 30))}
    table.finish()
    if site is None or project is None or email is None:
        return None
    return _settings(table, JiraCloudSettings, {"site_url": "base_url",
                                                "project": "project_key",
                                                "user_email": "email",
                                                "timeout_seconds": "timeout"},
                     base_url=site, project_key=project, email=email, **values)


def _servicenow(data: Mapping[str, Any], source: str, errors: list[InputError]) -> Any:
    from connectors.ticketing.servicenow import ServiceNowSettings

    table = _Table(data, "ticketing.servicenow", source, errors)
    url = table.get("instance_url", str, required=True)
    user = table.get("username", str, required=True)
    name = table.get("table", str, "incident")
    known_table = name in ("incident", "task", "sc_task")
    if not known_table:
        table.error("table", "must be incident, task or sc_task", name)
    fields = table.get("extra_fields", dict, {})
    timeout = float(table.get("timeout_seconds", (int, float), 30))
    table.finish()
    if url is None or user is None or not known_table:
        return None
    return _settings(table, ServiceNowSettings, {"instance_url": "base_url",
                                                 "timeout_seconds": "timeout"},
                     base_url=url, username=user, table=name,
                     extra_fields={str(k): str(v) for k, v in fields.items()},
                     timeout=timeout)


def _smtp(data: Mapping[str, Any], source: str, errors: list[InputError]) -> Any:
    from connectors.ticketing.mail import SmtpSettings

    table = _Table(data, "notifications.smtp", source, errors)
    host = table.get("host", str, required=True)
    sender = table.get("from", str, required=True)
    port = table.get("port", int, 587)
    if not 0 < port < 65536:
        table.error("port", "must be between 1 and 65535", port)
    values = {"port": port, "starttls": table.get("starttls", bool, True),
              "implicit_tls": table.get("implicit_tls", bool, False),
              "username": table.get("username", str),
              "ca_file": table.get("ca_file", str),
              "timeout": float(table.get("timeout_seconds", (int, float), 30))}
    table.finish()
    if host is None or sender is None:
        return None
    return _settings(table, SmtpSettings, {"from": "from_address"},
                     host=host, from_address=sender, **values)


def parse_automation(data: Mapping[str, Any], source: str,
                     errors: list[InputError]) -> TicketingConfig | None:
    """The ``[ticketing]`` and ``[notifications]`` tables of a parsed scheduler file, or None
    when there is no ``[ticketing]``; problems are appended to ``errors``."""
    smtp = None
    notifications = data.get("notifications")
    if notifications is not None:
        outer = _Table(notifications, "notifications", source, errors)
        outer.read.add("smtp")
        if "smtp" in notifications:
            smtp = _smtp(outer.get("smtp", dict, {}), source, errors)
        outer.finish()
    if "ticketing" not in data:
        if smtp is not None:
            errors.append(InputError("mail goes with tickets: add a [ticketing] table",
                                     source=source, row="[notifications.smtp]"))
        return None
    table = _Table(data["ticketing"], "ticketing", source, errors)
    system = table.get("system", str, required=True)
    if system is not None and system not in SYSTEMS:
        table.error("system", f"must be one of {', '.join(SYSTEMS)}", system)
    severity = table.get("notify_from", str, Severity.HIGH.value)
    try:
        notify_from = Severity(severity)
    except ValueError:
        table.error("notify_from", f"must be one of {', '.join(s.value for s in Severity)}",
                    severity)
        notify_from = Severity.HIGH
    jira = servicenow = None
    if "jira" in data["ticketing"]:
        jira = _jira(table.get("jira", dict, {}), source, errors)
    if "servicenow" in data["ticketing"]:
        servicenow = _servicenow(table.get("servicenow", dict, {}), source, errors)
    table.finish()
    if system in SYSTEMS and system not in data["ticketing"]:
        table.error("system", f"system is {system} but there is no [ticketing.{system}] table",
                    system)
    if system not in SYSTEMS:
        return None
    return TicketingConfig(system, jira, servicenow, smtp, notify_from)


# -- secrets and adapters ------------------------------------------------------------------


def secret_for(kind: str, account: str) -> str:
    """The secret of ``account`` at ``kind`` ("jira", "servicenow", "smtp"): its environment
    variable if set, else the OS keyring (service ``apportion-ticketing``, user
    ``<kind>:<account>``). Raises SecretStoreError naming both places when neither has it."""
    env = ENV_SECRETS[kind]
    if os.environ.get(env):
        return os.environ[env]
    return secrets.read_secret(
        KEYRING_SERVICE, f"{kind}:{account}",
        missing=f"set {env}, or keep it in the keyring as service {KEYRING_SERVICE}, user "
                f"{kind}:{account}")


def secret_source(kind: str) -> str:
    """Where the secret of ``kind`` would come from, for ``scheduler config check``."""
    env = ENV_SECRETS[kind]
    return f"environment ({env})" if os.environ.get(env) else f"keyring ({KEYRING_SERVICE})"


def open_sink(config: TicketingConfig) -> Any:
    """The configured service desk's :class:`ledger.ports.TicketSink` (close it after use)."""
    if config.system == "jira":
        from connectors.ticketing.jira import JiraCloudTicketSink

        return JiraCloudTicketSink(config.jira,
                                   api_token=secret_for("jira", config.jira.email))
    from connectors.ticketing.servicenow import ServiceNowTicketSink

    return ServiceNowTicketSink(config.servicenow, password=secret_for(
        "servicenow", config.servicenow.username))


def open_notifier(config: TicketingConfig) -> Any:
    """The mail notifier, or None when no ``[notifications.smtp]`` is configured."""
    if config.smtp is None:
        return None
    from connectors.ticketing.mail import SmtpNotifier

    password = secret_for("smtp", config.smtp.username) if config.smtp.username else None
    return SmtpNotifier(config.smtp, password=password)

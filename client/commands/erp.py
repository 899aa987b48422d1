"""ERP connections and the sandbox ERP: ``apportion erp add|list|test|sync``,
``apportion sandbox-erp``.

The secret of a connection goes to the OS keyring, never to the database.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from client import bootstrap
from client.bootstrap import App
from client.commands.common import (
    answer,
    changes_json,
    describe_changes,
    json_option,
    opened,
    read,
    show,
)


def register(cli: click.Group) -> None:
    """Add ``erp`` and ``sandbox-erp`` to ``cli``."""
    cli.add_command(erp)
    cli.add_command(sandbox_erp)


@contextmanager
def erp_gateway(app: App, name: str | None) -> Iterator[tuple[Any, Any]]:
    """The ERP profile ``name`` (default: the only one) and a gateway to it, closed after."""
    from client.erp import close, gateway_for
    from ledger.services.erp_profiles import get_profile

    with app.uow(read_only=True) as uow:
        profile = get_profile(uow=uow, name=name)
    gateway = gateway_for(profile)
    try:
        yield profile, gateway
    finally:
        close(gateway)


@click.group("erp")
def erp() -> None:
    """ERP connections (the secret goes to the OS keyring, never to the database)."""


@erp.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(["sap-soap", "bc-rest"]))
@click.option("--url", required=True, help="The ERP's base URL, e.g. https://my-s4.example.com.")
@click.option("--company", "company_code", help="ERP company code (default: the company's).")
@click.option("--username", help="Communication user (SAP) or OAuth client id (BC).")
@click.option("--setting", "settings", multiple=True, metavar="KEY=VALUE",
              help="Adapter setting, e.g. tenant=..., environment=..., token_url=... for BC, "
                   "soap_path=... for SAP (repeatable).")
@json_option
@click.pass_context
def erp_add(ctx: click.Context, name: str, kind: str, url: str, company_code: str | None,
            username: str | None, settings: tuple[str, ...]) -> None:
    """Add or change an ERP connection; asks for its secret (or reads APPORTION_ERP_SECRET)."""
    from client.erp import settings_for
    from client.secrets import ENV_SECRET, store_secret
    from ledger.erp import ErpProfile
    from ledger.services.erp_profiles import save_profile

    parsed: dict[str, object] = {}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--setting")
        parsed[key.strip()] = value.strip()
    with opened(ctx) as app, app.uow() as uow:
        company = uow.company.get()
        code = company_code or (company.code if company else None)
        if not code:
            raise click.UsageError("give --company: the database has no company yet")
        profile = ErpProfile(name, kind, url.rstrip("/"), code, username, parsed)
        settings_for(profile)  # a bad setting is refused now, not at month-end
        changes = save_profile(uow=uow, profile=profile)
        secret = os.environ.get(ENV_SECRET)
        if secret is None and sys.stdin.isatty():
            secret = click.prompt(f"Secret for {username or name}", hide_input=True)
        kept = store_secret(name, username, secret) if secret else False
        uow.commit()
    answer(ctx, {**changes_json(changes), "secret_in_keyring": kept},
           f"ERP {name}: {describe_changes(changes)}; "
           + ("secret kept in the OS keyring." if kept else
              f"no secret kept: set {ENV_SECRET} where journals are posted."))


@erp.command("list")
@json_option
@click.pass_context
def erp_list(ctx: click.Context) -> None:
    """List ERP connections."""
    from ledger.services.erp_profiles import list_profiles

    rows = read(ctx, lambda uow: list_profiles(uow=uow))
    show(ctx, "erp", rows, [("name", lambda p: p.name), ("kind", lambda p: p.kind),
                            ("url", lambda p: p.url), ("company", lambda p: p.company_code),
                            ("user", lambda p: p.username)])


@erp.command("test")
@click.argument("name")
@json_option
@click.pass_context
def erp_test(ctx: click.Context, name: str) -> None:
    """Check that NAME answers: read its documents of the last week."""
    with opened(ctx) as app, erp_gateway(app, name) as (profile, gateway):
        today = date.today()
        documents = gateway.documents_between(profile.company_code,
                                              today - timedelta(days=7), today)
    answer(ctx, {"erp": name, "ok": True, "documents_last_week": len(documents)},
           f"{name} answers: {len(documents)} document(s) in the last week.")


@erp.command("sync")
@click.argument("name")
@json_option
@click.pass_context
def erp_sync(ctx: click.Context, name: str) -> None:
    """Bring cost centres and GL accounts from ERP NAME into Apportion (all or nothing)."""
    from client.erp import sync_master_data

    with opened(ctx) as app:
        changes = sync_master_data(app, name)
    answer(ctx, changes_json(changes), f"Master data from {name}: {describe_changes(changes)}.")


@click.command("sandbox-erp")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--data", "data_dir", type=click.Path(path_type=Path),
              help="Where it keeps what was posted (default: in your data directory).")
@click.option("--fault-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of posting requests that meet an injected fault.")
@click.option("--seed", default=0, show_default=True, type=int)
def sandbox_erp(host: str, port: int, data_dir: Path | None, fault_rate: float,
                seed: int) -> None:
    """Run the sandbox ERP (SAP SOAP and OData, Business Central REST) until Ctrl-C."""
    from connectors.erp.sandbox.server import serve_forever

    serve_forever(host, port, data_dir or bootstrap.data_dir() / "sandbox-erp",
                  fault_rate=fault_rate, seed=seed, echo=click.echo)

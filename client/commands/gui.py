"""The desktop client's command: ``apportion gui [--db URL]``.

Qt is imported only inside the command, so every other command (and the scheduler) starts
without it. ``apportion demo`` reaches this command through the CLI group, not by import.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from client import bootstrap
from client.bootstrap import App
from client.commands.common import Options, err_console

#: The sandbox ERP's documented demo credentials (``apportion sandbox-erp``), not a secret.
SANDBOX_SECRET = "demo"  # noqa: S105
SANDBOX_PROFILE = "sandbox"


def display_available() -> bool:
    """Whether Qt can show a window here: a desktop OS, an X or Wayland display, or a Qt
    platform that needs none (``QT_QPA_PLATFORM=offscreen`` for tests and screenshots)."""
    if sys.platform in ("win32", "darwin"):
        return True
    if os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] in ("offscreen", "minimal", "vnc"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


@contextmanager
def sandbox_erp(app: App, data_dir: Path) -> Iterator[str]:
    """Run the sandbox ERP on loopback for the session and point the ERP profile ``sandbox``
    at it, with the company, accounts and cost centres of this database."""
    from connectors.erp.sandbox.server import SandboxErp
    from ledger.erp import ErpProfile
    from ledger.services import erp_profiles

    with app.uow(read_only=True) as uow:
        company = uow.company.get()
        accounts = [a.number for a in uow.accounts.list()]
        centres = [c.code for c in uow.cost_centres.list()]
    if company is None:
        raise click.ClickException("the database has no company yet: apportion init first")
    sandbox = SandboxErp.start("127.0.0.1", 0, data_dir,
                               companies={company.code: company.functional_currency},
                               accounts=accounts, cost_centres=centres)
    try:
        with app.uow() as uow:
            erp_profiles.save_profile(uow=uow, profile=ErpProfile(
                SANDBOX_PROFILE, "sap-soap", sandbox.url, company.code, "demo",
                {"operation_timeout": 10.0}))
            uow.commit()
        os.environ.setdefault("APPORTION_ERP_SECRET", SANDBOX_SECRET)
        yield sandbox.url
    finally:
        sandbox.stop()


def register(cli: click.Group) -> None:
    """Add this module's commands to ``cli``."""

    @cli.command("gui")
    @click.option("--db", "db_url", metavar="URL",
                  help="Database URL; default: as for every command (--db before the command, "
                       "APPORTION_DB, or the embedded SQLite file).")
    @click.option("--sandbox-erp", "sandbox_dir", type=click.Path(path_type=Path),
                  hidden=True, help="Run the sandbox ERP for the session (the demo).")
    @click.pass_context
    def gui(ctx: click.Context, db_url: str | None, sandbox_dir: Path | None) -> None:
        """Open the desktop client."""
        if not display_available():
            raise click.ClickException(
                "no display found: the desktop client needs one (set DISPLAY, or run the "
                "commands headless; apportion --help lists them)")
        options = ctx.ensure_object(Options)
        app = bootstrap.open_app(db_url or options.db)
        if app.upgraded:
            err_console.print(f"Upgraded the database schema at {app.where}.")
        try:
            code = _run(app, sandbox_dir)
        finally:
            app.close()
        ctx.exit(code)


def _run(app: App, sandbox_dir: Path | None) -> int:
    from client import gui as desktop  # Qt is loaded here and nowhere on the headless path

    if sandbox_dir is None:
        return desktop.run(app)
    with sandbox_erp(app, sandbox_dir) as url:
        err_console.print(f"The sandbox ERP runs at {url} while the client is open.")
        return desktop.run(app, on_ready=_demo_ready)


def _demo_ready(window: Any) -> None:
    window.go("Dashboard")

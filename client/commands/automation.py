"""Automation commands: check the scheduler's configuration, keep tickets in step by hand.

``apportion scheduler config check [FILE]`` reads a scheduler file the way the service will and
names every problem by file, table and key (exit 1), or summarises the jobs and where each
secret will come from. ``apportion tickets sync --config FILE`` does what the scheduler's
``tickets`` job does, now.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from client.commands.common import Options, json_option, opened, print_json
from ledger.errors import InputError, InputErrors

EXIT_INVALID = 1


def _problems(exc: InputError | InputErrors) -> list[InputError]:
    return list(exc.errors) if isinstance(exc, InputErrors) else [exc]


def _error_json(error: InputError) -> dict[str, Any]:
    return {"source": error.source, "table": error.row, "key": error.field,
            "value": None if error.value is None else str(error.value),
            "message": error.message}


def _summary(config: Any) -> dict[str, Any]:
    from client.automation import secret_source

    jobs = [{"name": job.name, "kind": job.kind, "mode": job.mode,
             "cron": job.cron, "interval_seconds": job.every_seconds,
             "max_backoff_seconds": job.max_backoff_seconds if job.mode == "poll" else None}
            for job in config.jobs.values()]
    ticketing = None
    if config.ticketing is not None:
        t = config.ticketing
        settings = t.jira if t.system == "jira" else t.servicenow
        ticketing = {"system": t.system, "url": settings.base_url,
                     "secret_from": secret_source(t.system),
                     "notify_from": t.notify_from.value,
                     "smtp": None if t.smtp is None else {
                         "host": t.smtp.host, "port": t.smtp.port,
                         "secret_from": secret_source("smtp") if t.smtp.username else None}}
    return {"valid": True, "jobs": jobs, "lease_seconds": config.lease_seconds,
            "log_file": str(config.log_file) if config.log_file else None,
            "ticketing": ticketing}


def check_config(ctx: click.Context, config_file: Path | None) -> None:
    from client.scheduler import load_config

    path = config_file or ctx.ensure_object(Options).scheduler_config
    try:
        config = load_config(path)
    except (InputError, InputErrors) as exc:
        problems = _problems(exc)
        if ctx.ensure_object(Options).json:
            print_json({"valid": False, "errors": [_error_json(e) for e in problems]})
        else:
            for problem in problems:
                click.echo(f"error: {problem}", err=True)
        sys.exit(EXIT_INVALID)
    summary = _summary(config)
    if ctx.ensure_object(Options).json:
        print_json(summary)
        return
    click.echo(f"{path or 'The default configuration'} is valid: "
               f"{len(summary['jobs'])} job(s).")
    for job in summary["jobs"]:
        when = job["cron"] if job["mode"] == "batch" else \
            f"every {job['interval_seconds']} s (back-off up to {job['max_backoff_seconds']} s)"
        click.echo(f"  {job['name']}: {job['kind']}, {job['mode']}, {when}")
    if summary["ticketing"]:
        t = summary["ticketing"]
        click.echo(f"  tickets: {t['system']} at {t['url']}, secret from {t['secret_from']}"
                   + (f"; mail via {t['smtp']['host']}" if t["smtp"] else ""))


def register(cli: click.Group) -> None:
    """Add ``scheduler config check`` and ``tickets sync``."""
    scheduler = cli.commands["scheduler"]
    assert isinstance(scheduler, click.Group)

    @scheduler.group("config")
    def scheduler_config() -> None:
        """The scheduler's TOML configuration."""

    @scheduler_config.command("check")
    @click.argument("config_file", required=False,
                    type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @json_option
    @click.pass_context
    def scheduler_config_check(ctx: click.Context, config_file: Path | None) -> None:
        """Check CONFIG_FILE (or the --config of `apportion scheduler`) as the service would
        read it; every problem names the table and key. Exit 1 when it is not valid."""
        check_config(ctx, config_file)

    @cli.group("tickets")
    def tickets() -> None:
        """Service-desk tickets for findings (one per finding)."""

    @tickets.command("sync")
    @click.option("--config", "config_file", required=True,
                  type=click.Path(exists=True, dir_okay=False, path_type=Path),
                  help="The scheduler's TOML file with the [ticketing] table.")
    @json_option
    @click.pass_context
    def tickets_sync(ctx: click.Context, config_file: Path) -> None:
        """Open or update a ticket per open finding; close those of cleared or dismissed
        findings; mail owners about new serious ones (as the scheduler's tickets job)."""
        from client.automation import open_notifier, open_sink
        from client.scheduler import load_config
        from ledger.services.anomalies import sync_tickets

        config = load_config(config_file)
        if config.ticketing is None:
            raise InputError("no [ticketing] table", source=str(config_file))
        sink = open_sink(config.ticketing)
        try:
            with opened(ctx) as app, app.uow() as uow:
                report = sync_tickets(uow=uow, sink=sink,
                                      notifier=open_notifier(config.ticketing),
                                      notify_from=config.ticketing.notify_from)
                uow.commit()
        finally:
            sink.close_connection()
        if ctx.ensure_object(Options).json:
            print_json({"opened": report.opened, "updated": report.updated,
                        "closed": report.closed, "notified": report.notified,
                        "failed_notifications": report.failed_notifications})
            return
        click.echo(f"Tickets: {len(report.opened)} opened, {len(report.updated)} updated, "
                   f"{len(report.closed)} closed; {len(report.notified)} owner(s) mailed.")
        for failure in report.failed_notifications:
            click.echo(f"mail failed: {failure}")

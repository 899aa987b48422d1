"""The headless scheduler's commands: ``apportion scheduler [--config FILE]`` serves the jobs,
``scheduler history`` and ``scheduler run JOB``.

The jobs themselves are in :mod:`client.scheduler`; ``scheduler config check`` is added to this
group by :mod:`client.commands.automation`, registered after this module.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from client.commands.common import (
    EXIT_ERROR,
    Options,
    console,
    err_console,
    json_option,
    opened,
    print_json,
    read,
    show,
)
from ledger.access import Permission
from ledger.errors import ConflictError, InputError
from ledger.ports import UnitOfWork


def register(cli: click.Group) -> None:
    """Add ``scheduler`` to ``cli``."""
    cli.add_command(scheduler_group)


@click.group("scheduler", invoke_without_command=True)
@click.option("--config", "config_file", type=click.Path(exists=True, path_type=Path),
              help="Jobs and schedules (TOML); default: the built-in month-end set.")
@click.pass_context
def scheduler_group(ctx: click.Context, config_file: Path | None) -> None:
    """Run the scheduled jobs until stopped (one scheduler acts; others stand by)."""
    ctx.ensure_object(Options).scheduler_config = config_file
    if ctx.invoked_subcommand is not None:
        return
    from client.scheduler import Scheduler, configure_logging, load_config

    config = load_config(config_file)
    log_path = configure_logging(config.log_file)
    err_console.print(f"Scheduler starting; log in {log_path}. Ctrl-C stops it.")
    with opened(ctx) as app:
        try:
            Scheduler(app, config).serve()
        except KeyboardInterrupt:
            err_console.print("Scheduler stopped.")


def _run_json(run: Any) -> dict[str, Any]:
    return {"id": run.id, "job": run.job, "scheduled_for": run.scheduled_for,
            "attempt": run.attempt, "holder": run.holder, "started_at": run.started_at,
            "finished_at": run.finished_at, "outcome": run.outcome.value,
            "counts": run.counts, "message": run.message}


@scheduler_group.command("history")
@click.option("--job", help="Only this job.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1))
@json_option
@click.pass_context
def scheduler_history(ctx: click.Context, job: str | None, limit: int) -> None:
    """Runs with start, end, outcome and counts, newest first."""
    from ledger.services.base import authorize

    def load(uow: UnitOfWork) -> list[Any]:
        authorize(uow, Permission.READ, doing="read the scheduler history")
        return uow.job_runs.history(job, limit)

    runs = read(ctx, load)
    if ctx.ensure_object(Options).json:
        print_json({"runs": [_run_json(r) for r in runs]})
        return
    show(ctx, "runs", runs, [
        ("job", lambda r: r.job), ("due", lambda r: r.scheduled_for.isoformat(
            timespec="minutes")), ("try", lambda r: r.attempt),
        ("outcome", lambda r: r.outcome.value),
        ("took", lambda r: f"{(r.finished_at - r.started_at).total_seconds():.1f} s"
         if r.finished_at else None),
        ("counts", lambda r: ", ".join(f"{k} {v}" for k, v in r.counts.items())),
        ("message", lambda r: r.message)])


@scheduler_group.command("run")
@click.argument("job")
@json_option
@click.pass_context
def scheduler_run(ctx: click.Context, job: str) -> None:
    """Run JOB now (once; refused while another scheduler is active)."""
    from client.scheduler import Scheduler, load_config

    config = load_config(ctx.ensure_object(Options).scheduler_config)
    if job not in config.jobs:
        raise InputError(f"no job {job!r}; jobs: {', '.join(sorted(config.jobs))}", field="job")
    with opened(ctx) as app:
        scheduler = Scheduler(app, config)
        run = scheduler.fire(job, datetime.now(UTC).replace(microsecond=0))
    if run is None:
        raise ConflictError("another scheduler is active and runs the jobs; see: apportion "
                            "scheduler history")
    if ctx.ensure_object(Options).json:
        print_json(_run_json(run))
    else:
        console.print(f"{job}: {run.outcome.value} "
                      f"{', '.join(f'{k} {v}' for k, v in run.counts.items())}"
                      + (f" ({run.message})" if run.message else ""))
    if run.outcome.value != "succeeded":
        sys.exit(EXIT_ERROR)

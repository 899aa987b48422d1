"""The headless scheduler: month-end and nightly work without anyone at a desk.

APScheduler 3 is used only as a trigger (RELIABILITY.md: its job store records the schedule,
not whether a run finished, and two processes sharing one would run jobs twice). Whether a fire
runs is decided in the database (:mod:`ledger.scheduling`):

- one scheduler acts at a time: it holds the ``scheduler`` lease and renews it; a second
  instance stands by and takes over when the lease runs out;
- each fire of a job is claimed by inserting its run: of two schedulers only one runs it;
- at start, runs left ``running`` by a killed scheduler are marked interrupted and redone, and
  each job whose last due time passed while no scheduler ran is run once (coalesced);
- every job is idempotent (imports by content hash, runs replace their own drafts, the outbox
  never posts twice), so a redone run is safe.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import shutil
import socket
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from client import bootstrap
from client.bootstrap import App
from client.erp import close as close_gateway
from client.erp import gateway_for
from ledger.errors import ApportionError, InputError
from ledger.scheduling import JobRun, RunOutcome
from ledger.services import erp_profiles
from ledger.services.depreciation import run_depreciation
from ledger.services.posting import post_approved, reconcile_postings

log = logging.getLogger("apportion.scheduler")

SCHEDULER_LEASE = "scheduler"
JobFunction = Callable[["JobContext"], dict[str, Any]]


@dataclass(frozen=True)
class JobConfig:
    """One job in the configuration file.

    Attributes:
        name: the job's name (the TOML table name).
        kind: which job function runs (see :data:`JOB_KINDS`).
        cron: when, as a crontab line in UTC; batch mode.
        every_seconds: near-real-time mode: poll at this interval instead of ``cron``.
        options: the job's own settings (``erp``, ``folder``, ``period`` ...).
    """

    name: str
    kind: str
    cron: str | None = None
    every_seconds: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def trigger(self) -> CronTrigger | IntervalTrigger:
        if self.every_seconds:
            return IntervalTrigger(seconds=self.every_seconds, timezone=UTC)
        return CronTrigger.from_crontab(self.cron or "0 * * * *", timezone=UTC)

    def due_time(self, now: datetime) -> datetime:
        """The fire this moment belongs to: the same for every scheduler that sees it."""
        if self.every_seconds:
            seconds = int(now.timestamp()) // self.every_seconds * self.every_seconds
            return datetime.fromtimestamp(seconds, UTC)
        return now.replace(second=0, microsecond=0)

    def last_due_before(self, now: datetime, since: datetime) -> datetime | None:
        """The latest due time after ``since`` and not after ``now``, if any."""
        trigger, last, cursor = self.trigger(), None, since + timedelta(seconds=1)
        for _ in range(100_000):
            fire = trigger.get_next_fire_time(None, cursor)
            if fire is None or fire > now:
                break
            last, cursor = fire, fire + timedelta(seconds=1)
        return last


@dataclass(frozen=True)
class SchedulerConfig:
    jobs: dict[str, JobConfig]
    lease_seconds: int = 120
    log_file: Path | None = None


DEFAULT_CONFIG = """
# Apportion scheduler. Times are UTC crontab lines; "every_seconds" polls instead (near-real-time).
[scheduler]
lease_seconds = 120

[jobs.billing_pickup]        # billing files dropped in a folder are imported (batch, hourly)
kind = "billing_pickup"
cron = "5 * * * *"

[jobs.depreciation]          # month-end: depreciate the month just ended (drafts for approval)
kind = "depreciation_run"
cron = "30 1 1 * *"
period = "previous"

[jobs.post_journals]         # approved journals go to the ERP every 15 minutes
kind = "post_journals"
cron = "*/15 * * * *"

[jobs.erp_reconcile]         # daily: what the ERP holds against what was posted
kind = "erp_reconcile"
cron = "0 6 * * *"

[jobs.anomalies]             # nightly: spikes, untagged growth, untagged new resources
kind = "anomaly_detection"
cron = "30 5 * * *"
days = 7
required_tags = ["cost-centre"]
"""


def load_config(path: Path | None) -> SchedulerConfig:
    """Read the TOML configuration (or the defaults); errors name the file and the job."""
    source = str(path) if path else "the default configuration"
    try:
        data = tomllib.loads(path.read_text("utf-8") if path else DEFAULT_CONFIG)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", source=source) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=source) from None
    settings = data.get("scheduler", {})
    jobs: dict[str, JobConfig] = {}
    for name, table in data.get("jobs", {}).items():
        options = dict(table)
        kind = options.pop("kind", name)
        if kind not in JOB_KINDS:
            raise InputError(f"unknown kind {kind!r}; kinds: {', '.join(sorted(JOB_KINDS))}",
                             source=source, row=f"job {name}", field="kind")
        cron, every = options.pop("cron", None), options.pop("every_seconds", None)
        if (cron is None) == (every is None):
            raise InputError("give either cron or every_seconds", source=source,
                             row=f"job {name}", field="cron")
        job = JobConfig(name, kind, cron, int(every) if every else None, options)
        try:
            job.trigger()
        except ValueError as exc:
            raise InputError(f"bad cron line: {exc}", source=source, row=f"job {name}",
                             field="cron", value=cron) from None
        jobs[name] = job
    log_file = settings.get("log_file")
    return SchedulerConfig(jobs, int(settings.get("lease_seconds", 120)),
                           Path(log_file) if log_file else None)


@dataclass
class JobContext:
    app: App
    job: JobConfig
    scheduled_for: datetime
    gateway_factory: Callable[..., Any]

    def profile(self) -> Any:
        with self.app.uow(read_only=True) as uow:
            return erp_profiles.get_profile(uow=uow, name=self.job.options.get("erp"))


def _post_journals(ctx: JobContext) -> dict[str, Any]:
    profile = ctx.profile()
    gateway = ctx.gateway_factory(profile)
    try:
        report = post_approved(uow_factory=ctx.app.uow, gateway=gateway, profile=profile,
                               holder=f"scheduler:{_holder()}")
    finally:
        close_gateway(gateway)
    counts = {"posted": len(report.posted), "failed": len(report.failed),
              "unknown": len(report.unknown), "alerts": len(report.alerts)}
    if report.blocked:
        raise JobFailedError(report.blocked, counts)
    return counts


def _erp_reconcile(ctx: JobContext) -> dict[str, Any]:
    profile = ctx.profile()
    gateway = ctx.gateway_factory(profile)
    try:
        with ctx.app.uow() as uow:
            report = reconcile_postings(uow=uow, gateway=gateway, profile=profile)
            uow.commit()
    finally:
        close_gateway(gateway)
    counts = {"matched": len(report.matched), "missing": len(report.missing),
              "extra": len(report.extra), "different": len(report.different)}
    if not report.clean:
        raise JobFailedError("the ERP does not agree with what was posted: see apportion "
                             "journals reconcile", counts)
    return counts


def _depreciation_run(ctx: JobContext) -> dict[str, Any]:
    day = ctx.scheduled_for.date()
    if ctx.job.options.get("period", "previous") == "previous":
        day = date(day.year, day.month, 1) - timedelta(days=1)
    with ctx.app.uow() as uow:
        run = run_depreciation(uow=uow, period=f"{day.year:04d}-{day.month:02d}",
                               book=ctx.job.options.get("book"))
        uow.commit()
    return {"period": run.period, "books": len(run.books),
            "journals": sum(len(b.journal_ids) for b in run.books)}


def _billing_pickup(ctx: JobContext) -> dict[str, Any]:
    """Import every file in the drop folder; move it to imported/ or rejected/ (with the
    reason beside it), so a person sees at a glance what needs fixing."""
    from connectors.billing import detect_importer
    from ledger.services.costs import import_billing

    folder = Path(ctx.job.options.get("folder") or bootstrap.data_dir() / "billing-drop")
    folder.mkdir(parents=True, exist_ok=True)
    counts = {"imported": 0, "already_imported": 0, "rejected": 0}
    store = ctx.app.cost_facts()
    for path in sorted(p for p in folder.iterdir() if p.is_file()
                       and not p.name.startswith(".")):
        try:
            importer = detect_importer(path)
            with ctx.app.uow() as uow:
                result = import_billing(uow=uow, store=store, path=path, importer=importer)
                uow.commit()
        except ApportionError as exc:
            counts["rejected"] += 1
            target = folder / "rejected"
            target.mkdir(exist_ok=True)
            (target / f"{path.name}.error.txt").write_text(f"{exc}\n", "utf-8")
            shutil.move(str(path), target / path.name)
            log.warning("rejected %s: %s", path.name, exc)
            continue
        counts["already_imported" if result.already_imported else "imported"] += 1
        target = folder / "imported"
        target.mkdir(exist_ok=True)
        shutil.move(str(path), target / path.name)
    return counts


def _anomaly_detection(ctx: JobContext) -> dict[str, Any]:
    from ledger.services.anomalies import detect_anomalies

    with ctx.app.uow() as uow:
        report = detect_anomalies(
            uow=uow, store=ctx.app.cost_facts(), today=ctx.scheduled_for.date(),
            days=int(ctx.job.options.get("days", 7)),
            required_tags=tuple(ctx.job.options.get("required_tags", ())))
        uow.commit()
    return {"new": len(report.new), "updated": len(report.updated),
            "cleared": len(report.cleared)}


JOB_KINDS: dict[str, JobFunction] = {
    "anomaly_detection": _anomaly_detection,
    "post_journals": _post_journals,
    "erp_reconcile": _erp_reconcile,
    "depreciation_run": _depreciation_run,
    "billing_pickup": _billing_pickup,
}


class JobFailedError(ApportionError):
    def __init__(self, message: str, counts: dict[str, Any]) -> None:
        super().__init__(message)
        self.counts = counts


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Scheduler:
    """Runs the configured jobs against one database, alone or as a standby."""

    def __init__(self, app: App, config: SchedulerConfig, *, holder: str | None = None,
                 gateway_factory: Callable[..., Any] = gateway_for) -> None:
        self.app = app
        self.config = config
        self.holder = holder or _holder()
        self.gateway_factory = gateway_factory

    def now(self) -> datetime:
        return self.app.uow.clock.now() if self.app.uow.clock else datetime.now(UTC)

    def hold_lease(self) -> bool:
        """Take or renew the scheduler lease; False while another scheduler holds it."""
        with self.app.uow() as uow:
            other = uow.leases.acquire(SCHEDULER_LEASE, self.holder, self.now(),
                                       self.config.lease_seconds)
            uow.commit()
        if other is not None:
            log.info("standing by: %s is the active scheduler", other)
        return other is None

    def fire(self, name: str, scheduled_for: datetime | None = None,
             attempt: int = 1) -> JobRun | None:
        """Run job ``name`` for its due time, if this scheduler is active and nobody ran that
        fire yet. Returns the finished run, or None when it was not this scheduler's to run."""
        job = self.config.jobs[name]
        due = scheduled_for or job.due_time(self.now())
        if not self.hold_lease():
            return None
        with self.app.uow() as uow:
            run_id = uow.job_runs.claim(name, due, self.holder, self.now(), attempt)
            uow.commit()
        if run_id is None:
            log.info("%s for %s was already run by another scheduler", name, due)
            return None
        log.info("running %s for %s (attempt %d)", name, due, attempt)
        outcome, counts, message = RunOutcome.SUCCEEDED, {}, None
        context = JobContext(self.app, job, due, self.gateway_factory)
        try:
            counts = JOB_KINDS[job.kind](context)
        except JobFailedError as exc:
            outcome, counts, message = RunOutcome.FAILED, exc.counts, str(exc)
        except ApportionError as exc:
            outcome, message = RunOutcome.FAILED, str(exc)
        except Exception as exc:
            log.exception("%s failed", name)
            outcome, message = RunOutcome.FAILED, f"{type(exc).__name__}: {exc}"
        with self.app.uow() as uow:
            uow.job_runs.finish(run_id, outcome, self.now(), counts, message)
            uow.commit()
            finished = next(r for r in uow.job_runs.history(name, 5) if r.id == run_id)
        log.log(logging.INFO if outcome is RunOutcome.SUCCEEDED else logging.ERROR,
                "%s %s: %s %s", name, outcome.value, counts, message or "")
        return finished

    def recover(self) -> list[JobRun]:
        """Redo the runs a killed scheduler left ``running`` (once this one is active)."""
        if not self.hold_lease():
            return []
        redone = []
        with self.app.uow() as uow:
            stale = [r for r in uow.job_runs.running() if r.holder != self.holder]
            for run in stale:
                uow.job_runs.finish(run.id, RunOutcome.INTERRUPTED, self.now(), run.counts,
                                    f"{run.holder} stopped during the run; redone")
            uow.commit()
        for run in stale:
            if run.job in self.config.jobs:
                result = self.fire(run.job, run.scheduled_for, run.attempt + 1)
                if result is not None:
                    redone.append(result)
        return redone

    def catch_up(self) -> list[JobRun]:
        """Run once each job whose last due time passed while no scheduler was running."""
        ran = []
        now = self.now()
        for name, job in self.config.jobs.items():
            with self.app.uow(read_only=True) as uow:
                last = uow.job_runs.last(name)
            if last is None:
                continue  # a new job starts with its next due time
            missed = job.last_due_before(now, last.scheduled_for)
            if missed is not None:
                result = self.fire(name, missed)
                if result is not None:
                    ran.append(result)
        return ran

    def serve(self) -> None:  # pragma: no cover - runs until stopped; parts are tested
        self.recover()
        self.catch_up()
        scheduler = BlockingScheduler(timezone=UTC)
        for name, job in self.config.jobs.items():
            scheduler.add_job(self.fire, job.trigger(), args=[name], id=name, name=name,
                              coalesce=True, max_instances=1, misfire_grace_time=None)
        scheduler.add_job(self._heartbeat, IntervalTrigger(
            seconds=max(5, self.config.lease_seconds // 3), timezone=UTC), id="heartbeat")
        log.info("scheduler %s started with jobs %s", self.holder,
                 ", ".join(self.config.jobs))
        try:
            scheduler.start()
        finally:
            with self.app.uow() as uow:
                uow.leases.release(SCHEDULER_LEASE, self.holder)
                uow.commit()

    def _heartbeat(self) -> None:  # pragma: no cover - exercised by serve()
        if self.hold_lease():
            self.recover()
            self.catch_up()


def configure_logging(log_file: Path | None) -> Path:
    """Log to a rotating file and to stderr (which systemd sends to the journal)."""
    path = log_file or bootstrap.data_dir() / "logs" / "scheduler.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=10 * 1024 * 1024,
                                                   backupCount=5, encoding="utf-8")
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler.setFormatter(formatter)
    console = logging.StreamHandler()
    console.setFormatter(formatter)
    root = logging.getLogger("apportion")
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    root.addHandler(console)
    return path

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
import random
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
from client.automation import SECRET_KEYS, TicketingConfig, parse_automation
from client.bootstrap import App
from client.erp import close as close_gateway
from client.erp import gateway_for
from ledger.errors import ApportionError, InputError, InputErrors
from ledger.scheduling import JobRun, RunOutcome
from ledger.services import erp_profiles
from ledger.services.depreciation import run_depreciation
from ledger.services.posting import LEASE_SECONDS as POSTER_LEASE_SECONDS
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
        max_backoff_seconds: a polled source that is loaded (HTTP 429 or 503, a timeout) is
            asked again after an exponentially growing, jittered delay of at most this long.
    """

    name: str
    kind: str
    cron: str | None = None
    every_seconds: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    max_backoff_seconds: int = 3600

    @property
    def mode(self) -> str:
        """``poll`` (near-real-time, at an interval, backing off) or ``batch`` (cron)."""
        return "poll" if self.every_seconds else "batch"

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
        if self.every_seconds:  # computed, not walked: a 1 s poll after a week's downtime
            due = self.due_time(now)
            return due if due > since else None
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
    ticketing: TicketingConfig | None = None


DEFAULT_CONFIG = """
# Apportion scheduler. Times are UTC crontab lines (mode = "batch"); mode = "poll" with
# interval_seconds asks a source near-real-time and backs off while it is loaded.
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

[jobs.anomalies]             # nightly: spikes, untagged growth, untagged new resources,
kind = "anomaly_detection"   # allocation outliers
cron = "30 5 * * *"
days = 7
required_tags = ["cost-centre"]
# unseen_asset_days = 30     # once discovery imports run: assets no source saw for 30 days
"""

#: The checked options of some job kinds (others' options are the job's own business).
OPTION_TYPES: dict[str, dict[str, type]] = {
    "anomaly_detection": {"days": int, "unseen_asset_days": int, "required_tags": list},
    "post_journals": {"lease_seconds": int},
    "reconcile": {"missing_days": int},
    "opencost_pull": {"timeout_seconds": int},
}

#: Job kinds that need the [ticketing] table.
NEEDS_TICKETING = frozenset({"tickets"})


def _job(name: str, table: Any, source: str, errors: list[InputError]) -> JobConfig | None:
    """One ``[jobs.NAME]`` table; problems are appended to ``errors`` naming the key."""
    where = f"[jobs.{name}]"

    def error(key: str, message: str, value: object = None) -> None:
        errors.append(InputError(message, source=source, row=where, field=key, value=value))

    if not isinstance(table, dict):
        error("kind", "must be a table of settings")
        return None
    options = dict(table)
    kind = options.pop("kind", name)
    if kind not in JOB_KINDS:
        error("kind", f"unknown kind {kind!r}; kinds: {', '.join(sorted(JOB_KINDS))}", kind)
        return None
    cron = options.pop("cron", None)
    interval = options.pop("interval_seconds", options.pop("every_seconds", None))
    mode = options.pop("mode", "poll" if interval is not None else "batch")
    cap = options.pop("max_backoff_seconds", 3600)
    for key in options:
        if key.casefold() in SECRET_KEYS:
            error(key, "secrets do not go in the file: use the environment or the keyring")
    if mode not in ("batch", "poll"):
        error("mode", 'must be "batch" (cron) or "poll" (interval_seconds)', mode)
        return None
    if mode == "batch" and (cron is None or interval is not None):
        error("cron", 'mode "batch" runs on a cron line (and takes no interval_seconds)')
        return None
    if mode == "poll" and (interval is None or cron is not None):
        error("interval_seconds", 'mode "poll" runs every interval_seconds (and takes no cron)')
        return None
    if interval is not None and (not isinstance(interval, int) or isinstance(interval, bool)
                                 or interval < 1):
        error("interval_seconds", "must be a whole number of seconds, at least 1", interval)
        return None
    if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1:
        error("max_backoff_seconds", "must be a whole number of seconds, at least 1", cap)
        return None
    for key, kind_of in OPTION_TYPES.get(kind, {}).items():
        value = options.get(key)
        if value is not None and (not isinstance(value, kind_of) or isinstance(value, bool)
                                  or (kind_of is int and value < 1)):
            error(key, "must be a whole number, at least 1" if kind_of is int
                  else "must be a list of text", value)
            return None
    job = JobConfig(name, kind, cron, interval, options, max(cap, interval or 0))
    try:
        job.trigger()
    except ValueError as exc:
        error("cron", f"bad cron line: {exc}", cron)
        return None
    return job


def parse_config(text: str, source: str) -> SchedulerConfig:
    """Check a whole scheduler file; every problem is reported at once (InputErrors), each
    naming the file, the table and the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=source) from None
    errors: list[InputError] = []
    for key in data:
        if key not in ("scheduler", "jobs", "ticketing", "notifications"):
            errors.append(InputError("unknown table (known: scheduler, jobs, ticketing, "
                                     "notifications)", source=source, row=f"[{key}]"))
    settings = data.get("scheduler", {})
    for key in settings:
        if key not in ("lease_seconds", "log_file"):
            errors.append(InputError("unknown key (known: lease_seconds, log_file)",
                                     source=source, row="[scheduler]", field=key))
    lease = settings.get("lease_seconds", 120)
    if not isinstance(lease, int) or isinstance(lease, bool) or lease < 5:
        errors.append(InputError("must be a whole number of seconds, at least 5",
                                 source=source, row="[scheduler]", field="lease_seconds",
                                 value=lease))
        lease = 120
    jobs = {}
    for name, table in data.get("jobs", {}).items():
        job = _job(name, table, source, errors)
        if job is not None:
            jobs[name] = job
    ticketing = parse_automation(data, source, errors)
    for job in jobs.values():
        if job.kind in NEEDS_TICKETING and ticketing is None and not any(
                e.row and str(e.row).startswith("[ticketing") for e in errors):
            errors.append(InputError("this job raises tickets: add a [ticketing] table",
                                     source=source, row=f"[jobs.{job.name}]", field="kind",
                                     value=job.kind))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors, source=source)
    log_file = settings.get("log_file")
    return SchedulerConfig(jobs, lease, Path(log_file) if log_file else None, ticketing)


def load_config(path: Path | None) -> SchedulerConfig:
    """Read the TOML configuration (or the defaults); errors name the file, table and key."""
    source = str(path) if path else "the default configuration"
    try:
        text = path.read_text("utf-8") if path else DEFAULT_CONFIG
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", source=source) from None
    return parse_config(text, source)


@dataclass
class JobContext:
    app: App
    job: JobConfig
    scheduled_for: datetime
    gateway_factory: Callable[..., Any]
    config: SchedulerConfig | None = None

    def profile(self) -> Any:
        with self.app.uow(read_only=True) as uow:
            return erp_profiles.get_profile(uow=uow, name=self.job.options.get("erp"))


def _post_journals(ctx: JobContext) -> dict[str, Any]:
    profile = ctx.profile()
    gateway = ctx.gateway_factory(profile)
    try:
        # The poster's own lease: a scheduler killed mid-posting blocks the next poster
        # until it runs out, so its length is the longest a restart waits.
        report = post_approved(uow_factory=ctx.app.uow, gateway=gateway, profile=profile,
                               holder=f"scheduler:{_holder()}",
                               lease_seconds=float(ctx.job.options.get(
                                   "lease_seconds", POSTER_LEASE_SECONDS)))
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


def _allocation_run(ctx: JobContext) -> dict[str, Any]:
    """The month-end allocation as a draft run (options: ``period`` = ``previous`` (default)
    or ``current``, ``ruleset`` = NAME[@VERSION]). Idempotent: the same inputs leave the stored
    run and its drafts as they are; changed inputs replace the period's own drafts."""
    from ledger.services.allocation import allocate

    day = ctx.scheduled_for.date()
    if ctx.job.options.get("period", "previous") == "previous":
        day = date(day.year, day.month, 1) - timedelta(days=1)
    with ctx.app.uow() as uow:
        run = allocate(uow=uow, store=ctx.app.cost_facts(), period=f"{day:%Y-%m}",
                       ruleset=ctx.job.options.get("ruleset"))
        uow.commit()
    return {"period": run.period, "run_id": run.run_id, "ruleset": run.ruleset,
            "unchanged": run.unchanged, "journals": len(run.journal_ids)}


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


def _discovery_pickup(ctx: JobContext) -> dict[str, Any]:
    """Import discovery files dropped in ``folder/<kind>/`` (option ``folder``; default the
    data directory's ``discovery-drop``); see :func:`client.commands.inventory.pickup_folder`."""
    from client.commands.inventory import pickup_folder

    folder = Path(ctx.job.options.get("folder") or bootstrap.data_dir() / "discovery-drop")
    return pickup_folder(ctx.app, folder)


def _reconcile_inventory(ctx: JobContext) -> dict[str, Any]:
    """Nightly reconciliation of discovery with the register (option ``missing_days``)."""
    from client.commands.inventory import nightly_reconcile

    return nightly_reconcile(ctx.app, int(ctx.job.options.get("missing_days", 30)))


def _anomaly_detection(ctx: JobContext) -> dict[str, Any]:
    from ledger.services.anomalies import detect_anomalies

    with ctx.app.uow() as uow:
        report = detect_anomalies(
            uow=uow, store=ctx.app.cost_facts(), today=ctx.scheduled_for.date(),
            days=int(ctx.job.options.get("days", 7)),
            required_tags=tuple(ctx.job.options.get("required_tags", ())),
            max_unseen_days=ctx.job.options.get("unseen_asset_days"))
        uow.commit()
    return {"new": len(report.new), "updated": len(report.updated),
            "cleared": len(report.cleared)}


def _tickets(ctx: JobContext) -> dict[str, Any]:
    """One ticket per open finding in the configured service desk, closed when the finding
    clears or is dismissed; new findings at ``notify_from`` or worse mailed to the owner."""
    from client.automation import open_notifier, open_sink
    from ledger.services.anomalies import sync_tickets

    ticketing = ctx.config.ticketing if ctx.config else None
    if ticketing is None:
        raise InputError("no [ticketing] table in the scheduler's configuration",
                         row=f"[jobs.{ctx.job.name}]", field="kind")
    sink = open_sink(ticketing)
    try:
        with ctx.app.uow() as uow:
            report = sync_tickets(uow=uow, sink=sink, notifier=open_notifier(ticketing),
                                  notify_from=ticketing.notify_from)
            uow.commit()
    finally:
        sink.close_connection()
    counts = {"opened": len(report.opened), "updated": len(report.updated),
              "closed": len(report.closed), "notified": len(report.notified)}
    if report.failed_notifications:
        raise JobFailedError("tickets are in step, but mail failed: "
                             + "; ".join(report.failed_notifications),
                             {**counts, "mail_failed": len(report.failed_notifications)})
    return counts


def _budget_alerts(ctx: JobContext) -> dict[str, Any]:
    """Findings for the budgets and quotas the month's actuals or run-rate cross (option
    ``tag``, the cost-fact tag naming the cost centre); the tickets job then raises them."""
    from ledger.services.budgets import check_budgets

    day = ctx.scheduled_for.date()
    with ctx.app.uow() as uow:
        report = check_budgets(uow=uow, store=ctx.app.cost_facts(),
                               period=f"{day.year:04d}-{day.month:02d}",
                               tag=str(ctx.job.options.get("tag", "cost-centre")))
        uow.commit()
    return {"opened": len(report.opened), "updated": len(report.updated),
            "cleared": len(report.cleared)}


def _statements(ctx: JobContext) -> dict[str, Any]:
    """Month-end statements: one file per charged cost centre into the folder (options:
    ``folder``, ``format`` = pdf (default), xlsx or html, ``period`` = previous or current)."""
    from client.commands.reports import write_statements

    day = ctx.scheduled_for.date()
    if ctx.job.options.get("period", "previous") == "previous":
        day = date(day.year, day.month, 1) - timedelta(days=1)
    if "folder" not in ctx.job.options:
        raise InputError("the statements job needs a folder", row=f"[jobs.{ctx.job.name}]",
                         field="folder")
    written = write_statements(ctx.app, f"{day:%Y-%m}", Path(ctx.job.options["folder"]),
                               str(ctx.job.options.get("format", "pdf")))
    return {"period": f"{day:%Y-%m}", "written": len(written)}


def _opencost_pull(ctx: JobContext) -> dict[str, Any]:
    """Kubernetes usage pulled from OpenCost and stored as ``apportion import opencost URL``
    stores it (same answer twice: unchanged). Options: ``url`` and ``cluster`` (its name when
    OpenCost does not say it), or ``clusters`` = a list of such tables; ``window`` =
    ``month_to_date`` (default), ``previous_month`` or an OpenCost window; ``aggregate``
    (default ``namespace``); ``timeout_seconds``. An OpenCost answering 429 or 503 or timing
    out is busy: a polled job backs off (see :func:`busy_reason`)."""
    from connectors.kubernetes import fetch_opencost, pulled_sha256, scheduled_window
    from ledger.services.kubernetes import import_usage

    options, where = ctx.job.options, f"[jobs.{ctx.job.name}]"
    targets = options.get("clusters") or [{"url": options.get("url"),
                                           "cluster": options.get("cluster")}]
    window = scheduled_window(str(options.get("window", "month_to_date")), ctx.scheduled_for)
    counts: dict[str, Any] = {"window": window, "imported": 0, "unchanged": 0, "records": 0,
                              "replaced": 0}
    for target in targets:
        url = target.get("url") if isinstance(target, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise InputError("needs the OpenCost URL (http:// or https://)", row=where,
                             field="url", value=url)
        usage = fetch_opencost(url, window=window, cluster=target.get("cluster"),
                               aggregate=str(options.get("aggregate", "namespace")),
                               timeout=float(options.get("timeout_seconds", 30)))
        with ctx.app.uow() as uow:
            outcome = import_usage(uow=uow, source=usage.source, kind=usage.kind,
                                   records=usage.records, sha256=pulled_sha256(usage),
                                   reason=f"scheduler job {ctx.job.name}: OpenCost {window}")
            uow.commit()
        counts["unchanged" if outcome.unchanged else "imported"] += 1
        counts["records"] += outcome.records
        counts["replaced"] += outcome.replaced
    return counts


JOB_KINDS: dict[str, JobFunction] = {
    "anomaly_detection": _anomaly_detection,
    "budget_alerts": _budget_alerts,
    "tickets": _tickets,
    "post_journals": _post_journals,
    "erp_reconcile": _erp_reconcile,
    "depreciation_run": _depreciation_run,
    "billing_pickup": _billing_pickup,
    "allocation": _allocation_run,
    "discovery_pickup": _discovery_pickup,
    "reconcile": _reconcile_inventory,
    "statements": _statements,
    "opencost_pull": _opencost_pull,
}


class JobFailedError(ApportionError):
    def __init__(self, message: str, counts: dict[str, Any]) -> None:
        super().__init__(message)
        self.counts = counts


class SourceBusyError(ApportionError):
    """A job's source said it is loaded (a job raises this when its adapter has no status)."""


#: HTTP statuses that mean "loaded, ask later" rather than "wrong".
BUSY_STATUSES = frozenset({429, 503})


def _timeouts() -> tuple[type[BaseException], ...]:
    import httpx

    kinds: list[type[BaseException]] = [TimeoutError, httpx.TimeoutException]
    try:
        import requests
    except ImportError:  # pragma: no cover - requests comes with zeep
        pass
    else:
        kinds.append(requests.Timeout)
    return tuple(kinds)


def busy_reason(exc: BaseException) -> str | None:
    """Why a failure means the source is loaded ("HTTP 429", "timed out"), or None.

    Adapters wrap the wire error in their own (often ``from None``, which still keeps it as
    ``__context__``): the whole chain is looked at, for a :class:`SourceBusyError`, a timeout,
    or a ``status`` / ``status_code`` / ``response.status_code`` of 429 or 503."""
    timeouts, seen = _timeouts(), set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, SourceBusyError):
            return str(current)
        if isinstance(current, timeouts):
            return "timed out"
        for status in (getattr(current, "status", None), getattr(current, "status_code", None),
                       getattr(getattr(current, "response", None), "status_code", None)):
            if isinstance(status, int) and status in BUSY_STATUSES:
                return f"HTTP {status}"
        current = current.__cause__ or current.__context__
    return None


def backoff_delay(interval: int, streak: int, cap: int, rng: random.Random) -> int:
    """Seconds to leave a busy source alone after ``streak`` refusals in a row: the interval
    doubled per refusal, capped, with "equal jitter" (half fixed, half random) so that many
    schedulers or jobs refused together do not come back together."""
    ceiling = min(cap, interval * 2 ** min(streak, 30))
    return max(1, round(ceiling / 2 + rng.uniform(0, ceiling / 2)))


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Scheduler:
    """Runs the configured jobs against one database, alone or as a standby."""

    def __init__(self, app: App, config: SchedulerConfig, *, holder: str | None = None,
                 gateway_factory: Callable[..., Any] = gateway_for,
                 rng: random.Random | None = None) -> None:
        self.app = app
        self.config = config
        self.holder = holder or _holder()
        self.gateway_factory = gateway_factory
        self.rng = rng or random.Random()
        self._triggers: Any = None

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
        """Run job ``name`` for its due time, if this scheduler is active, nobody ran that
        fire yet and (a polled job) its source is not being left alone after a refusal.
        Returns the finished run, or None when it was not this scheduler's to run."""
        job = self.config.jobs[name]
        due = scheduled_for or job.due_time(self.now())
        if not self.hold_lease():
            return None
        if job.mode == "poll" and (resume := self.backing_off_until(name)) is not None:
            log.info("%s: its source is busy; next try at %s", name, resume.isoformat())
            return None
        with self.app.uow() as uow:
            run_id = uow.job_runs.claim(name, due, self.holder, self.now(), attempt)
            uow.commit()
        if run_id is None:
            log.info("%s for %s was already run by another scheduler", name, due)
            return None
        log.info("running %s for %s (attempt %d)", name, due, attempt)
        outcome, counts, message = RunOutcome.SUCCEEDED, {}, None
        context = JobContext(self.app, job, due, self.gateway_factory, self.config)
        try:
            counts = JOB_KINDS[job.kind](context)
        except Exception as exc:
            outcome, message = RunOutcome.FAILED, str(exc)
            counts = dict(exc.counts) if isinstance(exc, JobFailedError) else {}
            busy = busy_reason(exc) if job.mode == "poll" else None
            if busy is not None:  # loaded, not broken: leave the source alone a while
                counts, message = self._back_off(job, run_id, counts, busy, message)
            elif not isinstance(exc, ApportionError):  # a bug: keep the traceback
                log.exception("%s failed", name)
                message = f"{type(exc).__name__}: {exc}"
        with self.app.uow() as uow:
            uow.job_runs.finish(run_id, outcome, self.now(), counts, message)
            uow.commit()
            finished = next(r for r in uow.job_runs.history(name, 5) if r.id == run_id)
        log.log(logging.INFO if outcome is RunOutcome.SUCCEEDED else logging.ERROR,
                "%s %s: %s %s", name, outcome.value, counts, message or "")
        return finished

    # -- polling back-off -----------------------------------------------------------------

    def _back_off(self, job: JobConfig, run_id: int, counts: dict[str, Any], busy: str,
                  message: str) -> tuple[dict[str, Any], str]:
        """The counts and message of a run whose source was busy: how many times in a row,
        how long to leave it alone, and until when (what the history shows)."""
        with self.app.uow(read_only=True) as uow:
            earlier = [r for r in uow.job_runs.history(job.name, 2) if r.id != run_id]
        streak = int(earlier[0].counts.get("busy_streak", 0)) + 1 if earlier else 1
        delay = backoff_delay(job.every_seconds or 60, streak, job.max_backoff_seconds,
                              self.rng)
        resume = self.now() + timedelta(seconds=delay)
        counts.update({"busy": busy, "busy_streak": streak, "backoff_seconds": delay,
                       "retry_at": resume.isoformat(timespec="seconds")})
        return counts, f"the source is busy ({busy}); backing off {delay} s: {message}"

    def backing_off_until(self, name: str) -> datetime | None:
        """When a polled job may ask its source again, while it is backing off; else None.
        Read from the run history, so a standby that takes over keeps the back-off."""
        with self.app.uow(read_only=True) as uow:
            latest = uow.job_runs.history(name, 1)
        last = latest[0] if latest else None
        if last is None or "retry_at" not in last.counts:
            return None
        resume = datetime.fromisoformat(str(last.counts["retry_at"]))
        # A second of slack: APScheduler fires on time, not a microsecond late.
        return resume if self.now() < resume - timedelta(seconds=1) else None

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
        self._triggers = scheduler
        for name, job in self.config.jobs.items():
            scheduler.add_job(self._fire_on_trigger, job.trigger(), args=[name], id=name,
                              name=name, coalesce=True, max_instances=1,
                              misfire_grace_time=None)
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

    def _fire_on_trigger(self, name: str) -> None:  # pragma: no cover - exercised by serve()
        """A trigger's fire; after a busy source, the next fire moves to the back-off's end
        (the interval trigger then counts its base interval from there)."""
        run = self.fire(name)
        resume = self.backing_off_until(name)
        if run is not None and resume is not None and self._triggers is not None:
            self._triggers.modify_job(name, next_run_time=resume)

    def _heartbeat(self) -> None:  # pragma: no cover - exercised by serve()
        if self.hold_lease():
            self.recover()
            self.catch_up()


#: Loggers whose records the scheduler's log keeps (the adapters' ticket and posting lines too).
LOGGED = ("apportion", "client", "ledger", "connectors")
#: syslog priorities by level: under systemd a "<N>" prefix on a stderr line sets the journal's
#: priority (SyslogLevelPrefix=yes, the default), so `journalctl -p err` finds the failures.
_PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
               logging.CRITICAL: 2}


class _JournalFormatter(logging.Formatter):
    """No time stamp (the journal adds its own) and the syslog priority as a prefix."""

    def format(self, record: logging.LogRecord) -> str:
        return f"<{_PRIORITIES.get(record.levelno, 6)}>{super().format(record)}"


def configure_logging(log_file: Path | None, *, max_bytes: int = 10 * 1024 * 1024,
                      backups: int = 5) -> Path:
    """Log to a rotating file and to stderr, which systemd sends to the journal (the unit says
    so); under systemd (``JOURNAL_STREAM`` set) stderr lines carry the syslog priority.
    Calling it again replaces the handlers instead of doubling every line."""
    path = log_file or bootstrap.data_dir() / "logs" / "scheduler.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes,
                                                   backupCount=backups, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    console = logging.StreamHandler()
    console.setFormatter(_JournalFormatter("%(name)s: %(message)s")
                         if os.environ.get("JOURNAL_STREAM")
                         else logging.Formatter("%(asctime)s %(levelname)s %(name)s: "
                                                "%(message)s"))
    for name in LOGGED:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, "_apportion_scheduler", False)]:
            logger.removeHandler(old)
            old.close()
        logger.setLevel(logging.INFO)
        for new in (handler, console):
            new._apportion_scheduler = True  # type: ignore[attr-defined]
            logger.addHandler(new)
        logger.propagate = False  # each line once, here, not again through the root
    return path

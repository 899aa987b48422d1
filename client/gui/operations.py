"""Operations: every service call runs off the UI thread (the Anki pattern).

A view never touches the database on the UI thread. It asks the :class:`OperationRunner` to run
a small function on a worker with its own unit of work; the result (or the error) comes back to
the UI thread through a queued signal, where the view's ``success``/``failure`` callback runs.

- Database work is serialised on one worker thread (one writer at a time, no session shared
  between threads; SQLAlchemy's rule).
- Network work (ERP calls, connection tests) runs on a small pool in parallel.
- Slow reads (a reconciliation count over a million assets for the dashboard) run read-only on
  a lane of their own, so that they never hold up the pages of the table being scrolled; the
  heaviest (:meth:`OperationRunner.in_process`) run in a separate process, because a thread
  busy in Python for seconds makes the UI thread wait for the GIL on every paint.
- Long work reports progress through :class:`OperationContext` and stops at the next
  :meth:`OperationContext.check` once cancelled; a unit of work that stops is rolled back.
- Writes return :class:`~ledger.services.base.Changes`; the runner broadcasts them on
  :attr:`OperationRunner.changed` and each view refreshes only if the entities concern it.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from client.bootstrap import App
from ledger.errors import ApportionError
from ledger.services.base import Changes

logger = logging.getLogger(__name__)

#: Progress signals are coalesced to at most one per this many seconds per operation, so a
#: chatty import cannot flood the UI thread's event queue.
PROGRESS_INTERVAL = 0.05


class Cancelled(ApportionError):
    """The user cancelled the operation; its unit of work was rolled back."""


@dataclass(frozen=True, slots=True)
class Progress:
    """How far an operation is: ``done`` of ``total`` (None: unknown), and what it is doing."""

    done: int = 0
    total: int | None = None
    message: str = ""


@dataclass(eq=False)
class Operation:
    """One piece of work handed to the runner, and what to call on the UI thread afterwards.

    Attributes:
        title: what the status bar shows while it runs ("Running depreciation 2026-11").
        network: True runs it on the network pool, in parallel with other network work.
        slow: True runs a long read-only query on the slow lane, beside the database worker.
        id: a number unique in this process.
    """

    title: str
    work: Callable[[OperationContext], Any]
    success: Callable[[Any], None] | None = None
    failure: Callable[[BaseException], None] | None = None
    network: bool = False
    slow: bool = False
    id: int = 0
    cancel_event: threading.Event = field(default_factory=threading.Event)
    future: Future[Any] | None = None
    progress: Progress = field(default_factory=Progress)

    def cancel(self) -> None:
        """Ask it to stop: a queued operation ends as cancelled without starting, a running
        one stops at its next :meth:`OperationContext.check`."""
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()


class OperationContext:
    """What the work function gets: progress reporting, cancellation, and change broadcasts."""

    def __init__(self, runner: OperationRunner, operation: Operation) -> None:
        self._runner = runner
        self._operation = operation
        self._last_progress = 0.0

    @property
    def app(self) -> App:
        return self._runner.app

    def check(self) -> None:
        """Raise :class:`Cancelled` if the user asked to stop."""
        if self._operation.cancelled:
            raise Cancelled(f"{self._operation.title}: cancelled")

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Report progress (thread-safe, coalesced) and stop here if cancelled."""
        self.check()
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_INTERVAL or (total and done >= total):
            self._last_progress = now
            self._operation.progress = Progress(done, total, message)
            self._runner._progressed.emit(self._operation)

    def announce(self, changes: Changes) -> None:
        """Tell the views about a change committed part-way (posting one journal of many)."""
        self._runner._announce.emit(changes)


class OperationRunner(QObject):
    """Runs operations off the UI thread and delivers their outcome on it.

    Signals (all emitted on the UI thread):
        started(Operation), finished(Operation), progressed(Operation): for the status bar.
        changed(Changes): a write committed; views refresh if the entities concern them.
        failed(Operation, BaseException): an operation without its own failure callback failed.
    """

    started = Signal(object)
    finished = Signal(object)
    progressed = Signal(object)
    changed = Signal(object)
    failed = Signal(object, object)

    # Emitted from workers; connected with queued connections to slots of this object, which
    # lives on the UI thread, so the callbacks run there.
    _done = Signal(object, object, object)
    _progressed = Signal(object)
    _announce = Signal(object)
    _begun = Signal(object)

    def __init__(self, app: App, parent: QObject | None = None, *, network_workers: int = 4
                 ) -> None:
        super().__init__(parent)
        self.app = app
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="apportion-db")
        self._network = ThreadPoolExecutor(max_workers=network_workers,
                                           thread_name_prefix="apportion-net")
        self._slow = ThreadPoolExecutor(max_workers=1, thread_name_prefix="apportion-slow")
        self._processes: ProcessPoolExecutor | None = None
        self._ids = itertools.count(1)
        self.running: dict[int, Operation] = {}
        queued = Qt.ConnectionType.QueuedConnection
        self._done.connect(self._deliver, queued)
        self._progressed.connect(self.progressed.emit, queued)
        self._announce.connect(self.changed.emit, queued)
        self._begun.connect(self.started.emit, queued)
        self._closed = False

    # -- the three shapes of operation ------------------------------------------------------

    def query(self, work: Callable[[Any], Any], *, success: Callable[[Any], None] | None = None,
              failure: Callable[[BaseException], None] | None = None,
              title: str = "Reading", slow: bool = False) -> Operation:
        """Read: ``work(uow)`` runs in a read-only unit of work on the database worker (or,
        ``slow``, on the slow lane: for reads that take seconds, never for writes)."""
        def run(ctx: OperationContext) -> Any:
            with self.app.uow(read_only=True) as uow:
                return work(uow)
        return self.submit(Operation(title, run, success, failure, slow=slow))

    def write(self, work: Callable[[Any, OperationContext], Any], *,
              success: Callable[[Any], None] | None = None,
              failure: Callable[[BaseException], None] | None = None,
              title: str = "Saving") -> Operation:
        """Write: ``work(uow, ctx)`` runs in a unit of work on the database worker and returns
        :class:`Changes` or ``(value, Changes)``. It commits only if the work returns (and was
        not cancelled); then the changes are broadcast and ``success`` gets the value."""
        def run(ctx: OperationContext) -> Any:
            with self.app.uow() as uow:
                outcome = work(uow, ctx)
                ctx.check()
                uow.commit()
            return outcome
        return self.submit(Operation(title, run, success, failure))

    def in_process(self, function: Callable[..., Any], *args: Any, title: str,
                   success: Callable[[Any], None] | None = None,
                   failure: Callable[[BaseException], None] | None = None) -> Operation:
        """A heavy read in a separate process: ``function(url, login, *args)`` (top level and
        picklable) opens the database itself. Cancelling stops waiting for it."""
        def run(ctx: OperationContext) -> Any:
            future = self._process_pool().submit(function, self.app.url, self.app.login, *args)
            while True:
                try:
                    return future.result(timeout=0.1)
                except FutureTimeout:
                    ctx.check()
        return self.submit(Operation(title, run, success, failure, slow=True))

    def _process_pool(self) -> ProcessPoolExecutor:
        if self._processes is None:
            # spawn, not fork: forking a process that runs Qt and worker threads is unsafe.
            self._processes = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                initializer=_background_priority)
        return self._processes

    def run(self, work: Callable[[OperationContext], Any], *, title: str,
            success: Callable[[Any], None] | None = None,
            failure: Callable[[BaseException], None] | None = None,
            network: bool = False) -> Operation:
        """Anything else (an ERP call, a file export): ``work(ctx)`` manages its own units of
        work. ``network=True`` runs it in parallel with other network work."""
        return self.submit(Operation(title, work, success, failure, network=network))

    # -- machinery --------------------------------------------------------------------------

    def submit(self, operation: Operation) -> Operation:
        if self._closed:
            raise RuntimeError("the operation runner is shut down")
        operation.id = next(self._ids)
        self.running[operation.id] = operation
        executor = (self._network if operation.network else
                    self._slow if operation.slow else self._db)
        operation.future = executor.submit(self._execute, operation)
        return operation

    def _execute(self, operation: Operation) -> None:
        ctx = OperationContext(self, operation)
        try:
            if operation.cancelled:
                raise Cancelled(f"{operation.title}: cancelled")
            self._begun.emit(operation)
            result = operation.work(ctx)
        except BaseException as exc:  # every failure is delivered to the UI thread
            if not isinstance(exc, ApportionError) and not self._closed:
                # An unexpected error: its traceback goes to the log, its message to the user.
                logger.exception("%s failed", operation.title)
            self._done.emit(operation, None, exc)
        else:
            self._done.emit(operation, result, None)

    @Slot(object, object, object)
    def _deliver(self, operation: Operation, result: Any, error: BaseException | None) -> None:
        self.running.pop(operation.id, None)
        try:
            if error is not None:
                if operation.failure is not None:
                    operation.failure(error)
                elif not isinstance(error, Cancelled):
                    self.failed.emit(operation, error)
                return
            value, changes = split_outcome(result)
            if changes is not None and changes.entities:
                self.changed.emit(changes)
            if operation.success is not None:
                operation.success(value)
        finally:
            self.finished.emit(operation)

    def cancel_all(self) -> None:
        for operation in list(self.running.values()):
            operation.cancel()

    def shutdown(self, *, wait: bool = True) -> None:
        """Cancel what is queued or running and stop the workers."""
        self._closed = True
        self.cancel_all()
        if self._processes is not None:
            # A count still running is of no use once the window is gone: stop its process
            # (the executor has no public way to; its processes are terminated directly).
            for process in list(getattr(self._processes, "_processes", {}).values()):
                process.terminate()
            self._processes.shutdown(wait=False, cancel_futures=True)
        for executor in (self._db, self._network, self._slow):
            executor.shutdown(wait=wait, cancel_futures=True)


def _background_priority() -> None:
    """Run the background process below the client: on a busy machine its seconds of work
    (DuckDB uses every core) must not take the CPU the UI needs to paint."""
    if hasattr(os, "nice"):
        os.nice(10)


def split_outcome(result: Any) -> tuple[Any, Changes | None]:
    """``Changes`` -> (changes, changes); ``(value, Changes)`` -> (value, changes); else
    (result, None)."""
    if isinstance(result, Changes):
        return result, result
    if (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], Changes)):
        return result[0], result[1]
    return result, None


def concerns(changes: Changes, entities: frozenset[str] | set[str]) -> bool:
    """True when a broadcast touches any of ``entities`` (a view's interests)."""
    return bool(changes.entities & frozenset(entities))

"""Every background loop of a process, one shape: a :class:`PeriodicWorker` on the process's
one APScheduler scheduler (:class:`Scheduler`, owned by the runtime).

A worker runs its pass on a trigger (every N seconds, or a cron time for nightly work), one
pass at a time (late runs ``coalesce`` into one), and when woken:
``wake()`` asks for a pass as soon as possible (or within ``delay``), ``wake_after(seconds)``
for a pass that starts no earlier than then (the end of a door pulse). Wakes coalesce: many
wakes before a pass starts make one pass; a wake *during* a pass makes exactly one more pass
after it (APScheduler alone would drop it with a "maximum number of running instances"
warning, hence the worker's own bookkeeping: its guard keeps one pass at a time, and its job's
``max_instances`` only leaves room for executions submitted while the previous one ends, which
the guard turns into that one more pass — no wake is dropped, nothing is logged). A pass
that raises is logged and the worker keeps its schedule; ``stop()`` removes the job and waits
for a running pass to end. Pass durations go to ``tierslieu_pass_seconds{loop=<name>}``.

Workers that re-read the database because something may have changed subscribe to the
after-commit change feed (:meth:`PeriodicWorker.wake_on`): a write wakes them at once, and
their interval is only a safety net. During a pass, :attr:`PeriodicWorker.changes` tells what
the pass answers, so that it may re-read only what was written: the changes that woke it
(merged), or ``None`` when it must re-read everything: a pass of its schedule (none re-read
everything for an interval; with a cron trigger, every pass), its first pass when it runs at
start (otherwise its owner read everything as it started it), one asked for by ``wake()`` or
``wake_after()``.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from tierslieu.db.changes import ChangeFeed, Changes
from tierslieu.metrics import Metrics

__all__ = ["PeriodicWorker", "Scheduler"]

log = logging.getLogger(__name__)

# Threads of the scheduler's pool: one per worker that may run at the same time (a process runs
# about fifteen workers, most of them idle), so a pass stuck on a slow printer or a busy
# database never holds up the others. Threads are created on demand.
POOL_THREADS = 24
# A wake this close to the end of a pass runs in the same job execution (see PeriodicWorker._run).
_RERUN_NOW_S = 0.05
_job_numbers = itertools.count(1)


# Executions of one worker's job APScheduler lets run at once. The worker's guard runs one pass
# at a time and turns the others into "one more pass" at once; APScheduler counts an execution
# until its executor reports back, which a busy machine delays: with 2, a wake racing two such
# tails was skipped with a warning (seen once in a full test run on 2 busy cores).
_INSTANCES = 8


class Scheduler:
    """The process's one ``BackgroundScheduler``; started by the first worker, shut down by the
    runtime."""

    def __init__(self, threads: int = POOL_THREADS) -> None:
        self.aps = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(threads)},
            # misfire_grace_time None: a run made late by a busy machine still happens (once).
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        with self._lock:
            if not self.aps.running:
                self.aps.start()

    def shutdown(self) -> None:
        with self._lock:
            if self.aps.running:
                self.aps.shutdown(wait=True)


class PeriodicWorker:
    """A named pass run on ``schedule`` (seconds, or an APScheduler trigger such as a
    ``CronTrigger``) and on ``wake()``."""

    def __init__(
        self,
        name: str,
        run: Callable[[], object],
        scheduler: Scheduler,
        schedule: float | BaseTrigger,
        *,
        run_at_start: bool = True,
        metrics: Metrics | None = None,
    ) -> None:
        self.name = name
        # Unique on the scheduler, even for two workers of one name (tests build several stacks).
        self.job_id = f"{name}-{next(_job_numbers)}"
        self._run_pass = run
        self._scheduler = scheduler
        # The interval, when the schedule is one: a pass after it re-reads everything.
        self._every = float(schedule) if isinstance(schedule, int | float) else None
        self._trigger = (
            schedule if isinstance(schedule, BaseTrigger) else IntervalTrigger(seconds=schedule, timezone=UTC)
        )
        self._run_at_start = run_at_start
        self._timer = metrics.pass_seconds.labels(name) if metrics is not None else None
        # Set while stopping: long passes (a quiet-gate wait) return early on it.
        self.stopping = threading.Event()
        self._state = threading.Condition()
        self._started = False
        self._running: threading.Thread | None = None  # the thread running a pass, if any
        self._pending_at: float | None = None  # monotonic time a wake asked the scheduler for
        self._rerun_at: float | None = None  # a wake during a pass: run again at (monotonic)
        self._timed: list[float] = []  # wake_after(): passes wanted at these times, not before (a heap)
        self._watches: list[tuple[ChangeFeed, frozenset[str], float]] = []
        self._unsubscribes: list[Callable[[], None]] = []
        self._heard: list[Changes] = []  # what woke it since the last pass began
        self._whole = True  # the next pass must re-read everything (first pass, wake(), wake_after())
        self._whole_at = time.monotonic()  # when everything was last re-read
        # During a pass: the changes it answers, or None when it must re-read everything.
        self.changes: Changes | None = None
        self.passes = 0

    # -- life ----------------------------------------------------------------------------------

    def wake_on(self, feed: ChangeFeed, *tables: str, delay: float = 0.0) -> None:
        """Wake (within ``delay``: the commits of a burst then share a pass) after each commit,
        of this process or relayed from another, writing one of ``tables``; subscribed while
        the worker runs."""
        self._watches.append((feed, frozenset(tables), delay))

    def start(self) -> None:
        with self._state:
            self.stopping.clear()
            self._started = True
            # Without a pass at start, the owner has just read everything itself.
            self._whole, self._whole_at, self._heard = self._run_at_start, time.monotonic(), []
            self._pending_at = time.monotonic() if self._run_at_start else None
        first = datetime.now(UTC) if self._run_at_start else None
        self._scheduler.aps.add_job(
            self._run, self._trigger, id=self.job_id, name=self.name, next_run_time=first, max_instances=_INSTANCES
        )
        for feed, tables, delay in self._watches:
            self._unsubscribes.append(feed.subscribe(self._changes_listener(tables, delay)))
        self._scheduler.ensure_started()

    def stop(self, timeout: float = 30.0) -> None:
        """Remove the job and wait (up to ``timeout``) for a running pass to end."""
        while self._unsubscribes:
            self._unsubscribes.pop()()
        with self._state:
            if not self._started:
                return
            self._started = False
            self.stopping.set()
            self._rerun_at = self._pending_at = None
            self._timed.clear()
        with contextlib.suppress(JobLookupError):  # the scheduler was shut down first
            self._scheduler.aps.remove_job(self.job_id)
        with self._state:
            if self._running is not threading.current_thread():  # stopped from its own pass
                self._state.wait_for(lambda: self._running is None, timeout)

    @property
    def running(self) -> bool:
        return self._started

    # -- waking ----------------------------------------------------------------------------------

    def wake(self, delay: float = 0.0) -> None:
        """Run a pass within ``delay`` seconds (as soon as possible by default), one that re-reads
        everything. Cheap when a pass is already due by then: callers on hot paths may call it
        freely."""
        self._wake(delay, None)

    def _wake(self, delay: float, heard: Changes | None) -> None:
        """Ask for a pass within ``delay``, for ``heard`` (None: a pass that re-reads everything)."""
        at = time.monotonic() + delay
        with self._state:
            if not self._started:
                return
            if heard is None:
                self._whole = True
            else:
                self._heard.append(heard)
            if self._running is not None:
                self._rerun_at = at if self._rerun_at is None else min(self._rerun_at, at)
                return
            if self._pending_at is not None and self._pending_at <= at:
                return
            self._pending_at = at
            self._schedule_at(at)

    def wake_after(self, seconds: float) -> None:
        """Run a pass that starts ``seconds`` from now or later: an earlier pass does not count."""
        at = time.monotonic() + seconds
        with self._state:
            if not self._started:
                return
            heapq.heappush(self._timed, at)
            if self._running is None:
                self._schedule_at(at)
            # else: the running pass reschedules it as it ends.

    def _changes_listener(self, tables: frozenset[str], delay: float) -> Callable[[Changes], None]:
        def on_changes(changes: Changes) -> None:
            if changes.touches(*tables):
                self._wake(delay, changes)

        return on_changes

    def _schedule_at(self, at: float) -> None:
        """Move the job's next run to monotonic time ``at`` if that is sooner (lock held)."""
        when = datetime.now(UTC) + timedelta(seconds=max(0.0, at - time.monotonic()))
        job = self._scheduler.aps.get_job(self.job_id)
        if job is None:
            return
        if job.next_run_time is not None and job.next_run_time <= when:
            return
        self._scheduler.aps.modify_job(self.job_id, next_run_time=when)

    # -- running ---------------------------------------------------------------------------------

    def _run(self) -> None:
        with self._state:
            if not self._started:
                return
            if self._running is not None:
                # Submitted while a pass runs (a wake racing APScheduler's bookkeeping, or the
                # schedule during a long pass): one more pass after it.
                now = time.monotonic()
                self._rerun_at = now if self._rerun_at is None else min(self._rerun_at, now)
                return
            self._running = threading.current_thread()
            self._pending_at = self._rerun_at = None
        try:
            while True:
                with self._state:
                    # This pass answers the timed wakes that are due.
                    while self._timed and self._timed[0] <= time.monotonic():
                        heapq.heappop(self._timed)
                        self._whole = True
                self._one_pass()
                with self._state:
                    rerun_at, self._rerun_at = self._rerun_at, None
                    if self._timed and self._started:
                        rerun_at = self._timed[0] if rerun_at is None else min(rerun_at, self._timed[0])
                    if rerun_at is None or not self._started:
                        return
                    if rerun_at - time.monotonic() > _RERUN_NOW_S:
                        # Later: hand it to the scheduler (this job ends long before then).
                        self._pending_at = rerun_at
                        self._schedule_at(rerun_at)
                        return
                # Now: run again in this execution; APScheduler would refuse a second instance.
                self.stopping.wait(max(0.0, rerun_at - time.monotonic()))
        finally:
            with self._state:
                self._running = None
                self._state.notify_all()

    def _take_changes(self) -> Changes | None:
        """What the pass about to run answers (see :attr:`changes`); resets what was heard."""
        now = time.monotonic()
        with self._state:
            heard, self._heard = self._heard, []
            interval_over = self._every is None or now - self._whole_at >= self._every
            whole, self._whole = self._whole or not heard or interval_over, False
            if whole:
                self._whole_at = now
        return None if whole else Changes.merged(heard)

    def _one_pass(self) -> None:
        started = time.perf_counter()
        self.changes = self._take_changes()
        try:
            self._run_pass()
        except Exception:  # the worker keeps its schedule: the next pass retries
            log.exception("%s: pass failed; retrying at the next one", self.name)
        finally:
            self.passes += 1
            if self._timer is not None:
                self._timer.observe(time.perf_counter() - started)

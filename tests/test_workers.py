"""The one periodic-worker shape (tierslieu.workers): schedule, coalescing wakes, a wake during a
pass, a failing pass, stop, the change feed, metrics, and no APScheduler warning on the way."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterator

import pytest
from apscheduler.triggers.cron import CronTrigger

from tierslieu.db.changes import ChangeFeed, Changes
from tierslieu.metrics import Metrics
from tierslieu.workers import PeriodicWorker, Scheduler

HOUR = 3600.0

# Threads' timing to a tenth of a second (a pass within 0.3 s, wakes coalescing within 0.2 s):
# with several workers, these run while no other test does (tests/support/parallel.py).
pytestmark = pytest.mark.exclusive


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    scheduler = Scheduler()
    yield scheduler
    scheduler.shutdown()


class Pass:
    """A pass that counts its runs and can be held inside a run."""

    def __init__(self) -> None:
        self.runs = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self._cond = threading.Condition()

    def __call__(self) -> None:
        self.entered.set()
        self.release.wait(10)
        with self._cond:
            self.runs += 1
            self._cond.notify_all()

    def wait_runs(self, n: int, timeout: float = 5.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self.runs >= n, timeout)


def settle(seconds: float = 0.3) -> None:
    time.sleep(seconds)


def test_runs_at_start_then_on_schedule(scheduler: Scheduler) -> None:
    work = Pass()
    worker = PeriodicWorker("every-0.2", work, scheduler, 0.2)
    worker.start()
    try:
        assert work.wait_runs(3, timeout=3)
    finally:
        worker.stop()


def test_wakes_before_a_pass_coalesce_into_one(scheduler: Scheduler) -> None:
    work = Pass()
    worker = PeriodicWorker("idle", work, scheduler, HOUR, run_at_start=False)
    worker.start()
    try:
        settle()
        assert work.runs == 0
        for _ in range(50):
            worker.wake(delay=0.2)  # all due within the same 0.2 s: one pass
        assert work.wait_runs(1)
        settle(0.5)
        assert work.runs == 1
    finally:
        worker.stop()


def test_a_wake_during_a_pass_makes_exactly_one_more(scheduler: Scheduler, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    work = Pass()
    worker = PeriodicWorker("held", work, scheduler, HOUR, run_at_start=False)
    worker.start()
    try:
        work.release.clear()
        worker.wake()
        assert work.entered.wait(5)
        for _ in range(20):  # many wakes while the pass runs
            worker.wake()
        work.release.set()
        assert work.wait_runs(2)
        settle(0.5)
        assert work.runs == 2
        worker.wake()  # and waking still works afterwards
        assert work.wait_runs(3)
    finally:
        worker.stop()
    assert not [r for r in caplog.records if r.name.startswith("apscheduler")]


def test_a_delayed_wake_during_a_pass_is_kept_for_later(scheduler: Scheduler) -> None:
    work = Pass()
    worker = PeriodicWorker("later", work, scheduler, HOUR, run_at_start=False)
    worker.start()
    try:
        work.release.clear()
        worker.wake()
        assert work.entered.wait(5)
        worker.wake(delay=0.4)  # e.g. the end of a door pulse
        work.release.set()
        assert work.wait_runs(1)
        settle(0.15)
        assert work.runs == 1  # not yet: it was asked for later
        assert work.wait_runs(2, timeout=2)
    finally:
        worker.stop()


def test_wake_after_wants_a_pass_no_earlier_than_asked(scheduler: Scheduler) -> None:
    starts: list[float] = []
    worker = PeriodicWorker("timed", lambda: starts.append(time.monotonic()), scheduler, HOUR, run_at_start=False)
    worker.start()
    try:
        asked = time.monotonic()
        worker.wake_after(0.5)  # the end of a door pulse
        worker.wake()  # a door report meanwhile: a pass now, which does not answer the first
        deadline = time.monotonic() + 3
        while len(starts) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop()
    assert len(starts) == 2
    assert starts[0] - asked < 0.3 and starts[1] - asked >= 0.5


def test_a_failing_pass_is_logged_and_the_worker_keeps_running(
    scheduler: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def fails_once() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")

    metrics = Metrics()
    worker = PeriodicWorker("flaky", fails_once, scheduler, 0.1, metrics=metrics)
    worker.start()
    try:
        deadline = time.monotonic() + 3
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
    assert len(calls) >= 3
    assert any("flaky: pass failed" in r.getMessage() and r.exc_info for r in caplog.records)
    # Every pass, failed or not, is timed.
    count = metrics.registry.get_sample_value("tierslieu_pass_seconds_count", {"loop": "flaky"})
    assert count is not None and count >= 3


def test_stop_waits_for_the_running_pass_and_ends_the_schedule(scheduler: Scheduler) -> None:
    work = Pass()
    worker = PeriodicWorker("stopping", work, scheduler, 0.05)
    work.release.clear()
    worker.start()
    assert work.entered.wait(5)
    threading.Timer(0.3, work.release.set).start()
    started = time.monotonic()
    worker.stop()
    assert time.monotonic() - started >= 0.25  # joined the pass
    assert work.runs == 1
    worker.wake()
    settle()
    assert work.runs == 1  # no pass after stop, woken or scheduled
    assert scheduler.aps.get_job(worker.job_id) is None


def test_the_change_feed_wakes_a_worker_for_its_tables_only(scheduler: Scheduler) -> None:
    feed = ChangeFeed()
    work = Pass()
    worker = PeriodicWorker("watcher", work, scheduler, HOUR, run_at_start=False)
    worker.wake_on(feed, "space", "device")
    worker.start()
    try:
        feed.announce(Changes({"booking": frozenset({1})}))
        settle()
        assert work.runs == 0
        feed.announce(Changes({"space": frozenset({7})}))
        assert work.wait_runs(1, timeout=1)
    finally:
        worker.stop()
    feed.announce(Changes({"space": frozenset({8})}))  # unsubscribed at stop
    settle()
    assert work.runs == 1


def test_a_cron_schedule_is_accepted(scheduler: Scheduler) -> None:
    work = Pass()
    worker = PeriodicWorker("nightly", work, scheduler, CronTrigger(hour=3, minute=30), run_at_start=True)
    worker.start()
    try:
        assert work.wait_runs(1)  # the catch-up pass at start
        job = scheduler.aps.get_job(worker.job_id)
        assert job is not None and job.next_run_time is not None
        assert (job.next_run_time.hour, job.next_run_time.minute) == (3, 30)
    finally:
        worker.stop()


def test_workers_share_the_one_scheduler_thread(scheduler: Scheduler) -> None:
    # Counted against the threads already there (other tests' runtimes may still be stopping).
    before = {t for t in threading.enumerate() if t.name == "APScheduler"}
    works = [Pass() for _ in range(5)]
    workers = [PeriodicWorker(f"w{i}", work, scheduler, 0.1) for i, work in enumerate(works)]
    for worker in workers:
        worker.start()
    try:
        assert all(work.wait_runs(2) for work in works)
        added = {t for t in threading.enumerate() if t.name == "APScheduler"} - before
        assert len(added) == 1
    finally:
        for worker in workers:
            worker.stop()


def test_wakes_racing_the_schedule_never_overlap_passes_nor_warn(
    scheduler: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    """Wakes from several threads against a short interval: APScheduler's own bookkeeping is
    raced all the time, yet passes never overlap and nothing is dropped with a warning."""
    caplog.set_level(logging.WARNING, logger="apscheduler")
    inside, most = [0], [0]
    lock = threading.Lock()

    def one_pass() -> None:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.0005)
        with lock:
            inside[0] -= 1

    worker = PeriodicWorker("raced", one_pass, scheduler, 0.01)
    worker.start()
    until = time.monotonic() + 2

    def hammer() -> None:
        while time.monotonic() < until:
            worker.wake()
            time.sleep(0.0001)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    worker.stop()
    assert worker.passes > 100 and most[0] == 1
    assert not [r for r in caplog.records if r.name.startswith("apscheduler")]


class Heard:
    """A pass that keeps what each of its runs answered (``worker.changes``)."""

    def __init__(self) -> None:
        self.worker: PeriodicWorker | None = None
        self.answered: list[Changes | None] = []
        self._cond = threading.Condition()

    def __call__(self) -> None:
        assert self.worker is not None
        with self._cond:
            self.answered.append(self.worker.changes)
            self._cond.notify_all()

    def wait_runs(self, n: int, timeout: float = 5.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self.answered) >= n, timeout)


def test_a_pass_knows_the_changes_that_woke_it(scheduler: Scheduler) -> None:
    feed = ChangeFeed()
    work = Heard()
    worker = work.worker = PeriodicWorker("heard", work, scheduler, HOUR, run_at_start=False)
    worker.wake_on(feed, "booking", "space", delay=0.2)
    worker.start()
    try:
        feed.announce(Changes({"booking": frozenset({1})}))
        feed.announce(Changes({"booking": frozenset({2}), "audit_log": frozenset({9})}))
        assert work.wait_runs(1)
        first = work.answered[0]
        assert first is not None  # the owner read everything at start: the writes are enough
        assert first.ids("booking") == frozenset({1, 2}) and first.ids("audit_log") == frozenset({9})
        worker.wake()  # nobody says what changed: everything
        assert work.wait_runs(2)
        assert work.answered[1] is None
        feed.announce(Changes.whole(["space"]))
        assert work.wait_runs(3)
        third = work.answered[2]
        assert third is not None and third.ids("space") is None and third.ids("booking") == frozenset()
    finally:
        worker.stop()


def test_a_stream_of_writes_still_gets_its_full_pass_every_interval(scheduler: Scheduler) -> None:
    feed = ChangeFeed()
    work = Heard()
    worker = work.worker = PeriodicWorker("stream", work, scheduler, 0.3, run_at_start=False)
    worker.wake_on(feed, "booking")
    worker.start()
    try:
        deadline = time.monotonic() + 1.5
        for booking_id in itertools.count():
            if time.monotonic() > deadline:
                break
            feed.announce(Changes({"booking": frozenset({booking_id})}))
            time.sleep(0.02)
    finally:
        worker.stop()
    full = [index for index, changes in enumerate(work.answered) if changes is None]
    assert len(full) >= 3  # about one every 0.3 s, although writes never stopped
    assert len(work.answered) > len(full)  # the others answered the writes alone


def test_a_worker_running_at_start_reads_everything_first(scheduler: Scheduler) -> None:
    feed = ChangeFeed()
    work = Heard()
    worker = work.worker = PeriodicWorker("first", work, scheduler, HOUR)
    worker.wake_on(feed, "booking")
    worker.start()
    try:
        feed.announce(Changes({"booking": frozenset({1})}))
        assert work.wait_runs(1)
        assert work.answered[0] is None
    finally:
        worker.stop()

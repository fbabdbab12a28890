"""The access audit log: written off the hot path by ``AuditWriter``, read by the API.

``AuditWriter`` is a worker thread with a queue: the access controller hands it audit lines
and follow-up jobs (check-ins, walk-ins) after the door has been told to open, so a slow
database never delays an unlock. On ``stop()`` the queue is drained: accepted lines are
written, not dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from tierslieu.db import Database
from tierslieu.hardware.quiet import QuietGate
from tierslieu.models import AccessEvent

__all__ = ["AccessEventFilter", "AuditWriter", "Job", "last_unknown_badge", "list_access_events", "record"]

log = logging.getLogger(__name__)

Job = Callable[[Session], list[AccessEvent]]
"""A unit of deferred work run in a write session; returns the audit lines it produced."""

_BATCH = 200


def record(session: Session, event: AccessEvent) -> AccessEvent:
    """Append one line in the caller's transaction (API door commands)."""
    session.add(event)
    session.flush()
    return event


class AuditWriter:
    def __init__(self, db: Database, quiet: QuietGate | None = None) -> None:
        self._db = db
        self._quiet = quiet
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._pending = 0
        self.written = 0
        self.failed = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="access-audit", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(30)
            self._thread = None

    def submit(self, job: Job) -> None:
        with self._idle:
            self._pending += 1
        self._queue.put(job)

    def append(self, event: AccessEvent) -> None:
        self.submit(lambda _session: [event])

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Until every submitted job has run (tests, shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            jobs: list[Job] = []
            item = self._queue.get()
            while True:
                if item is None:
                    stopping = True
                else:
                    jobs.append(item)
                if len(jobs) >= _BATCH or self._queue.empty():
                    break
                item = self._queue.get()
            if jobs:
                if self._quiet is not None and not stopping:
                    self._quiet.wait()
                self._run_batch(jobs)

    def _run_batch(self, jobs: list[Job]) -> None:
        # One transaction per batch, each job in a savepoint: a failing check-in must not take
        # the other lines down.
        written = 0
        try:
            with self._db.session(write=True) as session:
                for job in jobs:
                    try:
                        with session.begin_nested():
                            lines = job(session)
                            session.add_all(lines)
                        written += len(lines)
                    except Exception:
                        self.failed += 1
                        log.exception("access audit job failed")
                session.commit()
            self.written += written
        except Exception:
            self.failed += len(jobs)
            log.exception("access audit batch of %d job(s) not written", len(jobs))
        finally:
            with self._idle:
                self._pending -= len(jobs)
                self._idle.notify_all()


@dataclass(frozen=True)
class AccessEventFilter:
    space_id: int | None = None
    member_id: int | None = None
    device_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 500
    offset: int = 0


def list_access_events(session: Session, wanted: AccessEventFilter) -> Sequence[AccessEvent]:
    """Newest first."""
    query = select(AccessEvent)
    if wanted.space_id is not None:
        query = query.where(AccessEvent.space_id == wanted.space_id)
    if wanted.member_id is not None:
        query = query.where(AccessEvent.member_id == wanted.member_id)
    if wanted.device_id is not None:
        query = query.where(AccessEvent.device_id == wanted.device_id)
    if wanted.start is not None:
        query = query.where(col(AccessEvent.at) >= wanted.start)
    if wanted.end is not None:
        query = query.where(col(AccessEvent.at) < wanted.end)
    query = query.order_by(col(AccessEvent.at).desc(), col(AccessEvent.id).desc())
    return session.exec(query.offset(wanted.offset).limit(wanted.limit)).all()


def last_unknown_badge(session: Session, device_id: int, since: datetime | None = None) -> AccessEvent | None:
    """The last unknown badge scanned on a reader: what the web app offers to assign."""
    query = select(AccessEvent).where(AccessEvent.device_id == device_id, AccessEvent.reason == "unknown_badge")
    if since is not None:
        query = query.where(col(AccessEvent.at) >= since)
    return session.exec(query.order_by(col(AccessEvent.at).desc(), col(AccessEvent.id).desc()).limit(1)).first()

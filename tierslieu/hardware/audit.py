"""The access audit log: written off the hot path by ``AuditWriter``, read by the API.

``AuditWriter`` is a queue and a worker (``tierslieu.workers``): the access controller hands
it audit entries (the line, the check-in it causes) and follow-up jobs (walk-ins) after the
door has been told to open, so a slow database never delays an unlock. On ``stop()`` the
queue is drained: accepted lines are written, not dropped.

Entries are plain data written in bulk (one INSERT and one UPDATE for a whole batch, no ORM
objects): the writer shares the interpreter lock with the thread answering badges, and one ORM
flush per scan made it hold that lock for hundreds of milliseconds under a stream of scans.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tierslieu.booking.notify import booking_event, publish_after_commit
from tierslieu.db import Database
from tierslieu.events import Event, EventHub
from tierslieu.hardware.quiet import QuietGate, chunked, let_others_run
from tierslieu.metrics import Metrics
from tierslieu.models import AccessEvent, Booking
from tierslieu.services.sites import ALL_SITES, SiteScope
from tierslieu.workers import PeriodicWorker, Scheduler

__all__ = [
    "AccessEventFilter",
    "AuditEntry",
    "AuditWriter",
    "CheckIn",
    "Job",
    "LineHook",
    "last_unknown_badge",
    "list_access_events",
    "record",
]

log = logging.getLogger(__name__)

Job = Callable[[Session], list[AccessEvent]]
"""A unit of deferred work run in a write session; returns the audit lines it produced."""

LineHook = Callable[[Session, Sequence[Mapping[str, Any]]], None]
"""Heard after a batch of lines is written, in the same transaction (its own savepoint): the
programme marks attendance from badge scans there, off the hot path and in bulk."""

_BATCH = 200
# A logged entry is written within this delay, with the others logged meanwhile: a writer
# woken per scan would compete for the interpreter lock with the thread sending the unlock.
_LOG_DELAY_SECONDS = 0.1
# The writer only runs when something was queued; this pass is a safety net.
_SAFETY_SECONDS = 30.0


@dataclass(frozen=True)
class CheckIn:
    """The member badged in on this booking: it is now in progress (if still confirmed and theirs)."""

    booking_id: int
    member_id: int
    at: datetime


@dataclass(frozen=True)
class AuditEntry:
    """One decision to record: its ``access_event`` column values, the check-in it causes and
    the event announcing it (published by the writer, as the line is written)."""

    line: Mapping[str, Any]
    check_in: CheckIn | None = None
    announce: Event | None = None


def record(session: Session, event: AccessEvent) -> AccessEvent:
    """Append one line in the caller's transaction (API door commands)."""
    session.add(event)
    session.flush()
    return event


class _CheckedIn(NamedTuple):
    """What ``booking_event`` reads of a booking, without loading it as an ORM object."""

    id: int
    member_id: int
    resource_id: int
    status: str
    start: datetime
    end: datetime


def _check_in_all(session: Session, check_ins: Sequence[CheckIn]) -> list[_CheckedIn]:
    """Mark the bookings in progress; returns those that were (checking in twice is harmless)."""
    # Core statements on the session's connection: rows as tuples and a plain executemany,
    # no ORM objects.
    connection = session.connection()
    query = (
        sa.select(
            col(Booking.id), col(Booking.member_id), col(Booking.resource_id), col(Booking.start), col(Booking.end)
        )
        .where(col(Booking.id).in_({c.booking_id for c in check_ins}), col(Booking.status) == "confirmed")
        .with_for_update()
    )
    confirmed = {
        booking_id: _CheckedIn(booking_id, member_id, resource_id, "checked_in", start, end)
        for booking_id, member_id, resource_id, start, end in connection.execute(query)
        if booking_id is not None
    }
    done: list[_CheckedIn] = []
    params: list[dict[str, Any]] = []
    for check_in in check_ins:
        booking = confirmed.pop(check_in.booking_id, None)  # the first scan of a batch checks in
        if booking is None:
            continue
        if booking.member_id != check_in.member_id:
            confirmed[booking.id] = booking
            continue
        done.append(booking)
        params.append({"b_id": booking.id, "b_at": check_in.at})
    if params:
        connection.execute(
            sa.update(Booking)
            .where(col(Booking.id) == sa.bindparam("b_id"), col(Booking.status) == "confirmed")
            .values(status="checked_in", checked_in_at=sa.bindparam("b_at")),
            params,
        )
    return done


def _write_entries(session: Session, entries: Sequence[AuditEntry], events: EventHub | None) -> None:
    """Check-ins and lines of ``entries`` in the session's transaction (raises on any error)."""
    check_ins = [entry.check_in for entry in entries if entry.check_in is not None]
    checked_in = _check_in_all(session, check_ins) if check_ins else []
    session.connection().execute(sa.insert(AccessEvent), [dict(entry.line) for entry in entries])
    for booking in checked_in:
        publish_after_commit(session, events, "booking", booking_event("checked_in", booking))


class AuditWriter:
    def __init__(
        self,
        db: Database,
        scheduler: Scheduler,
        quiet: QuietGate | None = None,
        events: EventHub | None = None,
        *,
        metrics: Metrics | None = None,
    ) -> None:
        self._db = db
        self._quiet = quiet
        self._events = events
        self._items: deque[AuditEntry | Job] = deque()
        self._worker = PeriodicWorker(
            "access-audit", self._drain, scheduler, _SAFETY_SECONDS, run_at_start=False, metrics=metrics
        )
        self._idle = threading.Condition()
        self._pending = 0
        self._hooks: list[LineHook] = []
        self.written = 0
        self.failed = 0

    def start(self) -> None:
        if not self._worker.running:
            self._worker.start()
            self._worker.wake(_LOG_DELAY_SECONDS)  # what was queued before the start

    def stop(self) -> None:
        if self._worker.running:
            self._worker.stop()
            self._drain()  # what was accepted is written

    def add_hook(self, hook: LineHook) -> None:
        """Call ``hook`` with the lines of each batch once they are written (before start)."""
        self._hooks.append(hook)

    def log(self, entry: AuditEntry) -> None:
        """Record a decision (the common case: written in bulk with the others of its batch)."""
        self._enqueue(entry)
        self._worker.wake(_LOG_DELAY_SECONDS)

    def submit(self, job: Job) -> None:
        """Run ``job`` in the writer's transaction, in a savepoint of its own (walk-ins: someone
        waits for its answer, so the writer is woken at once)."""
        self._enqueue(job)
        self._worker.wake()

    def append(self, event: AccessEvent) -> None:
        self.submit(lambda _session: [event])

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Until every submitted job has run (tests, shutdown)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _enqueue(self, item: AuditEntry | Job) -> None:
        with self._idle:
            self._pending += 1
        self._items.append(item)

    def _drain(self) -> None:
        while self._items:
            if self._quiet is not None:
                self._quiet.wait(self._worker.stopping)
            items: list[AuditEntry | Job] = []
            while self._items and len(items) < _BATCH:
                items.append(self._items.popleft())
            self._run_batch(items)

    def _run_batch(self, items: list[AuditEntry | Job]) -> None:
        # One transaction per batch; the entries in one savepoint, each job in its own: a
        # failing walk-in must not take the other lines down.
        entries = [item for item in items if isinstance(item, AuditEntry)]
        jobs = [item for item in items if not isinstance(item, AuditEntry)]
        written = 0
        try:
            with self._db.session(write=True) as session:
                written += self._run_entries(session, entries)
                self._run_hooks(session, entries)
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
            self.failed += len(items)
            log.exception("access audit batch of %d item(s) not written", len(items))
        finally:
            with self._idle:
                self._pending -= len(items)
                self._idle.notify_all()

    def _run_hooks(self, session: Session, entries: list[AuditEntry]) -> None:
        """Each hook in its own savepoint: a failing one loses neither the lines nor the others."""
        if not entries or not self._hooks:
            return
        lines = [entry.line for entry in entries]
        for hook in self._hooks:
            try:
                with session.begin_nested():
                    hook(session, lines)
            except Exception:
                log.exception("access audit hook %r failed", hook)

    def _run_entries(self, session: Session, entries: list[AuditEntry]) -> int:
        """Write the entries a chunk at a time, letting the badge thread run in between.
        Returns the number of lines written."""
        if not entries:
            return 0
        self._announce(entries)
        written = 0
        for chunk in chunked(entries):
            written += self._write_chunk(session, chunk)
            let_others_run()
        return written

    def _write_chunk(self, session: Session, entries: Sequence[AuditEntry]) -> int:
        """Together; if that fails, one by one so that one bad entry loses only its own line."""
        try:
            with session.begin_nested():
                _write_entries(session, entries, self._events)
            return len(entries)
        except Exception:
            log.exception("access audit: %d line(s) not written together, retrying one by one", len(entries))
        written = 0
        for entry in entries:
            try:
                with session.begin_nested():
                    _write_entries(session, [entry], self._events)
                written += 1
            except Exception:
                self.failed += 1
                log.exception("access audit line not written: %r", dict(entry.line))
        return written

    def _announce(self, entries: list[AuditEntry]) -> None:
        if self._events is None:
            return
        for entry in entries:
            if entry.announce is not None:
                self._events.publish(entry.announce)


@dataclass(frozen=True)
class AccessEventFilter:
    space_id: int | None = None
    member_id: int | None = None
    device_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    limit: int = 500
    offset: int = 0


def list_access_events(
    session: Session, wanted: AccessEventFilter, scope: SiteScope = ALL_SITES
) -> Sequence[AccessEvent]:
    """Newest first; a scoped caller sees the events of their sites' spaces only."""
    query = select(AccessEvent).where(scope.where_space(AccessEvent.space_id))
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

"""Automatic booking transitions, level-triggered: each pass reads the database and does what
is due — release no-shows, complete ended bookings, drop stale pending requests, offer freed
slots to the waitlist (and, after it, the programme's attendance retention pass). A pass after
a restart or a missed tick catches up; a second pass at the same instant changes nothing (every
transition is guarded by the current status).

:func:`run_pass` is a plain function (tests call it with any ``now``); :class:`BookingScheduler`
runs it every ``Settings.booking_pass_seconds`` as a worker of the process's scheduler.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from tierslieu.booking import reasons, store
from tierslieu.booking.notify import booking_event, publish_after_commit
from tierslieu.booking.rules import ACTIVE_STATUSES
from tierslieu.booking.waitlist import offer_freed_slots
from tierslieu.db.types import utcnow
from tierslieu.events import EventHub
from tierslieu.models import Booking
from tierslieu.runtime import Runtime
from tierslieu.workers import PeriodicWorker

__all__ = ["BookingScheduler", "PassReport", "run_pass"]

log = logging.getLogger(__name__)


@dataclass
class PassReport:
    """Ids of what one pass changed."""

    no_shows: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    expired_requests: list[int] = field(default_factory=list)
    offers: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.no_shows or self.completed or self.expired_requests or self.offers)


def _due(session: Session, now: datetime) -> list[Booking]:
    # Active bookings that have started: few at any time, found through ix_booking_status_start.
    # skip_locked: a row being checked in right now is left for the next pass.
    query = (
        select(Booking)
        .where(col(Booking.status).in_(ACTIVE_STATUSES), col(Booking.start) <= now)
        .order_by(col(Booking.start))
        .with_for_update(skip_locked=True)
    )
    return list(session.exec(query).all())


def _transition(booking: Booking, now: datetime, checkin_minutes: int | None) -> str | None:
    """The status the booking must move to at ``now``, if any."""
    checkin_deadline = booking.start + timedelta(minutes=checkin_minutes or 0)
    if booking.status == "confirmed" and checkin_minutes is not None and now >= checkin_deadline:
        return "no_show"
    if booking.end <= now:
        return "cancelled" if booking.status == "pending" else "completed"
    return None


def run_pass(session: Session, now: datetime, *, offer_minutes: int = 30, events: EventHub | None = None) -> PassReport:
    """Apply every transition due at ``now`` on the caller's (write) session; no commit."""
    report = PassReport()
    rules = store.RulesCache(session)
    for booking in _due(session, now):
        new_status = _transition(booking, now, rules(booking.resource_id).checkin_minutes)
        if new_status is None:
            continue
        assert booking.id is not None
        booking.status = new_status
        if new_status == "no_show":
            booking.reason = reasons.NO_SHOW
            report.no_shows.append(booking.id)
        elif new_status == "completed":
            booking.ended_at = booking.ended_at or booking.end
            report.completed.append(booking.id)
        else:
            booking.reason = reasons.REQUEST_EXPIRED
            report.expired_requests.append(booking.id)
        session.add(booking)
        publish_after_commit(session, events, "booking", booking_event(new_status, booking))
    session.flush()
    offered = offer_freed_slots(session, now, offer_minutes=offer_minutes, events=events)
    report.offers = [e.id for e in offered if e.id is not None]
    return report


class BookingScheduler:
    """The background component: a worker running :func:`run_pass` (at once at start, to catch
    up after a restart, then every ``booking_pass_seconds``)."""

    name = "booking-scheduler"

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._worker = PeriodicWorker(
            "booking", self.tick, runtime.scheduler, runtime.settings.booking_pass_seconds, metrics=runtime.metrics
        )

    def start(self) -> None:
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    def tick(self) -> PassReport | None:
        """One pass in its own write transaction; errors are logged, the next tick retries."""
        runtime = self._runtime
        try:
            with runtime.db.session(write=True) as session:
                report = run_pass(
                    session,
                    utcnow(),
                    offer_minutes=runtime.settings.waitlist_offer_minutes,
                    events=runtime.events,
                )
                session.commit()
        except Exception:
            log.exception("booking pass failed; retrying at the next tick")
            return None
        if report.changed:
            log.info("booking pass: %s", report)
        return report

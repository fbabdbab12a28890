"""Database reads the queue and the dispatcher share: active bookings, the opening window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from tierslieu.booking import store as booking_store
from tierslieu.booking.rules import EffectiveRules
from tierslieu.models import PrintJob
from tierslieu.printing.decisions import BookingFacts, JobFacts, Window

__all__ = ["active_bookings", "facts", "jobs_of_printer", "opening_window"]

# A pending booking (awaiting approval) does not let a print start.
_LOOKAHEAD = timedelta(days=2)


def active_bookings(session: Session, resource_id: int, now: datetime) -> list[BookingFacts]:
    rows = booking_store.in_progress(session, now, [resource_id])
    return [BookingFacts(id=b.id, member_id=b.member_id, start=b.start, end=b.end) for b in rows if b.id]


def opening_window(rules: EffectiveRules, now: datetime, tz: ZoneInfo) -> Window:
    """The end of the opening ``now`` falls in (None when closed) and the allowed overrun."""
    closes_at = next(
        (end for start, end in rules.schedule.open_intervals(now, now + _LOOKAHEAD, tz) if start <= now < end),
        None,
    )
    return Window(closes_at=closes_at, overrun=timedelta(minutes=rules.overrun_minutes))


def facts(job: PrintJob) -> JobFacts:
    assert job.id is not None
    return JobFacts(
        id=job.id,
        member_id=job.member_id,
        status=job.status,
        booking_id=job.booking_id,
        priority=job.priority,
        estimated_seconds=job.estimated_seconds,
        octoprint_path=job.octoprint_path,
        dispatched_at=job.dispatched_at,
    )


def jobs_of_printer(session: Session, printer_id: int, statuses: frozenset[str]) -> Sequence[PrintJob]:
    return session.exec(
        select(PrintJob)
        .where(PrintJob.printer_id == printer_id, col(PrintJob.status).in_(statuses))
        .order_by(col(PrintJob.id))
        # Rows may have changed under loaded objects (conditional UPDATEs): reload them.
        .execution_options(populate_existing=True)
    ).all()

"""Privacy: attendance lists older than the retention period are reduced to counts.

A purged session keeps its :class:`~tierslieu.programme.attendance.Tally` (present, absent,
seats, no-shows, walk-ins, by public and by age band) in ``workshop_session.tally``; its
attendance rows and its registrations (who came, who registered) are deleted, and so are the
people without an account who have nothing left (no registration, no appointment). The
reports read the tally of a purged session, so their totals stay the same. Run by the booking
scheduler's pass (:mod:`tierslieu.booking.jobs`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tierslieu.booking.schedule import utc
from tierslieu.models import Appointment, Attendance, GroupRegistration, Person, Registration, WorkshopSession
from tierslieu.programme import activity
from tierslieu.programme.attendance import compute_tally
from tierslieu.programme.inclusion_report import keep_visits

__all__ = ["months_before", "purge_attendance"]

BATCH = 200


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` months earlier (the last day of a shorter month)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month + 1, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month + 1, day=min(moment.day, 28))


def purge_attendance(session: Session, *, now: datetime, months: int) -> list[int]:
    """Reduce the attendance of sessions that ended more than ``months`` months before ``now``
    to counts; returns the ids of the sessions purged (at most :data:`BATCH` per call, the next
    pass takes the rest). No commit."""
    cutoff = months_before(utc(now), months)
    due = session.exec(
        select(WorkshopSession)
        .where(col(WorkshopSession.end) < cutoff, col(WorkshopSession.attendance_purged_at).is_(None))
        .order_by(col(WorkshopSession.end))
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    purged: list[int] = []
    for ws in due:
        assert ws.id is not None
        tally = compute_tally(session, ws)
        keep_visits(session, ws)  # the inclusion report's people counts, as counts
        activity.refresh_session_report(session, ws, tally)
        group_ids = session.exec(
            select(Registration.group_id).where(
                Registration.session_id == ws.id, col(Registration.group_id).is_not(None)
            )
        ).all()
        session.execute(sa.delete(Attendance).where(col(Attendance.session_id) == ws.id))
        session.execute(sa.delete(Registration).where(col(Registration.session_id) == ws.id))
        if group_ids:
            session.execute(sa.delete(GroupRegistration).where(col(GroupRegistration.id).in_(list(group_ids))))
        ws.tally, ws.attendance_purged_at = tally.as_json(), utc(now)
        session.add(ws)
        purged.append(ws.id)
    if purged:
        _forget_unattached_persons(session, cutoff)
    session.flush()
    return purged


def _forget_unattached_persons(session: Session, cutoff: datetime) -> None:
    """People without an account, known since before the cutoff, with nothing left to serve."""
    registered = select(Registration.person_id).where(col(Registration.person_id).is_not(None))
    appointed = select(Appointment.person_id).where(col(Appointment.person_id).is_not(None))
    session.execute(
        sa.delete(Person).where(
            col(Person.created_at) < cutoff,
            col(Person.id).not_in(registered),
            col(Person.id).not_in(appointed),
        )
    )

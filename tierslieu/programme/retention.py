"""Privacy: attendance lists older than the retention period are reduced to counts.

A purged session keeps its :class:`~tierslieu.programme.attendance.Tally` in
``workshop_session.tally`` (present, absent, seats, by public and age band), so the reports
add up the same before and after. Run by the booking scheduler's pass.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

__all__ = ["purge_attendance"]


def purge_attendance(session: Session, *, now: datetime, months: int) -> list[int]:
    """Reduce the attendance of sessions that ended more than ``months`` months before ``now``
    to counts; returns the ids of the sessions purged. No commit."""
    raise NotImplementedError

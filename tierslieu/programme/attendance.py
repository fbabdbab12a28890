"""Attendance: the leader's roll-call, walk-ins, and badges scanned at the room's reader."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from tierslieu.models import Attendance, Member, WorkshopSession

__all__ = ["Tally", "mark", "mark_badge", "session_tally", "walk_in"]


@dataclass(frozen=True)
class Tally:
    """The counts of one session, the same before and after the attendance rows are purged."""

    seats_confirmed: int
    present: int
    absent: int
    no_shows: int  # confirmed seats neither ticked present nor scanned
    walk_ins: int
    by_public: dict[str, int]
    by_age_band: dict[str, int]


def mark(
    session: Session, *, actor: Member, session_id: int, registration_id: int, present: bool, now: datetime
) -> Attendance:
    """Tick a registration present or absent (staff, or the session's leader)."""
    raise NotImplementedError


def walk_in(
    session: Session,
    *,
    actor: Member,
    session_id: int,
    member_id: int | None = None,
    person_id: int | None = None,
    seats: int = 1,
    public: str | None = None,
    age_band: str | None = None,
    now: datetime,
) -> Attendance:
    """Someone who came without registering (two taps on the roll-call)."""
    raise NotImplementedError


def mark_badge(session: Session, *, member_id: int, space_id: int, at: datetime) -> Attendance | None:
    """A badge of ``member_id`` scanned at a reader of ``space_id`` at ``at``: present at the
    session in progress in a room of that space, if any (registered or as a walk-in)."""
    raise NotImplementedError


def session_tally(session: Session, ws: WorkshopSession) -> Tally:
    raise NotImplementedError

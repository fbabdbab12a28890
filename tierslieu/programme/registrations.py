"""Registrations: seats taken under the database's guard, a waitlist promoted in order.

**Capacity is never exceeded**, whatever the concurrency: a registration takes its seats with
one conditional UPDATE of the session row (``seats_taken = seats_taken + n WHERE seats_taken +
n <= capacity``, with a CHECK constraint behind it); when no row is updated it is waitlisted.
On SQLite the write session's ``BEGIN IMMEDIATE`` serializes it; on PostgreSQL the row lock
of the UPDATE does, and the WHERE is re-read after a concurrent commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from tierslieu.models import Member, Registration, WorkshopSession
from tierslieu.programme.events import ProgrammeEvents
from tierslieu.programme.holders import Holder

__all__ = ["RegistrationView", "cancel_registration", "list_registrations", "register"]


@dataclass(frozen=True)
class RegistrationView:
    """A registration with what a leader needs on the roll-call: who (a group by its teacher
    and head count), its waitlist position and whether they came."""

    registration: Registration
    label: str
    position: int | None
    present: bool | None


def register(
    session: Session,
    *,
    actor: Member,
    session_id: int,
    holder: Holder,
    seats: int | None = None,
    now: datetime,
    programme: ProgrammeEvents,
) -> Registration:
    """Register the holder for ``seats`` seats (a group: its head count): ``confirmed`` when
    they fit, else ``waitlisted``. Members register themselves; staff, animators and the
    advisor register anyone."""
    raise NotImplementedError


def cancel_registration(
    session: Session, *, actor: Member, registration_id: int, now: datetime, programme: ProgrammeEvents
) -> Registration:
    """Cancel; freed seats go to the first waitlisted that fit (``waitlist_promoted``)."""
    raise NotImplementedError


def list_registrations(session: Session, *, actor: Member, session_id: int) -> list[RegistrationView]:
    """Staff and the session's leader: every registration, waitlist in order."""
    raise NotImplementedError


def waitlist_position(session: Session, registration: Registration) -> int | None:
    raise NotImplementedError


def seats_left(ws: WorkshopSession) -> int:
    raise NotImplementedError


def open_registrations(session: Session, session_id: int) -> Sequence[Registration]:
    raise NotImplementedError

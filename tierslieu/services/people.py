"""The front desk's search and a person's file: members (with an account) and persons (without)
found together by name or phone, and what each is registered for or booked.

Recording a person goes through :func:`tierslieu.programme.persons.person_from_holder` (least
data, consent, minors never named); this module only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from tierslieu.models import Member
from tierslieu.models.programme import (
    OPEN_REGISTRATION_STATUSES,
    Appointment,
    AppointmentStatus,
    Registration,
    Workshop,
    WorkshopSession,
)
from tierslieu.programme import persons as person_service

__all__ = ["MIN_QUERY", "Found", "Upcoming", "find_people", "upcoming_for"]

MIN_QUERY = 2


@dataclass(frozen=True)
class Found:
    """One line of the front desk's search: a member (with an account) or a person (without)."""

    kind: str  # "member" | "person"
    id: int
    name: str
    phone: str | None
    email: str | None
    birth_year: int | None = None


def find_people(session: Session, text: str, *, limit: int = 25) -> list[Found]:
    """Members whose name or e-mail contains ``text``, and persons by name or phone, by name."""
    needle = text.strip()
    if len(needle) < MIN_QUERY:
        return []
    pattern = f"%{needle.replace('%', '').replace('_', '')}%"
    members = session.exec(
        select(Member)
        .where(col(Member.name).ilike(pattern) | col(Member.email).ilike(pattern))
        .order_by(col(Member.name))
        .limit(limit)
    ).all()
    found = [Found("member", m.id or 0, m.name, None, m.email) for m in members]
    persons = person_service.find_persons(session, needle, limit=limit)
    found += [Found("person", p.id or 0, p.name, p.phone, p.email, p.birth_year) for p in persons]
    return sorted(found, key=lambda f: f.name.lower())[:limit]


@dataclass(frozen=True)
class Upcoming:
    """A registration or an appointment still to come, for the person's file at the desk."""

    kind: str  # "registration" | "appointment"
    id: int
    what: str  # the workshop's title (empty for an appointment)
    start: datetime
    end: datetime
    status: str


def upcoming_for(session: Session, who: Found, now: datetime) -> list[Upcoming]:
    """What ``who`` (a member or a person) is registered for or booked, soonest first."""
    holder_column = Registration.member_id if who.kind == "member" else Registration.person_id
    registrations = session.exec(
        select(Registration, WorkshopSession, Workshop)
        .join(WorkshopSession, col(WorkshopSession.id) == col(Registration.session_id))
        .join(Workshop, col(Workshop.id) == col(WorkshopSession.workshop_id))
        .where(
            col(holder_column) == who.id,
            col(Registration.status).in_(OPEN_REGISTRATION_STATUSES),
            col(WorkshopSession.end) > now,
        )
    ).all()
    found = [Upcoming("registration", r.id or 0, w.title, ws.start, ws.end, r.status) for r, ws, w in registrations]
    appointment_column = Appointment.member_id if who.kind == "member" else Appointment.person_id
    appointments = session.exec(
        select(Appointment).where(
            col(appointment_column) == who.id,
            col(Appointment.status) == AppointmentStatus.booked.value,
            col(Appointment.end) > now,
        )
    ).all()
    found += [Upcoming("appointment", a.id or 0, "", a.start, a.end, a.status) for a in appointments]
    return sorted(found, key=lambda u: u.start)

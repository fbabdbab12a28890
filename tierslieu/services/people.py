"""The front desk's people: find someone by name or phone (members and people without an
account alike), and record a person who has no account.

Least data: contact details (phone, e-mail, address, year of birth) are kept only when the person
agreed; without consent only the name is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, func, or_, select

from tierslieu.errors import InvalidInput, not_found
from tierslieu.models import Member
from tierslieu.models.programme import (
    OPEN_REGISTRATION_STATUSES,
    Appointment,
    AppointmentStatus,
    Person,
    Registration,
    Workshop,
    WorkshopSession,
)
from tierslieu.programme.holders import PersonHolder

__all__ = [
    "CONSENT_CONTACT",
    "Found",
    "Upcoming",
    "create_person",
    "find_people",
    "get_person",
    "phone_digits",
    "upcoming_for",
]

# What a person agrees to when the front desk ticks the box: being called or written to about
# their registrations and appointments.
CONSENT_CONTACT = "contact"
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


def phone_digits(text: str) -> str:
    """``06 12 34 56 78``, ``06.12.34.56.78`` and ``+33 6 12…`` compare by their digits."""
    digits = re.sub(r"\D", "", text)
    return "0" + digits[2:] if digits.startswith("33") and len(digits) == 11 else digits


def find_people(session: Session, text: str, *, limit: int = 25) -> list[Found]:
    """Members and persons whose name contains ``text`` (any case), or whose phone has its digits."""
    needle = text.strip()
    if len(needle) < MIN_QUERY:
        return []
    pattern = f"%{needle.lower()}%"
    members = session.exec(
        select(Member)
        .where(or_(func.lower(Member.name).like(pattern), func.lower(Member.email).like(pattern)))
        .order_by(col(Member.name))
        .limit(limit)
    ).all()
    found = [Found("member", m.id or 0, m.name, None, m.email) for m in members]
    digits = phone_digits(needle)
    conditions = [func.lower(Person.name).like(pattern)]
    if len(digits) >= 4:
        # Phones are stored as typed; compare without their spaces, dots and dashes.
        stripped = func.replace(func.replace(func.replace(col(Person.phone), " ", ""), ".", ""), "-", "")
        conditions.append(stripped.like(f"%{digits[-9:]}%"))
    persons = session.exec(select(Person).where(or_(*conditions)).order_by(col(Person.name)).limit(limit)).all()
    found += [Found("person", p.id or 0, p.name, p.phone, p.email, p.birth_year) for p in persons]
    return sorted(found, key=lambda f: f.name.lower())[:limit]


def get_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise not_found("Personne", "person", person_id)
    return person


def create_person(session: Session, *, actor: Member, holder: PersonHolder, now: datetime) -> Person:
    """Record someone without an account; their contact details only if they agreed."""
    name = holder.name.strip()
    if not name:
        raise InvalidInput("person.name_required", "Indiquez le nom de la personne.", "Give the person's name.")
    # The year of birth is kept without consent: it is not a contact detail, and the reports
    # count by age band.
    person = Person(name=name, birth_year=holder.birth_year, created_by=actor.id)
    if holder.consent:
        person.phone = (holder.phone or "").strip() or None
        person.email = (holder.email or "").strip().lower() or None
        person.postal_address = (holder.postal_address or "").strip() or None
        person.consent = CONSENT_CONTACT
        person.consent_at = now
    session.add(person)
    session.flush()
    return person


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

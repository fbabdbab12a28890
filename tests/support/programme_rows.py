"""Programme rows written straight to the database (workshops, sessions, people, registrations,
attendance, appointments, activity reports), for tests of what reads them: the outbox, the
public agenda and the reports. The programme's own services are tested in tests/programme."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import Session

from tierslieu.models import (
    ActivityReport,
    Appointment,
    Attendance,
    GroupRegistration,
    Member,
    Person,
    Registration,
    Resource,
    Space,
    Workshop,
    WorkshopSession,
)
from tierslieu.services.sites import default_site_id

__all__ = ["ProgrammeRows"]


T = TypeVar("T")


def _id(row: Any) -> int:
    assert row.id is not None
    return int(row.id)


def _tag() -> str:
    return uuid.uuid4().hex[:8]


@dataclass
class ProgrammeRows:
    """Adds rows to ``session`` (flushed, not committed) and returns them with their ids."""

    session: Session

    def _add(self, row: T) -> T:
        self.session.add(row)
        self.session.flush()
        return row

    def room(self, name: str | None = None, space: str | None = None) -> Resource:
        site_id = default_site_id(self.session, "Europe/Paris")
        space_row = self._add(Space(name=space or f"Salle {_tag()}", kind="room", site_id=site_id, rules={}))
        return self._add(Resource(name=name or f"Salle {_tag()}", kind="room", space_id=space_row.id))

    def member(self, name: str = "Alice Martin", email: str | None = None, language: str = "fr") -> Member:
        return self._add(Member(name=name, email=email or f"m-{_tag()}@trilport.test", language=language))

    def person(self, name: str, *, email: str | None = None, birth_year: int | None = None) -> Person:
        return self._add(Person(name=name, email=email, birth_year=birth_year, consent="contact" if email else ""))

    def workshop(self, title: str, themes: list[str], publics: list[str], *, capacity: int = 12) -> Workshop:
        return self._add(Workshop(title=title, themes=themes, publics=publics, duration_minutes=90, capacity=capacity))

    def session_of(
        self,
        workshop: Workshop,
        room: Resource,
        start: datetime,
        end: datetime,
        *,
        capacity: int | None = None,
        status: str = "scheduled",
        public: bool = True,
    ) -> WorkshopSession:
        assert workshop.id is not None and room.id is not None
        return self._add(
            WorkshopSession(
                workshop_id=workshop.id,
                resource_id=room.id,
                start=start,
                end=end,
                capacity=capacity or workshop.capacity,
                status=status,
                public=public,
            )
        )

    def register(
        self,
        ws: WorkshopSession,
        *,
        member: Member | None = None,
        person: Person | None = None,
        group: GroupRegistration | None = None,
        status: str = "confirmed",
    ) -> Registration:
        seats = group.head_count if group else 1
        registration = self._add(
            Registration(
                session_id=_id(ws),
                member_id=member.id if member else None,
                person_id=person.id if person else None,
                group_id=group.id if group else None,
                seats=seats,
                status=status,
            )
        )
        if status == "confirmed":
            ws.seats_taken += seats
            self._add(ws)
        return registration

    def group(self, contact: str, organisation: str, head_count: int, public: str, age_band: str) -> GroupRegistration:
        return self._add(
            GroupRegistration(
                contact_name=contact, organisation=organisation, head_count=head_count, public=public, age_band=age_band
            )
        )

    def attend(self, registration: Registration, *, present: bool = True) -> Attendance:
        return self._add(
            Attendance(
                session_id=registration.session_id,
                registration_id=registration.id,
                member_id=registration.member_id,
                person_id=registration.person_id,
                present=present,
                seats=registration.seats,
            )
        )

    def walk_in(
        self,
        ws: WorkshopSession,
        *,
        member: Member | None = None,
        public: str | None = None,
        age_band: str | None = None,
    ) -> Attendance:
        return self._add(
            Attendance(
                session_id=_id(ws),
                member_id=member.id if member else None,
                present=True,
                seats=1,
                source="walk_in",
                public=public,
                age_band=age_band,
            )
        )

    def appointment(
        self,
        advisor: Member,
        room: Resource,
        start: datetime,
        end: datetime,
        *,
        member: Member | None = None,
        person: Person | None = None,
        people: int = 1,
    ) -> Appointment:
        return self._add(
            Appointment(
                advisor_id=_id(advisor),
                resource_id=_id(room),
                start=start,
                end=end,
                member_id=member.id if member else None,
                person_id=person.id if person else None,
                people=people,
                referred_by="CCAS",
            )
        )

    def report(
        self,
        at: datetime,
        *,
        kind: str,
        minutes: int,
        themes: list[str],
        publics: list[str],
        people: int = 1,
        appointment: Appointment | None = None,
        ws: WorkshopSession | None = None,
        room: Resource | None = None,
        referred_to: list[str] | None = None,
    ) -> ActivityReport:
        return self._add(
            ActivityReport(
                at=at,
                kind=kind,
                duration_minutes=minutes,
                themes=themes,
                publics=publics,
                referred_to=referred_to or [],
                people=people,
                appointment_id=appointment.id if appointment else None,
                session_id=ws.id if ws else None,
                resource_id=room.id if room else None,
            )
        )

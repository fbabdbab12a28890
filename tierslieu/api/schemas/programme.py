"""Request and response shapes of the programme: workshops, sessions, registrations, attendance,
appointments and activity reports (``XCreate`` / ``XUpdate`` / ``XPublic``).

Themes are the national vocabulary of digital-mediation services, written out in French as the
national standard does; publics, kinds and statuses are short codes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from tierslieu.api.schemas.bookings import Reason, RowId
from tierslieu.models.programme import ActivityKind, Public, Theme

Title = Annotated[str, Field(min_length=1, max_length=200)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Capacity = Annotated[int, Field(ge=1, le=10_000)]
Minutes = Annotated[int, Field(ge=15, le=24 * 60)]
SessionStatusName = Literal["scheduled", "cancelled"]
RegistrationStatusName = Literal["confirmed", "waitlisted", "cancelled"]
AgeBand = Literal["0-11", "12-17", "18-24", "25-39", "40-59", "60-69", "70+"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Workshops ----------------------------------------------------------------------------------


class WorkshopCreate(_Body):
    title: Title
    description: Annotated[str, Field(max_length=4000)] = ""
    themes: list[Theme] = Field(min_length=1, max_length=9, description="services du standard national")
    publics: list[Public] = Field(default_factory=list, max_length=7)
    duration_minutes: Minutes
    capacity: Capacity
    leader_id: RowId | None = Field(default=None, description="l'animatrice, la conseillère numérique…")


class WorkshopUpdate(_Body):
    title: Title | None = None
    description: Annotated[str, Field(max_length=4000)] | None = None
    themes: list[Theme] | None = Field(default=None, min_length=1, max_length=9)
    publics: list[Public] | None = Field(default=None, max_length=7)
    duration_minutes: Minutes | None = None
    capacity: Capacity | None = None
    leader_id: RowId | None = None
    active: bool | None = None


class WorkshopPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str
    themes: list[str]
    publics: list[str]
    duration_minutes: int
    capacity: int
    leader_id: int | None
    active: bool
    created_at: datetime


# Sessions -----------------------------------------------------------------------------------


class SessionCreate(_Body):
    resource_id: RowId = Field(description="la salle, réservée par le moteur de réservation")
    start: AwareDatetime = Field(description="RFC 3339 avec décalage, ex. 2026-05-12T14:00:00+02:00")
    end: AwareDatetime | None = Field(default=None, description="par défaut : début + durée de l'atelier")
    capacity: Capacity | None = Field(default=None, description="par défaut : celle de l'atelier")
    recurrence: Annotated[str, Field(max_length=500)] | None = Field(
        default=None, description="RRULE RFC 5545, ex. FREQ=WEEKLY;BYDAY=TU;COUNT=10 (une séance par date)"
    )
    printer_ids: list[RowId] = Field(default_factory=list, max_length=20, description="imprimantes du FabLab")
    leader_id: RowId | None = Field(default=None, description="par défaut : l'animateur de l'atelier")
    public: bool = Field(default=True, description="affichée dans l'agenda public")


class SessionCancel(_Body):
    reason: Reason = ""


class SessionPublic(BaseModel):
    id: int
    workshop_id: int
    title: str
    resource_id: int
    start: datetime
    end: datetime
    capacity: int
    seats_taken: int
    seats_left: int
    waitlisted: int
    booking_id: int | None
    series_id: int | None
    printer_ids: list[int]
    leader_id: int | None
    status: SessionStatusName
    public: bool
    cancelled_at: datetime | None


# Registrations ------------------------------------------------------------------------------


class PersonIn(_Body):
    """Someone without an account. Contact details need their consent; never a minor's name."""

    id: RowId | None = Field(default=None, description="une personne déjà connue de l'accueil (le reste est ignoré)")
    name: Annotated[str, Field(max_length=200)] = ""
    phone: Annotated[str, Field(max_length=40)] | None = None
    email: Annotated[str, Field(max_length=320)] | None = None
    postal_address: Annotated[str, Field(max_length=500)] | None = None
    birth_year: Annotated[int, Field(ge=1900, le=2100)] | None = None
    consent: bool = Field(default=False, description="la personne accepte qu'on garde ses coordonnées")


class GroupIn(_Body):
    """A group counted by head: the teacher's (or leader's) name, never the pupils'."""

    name: Name = Field(description="l'enseignant ou l'encadrant")
    organisation: Annotated[str, Field(max_length=200)] = Field(default="", description="l'école, le centre…")
    head_count: Annotated[int, Field(ge=1, le=1000)]
    public: Public | None = None
    age_band: AgeBand | None = None


class RegistrationCreate(_Body):
    """One of ``member_id`` (default: the caller), ``person`` or ``group``."""

    member_id: RowId | None = None
    person: PersonIn | None = None
    group: GroupIn | None = None
    seats: Annotated[int, Field(ge=1, le=1000)] | None = Field(default=None, description="un groupe : son effectif")

    @model_validator(mode="after")
    def _one_holder(self) -> Self:
        if sum(x is not None for x in (self.member_id, self.person, self.group)) > 1:
            raise ValueError("member_id, person or group: one of them")
        return self


class RegistrationPublic(BaseModel):
    id: int
    session_id: int
    status: RegistrationStatusName
    position: int | None = Field(default=None, description="rang sur la liste d'attente (1 = le prochain)")
    seats: int
    kind: Literal["member", "person", "group"]
    member_id: int | None
    person_id: int | None
    created_at: datetime


class RegistrationListed(RegistrationPublic):
    """As staff and the leader see it on the roll-call."""

    name: str
    organisation: str | None
    present: bool | None


# Attendance ---------------------------------------------------------------------------------


class WalkInIn(_Body):
    member_id: RowId | None = None
    person_id: RowId | None = None
    seats: Annotated[int, Field(ge=1, le=100)] = 1
    public: Public | None = None
    age_band: AgeBand | None = None


class AttendanceCreate(_Body):
    """``{registration_id, present}`` ticks a registration; ``{walk_in: {...}}`` adds someone
    who came without registering."""

    registration_id: RowId | None = None
    present: bool = True
    seats: Annotated[int, Field(ge=0, le=1000)] | None = Field(default=None, description="un groupe : présents")
    walk_in: WalkInIn | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.registration_id is None) == (self.walk_in is None):
            raise ValueError("registration_id or walk_in: exactly one of them")
        return self


class AttendancePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: int
    registration_id: int | None
    member_id: int | None
    person_id: int | None
    present: bool
    seats: int
    source: Literal["roll_call", "badge", "walk_in"]
    recorded_at: datetime


class TallyPublic(BaseModel):
    """A session's counts, in seats (a class of 28 present counts 28); the same after the
    attendance list is reduced to counts."""

    seats_confirmed: int
    registrations: int = Field(description="inscriptions nominatives confirmées (membres et personnes)")
    group_head_count: int = Field(description="places confirmées des groupes (personne n'y est nommé)")
    present: int
    absent: int
    no_shows: int = Field(description="places confirmées sans présence")
    walk_ins: int
    by_public: dict[str, int]
    by_age_band: dict[str, int]


class AttendanceSheet(BaseModel):
    """The roll-call's state: the counts and, until the retention period ends, the rows."""

    session_id: int
    purged: bool
    tally: TallyPublic
    rows: list[AttendancePublic]


# Appointments and reports -------------------------------------------------------------------


class AppointmentCreate(_Body):
    advisor_id: RowId
    resource_id: RowId = Field(description="la salle de la conseillère")
    start: AwareDatetime
    end: AwareDatetime = Field(description="30 à 90 minutes après le début")
    member_id: RowId | None = None
    person: PersonIn | None = None
    people: Annotated[int, Field(ge=1, le=3)] = Field(default=1, description="1 à 3 personnes")
    referred_by: Annotated[str, Field(max_length=200)] | None = Field(
        default=None, description="qui oriente la personne (CCAS, médiathèque…)"
    )
    note: Annotated[str, Field(max_length=1000)] = ""


class AppointmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    advisor_id: int
    resource_id: int
    start: datetime
    end: datetime
    member_id: int | None
    person_id: int | None
    people: int
    referred_by: str | None
    note: str
    status: Literal["booked", "cancelled", "done"]
    booking_id: int | None
    created_by: int | None
    created_at: datetime


class ActivityReportCreate(_Body):
    kind: ActivityKind = Field(description="individual | collective | one_off")
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60)]
    themes: list[Theme] = Field(min_length=1, max_length=9)
    publics: list[Public] = Field(default_factory=list, max_length=7)
    referred_to: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=10, description="France Services, CAF…"
    )


class ActivityReportPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    at: datetime
    duration_minutes: int
    themes: list[str]
    publics: list[str]
    referred_to: list[str]
    people: int
    appointment_id: int | None
    session_id: int | None
    resource_id: int | None
    author_id: int | None


class PersonPublic(BaseModel):
    """What the front desk sees of a person (to find them again)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    phone: str | None
    email: str | None
    birth_year: int | None
    consent: str
    created_at: datetime

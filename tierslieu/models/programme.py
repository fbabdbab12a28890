"""The digital-inclusion programme: workshops and their dated sessions, the people who come
(members, people without an account, groups), registrations with a waitlist, attendance,
the advisor's appointments and the activity reports the town sends on.

Each family follows the FastAPI-template shape, ``XBase`` (the fields a client may write) →
``X(table=True)``; the request/response shapes live in ``tierslieu.api.schemas.programme``.

Least data: a :class:`Person` holds a name and only the contact details they chose to give;
a :class:`GroupRegistration` (a school class) holds the teacher's name, the school and a head
count — never the names of minors. After the retention period a session's attendance rows
are reduced to the counts kept in ``WorkshopSession.tally``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, ForeignKey, Index, Integer, String, text
from sqlmodel import Field, SQLModel

from tierslieu.db.types import UTCDateTime, utcnow

__all__ = [
    "NATIONAL_PUBLICS",
    "OPEN_REGISTRATION_STATUSES",
    "ActivityKind",
    "ActivityReport",
    "ActivityReportBase",
    "Appointment",
    "AppointmentBase",
    "AppointmentStatus",
    "Attendance",
    "AttendanceSource",
    "GroupRegistration",
    "GroupRegistrationBase",
    "Person",
    "PersonBase",
    "Public",
    "Registration",
    "RegistrationStatus",
    "SessionPrinter",
    "SessionStatus",
    "Theme",
    "Workshop",
    "WorkshopBase",
    "WorkshopSession",
    "WorkshopSessionBase",
]


class Theme(StrEnum):
    """The ``services`` vocabulary of the national standard for digital-mediation places
    (LaMednum/standard-mediation-num, schema.json v1.0.2): stored and exported as written."""

    demarches = "Aide aux démarches administratives"
    outils_quotidien = "Maîtrise des outils numériques du quotidien"
    insertion_pro = "Insertion professionnelle via le numérique"
    securite = "Utilisation sécurisée du numérique"
    parentalite = "Parentalité et éducation avec le numérique"
    loisirs_creations = "Loisirs et créations numériques"
    comprehension = "Compréhension du monde numérique"
    acces_materiel = "Accès internet et matériel informatique"
    materiel_solidaire = "Acquisition de matériel informatique à prix solidaire"


class Public(StrEnum):
    """Who a workshop is for (and who came: reports count by public)."""

    seniors = "seniors"
    scolaires = "scolaires"
    centre_de_loisirs = "centre_de_loisirs"
    jeunes = "jeunes"
    familles = "familles"
    habitants = "habitants"
    associations = "associations"


# Our publics in the national standard's ``publics_specifiquement_adresses`` (those it names).
NATIONAL_PUBLICS: dict[Public, str] = {
    Public.seniors: "Seniors",
    Public.scolaires: "Jeunes",
    Public.centre_de_loisirs: "Jeunes",
    Public.jeunes: "Jeunes",
    Public.familles: "Familles et/ou enfants",
}


class SessionStatus(StrEnum):
    scheduled = "scheduled"
    cancelled = "cancelled"


class RegistrationStatus(StrEnum):
    confirmed = "confirmed"
    waitlisted = "waitlisted"
    cancelled = "cancelled"


OPEN_REGISTRATION_STATUSES = (RegistrationStatus.confirmed.value, RegistrationStatus.waitlisted.value)


class AttendanceSource(StrEnum):
    roll_call = "roll_call"  # ticked by the leader
    badge = "badge"  # scanned at the room's reader during the session
    walk_in = "walk_in"  # came without registering


class AppointmentStatus(StrEnum):
    booked = "booked"
    cancelled = "cancelled"
    done = "done"  # its activity report is written


class ActivityKind(StrEnum):
    """The kinds of accompaniment of the national activity report (La Coop de la médiation)."""

    individual = "individual"
    collective = "collective"
    one_off = "one_off"


def _fk(target: str, *, nullable: bool = False, ondelete: str = "RESTRICT", index: bool = True) -> Any:
    return Field(
        default=None,
        sa_column=Column(Integer, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index),
    )


def _instant(name: str | None = None, *, nullable: bool = False, default_now: bool = False) -> Any:
    column: Column[datetime] = (
        Column(name, UTCDateTime(), nullable=nullable) if name else Column(UTCDateTime(), nullable=nullable)
    )
    if default_now:
        return Field(default_factory=utcnow, sa_column=column)
    return Field(default=None, sa_column=column)


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def _status(default: str) -> Any:
    return Field(default=default, sa_column=Column(String(16), nullable=False))


# Workshops and sessions ---------------------------------------------------------------------


class WorkshopBase(SQLModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    themes: list[str] = _json_list()  # Theme values
    publics: list[str] = _json_list()  # Public values
    duration_minutes: int = Field(ge=15, le=24 * 60)
    capacity: int = Field(ge=1, le=10_000)
    leader_id: int | None = _fk("member.id", nullable=True, ondelete="SET NULL")


class Workshop(WorkshopBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    active: bool = True
    created_by: int | None = _fk("member.id", nullable=True, ondelete="SET NULL", index=False)
    created_at: datetime = _instant(default_now=True)


class WorkshopSessionBase(SQLModel):
    workshop_id: int = _fk("workshop.id", ondelete="RESTRICT")
    resource_id: int = _fk("resource.id", ondelete="RESTRICT")
    start: datetime = _instant("starts_at")
    end: datetime = _instant("ends_at")
    capacity: int = Field(ge=1, le=10_000)


class WorkshopSession(WorkshopSessionBase, table=True):
    """One dated occurrence of a workshop in a room. ``booking_id`` is the room's booking made
    through the booking engine; ``seats_taken`` counts confirmed seats and the database keeps it
    within ``capacity`` (registrations take seats with a conditional UPDATE of this row)."""

    __tablename__ = "workshop_session"
    __table_args__ = (
        CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="ck_workshop_session_seats"),
        Index("ix_workshop_session_start", "starts_at"),
        Index("ix_workshop_session_workshop_start", "workshop_id", "starts_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    leader_id: int | None = _fk("member.id", nullable=True, ondelete="SET NULL")
    booking_id: int | None = _fk("booking.id", nullable=True, ondelete="SET NULL")
    # Sessions created together from one recurrence share the booking engine's series.
    series_id: int | None = _fk("booking_series.id", nullable=True, ondelete="SET NULL")
    seats_taken: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default=text("0")))
    status: str = _status(SessionStatus.scheduled)
    public: bool = True  # listed on the public agenda
    created_by: int | None = _fk("member.id", nullable=True, ondelete="SET NULL", index=False)
    created_at: datetime = _instant(default_now=True)
    cancelled_at: datetime | None = _instant(nullable=True)
    cancel_reason: str = Field(default="", max_length=500)
    # Set when the attendance rows were reduced to counts (privacy retention); then ``tally``
    # holds them: {"present", "absent", "walk_ins", "seats_confirmed", "by_public", "by_age_band"}.
    attendance_purged_at: datetime | None = _instant(nullable=True)
    tally: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class SessionPrinter(SQLModel, table=True):
    """A printer a FabLab session holds, booked through the engine like the room."""

    __tablename__ = "workshop_session_printer"

    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("workshop_session.id", ondelete="CASCADE"), primary_key=True)
    )
    resource_id: int = Field(
        sa_column=Column(Integer, ForeignKey("resource.id", ondelete="RESTRICT"), primary_key=True)
    )
    booking_id: int | None = _fk("booking.id", nullable=True, ondelete="SET NULL", index=False)


# People without an account, groups ----------------------------------------------------------


class PersonBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)
    postal_address: str | None = Field(default=None, max_length=500)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)


class Person(PersonBase, table=True):
    """Someone registered by the front desk (or a partner) without an account of their own."""

    __table_args__ = (Index("ix_person_name", "name"), Index("ix_person_phone", "phone"))

    id: int | None = Field(default=None, primary_key=True)
    # What the person agreed to (e.g. "contact": be called or written to about their
    # registrations), and when; without it, only the name is kept.
    consent: str = Field(default="", max_length=200)
    consent_at: datetime | None = _instant(nullable=True)
    created_by: int | None = _fk("member.id", nullable=True, ondelete="SET NULL", index=False)
    created_at: datetime = _instant(default_now=True)


class GroupRegistrationBase(SQLModel):
    contact_name: str = Field(min_length=1, max_length=200)  # the teacher or group leader
    organisation: str = Field(default="", max_length=200)  # the school, leisure centre…
    head_count: int = Field(ge=1, le=1000)
    public: str | None = Field(default=None, max_length=32)  # Public value
    age_band: str | None = Field(default=None, max_length=16)  # e.g. "11-14"


class GroupRegistration(GroupRegistrationBase, table=True):
    """A group (a school class) counted by head: never the names of its members."""

    __tablename__ = "group_registration"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = _instant(default_now=True)


# Registrations and attendance ---------------------------------------------------------------


class Registration(SQLModel, table=True):
    """A member, a person or a group registered for a session, for ``seats`` seats.

    ``confirmed`` seats are counted in the session's ``seats_taken``; ``waitlisted`` ones wait
    in ``id`` order (their position is their rank among the session's waitlisted)."""

    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN member_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN person_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN group_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="ck_registration_one_holder",
        ),
        CheckConstraint("seats >= 1", name="ck_registration_seats"),
        Index("ix_registration_session_status", "session_id", "status", "id"),
        # One open registration per member (or person) and session, whoever makes it.
        Index(
            "uq_registration_member_open",
            "session_id",
            "member_id",
            unique=True,
            sqlite_where=text("member_id IS NOT NULL AND status IN ('confirmed', 'waitlisted')"),
            postgresql_where=text("member_id IS NOT NULL AND status IN ('confirmed', 'waitlisted')"),
        ),
        Index(
            "uq_registration_person_open",
            "session_id",
            "person_id",
            unique=True,
            sqlite_where=text("person_id IS NOT NULL AND status IN ('confirmed', 'waitlisted')"),
            postgresql_where=text("person_id IS NOT NULL AND status IN ('confirmed', 'waitlisted')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("workshop_session.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int | None = _fk("member.id", nullable=True, ondelete="CASCADE")
    person_id: int | None = _fk("person.id", nullable=True, ondelete="CASCADE")
    group_id: int | None = _fk("group_registration.id", nullable=True, ondelete="CASCADE")
    seats: int = 1
    status: str = _status(RegistrationStatus.confirmed)
    created_by: int | None = _fk("member.id", nullable=True, ondelete="SET NULL", index=False)
    created_at: datetime = _instant(default_now=True)
    promoted_at: datetime | None = _instant(nullable=True)  # left the waitlist
    cancelled_at: datetime | None = _instant(nullable=True)


class Attendance(SQLModel, table=True):
    """Who was there: one row per registration ticked (present or absent), per badge scan of
    an unregistered member, or per walk-in. ``seats``: people it stands for (a group's head
    count present). Reduced to counts after the retention period."""

    __table_args__ = (
        Index("ix_attendance_session", "session_id"),
        Index(
            "uq_attendance_registration",
            "registration_id",
            unique=True,
            sqlite_where=text("registration_id IS NOT NULL"),
            postgresql_where=text("registration_id IS NOT NULL"),
        ),
        Index(
            "uq_attendance_member_walk_in",
            "session_id",
            "member_id",
            unique=True,
            sqlite_where=text("registration_id IS NULL AND member_id IS NOT NULL"),
            postgresql_where=text("registration_id IS NULL AND member_id IS NOT NULL"),
        ),
        CheckConstraint("seats >= 0", name="ck_attendance_seats"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(Integer, ForeignKey("workshop_session.id", ondelete="CASCADE"), nullable=False)
    )
    registration_id: int | None = _fk("registration.id", nullable=True, ondelete="CASCADE", index=False)
    member_id: int | None = _fk("member.id", nullable=True, ondelete="SET NULL", index=False)
    person_id: int | None = _fk("person.id", nullable=True, ondelete="SET NULL", index=False)
    present: bool = True
    seats: int = 1
    source: str = _status(AttendanceSource.roll_call)
    # For walk-ins without a name, what the reports count them by.
    public: str | None = Field(default=None, max_length=32)
    age_band: str | None = Field(default=None, max_length=16)
    recorded_by: int | None = _fk("member.id", nullable=True, ondelete="SET NULL", index=False)
    recorded_at: datetime = _instant(default_now=True)


# Appointments and activity reports ----------------------------------------------------------


class AppointmentBase(SQLModel):
    advisor_id: int = _fk("member.id", ondelete="RESTRICT")
    resource_id: int = _fk("resource.id", ondelete="RESTRICT")
    start: datetime = _instant("starts_at")
    end: datetime = _instant("ends_at")
    member_id: int | None = _fk("member.id", nullable=True, ondelete="SET NULL")
    person_id: int | None = _fk("person.id", nullable=True, ondelete="SET NULL")
    people: int = Field(default=1, ge=1, le=3)
    referred_by: str | None = Field(default=None, max_length=200)  # the referring partner ("CCAS")
    note: str = Field(default="", max_length=1000)


class Appointment(AppointmentBase, table=True):
    """An individual appointment with the advisor in her room (booked through the engine)."""

    __table_args__ = (
        Index("ix_appointment_advisor_start", "advisor_id", "starts_at"),
        Index("ix_appointment_created_by", "created_by"),
    )

    id: int | None = Field(default=None, primary_key=True)
    booking_id: int | None = _fk("booking.id", nullable=True, ondelete="SET NULL")
    status: str = _status(AppointmentStatus.booked)
    # The account that booked it: a partner sees only the appointments it made.
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"), nullable=True)
    )
    created_at: datetime = _instant(default_now=True)
    cancelled_at: datetime | None = _instant(nullable=True)


class ActivityReportBase(SQLModel):
    kind: str = Field(max_length=16)  # ActivityKind value
    duration_minutes: int = Field(ge=1, le=24 * 60)
    themes: list[str] = _json_list()
    publics: list[str] = _json_list()
    referred_to: list[str] = _json_list()  # "France Services", "CAF"…


class ActivityReport(ActivityReportBase, table=True):
    """One accompaniment as the national activity report records it: an appointment's report
    written by the advisor, or a collective session's, computed from its attendance."""

    __tablename__ = "activity_report"
    __table_args__ = (Index("ix_activity_report_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _instant()
    author_id: int | None = _fk("member.id", nullable=True, ondelete="SET NULL")
    appointment_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("appointment.id", ondelete="CASCADE"), nullable=True, unique=True),
    )
    session_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("workshop_session.id", ondelete="CASCADE"), nullable=True, unique=True),
    )
    resource_id: int | None = _fk("resource.id", nullable=True, ondelete="SET NULL", index=False)
    people: int = Field(default=1, ge=0)  # people accompanied (present, for a session)
    created_at: datetime = _instant(default_now=True)

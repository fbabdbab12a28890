"""Attendance: the leader's roll-call, walk-ins, and badges scanned at the room's reader.

Every change refreshes the session's collective activity report (:mod:`.activity`), so the
town's report is right as soon as the roll-call is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from tierslieu.booking.schedule import utc
from tierslieu.errors import Conflict, InvalidInput, NotFound
from tierslieu.models import (
    Attendance,
    GroupRegistration,
    Member,
    Person,
    Registration,
    Resource,
    Workshop,
    WorkshopSession,
)
from tierslieu.models.programme import AttendanceSource, Public, RegistrationStatus, SessionStatus
from tierslieu.programme import activity
from tierslieu.programme.roles import ORGANISERS, check_leads
from tierslieu.programme.seats import AGE_BANDS, age_band
from tierslieu.programme.sessions import get_session

__all__ = [
    "BADGE_LEAD",
    "ROLL_CALL_LEAD",
    "Tally",
    "attendance_rows",
    "compute_tally",
    "mark",
    "mark_badge",
    "session_tally",
    "walk_in",
]

# The roll-call opens an hour before the start (people arrive early); a badge counts from a
# quarter of an hour before.
ROLL_CALL_LEAD = timedelta(hours=1)
BADGE_LEAD = timedelta(minutes=15)
UNKNOWN = "non_renseigne"


@dataclass(frozen=True)
class Tally:
    """The counts of one session — the same before and after its attendance rows are purged.
    People are counted in seats (a class of 28 present counts 28)."""

    seats_confirmed: int = 0
    registrations: int = 0  # confirmed registrations of members and persons (named people)
    group_head_count: int = 0  # confirmed seats of groups (counted apart: nobody named)
    present: int = 0
    absent: int = 0  # ticked absent
    no_shows: int = 0  # confirmed seats not present (ticked absent or never ticked)
    walk_ins: int = 0
    by_public: dict[str, int] = field(default_factory=dict)  # present people
    by_age_band: dict[str, int] = field(default_factory=dict)  # present people

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _check_roll_call_open(ws: WorkshopSession, now: datetime) -> None:
    if ws.status == SessionStatus.cancelled:
        raise Conflict("programme.session_cancelled", session=ws.id)
    if ws.attendance_purged_at is not None:
        raise Conflict("programme.attendance_purged", session=ws.id)
    if now < ws.start - ROLL_CALL_LEAD:
        raise Conflict("programme.roll_call_not_open", session=ws.id, start=ws.start)


def mark(
    session: Session,
    *,
    actor: Member,
    session_id: int,
    registration_id: int,
    present: bool,
    seats: int | None = None,
    now: datetime,
) -> Attendance:
    """Tick a registration present or absent (staff, or the session's leader). ``seats``: for
    a group, how many of its head count came (default: all of them, or none)."""
    ws = get_session(session, session_id)
    check_leads(session, actor, ws)
    _check_roll_call_open(ws, now)
    registration = session.get(Registration, registration_id)
    if registration is None or registration.session_id != session_id:
        raise NotFound("programme.registration_not_found", registration=registration_id)
    if registration.status == RegistrationStatus.cancelled:
        raise Conflict("programme.registration_cancelled", registration=registration_id)
    if seats is not None and not 0 <= seats <= registration.seats:
        raise InvalidInput("programme.invalid_attendance_seats", seats=seats, most=registration.seats)
    row = _registration_row(session, registration_id)
    row = row or Attendance(session_id=session_id, registration_id=registration_id)
    row.member_id, row.person_id = registration.member_id, registration.person_id
    row.present = present
    row.seats = (registration.seats if seats is None else seats) if present else registration.seats
    row.source, row.recorded_by, row.recorded_at = AttendanceSource.roll_call, actor.id, utc(now)
    session.add(row)
    session.flush()
    activity.refresh_session_report(session, ws, compute_tally(session, ws))
    return row


def _registration_row(session: Session, registration_id: int) -> Attendance | None:
    query = select(Attendance).where(Attendance.registration_id == registration_id)
    return session.exec(query).first()


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
    """Someone who came without registering (two taps on the roll-call): a member, a known
    person, or nobody named (counted by public and age band)."""
    ws = get_session(session, session_id)
    check_leads(session, actor, ws)
    _check_roll_call_open(ws, now)
    if public is not None and public not in {p.value for p in Public}:
        raise InvalidInput("programme.unknown_public", public=public, known=", ".join(p.value for p in Public))
    if age_band is not None and age_band not in {name for _lower, name in AGE_BANDS}:
        raise InvalidInput("programme.unknown_age_band", age_band=age_band)
    if not 1 <= seats <= 100:
        raise InvalidInput("programme.invalid_attendance_seats", seats=seats, most=100)
    row = Attendance(
        session_id=session_id,
        member_id=member_id,
        person_id=person_id,
        present=True,
        seats=seats,
        source=AttendanceSource.walk_in,
        public=public,
        age_band=age_band,
        recorded_by=actor.id,
        recorded_at=utc(now),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:  # this member is already counted as a walk-in
        raise Conflict("programme.already_present", session=session_id) from exc
    activity.refresh_session_report(session, ws, compute_tally(session, ws))
    return row


def _sessions_in_progress(session: Session, space_id: int, at: datetime) -> list[WorkshopSession]:
    """Scheduled sessions in a room of the space (from :data:`BADGE_LEAD` before their start)."""
    query = (
        select(WorkshopSession)
        .join(Resource, col(Resource.id) == col(WorkshopSession.resource_id))
        .where(
            Resource.space_id == space_id,
            WorkshopSession.status == SessionStatus.scheduled,
            col(WorkshopSession.start) <= at + BADGE_LEAD,
            col(WorkshopSession.end) > at,
            col(WorkshopSession.attendance_purged_at).is_(None),
        )
        .order_by(col(WorkshopSession.start))
    )
    return list(session.exec(query).all())


def mark_badge(session: Session, *, member_id: int, space_id: int, at: datetime) -> Attendance | None:
    """A badge of ``member_id`` scanned at a reader of ``space_id`` at ``at``: present at the
    session in progress in a room of that space, if any — on their registration, or as a
    walk-in. The leader and unregistered organisers (staff passing by) are not counted.
    Returns the row written, ``None`` when the scan concerns no session."""
    member = session.get(Member, member_id)
    if member is None:
        return None
    for ws in _sessions_in_progress(session, space_id, at):
        if ws.leader_id == member_id:
            continue
        assert ws.id is not None
        registration = session.exec(
            select(Registration).where(
                Registration.session_id == ws.id,
                Registration.member_id == member_id,
                col(Registration.status).in_((RegistrationStatus.confirmed, RegistrationStatus.waitlisted)),
            )
        ).first()
        if registration is None and ORGANISERS & set(member.roles):
            continue
        row = _badge_row(session, ws.id, member_id, registration, at)
        if row is None:
            return None  # already present: a second scan changes nothing
        activity.refresh_session_report(session, ws, compute_tally(session, ws))
        return row
    return None


def _badge_row(
    session: Session, session_id: int, member_id: int, registration: Registration | None, at: datetime
) -> Attendance | None:
    if registration is not None:
        assert registration.id is not None
        row = _registration_row(session, registration.id) or Attendance(
            session_id=session_id, registration_id=registration.id, member_id=member_id
        )
        seats = registration.seats
    else:
        row = session.exec(
            select(Attendance).where(
                Attendance.session_id == session_id,
                Attendance.member_id == member_id,
                col(Attendance.registration_id).is_(None),
            )
        ).first() or Attendance(session_id=session_id, member_id=member_id)
        seats = 1
    if row.id is not None and row.present:
        return None
    row.present, row.seats, row.recorded_at = True, seats, utc(at)
    row.source = AttendanceSource.badge if registration is not None else AttendanceSource.walk_in
    with session.begin_nested():
        session.add(row)
        session.flush()
    return row


# Counting -----------------------------------------------------------------------------------


def attendance_rows(session: Session, *, actor: Member, session_id: int) -> tuple[WorkshopSession, list[Attendance]]:
    """The session and its attendance rows (staff, or the session's leader)."""
    ws = get_session(session, session_id)
    check_leads(session, actor, ws)
    query = select(Attendance).where(Attendance.session_id == session_id).order_by(col(Attendance.id))
    return ws, list(session.exec(query).all())


def session_tally(session: Session, ws: WorkshopSession) -> Tally:
    """The session's counts: kept ones after a purge, computed from the rows before."""
    if ws.tally is not None:
        return Tally(**ws.tally)
    return compute_tally(session, ws)


def compute_tally(session: Session, ws: WorkshopSession) -> Tally:
    assert ws.id is not None
    registrations = {r.id: r for r in session.exec(select(Registration).where(Registration.session_id == ws.id)).all()}
    rows = session.exec(select(Attendance).where(Attendance.session_id == ws.id)).all()
    groups = _by_id(session, GroupRegistration, {r.group_id for r in registrations.values()})
    persons = _by_id(session, Person, {r.person_id for r in registrations.values()} | {a.person_id for a in rows})
    workshop = session.get(Workshop, ws.workshop_id)
    default_public = workshop.publics[0] if workshop is not None and len(workshop.publics) == 1 else UNKNOWN
    confirmed = [r for r in registrations.values() if r.status == RegistrationStatus.confirmed]
    present_by_registration: dict[int | None, int] = {}
    by_public: Counter[str] = Counter()
    by_age: Counter[str] = Counter()
    present = absent = walk_ins = 0
    for row in rows:
        if not row.present:
            absent += row.seats
            continue
        present += row.seats
        registration = registrations.get(row.registration_id)
        if registration is None:
            walk_ins += row.seats
        else:
            present_by_registration[registration.id] = row.seats
        group = groups.get(registration.group_id) if registration is not None else None
        person = persons.get(row.person_id)
        by_public[(group.public if group else None) or row.public or default_public] += row.seats
        band = (group.age_band if group else None) or row.age_band
        band = band or (age_band(person.birth_year, ws.start.year) if person is not None else None)
        by_age[band or UNKNOWN] += row.seats
    seats_confirmed = sum(r.seats for r in confirmed)
    return Tally(
        seats_confirmed=seats_confirmed,
        registrations=sum(1 for r in confirmed if r.group_id is None),
        group_head_count=sum(r.seats for r in confirmed if r.group_id is not None),
        present=present,
        absent=absent,
        no_shows=sum(max(0, r.seats - present_by_registration.get(r.id, 0)) for r in confirmed),
        walk_ins=walk_ins,
        by_public=dict(sorted(by_public.items())),
        by_age_band=dict(sorted(by_age.items())),
    )


def _by_id(session: Session, model: type[Any], ids: set[int | None]) -> dict[int | None, Any]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {row.id: row for row in session.exec(select(model).where(col(model.id).in_(wanted))).all()}

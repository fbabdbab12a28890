"""Individual appointments with the advisor (1–3 people, 30–90 minutes, in her room).

Booked by the front desk (staff), the advisor herself, or a referring ``partner`` (the CCAS,
the library) — who sees only the appointments it made. The room is booked through the booking
engine in the advisor's name (her badge opens it), with the engine's rules and refusals.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from tierslieu.booking import lifecycle, service
from tierslieu.booking.rules import ACTIVE_STATUSES
from tierslieu.booking.schedule import utc
from tierslieu.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tierslieu.events import EventHub
from tierslieu.models import ActivityReport, Appointment, Booking, Member, Role
from tierslieu.models.enums import ResourceKind
from tierslieu.models.programme import AppointmentStatus
from tierslieu.programme import activity
from tierslieu.programme.events import ProgrammeEvent, ProgrammeEventKind, ProgrammeEvents
from tierslieu.programme.holders import PersonHolder
from tierslieu.programme.persons import person_from_holder
from tierslieu.programme.roles import is_advisor_capable
from tierslieu.services import members as member_service
from tierslieu.services import spaces as space_service
from tierslieu.services.members import is_staff
from tierslieu.services.sites import ALL_SITES, SiteScope, is_staff_at, site_of_resource

__all__ = [
    "MAX_MINUTES",
    "MIN_MINUTES",
    "book_appointment",
    "cancel_appointment",
    "get_appointment",
    "list_appointments",
    "report_appointment",
]

MIN_MINUTES, MAX_MINUTES = 30, 90


def _is_partner_only(actor: Member) -> bool:
    return Role.partner in actor.roles and not is_advisor_capable(actor)


def _visible(session: Session, actor: Member, appointment: Appointment) -> bool:
    """Staff (of the room's site) see every appointment, the advisor hers, a partner those it made."""
    if appointment.advisor_id == actor.id or appointment.created_by == actor.id:
        return True
    return is_staff_at(actor, site_of_resource(session, appointment.resource_id))


def _check_interval(start: datetime, end: datetime) -> None:
    minutes = (end - start) / timedelta(minutes=1)
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise InvalidInput("programme.appointment_duration", least=MIN_MINUTES, most=MAX_MINUTES)


def _check_advisor_free(session: Session, advisor_id: int, start: datetime, end: datetime) -> None:
    query = select(Appointment).where(
        Appointment.advisor_id == advisor_id,
        Appointment.status == AppointmentStatus.booked,
        col(Appointment.start) < end,
        col(Appointment.end) > start,
    )
    if session.exec(query).first() is not None:
        raise Conflict("programme.advisor_busy", start=start)


def book_appointment(
    session: Session,
    *,
    actor: Member,
    advisor_id: int,
    resource_id: int,
    start: datetime,
    end: datetime,
    member_id: int | None = None,
    person: PersonHolder | None = None,
    people: int = 1,
    referred_by: str | None = None,
    note: str = "",
    now: datetime,
    tz: ZoneInfo,
    events: EventHub | None = None,
    programme: ProgrammeEvents,
) -> Appointment:
    """Book an appointment for a member or a person (with or without an account, exactly one)
    and the advisor's room for it. A partner's appointments are referred by it by default."""
    if (member_id is None) == (person is None):
        raise InvalidInput("programme.appointment_needs_someone")
    _check_interval(start, end)
    advisor = member_service.get_member(session, advisor_id)
    if not is_advisor_capable(advisor):
        raise InvalidInput("programme.not_an_advisor", member=advisor_id)
    room = space_service.get_resource(session, resource_id)
    if room.kind != ResourceKind.room:
        raise InvalidInput("programme.not_a_room", resource=room.name)
    person_id = None
    if member_id is not None:
        member_service.get_member(session, member_id)
    else:
        assert person is not None
        person_id = person_from_holder(session, person, actor=actor, now=now).id
    _check_advisor_free(session, advisor_id, start, end)
    booking, _verdict = service.create_booking(
        session, actor=advisor, resource_id=resource_id, member_id=None, start=start, end=end,
        note="Rendez-vous", now=now, tz=tz, events=events,
    )  # fmt: skip
    booking.created_by = actor.id
    if referred_by is None and _is_partner_only(actor):
        referred_by = actor.name
    appointment = Appointment(
        advisor_id=advisor_id,
        resource_id=resource_id,
        start=booking.start,
        end=booking.end,
        member_id=member_id,
        person_id=person_id,
        people=people,
        referred_by=(referred_by or "").strip()[:200] or None,
        note=note.strip(),
        booking_id=booking.id,
        created_by=actor.id,
    )
    session.add_all([booking, appointment])
    session.flush()
    kind = ProgrammeEventKind.appointment_booked
    programme.emit(session, ProgrammeEvent(kind, appointment_id=appointment.id))
    return appointment


def list_appointments(
    session: Session,
    *,
    actor: Member,
    start: datetime | None = None,
    end: datetime | None = None,
    scope: SiteScope = ALL_SITES,
) -> Sequence[Appointment]:
    """By start: every appointment for staff (at the sites of ``scope``), the advisor's own,
    a partner's own bookings."""
    query = select(Appointment).where(scope.where_resource(Appointment.resource_id))
    if not is_staff(actor):
        query = query.where((col(Appointment.advisor_id) == actor.id) | (col(Appointment.created_by) == actor.id))
    if start is not None:
        query = query.where(col(Appointment.end) > start)
    if end is not None:
        query = query.where(col(Appointment.start) < end)
    return session.exec(query.order_by(col(Appointment.start), col(Appointment.id))).all()


def get_appointment(
    session: Session, *, actor: Member, appointment_id: int, lock: bool = False, scope: SiteScope = ALL_SITES
) -> Appointment:
    appointment = session.get(Appointment, appointment_id, with_for_update=lock or None, populate_existing=lock)
    not_found = NotFound("programme.appointment_not_found", appointment=appointment_id)
    if appointment is None:
        raise not_found
    if not _visible(session, actor, appointment):
        if is_staff(actor):
            raise PermissionDenied("site_forbidden")  # staff of another site
        raise not_found
    scope.check(site_of_resource(session, appointment.resource_id))
    return appointment


def cancel_appointment(
    session: Session,
    *,
    actor: Member,
    appointment_id: int,
    now: datetime,
    events: EventHub | None = None,
    programme: ProgrammeEvents,
) -> Appointment:
    """Cancel a booked appointment (whoever may see it) and free the room."""
    appointment = get_appointment(session, actor=actor, appointment_id=appointment_id, lock=True)
    if appointment.status != AppointmentStatus.booked:
        raise Conflict("programme.appointment_not_booked", appointment=appointment_id)
    if appointment.end <= now:
        raise Conflict("programme.appointment_over", appointment=appointment_id)
    booking = session.get(Booking, appointment.booking_id) if appointment.booking_id else None
    if booking is not None and booking.status in ACTIVE_STATUSES:
        advisor = member_service.get_member(session, booking.member_id)
        lifecycle.cancel(session, advisor, booking.id or 0, now=now, events=events)
        booking.decided_by = actor.id
        session.add(booking)
    appointment.status, appointment.cancelled_at = AppointmentStatus.cancelled, utc(now)
    session.add(appointment)
    session.flush()
    programme.emit(session, ProgrammeEvent(ProgrammeEventKind.appointment_cancelled, appointment_id=appointment_id))
    return appointment


def report_appointment(
    session: Session,
    *,
    actor: Member,
    appointment_id: int,
    kind: str,
    duration_minutes: int,
    themes: Sequence[str],
    publics: Sequence[str] = (),
    referred_to: Sequence[str] = (),
) -> ActivityReport:
    """The advisor's (or staff's) activity report of an appointment; writing it again replaces
    it. The appointment is then ``done``."""
    appointment = get_appointment(session, actor=actor, appointment_id=appointment_id, lock=True)
    if appointment.advisor_id != actor.id and not is_staff_at(
        actor, site_of_resource(session, appointment.resource_id)
    ):
        raise PermissionDenied("programme.not_the_advisor", appointment=appointment_id)
    if appointment.status == AppointmentStatus.cancelled:
        raise Conflict("programme.appointment_not_booked", appointment=appointment_id)
    report = session.exec(select(ActivityReport).where(ActivityReport.appointment_id == appointment_id)).first()
    report = report or ActivityReport(appointment_id=appointment_id, kind=kind, duration_minutes=duration_minutes)
    report.at, report.author_id, report.resource_id = appointment.start, actor.id, appointment.resource_id
    report.people = appointment.people
    appointment.status = AppointmentStatus.done
    session.add(appointment)
    return activity.write_report(
        session,
        report,
        kind=kind,
        duration_minutes=duration_minutes,
        themes=themes,
        publics=publics,
        referred_to=referred_to,
    )

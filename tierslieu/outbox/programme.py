"""The programme's messages through the outbox: registration confirmed, waitlisted, promoted
or cancelled, session cancelled, appointment booked or cancelled, and the reminders the day
before. :func:`on_programme_event` listens on ``Runtime.programme_events``: it runs inside the
change's transaction, so a message exists if and only if the change does.

Who receives it: a member (their address and language), a person without an account (the
address they chose to give, if any); a group or someone without an address gets an
``undeliverable`` row instead, which the front desk sees (and prints a slip).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from tierslieu.errors import NotFound
from tierslieu.models import (
    Appointment,
    GroupRegistration,
    Member,
    Person,
    Registration,
    Workshop,
    WorkshopSession,
)
from tierslieu.models.programme import AppointmentStatus, RegistrationStatus, SessionStatus
from tierslieu.outbox.compose import Invite
from tierslieu.outbox.store import Recipient, enqueue, recipient_of
from tierslieu.programme.events import ProgrammeEvent, ProgrammeEventKind
from tierslieu.services.spaces import cached_resource

__all__ = ["enqueue_reminders", "on_programme_event"]

# Event kind → (message kind, its .ics: "event", "cancelled" or None).
_REGISTRATION_MESSAGES: dict[ProgrammeEventKind, tuple[str, str | None]] = {
    ProgrammeEventKind.registration_confirmed: ("registration_confirmed", "event"),
    ProgrammeEventKind.registration_waitlisted: ("registration_waitlisted", None),
    ProgrammeEventKind.waitlist_promoted: ("registration_promoted", "event"),
    ProgrammeEventKind.registration_cancelled: ("registration_cancelled", "cancelled"),
    ProgrammeEventKind.session_cancelled: ("session_cancelled", "cancelled"),
}
_APPOINTMENT_MESSAGES: dict[ProgrammeEventKind, tuple[str, str | None]] = {
    ProgrammeEventKind.appointment_booked: ("appointment_confirmed", "event"),
    ProgrammeEventKind.appointment_cancelled: ("appointment_cancelled", "cancelled"),
}


def _holder(session: Session, member_id: int | None, person_id: int | None, group_id: int | None) -> Recipient:
    if member_id is not None and (member := session.get(Member, member_id)) is not None:
        return recipient_of(member)
    if person_id is not None and (person := session.get(Person, person_id)) is not None:
        return Recipient(person.name, person.email)
    if group_id is not None and (group := session.get(GroupRegistration, group_id)) is not None:
        return Recipient(group.contact_name, None)  # a teacher is reached by the school, not by us
    return Recipient("", None)


def _place(session: Session, resource_id: int) -> str:
    try:
        return cached_resource(session, resource_id).name  # cached: no query once warm
    except NotFound:
        return ""


def _registration(
    session: Session, registration_id: int, kind: str, ics: str | None, *, prefix: str | None = None
) -> None:
    registration = session.get(Registration, registration_id)
    if registration is None:
        return
    ws = session.get(WorkshopSession, registration.session_id)
    workshop = session.get(Workshop, ws.workshop_id) if ws else None
    if ws is None or workshop is None:
        return
    to = _holder(session, registration.member_id, registration.person_id, registration.group_id)
    params: dict[str, Any] = {
        "title": workshop.title,
        "start": ws.start.isoformat(),
        "end": ws.end.isoformat(),
        "place": _place(session, ws.resource_id),
        "seats": registration.seats,
        "reason": ws.cancel_reason,
    }
    if kind == "registration_waitlisted":
        ahead = session.exec(
            select(Registration.id).where(
                Registration.session_id == ws.id,
                Registration.status == RegistrationStatus.waitlisted.value,
                col(Registration.id) < registration_id,
            )
        ).all()
        params["position"] = len(ahead) + 1
    invite = None
    if ics is not None:
        invite = Invite(
            uid=f"registration-{registration.id}@tierslieu",
            start=params["start"],
            end=params["end"],
            summary="ics.session",
            location=params["place"],
            cancelled=ics == "cancelled",
        )
    enqueue(session, key=f"{prefix or kind}:{registration_id}", kind=kind, to=to, params=params, invite=invite)


def _appointment(session: Session, appointment_id: int, kind: str, ics: str | None) -> None:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        return
    advisor = session.get(Member, appointment.advisor_id)
    to = _holder(session, appointment.member_id, appointment.person_id, None)
    params = {
        "advisor": advisor.name if advisor else "",
        "start": appointment.start.isoformat(),
        "end": appointment.end.isoformat(),
        "place": _place(session, appointment.resource_id),
    }
    invite = None
    if ics is not None:
        invite = Invite(
            uid=f"appointment-{appointment.id}@tierslieu",
            start=params["start"],
            end=params["end"],
            summary="ics.appointment",
            location=params["place"],
            cancelled=ics == "cancelled",
        )
    enqueue(session, key=f"{kind}:{appointment_id}", kind=kind, to=to, params=params, invite=invite)


def on_programme_event(session: Session, event: ProgrammeEvent) -> None:
    """Write the message ``event`` calls for (in the caller's transaction)."""
    if event.kind in _REGISTRATION_MESSAGES and event.registration_id is not None:
        kind, ics = _REGISTRATION_MESSAGES[event.kind]
        _registration(session, event.registration_id, kind, ics)
    elif event.kind in _APPOINTMENT_MESSAGES and event.appointment_id is not None:
        kind, ics = _APPOINTMENT_MESSAGES[event.kind]
        _appointment(session, event.appointment_id, kind, ics)


def enqueue_reminders(session: Session, now: datetime, tz: ZoneInfo) -> int:
    """The day before (local days), a reminder for each confirmed registration of a session and
    each appointment of tomorrow. Level-triggered: a key per registration or appointment makes
    a second pass (or a restart) write nothing new. Returns how many were considered."""
    tomorrow = (now.astimezone(tz) + timedelta(days=1)).date()
    start = datetime.combine(tomorrow, datetime.min.time(), tzinfo=tz)
    end = start + timedelta(days=1)
    registrations = session.exec(
        select(Registration.id)
        .join(WorkshopSession, col(WorkshopSession.id) == Registration.session_id)
        .where(
            col(WorkshopSession.start) >= start,
            col(WorkshopSession.start) < end,
            WorkshopSession.status == SessionStatus.scheduled.value,
            Registration.status == RegistrationStatus.confirmed.value,
        )
    ).all()
    for registration_id in registrations:
        assert registration_id is not None
        _registration(session, registration_id, "session_reminder", None)
    appointments = session.exec(
        select(Appointment.id).where(
            col(Appointment.start) >= start,
            col(Appointment.start) < end,
            Appointment.status == AppointmentStatus.booked.value,
        )
    ).all()
    for appointment_id in appointments:
        assert appointment_id is not None
        _appointment(session, appointment_id, "appointment_reminder", None)
    return len(registrations) + len(appointments)

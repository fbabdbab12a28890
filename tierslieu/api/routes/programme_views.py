"""What the programme's routers share: their policies and the mapping of rows to answers."""

from __future__ import annotations

from sqlmodel import Session

from tierslieu.api.deps import Allow
from tierslieu.api.schemas.programme import RegistrationListed, RegistrationPublic, SessionPublic
from tierslieu.models import Registration, Role
from tierslieu.programme.registrations import RegistrationView, waitlist_position
from tierslieu.programme.sessions import SessionFacts

__all__ = ["APPOINTMENT_BOOKERS", "ORGANISERS", "registration_listed", "registration_public", "session_public"]

# Plan workshops and sessions, register others, take the roll-call.
ORGANISERS = Allow(Role.admin, Role.staff, Role.animator)
# The advisor's appointments: the front desk, the advisor, and referring partners.
APPOINTMENT_BOOKERS = Allow(Role.admin, Role.staff, Role.animator, Role.partner)


def session_public(facts: SessionFacts) -> SessionPublic:
    ws = facts.session
    assert ws.id is not None
    return SessionPublic(
        id=ws.id,
        workshop_id=ws.workshop_id,
        title=facts.title,
        resource_id=ws.resource_id,
        start=ws.start,
        end=ws.end,
        capacity=ws.capacity,
        seats_taken=ws.seats_taken,
        seats_left=facts.seats_left,
        waitlisted=facts.waitlisted,
        booking_id=ws.booking_id,
        series_id=ws.series_id,
        printer_ids=facts.printer_ids,
        leader_id=ws.leader_id,
        status="cancelled" if ws.status == "cancelled" else "scheduled",
        public=ws.public,
        cancelled_at=ws.cancelled_at,
    )


def _kind(registration: Registration) -> str:
    if registration.group_id is not None:
        return "group"
    return "person" if registration.person_id is not None else "member"


def registration_public(session: Session, registration: Registration) -> RegistrationPublic:
    return RegistrationPublic.model_validate(
        {
            **registration.model_dump(),
            "kind": _kind(registration),
            "position": waitlist_position(session, registration),
        }
    )


def registration_listed(view: RegistrationView) -> RegistrationListed:
    return RegistrationListed.model_validate(
        {
            **view.registration.model_dump(),
            "kind": view.kind,
            "position": view.position,
            "name": view.name,
            "organisation": view.organisation,
            "present": view.present,
        }
    )

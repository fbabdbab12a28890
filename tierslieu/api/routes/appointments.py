"""The advisor's individual appointments, and their activity reports.

The front desk, the advisor and referring partners book them; a partner sees only the ones it
made (another's is a 404). The room is booked through the booking engine: its refusals are 409
problem details with the engine's ``code``.
"""

from __future__ import annotations

from fastapi import Depends, Query, status
from pydantic import AwareDatetime

from tierslieu.api.deps import IdPath, RuntimeDep, SessionDep, SiteScopeDep
from tierslieu.api.routes.programme_views import APPOINTMENT_BOOKERS, ORGANISERS
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.programme import (
    ActivityReportCreate,
    ActivityReportPublic,
    AppointmentCreate,
    AppointmentPublic,
)
from tierslieu.db.types import utcnow
from tierslieu.models import Member
from tierslieu.programme import appointments
from tierslieu.programme.holders import PersonHolder

router = PrefixRouter(prefix="/appointments", tags=["programme"])


@router.post("", response_model=AppointmentPublic, status_code=status.HTTP_201_CREATED)
def book_appointment(
    body: AppointmentCreate, session: SessionDep, runtime: RuntimeDep, actor: Member = Depends(APPOINTMENT_BOOKERS)
) -> AppointmentPublic:
    """For a member (``member_id``) or a person with or without an account (``person``)."""
    p = body.person
    person = PersonHolder(p.name, p.phone, p.email, p.postal_address, p.birth_year, p.consent, p.id) if p else None
    appointment = appointments.book_appointment(
        session,
        actor=actor,
        advisor_id=body.advisor_id,
        resource_id=body.resource_id,
        start=body.start,
        end=body.end,
        member_id=body.member_id,
        person=person,
        people=body.people,
        referred_by=body.referred_by,
        note=body.note,
        now=utcnow(),
        tz=runtime.settings.tz,
        events=runtime.events,
        programme=runtime.programme_events,
    )
    return AppointmentPublic.model_validate(appointment)


@router.get("", response_model=list[AppointmentPublic])
def list_appointments(
    session: SessionDep,
    scope: SiteScopeDep,
    actor: Member = Depends(APPOINTMENT_BOOKERS),
    start: AwareDatetime | None = Query(default=None, alias="from"),
    end: AwareDatetime | None = Query(default=None, alias="to"),
) -> list[AppointmentPublic]:
    """Staff: all; the advisor: hers; a partner: those it booked."""
    found = appointments.list_appointments(session, actor=actor, start=start, end=end, scope=scope)
    return [AppointmentPublic.model_validate(a) for a in found]


@router.get("/{appointment_id}", response_model=AppointmentPublic)
def get_appointment(
    appointment_id: IdPath, session: SessionDep, scope: SiteScopeDep, actor: Member = Depends(APPOINTMENT_BOOKERS)
) -> AppointmentPublic:
    return AppointmentPublic.model_validate(
        appointments.get_appointment(session, actor=actor, appointment_id=appointment_id, scope=scope)
    )


@router.post("/{appointment_id}/cancel", response_model=AppointmentPublic)
def cancel_appointment(
    appointment_id: IdPath, session: SessionDep, runtime: RuntimeDep, actor: Member = Depends(APPOINTMENT_BOOKERS)
) -> AppointmentPublic:
    appointment = appointments.cancel_appointment(
        session,
        actor=actor,
        appointment_id=appointment_id,
        now=utcnow(),
        events=runtime.events,
        programme=runtime.programme_events,
    )
    return AppointmentPublic.model_validate(appointment)


@router.post("/{appointment_id}/report", response_model=ActivityReportPublic)
def report_appointment(
    appointment_id: IdPath, body: ActivityReportCreate, session: SessionDep, actor: Member = Depends(ORGANISERS)
) -> ActivityReportPublic:
    """The advisor's activity report (national report fields); writing it again replaces it."""
    report = appointments.report_appointment(
        session,
        actor=actor,
        appointment_id=appointment_id,
        kind=body.kind.value,
        duration_minutes=body.duration_minutes,
        themes=[t.value for t in body.themes],
        publics=[p.value for p in body.publics],
        referred_to=body.referred_to,
    )
    return ActivityReportPublic.model_validate(report)

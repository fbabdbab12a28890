"""Rendez-vous — the advisor's individual appointments: the list, booking one for a person, the
activity report after it. A ``partner`` account (the CCAS, the library) books and sees only the
appointments it made (the programme's service decides what each caller sees)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import Depends, Form
from sqlmodel import Session
from starlette.responses import Response

from tierslieu.api.deps import Allow, IdPath, SessionDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.db.types import utcnow
from tierslieu.errors import InvalidInput, TiersLieuError
from tierslieu.models import Member
from tierslieu.models.programme import ActivityKind, Appointment, Public, Theme
from tierslieu.programme import appointments as appointment_service
from tierslieu.programme.holders import PersonHolder
from tierslieu.programme.persons import get_person
from tierslieu.services import members as member_service
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import site_of_resource, timezone_of_resource
from tierslieu.web.i18n import N_, Formatter
from tierslieu.web.page import Page, PageDep
from tierslieu.web.sites import SiteFilter

__all__ = ["APPOINTMENTS", "router"]

APPOINTMENTS = Allow("admin", "staff", "animator", "partner")
ADVISOR_SIDE = Allow("admin", "staff", "animator")
router = PrefixRouter(prefix="/rendez-vous", dependencies=[Depends(APPOINTMENTS)])

MINUTES = (30, 45, 60, 90)
PAST = timedelta(days=30)
_MESSAGES = {
    "pris": N_("The appointment is booked."),
    "compte_rendu": N_("The activity report is saved."),
    "annule": N_("The appointment was cancelled."),
}


def _advisors(session: Session) -> list[Member]:
    return [m for m in member_service.list_members(session) if m.active and "animator" in m.roles]


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    return {i: m.name for i in ids if (m := session.get(Member, i)) is not None}


def _list_page(page: Page, session: Session, *, error: str | None = None, status: int = 200) -> Response:
    now = utcnow()
    listed = appointment_service.list_appointments(session, actor=page.actor, start=now - PAST)
    appointments = SiteFilter(session, page.scope).resources(listed)
    people = {a.person_id for a in appointments if a.person_id}
    return page.render(
        "appointments.html",
        status=status,
        title=page.gettext("Appointments"),
        appointments=appointments,
        names=_names(
            session, {a.advisor_id for a in appointments} | {a.member_id for a in appointments if a.member_id}
        ),
        person_names=_person_names(session, people),
        advisors=_advisors(session),
        rooms=[r for r in space_service.list_resources(session, scope=page.scope) if r.active and r.kind == "room"],
        minutes=MINUTES,
        is_partner="partner" in page.actor.roles,
        today=now.astimezone(page.tz).date(),
        error=error,
        notice=page.notice(_MESSAGES),
    )


def _person_names(session: Session, ids: set[int]) -> dict[int, str]:
    return {i: get_person(session, i).name for i in ids}


@router.get("")
def appointments(page: PageDep, session: SessionDep) -> Response:
    return _list_page(page, session)


@router.post("")
def book(
    page: PageDep,
    session: SessionDep,
    advisor_id: Annotated[int, Form()] = 0,
    resource_id: Annotated[int, Form()] = 0,
    day: Annotated[str, Form()] = "",
    at: Annotated[str, Form()] = "",
    minutes: Annotated[int, Form()] = 60,
    people: Annotated[int, Form(ge=1, le=3)] = 1,
    name: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    consent: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """A partner (or the desk) books for someone who has no account: their name, and their
    phone only if they agreed."""
    page.check_site(site_of_resource(session, resource_id))
    tz = timezone_of_resource(session, resource_id, page.tz)
    try:
        try:
            start = datetime.combine(date.fromisoformat(day), time.fromisoformat(at), tzinfo=tz)
        except ValueError as exc:
            raise InvalidInput("front_desk.invalid_start") from exc
        appointment = appointment_service.book_appointment(
            session,
            actor=page.actor,
            advisor_id=advisor_id,
            resource_id=resource_id,
            start=start,
            end=start + timedelta(minutes=minutes),
            person=PersonHolder(name=name.strip(), phone=phone.strip() or None, consent=consent == "1"),
            people=people,
            referred_by=page.actor.name if "partner" in page.actor.roles else None,
            note=note.strip(),
            now=utcnow(),
            tz=tz,
            events=page.runtime.events,
            programme=page.runtime.programme_events,
        )
    except TiersLieuError as exc:
        session.rollback()
        return _list_page(page, session, error=exc.message(page.lang), status=exc.status)
    return page.redirect(f"/rendez-vous/{appointment.id}?message=pris")


def _detail_page(
    page: Page, session: Session, appointment_id: int, *, error: str | None = None, status: int = 200
) -> Response:
    appointment = _appointment_in_scope(page, session, appointment_id)
    holder = (
        _names(session, {appointment.member_id}).get(appointment.member_id, "")
        if appointment.member_id
        else _person_names(session, {appointment.person_id}).get(appointment.person_id or 0, "")
        if appointment.person_id
        else ""
    )
    return page.render(
        "appointment.html",
        status=status,
        title=page.gettext("Appointment"),
        fmt=Formatter(page.lang, timezone_of_resource(session, appointment.resource_id, page.tz)),
        appointment=appointment,
        holder=holder,
        advisor=_names(session, {appointment.advisor_id}).get(appointment.advisor_id, ""),
        room=space_service.get_resource(session, appointment.resource_id).name,
        can_report=bool({"admin", "staff", "animator"} & set(page.actor.roles)),
        kinds=[k.value for k in ActivityKind],
        themes=[t.value for t in Theme],
        publics=[p.value for p in Public],
        error=error,
        notice=page.notice(_MESSAGES),
    )


def _appointment_in_scope(page: Page, session: Session, appointment_id: int) -> Appointment:
    """The appointment the reader may see, if its room is in one of their sites (403 otherwise)."""
    appointment = appointment_service.get_appointment(session, actor=page.actor, appointment_id=appointment_id)
    page.check_site(site_of_resource(session, appointment.resource_id))
    return appointment


@router.get("/{appointment_id}")
def appointment(page: PageDep, session: SessionDep, appointment_id: IdPath) -> Response:
    return _detail_page(page, session, appointment_id)


@router.post("/{appointment_id}/compte-rendu", dependencies=[Depends(ADVISOR_SIDE)])
def report(
    page: PageDep,
    session: SessionDep,
    appointment_id: IdPath,
    kind: Annotated[str, Form()] = "individual",
    duration_minutes: Annotated[int, Form(ge=1, le=24 * 60)] = 60,
    themes: Annotated[list[str] | None, Form()] = None,
    publics: Annotated[list[str] | None, Form()] = None,
    referred_to: Annotated[str, Form()] = "",
) -> Response:
    _appointment_in_scope(page, session, appointment_id)
    try:
        appointment_service.report_appointment(
            session,
            actor=page.actor,
            appointment_id=appointment_id,
            kind=kind,
            duration_minutes=duration_minutes,
            themes=themes or [],
            publics=publics or [],
            referred_to=[part.strip() for part in referred_to.split(",") if part.strip()],
        )
    except TiersLieuError as exc:
        session.rollback()
        return _detail_page(page, session, appointment_id, error=exc.message(page.lang), status=exc.status)
    return page.redirect(f"/rendez-vous/{appointment_id}?message=compte_rendu")


@router.post("/{appointment_id}/annuler")
def cancel(page: PageDep, session: SessionDep, appointment_id: IdPath) -> Response:
    _appointment_in_scope(page, session, appointment_id)
    try:
        appointment_service.cancel_appointment(
            session,
            actor=page.actor,
            appointment_id=appointment_id,
            now=utcnow(),
            events=page.runtime.events,
            programme=page.runtime.programme_events,
        )
    except TiersLieuError as exc:
        session.rollback()
        return _detail_page(page, session, appointment_id, error=exc.message(page.lang), status=exc.status)
    return page.redirect(f"/rendez-vous/{appointment_id}?message=annule")

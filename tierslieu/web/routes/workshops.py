"""Ateliers — workshops and their sessions for staff and animators; the leader's roll-call.

Scheduling a session books its room through the booking engine: a refusal shows the engine's own
words by the form, like the booking page. The roll-call (``/seances/{id}/appel``) is made for a
phone: one big button per person and state, a walk-in in two taps, no JavaScript.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from sqlmodel import Session
from starlette.responses import Response

from tierslieu.api.deps import Allow, IdPath, SessionDep
from tierslieu.db.types import utcnow
from tierslieu.errors import InvalidInput, TiersLieuError
from tierslieu.models import Member
from tierslieu.models.programme import Public, Theme, WorkshopSession
from tierslieu.programme import attendance as attendance_service
from tierslieu.programme import registrations as registration_service
from tierslieu.programme import seats
from tierslieu.programme import sessions as session_service
from tierslieu.programme import workshops as workshop_service
from tierslieu.programme.sessions import SessionPlan
from tierslieu.services import members as member_service
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import site_of_resource, timezone_of_resource
from tierslieu.web.i18n import N_, Formatter
from tierslieu.web.page import Page, PageDep
from tierslieu.web.programme_view import session_lines

__all__ = ["PROGRAMME_TEAM", "router"]

PROGRAMME_TEAM = Allow("admin", "staff", "animator")
router = APIRouter(dependencies=[Depends(PROGRAMME_TEAM)])

MAX_WEEKS = 26
_MESSAGES = {
    "atelier": N_("The workshop was created."),
    "seances": N_("The sessions were scheduled and their room booked."),
    "annulee": N_("The session was cancelled; the registered people will be told."),
    "venu": N_("The walk-in was added."),
}


def _leaders(session: Session) -> list[Member]:
    leading = {"animator", "staff", "admin"}
    return [m for m in member_service.list_members(session) if m.active and leading & set(m.roles)]


def _workshops_page(page: Page, session: Session, *, error: str | None = None, status: int = 200) -> Response:
    return page.render(
        "workshops.html",
        status=status,
        title=page.gettext("Workshops"),
        workshops=workshop_service.list_workshops(session, scope=page.scope),
        lines=session_lines(session, utcnow(), scope=page.scope),
        themes=[t.value for t in Theme],
        publics=[p.value for p in Public],
        leaders=_leaders(session),
        error=error,
        notice=page.notice(_MESSAGES),
    )


@router.get("/ateliers")
def workshops(page: PageDep, session: SessionDep) -> Response:
    return _workshops_page(page, session)


@router.post("/ateliers")
def create_workshop(
    page: PageDep,
    session: SessionDep,
    title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    themes: Annotated[list[str] | None, Form()] = None,
    publics: Annotated[list[str] | None, Form()] = None,
    duration_minutes: Annotated[int, Form(ge=15, le=24 * 60)] = 120,
    capacity: Annotated[int, Form(ge=1, le=10_000)] = 12,
    leader_id: Annotated[str, Form()] = "",
) -> Response:
    try:
        workshop = workshop_service.create_workshop(
            session,
            actor=page.actor,
            title=title.strip(),
            description=description.strip(),
            themes=themes or [],
            publics=publics or [],
            duration_minutes=duration_minutes,
            capacity=capacity,
            leader_id=int(leader_id) if leader_id.isdigit() else None,
        )
    except TiersLieuError as exc:
        session.rollback()
        return _workshops_page(page, session, error=exc.message(page.lang), status=exc.status)
    return page.redirect(f"/ateliers/{workshop.id}?message=atelier")


def _workshop_page(
    page: Page, session: Session, workshop_id: int, *, error: str | None = None, status: int = 200
) -> Response:
    workshop = workshop_service.get_workshop(session, workshop_id)
    resources = [r for r in space_service.list_resources(session, scope=page.scope) if r.active]
    today = utcnow().astimezone(page.tz).date()
    return page.render(
        "workshop.html",
        status=status,
        title=workshop.title,
        workshop=workshop,
        leader=session.get(Member, workshop.leader_id) if workshop.leader_id else None,
        lines=session_lines(
            session, utcnow(), workshop_id=workshop_id, ahead=timedelta(weeks=MAX_WEEKS + 1), scope=page.scope
        ),
        rooms=[r for r in resources if r.kind == "room"],
        printers=[r for r in resources if r.kind == "printer"],
        today=today,
        max_weeks=MAX_WEEKS,
        error=error,
        notice=page.notice(_MESSAGES),
    )


@router.get("/ateliers/{workshop_id}")
def workshop(page: PageDep, session: SessionDep, workshop_id: IdPath) -> Response:
    return _workshop_page(page, session, workshop_id)


@router.post("/ateliers/{workshop_id}/seances")
def schedule(
    page: PageDep,
    session: SessionDep,
    workshop_id: IdPath,
    resource_id: Annotated[int, Form()] = 0,
    day: Annotated[str, Form()] = "",
    at: Annotated[str, Form()] = "",
    weeks: Annotated[int, Form(ge=1, le=MAX_WEEKS)] = 1,
    printer_ids: Annotated[list[int] | None, Form()] = None,
    public: Annotated[str, Form()] = "",
) -> Response:
    page.check_site(site_of_resource(session, resource_id))
    tz = timezone_of_resource(session, resource_id, page.tz)
    try:
        try:
            start = datetime.combine(date.fromisoformat(day), time.fromisoformat(at), tzinfo=tz)
        except ValueError as exc:
            raise InvalidInput("front_desk.invalid_start") from exc
        plan = SessionPlan(
            resource_id=resource_id,
            start=start,
            # A weekly series: the booking engine's recurrence, as for bookings.
            recurrence=f"FREQ=WEEKLY;COUNT={weeks}" if weeks > 1 else None,
            printer_ids=tuple(printer_ids or ()),
            public=public == "1",
        )
        session_service.create_sessions(
            session,
            actor=page.actor,
            workshop_id=workshop_id,
            plan=plan,
            now=utcnow(),
            tz=tz,
            events=page.runtime.events,
        )
    except TiersLieuError as exc:
        session.rollback()
        return _workshop_page(page, session, workshop_id, error=exc.message(page.lang), status=exc.status)
    return page.redirect(f"/ateliers/{workshop_id}?message=seances")


# One session and its roll-call ---------------------------------------------------------------


def _session_page(
    page: Page, session: Session, session_id: int, template: str, *, error: str | None = None, status: int = 200
) -> Response:
    ws = _session_in_scope(page, session, session_id)
    workshop_ = workshop_service.get_workshop(session, ws.workshop_id)
    views = registration_service.list_registrations(session, actor=page.actor, session_id=session_id)
    return page.render(
        template,
        status=status,
        title=workshop_.title,
        fmt=Formatter(page.lang, timezone_of_resource(session, ws.resource_id, page.tz)),
        ws=ws,
        workshop=workshop_,
        room=space_service.get_resource(session, ws.resource_id).name,
        confirmed=[v for v in views if v.registration.status == "confirmed"],
        waitlisted=[v for v in views if v.registration.status == "waitlisted"],
        seats_left=seats.seats_left(ws.capacity, ws.seats_taken),
        tally=attendance_service.session_tally(session, ws),
        publics=[p.value for p in Public],
        error=error,
        notice=page.notice(_MESSAGES),
    )


def _session_in_scope(page: Page, session: Session, session_id: int) -> WorkshopSession:
    """The session, if its room is in one of the reader's sites (403 otherwise)."""
    ws = session_service.get_session(session, session_id)
    page.check_site(site_of_resource(session, ws.resource_id))
    return ws


@router.get("/seances/{session_id}")
def session_detail(page: PageDep, session: SessionDep, session_id: IdPath) -> Response:
    return _session_page(page, session, session_id, "session.html")


@router.post("/seances/{session_id}/annuler")
def cancel(page: PageDep, session: SessionDep, session_id: IdPath, reason: Annotated[str, Form()] = "") -> Response:
    _session_in_scope(page, session, session_id)
    try:
        session_service.cancel_session(
            session,
            actor=page.actor,
            session_id=session_id,
            reason=reason.strip(),
            now=utcnow(),
            events=page.runtime.events,
            programme=page.runtime.programme_events,
        )
    except TiersLieuError as exc:
        session.rollback()
        return _session_page(page, session, session_id, "session.html", error=exc.message(page.lang), status=exc.status)
    return page.redirect(f"/seances/{session_id}?message=annulee")


@router.get("/seances/{session_id}/appel")
def roll_call(page: PageDep, session: SessionDep, session_id: IdPath) -> Response:
    return _session_page(page, session, session_id, "rollcall.html")


@router.post("/seances/{session_id}/appel/{registration_id}")
def mark(
    page: PageDep,
    session: SessionDep,
    session_id: IdPath,
    registration_id: IdPath,
    present: Annotated[str, Form()] = "1",
) -> Response:
    _session_in_scope(page, session, session_id)
    try:
        attendance_service.mark(
            session,
            actor=page.actor,
            session_id=session_id,
            registration_id=registration_id,
            present=present == "1",
            now=utcnow(),
        )
    except TiersLieuError as exc:
        session.rollback()
        return _session_page(
            page, session, session_id, "rollcall.html", error=exc.message(page.lang), status=exc.status
        )
    # Back to the same person's line, so the leader goes down the list without scrolling.
    return page.redirect(f"/seances/{session_id}/appel#inscription-{registration_id}")


@router.post("/seances/{session_id}/venus")
def walk_in(
    page: PageDep,
    session: SessionDep,
    session_id: IdPath,
    public: Annotated[str, Form()] = "",
    seats: Annotated[int, Form(ge=1, le=100)] = 1,
) -> Response:
    _session_in_scope(page, session, session_id)
    try:
        attendance_service.walk_in(
            session, actor=page.actor, session_id=session_id, seats=seats, public=public or None, now=utcnow()
        )
    except TiersLieuError as exc:
        session.rollback()
        return _session_page(
            page, session, session_id, "rollcall.html", error=exc.message(page.lang), status=exc.status
        )
    return page.redirect(f"/seances/{session_id}/appel?message=venu")

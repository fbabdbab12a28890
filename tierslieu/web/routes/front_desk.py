"""Accueil — the front desk does everything for people who come without a computer: find them
by name or phone, record them, register them (or their group) for a session, book an appointment
with the advisor or a room, hand them a badge, and print the confirmation slip.

Every form is a plain POST (no JavaScript); a refusal shows the service's own words by the form.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import Depends, Form
from sqlmodel import Session
from starlette.responses import Response

from tierslieu.api.deps import Allow, IdPath, SessionDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.booking import service as booking_service
from tierslieu.db.types import utcnow
from tierslieu.errors import InvalidInput, NotFound, PermissionDenied, TiersLieuError
from tierslieu.models import Booking, Member
from tierslieu.models.programme import Appointment, Public, Registration, WorkshopSession
from tierslieu.programme import appointments as appointment_service
from tierslieu.programme import persons as person_service
from tierslieu.programme import registrations as registration_service
from tierslieu.programme.holders import GroupHolder, Holder, MemberHolder, PersonHolder
from tierslieu.services import devices as device_service
from tierslieu.services import members as member_service
from tierslieu.services import people as people_service
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import SiteScope, site_of_resource, timezone_of_resource
from tierslieu.web.i18n import N_, Formatter
from tierslieu.web.page import Page, PageDep
from tierslieu.web.programme_view import (
    appointment_slip,
    booking_slip,
    registration_slip,
    session_lines,
    site_contact,
    spoken_phone,
)
from tierslieu.web.routes.admin import assign_recent_scan
from tierslieu.web.sites import SiteFilter

__all__ = ["FRONT_DESK", "router"]

# Who works at the desk: staff and admins, and the animator and the advisor (animator role),
# who register their own public.
FRONT_DESK = Allow("admin", "staff", "animator")
router = PrefixRouter(prefix="/accueil", dependencies=[Depends(FRONT_DESK)])

APPOINTMENT_MINUTES = (30, 45, 60, 90)
_MESSAGES = {
    "cree": N_("The person is recorded."),
    "badge": N_("The badge was assigned."),
}


def _parse_start(day: str, at: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(day), time.fromisoformat(at))
    except ValueError as exc:
        raise InvalidInput("front_desk.invalid_start") from exc


def _optional_int(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit():
        raise InvalidInput("front_desk.invalid_number", value=text)
    return int(text)


def _advisors(session: Session) -> list[Member]:
    return [m for m in member_service.list_members(session) if m.active and "animator" in m.roles]


def _rooms(session: Session, scope: SiteScope) -> list[object]:
    return [r for r in space_service.list_resources(session, scope=scope) if r.active and r.kind == "room"]


def _check_session_site(page: Page, session: Session, session_id: int) -> None:
    """Registering for a session of a site outside the reader's: 403 (an unknown id: the service's 404)."""
    ws = session.get(WorkshopSession, session_id)
    if ws is not None:
        page.check_site(site_of_resource(session, ws.resource_id))


@router.get("")
def front_desk(page: PageDep, session: SessionDep, q: str = "") -> Response:
    return _desk_page(page, session, q=q)


def _desk_page(
    page: Page, session: Session, *, q: str = "", errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    return page.render(
        "front_desk.html",
        status=status,
        title=page.gettext("Front desk"),
        q=q,
        found=people_service.find_people(session, q) if q.strip() else None,
        lines=session_lines(session, utcnow(), scope=page.scope),
        publics=[p.value for p in Public],
        errors=errors or {},
        this_year=utcnow().year,
        spoken_phone=spoken_phone,
    )


@router.post("/personnes")
def create_person(
    page: PageDep,
    session: SessionDep,
    name: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    postal_address: Annotated[str, Form()] = "",
    birth_year: Annotated[str, Form()] = "",
    consent: Annotated[str, Form()] = "",
) -> Response:
    try:
        holder = PersonHolder(
            name=name,
            phone=phone,
            email=email,
            postal_address=postal_address,
            birth_year=_optional_int(birth_year),
            consent=consent == "1",
        )
        person = person_service.person_from_holder(session, holder, actor=page.actor, now=utcnow())
    except TiersLieuError as exc:
        session.rollback()
        return _desk_page(page, session, errors={"person": exc.message(page.lang)}, status=exc.status)
    return page.redirect(f"/accueil/personnes/{person.id}?message=cree")


@router.post("/groupes")
def register_group(
    page: PageDep,
    session: SessionDep,
    session_id: Annotated[int, Form()] = 0,
    contact_name: Annotated[str, Form()] = "",
    organisation: Annotated[str, Form()] = "",
    head_count: Annotated[str, Form()] = "",
    public: Annotated[str, Form()] = "",
) -> Response:
    try:
        holder = GroupHolder(
            contact_name=contact_name.strip(),
            head_count=_optional_int(head_count) or 0,
            organisation=organisation.strip(),
            public=public or None,
        )
        registration = _register(page, session, session_id, holder)
    except TiersLieuError as exc:
        session.rollback()
        return _desk_page(page, session, errors={"group": exc.message(page.lang)}, status=exc.status)
    return page.redirect(f"/accueil/fiches/inscription/{registration.id}")


def _register(page: Page, session: Session, session_id: int, holder: Holder) -> Registration:
    _check_session_site(page, session, session_id)
    return registration_service.register(
        session,
        actor=page.actor,
        session_id=session_id,
        holder=holder,
        now=utcnow(),
        programme=page.runtime.programme_events,
    )


# One person's file: members and people without an account ----------------------------------


def _holder_page(
    page: Page,
    session: Session,
    kind: str,
    holder_id: int,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    now = utcnow()
    if kind == "membres":
        member = member_service.get_member(session, holder_id)
        who = people_service.Found("member", holder_id, member.name, None, member.email)
    else:
        person = person_service.get_person(session, holder_id)
        who = people_service.Found("person", holder_id, person.name, person.phone, person.email, person.birth_year)
    agenda = people_service.upcoming_for(session, who, now)
    readers = [d for d in SiteFilter(session, page.scope).spaces(device_service.list_devices(session))]
    readers = [d for d in readers if d.kind == "badge_reader"]
    return page.render(
        "front_desk_person.html",
        status=status,
        title=who.name,
        who=who,
        kind=kind,
        agenda=agenda,
        lines=session_lines(session, now, scope=page.scope),
        advisors=_advisors(session),
        rooms=_rooms(session, page.scope),
        minutes=APPOINTMENT_MINUTES,
        resources=[r for r in space_service.list_resources(session, scope=page.scope) if r.active],
        readers=readers,
        can_badge=page.is_staff and kind == "membres",
        errors=errors or {},
        notice=page.notice(_MESSAGES),
        today=now.astimezone(page.tz).date(),
        spoken_phone=spoken_phone,
    )


def _holder_of(session: Session, kind: str, holder_id: int) -> Holder:
    if kind == "membres":
        return MemberHolder(member_service.get_member(session, holder_id).id)
    person = person_service.get_person(session, holder_id)
    return PersonHolder(name=person.name, person_id=person.id)


def _check_kind(kind: str) -> str:
    if kind not in ("membres", "personnes"):
        raise NotFound("page_not_found", id=kind)
    return kind


@router.get("/{kind}/{holder_id}")
def person_page(page: PageDep, session: SessionDep, kind: str, holder_id: IdPath) -> Response:
    return _holder_page(page, session, _check_kind(kind), holder_id)


@router.post("/{kind}/{holder_id}/inscriptions")
def register_holder(
    page: PageDep, session: SessionDep, kind: str, holder_id: IdPath, session_id: Annotated[int, Form()] = 0
) -> Response:
    kind = _check_kind(kind)
    try:
        registration = _register(page, session, session_id, _holder_of(session, kind, holder_id))
    except TiersLieuError as exc:
        session.rollback()
        return _holder_page(
            page, session, kind, holder_id, errors={"register": exc.message(page.lang)}, status=exc.status
        )
    return page.redirect(f"/accueil/fiches/inscription/{registration.id}")


@router.post("/{kind}/{holder_id}/rendez-vous")
def book_appointment(
    page: PageDep,
    session: SessionDep,
    kind: str,
    holder_id: IdPath,
    advisor_id: Annotated[int, Form()] = 0,
    resource_id: Annotated[int, Form()] = 0,
    day: Annotated[str, Form()] = "",
    at: Annotated[str, Form()] = "",
    minutes: Annotated[int, Form()] = 60,
    people: Annotated[int, Form()] = 1,
    note: Annotated[str, Form()] = "",
) -> Response:
    kind = _check_kind(kind)
    page.check_site(site_of_resource(session, resource_id))
    tz = timezone_of_resource(session, resource_id, page.tz)
    try:
        start = _parse_start(day, at).replace(tzinfo=tz)
        holder = _holder_of(session, kind, holder_id)
        appointment = appointment_service.book_appointment(
            session,
            actor=page.actor,
            advisor_id=advisor_id,
            resource_id=resource_id,
            start=start,
            end=start + timedelta(minutes=minutes),
            member_id=holder.member_id if isinstance(holder, MemberHolder) else None,
            person=holder if isinstance(holder, PersonHolder) else None,
            people=people,
            note=note.strip(),
            now=utcnow(),
            tz=tz,
            events=page.runtime.events,
            programme=page.runtime.programme_events,
        )
    except TiersLieuError as exc:
        session.rollback()
        return _holder_page(
            page, session, kind, holder_id, errors={"appointment": exc.message(page.lang)}, status=exc.status
        )
    return page.redirect(f"/accueil/fiches/rendez-vous/{appointment.id}")


@router.post("/membres/{member_id}/reservations")
def book_room(
    page: PageDep,
    session: SessionDep,
    member_id: IdPath,
    resource_id: Annotated[int, Form()] = 0,
    day: Annotated[str, Form()] = "",
    at: Annotated[str, Form()] = "",
    minutes: Annotated[int, Form(ge=1, le=24 * 60)] = 60,
) -> Response:
    """A room (or a desk) for a member, booked by the desk in their name."""
    page.check_site(site_of_resource(session, resource_id))
    tz = timezone_of_resource(session, resource_id, page.tz)
    try:
        start = _parse_start(day, at).replace(tzinfo=tz)
        booking, _verdict = booking_service.create_booking(
            session,
            actor=page.actor,
            resource_id=resource_id,
            member_id=member_id,
            start=start,
            end=start + timedelta(minutes=minutes),
            now=utcnow(),
            tz=tz,
            events=page.runtime.events,
        )
    except TiersLieuError as exc:
        session.rollback()
        return _holder_page(
            page, session, "membres", member_id, errors={"room": exc.message(page.lang)}, status=exc.status
        )
    return page.redirect(f"/accueil/fiches/reservation/{booking.id}")


@router.post("/membres/{member_id}/badge")
def scan_badge(
    page: PageDep, session: SessionDep, member_id: IdPath, device_id: Annotated[int, Form()] = 0
) -> Response:
    """ "Scan now", as in the administration: the last unknown badge shown on the chosen reader."""
    try:
        if not page.is_staff:
            raise PermissionDenied("front_desk.badge_staff_only")
        member = member_service.get_member(session, member_id)
        member_service.ensure_can_manage(page.actor, member)
        assign_recent_scan(session, member, device_id, page.sites.reader_scope)
    except TiersLieuError as exc:
        session.rollback()
        return _holder_page(
            page, session, "membres", member_id, errors={"badge": exc.message(page.lang)}, status=exc.status
        )
    return page.redirect(f"/accueil/membres/{member_id}?message=badge")


# The printed slips --------------------------------------------------------------------------


def _slip_page(page: Page, session: Session, slip: object, back: str, resource_id: int) -> Response:
    """The slip of a registration, appointment or booking in a room of the reader's sites, with
    that site's address and times."""
    site_id = site_of_resource(session, resource_id)
    page.check_site(site_id)
    contact = site_contact(session, page.gettext("Trilport third place"), site_id)
    size = "a4" if page.request.query_params.get("format") == "a4" else "a6"
    fmt = Formatter(page.lang, timezone_of_resource(session, resource_id, page.tz))
    return page.render(
        "slip.html", title=page.gettext("Confirmation slip"), slip=slip, contact=contact, size=size, back=back, fmt=fmt
    )


@router.get("/fiches/inscription/{registration_id}")
def registration_slip_page(page: PageDep, session: SessionDep, registration_id: IdPath) -> Response:
    registration = registration_service.get_registration(session, page.actor, registration_id)
    ws = session.get(WorkshopSession, registration.session_id)
    resource_id = ws.resource_id if ws is not None else 0
    return _slip_page(page, session, registration_slip(session, registration), "/accueil", resource_id)


@router.get("/fiches/rendez-vous/{appointment_id}")
def appointment_slip_page(page: PageDep, session: SessionDep, appointment_id: IdPath) -> Response:
    appointment: Appointment = appointment_service.get_appointment(
        session, actor=page.actor, appointment_id=appointment_id
    )
    slip = appointment_slip(session, appointment, page.gettext("Appointment with the digital-inclusion advisor"))
    return _slip_page(page, session, slip, "/accueil", appointment.resource_id)


@router.get("/fiches/reservation/{booking_id}")
def booking_slip_page(page: PageDep, session: SessionDep, booking_id: IdPath) -> Response:
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise NotFound("booking_not_found", id=booking_id)
    slip = booking_slip(session, booking, page.gettext("Room booking"))
    return _slip_page(page, session, slip, "/accueil", booking.resource_id)

"""What the programme pages show, read from the programme's services: upcoming sessions with
their seats, and the confirmation slip the front desk prints.

Reading only; every change goes through :mod:`tierslieu.programme`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from tierslieu.models import Booking, Member, Resource, Site, Space
from tierslieu.models.programme import Appointment, GroupRegistration, Registration, Workshop, WorkshopSession
from tierslieu.programme import registrations as registration_service
from tierslieu.programme import seats
from tierslieu.programme import sessions as session_service
from tierslieu.programme import workshops as workshop_service
from tierslieu.programme.persons import get_person
from tierslieu.programme.sessions import SessionFilter
from tierslieu.services.sites import ALL_SITES, SiteScope
from tierslieu.web.sites import SiteFilter

__all__ = [
    "SessionLine",
    "SiteContact",
    "Slip",
    "appointment_slip",
    "booking_slip",
    "registration_slip",
    "session_lines",
    "site_contact",
    "spoken_phone",
]

AHEAD = timedelta(days=60)


@dataclass(frozen=True)
class SessionLine:
    """A session as a list shows it: the workshop, the room, the seats."""

    session: WorkshopSession
    workshop: Workshop
    room: str
    seats_left: int

    @property
    def full(self) -> bool:
        return self.seats_left == 0


def _room_name(session: Session, resource_id: int) -> str:
    resource = session.get(Resource, resource_id)
    return resource.name if resource else ""


def session_lines(
    session: Session,
    now: datetime,
    *,
    ahead: timedelta = AHEAD,
    workshop_id: int | None = None,
    public_only: bool = False,
    limit: int = 200,
    scope: SiteScope = ALL_SITES,
) -> list[SessionLine]:
    """The sessions to come (still running included) in rooms of the sites in scope, soonest first."""
    wanted = SessionFilter(start=now, end=now + ahead, workshop_id=workshop_id, public_only=public_only, limit=limit)
    workshops: dict[int, Workshop] = {}
    lines = []
    in_scope = SiteFilter(session, scope)
    for ws in in_scope.resources(session_service.list_sessions(session, wanted)):
        if ws.workshop_id not in workshops:
            workshops[ws.workshop_id] = workshop_service.get_workshop(session, ws.workshop_id)
        lines.append(SessionLine(ws, workshops[ws.workshop_id], _room_name(session, ws.resource_id), _seats_left(ws)))
    return sorted(lines, key=lambda line: (line.session.start, line.session.id or 0))


def _seats_left(ws: WorkshopSession) -> int:
    return seats.seats_left(ws.capacity, ws.seats_taken)


@dataclass(frozen=True)
class SiteContact:
    """What a slip says about the place: its name, address and the phone to call."""

    name: str
    address: str
    phone: str


def site_contact(session: Session, default_name: str, site_id: int | None = None) -> SiteContact:
    """The place's name, address and phone as ``tierslieu site load`` kept them (empty when the
    site file does not give them): the site given, else the first one."""
    profile = session.get(Site, site_id) if site_id is not None else None
    profile = profile or session.exec(select(Site).order_by(col(Site.id))).first()
    if profile is None:
        return SiteContact(default_name, "", "")
    address = profile.data.get("address") or {}
    town = " ".join(str(address[key]) for key in ("postal_code", "commune") if address.get(key))
    street = ", ".join(str(address[key]) for key in ("street", "complement") if address.get(key))
    return SiteContact(
        profile.name, ", ".join(part for part in (street, town) if part), spoken_phone(profile.data.get("phone"))
    )


def spoken_phone(phone: object) -> str:
    """``+33160097810`` (or ``0160097810``) as French people read and dial it: ``01 60 09 78 10``."""
    if not isinstance(phone, str) or not phone:
        return ""
    national = "0" + phone[3:] if phone.startswith("+33") and len(phone) == 12 else phone
    if len(national) == 10 and national.isdigit() and national.startswith("0"):
        return " ".join(national[i : i + 2] for i in range(0, 10, 2))
    return phone


@dataclass(frozen=True)
class Slip:
    """The confirmation slip: what, when, where, with whom, for whom; printed in large type."""

    kind: str  # "registration" | "appointment" | "booking"
    reference: int
    what: str
    start: datetime
    end: datetime
    room: str
    place: str  # the space the room is in
    leader: str
    holder: str
    status: str  # "confirmed" | "waitlisted" | "booked"
    position: int | None = None
    seats: int = 1


def _place(session: Session, resource_id: int) -> tuple[str, str]:
    resource = session.get(Resource, resource_id)
    if resource is None:
        return "", ""
    space = session.get(Space, resource.space_id) if resource.space_id else None
    return resource.name, space.name if space else ""


def _name(session: Session, member_id: int | None) -> str:
    member = session.get(Member, member_id) if member_id else None
    return member.name if member else ""


def _holder(session: Session, member_id: int | None, person_id: int | None) -> str:
    if member_id:
        return _name(session, member_id)
    return get_person(session, person_id).name if person_id else ""


def registration_slip(session: Session, registration: Registration) -> Slip:
    ws = session_service.get_session(session, registration.session_id)
    workshop = workshop_service.get_workshop(session, ws.workshop_id)
    room, place = _place(session, ws.resource_id)
    if registration.group_id:
        group = session.get(GroupRegistration, registration.group_id)
        holder = " — ".join(p for p in (group.contact_name, group.organisation) if p) if group else ""
    else:
        holder = _holder(session, registration.member_id, registration.person_id)
    return Slip(
        kind="registration",
        reference=registration.id or 0,
        what=workshop.title,
        start=ws.start,
        end=ws.end,
        room=room,
        place=place,
        leader=_name(session, ws.leader_id or workshop.leader_id),
        holder=holder,
        status=registration.status,
        position=registration_service.waitlist_position(session, registration),
        seats=registration.seats,
    )


def appointment_slip(session: Session, appointment: Appointment, title: str) -> Slip:
    room, place = _place(session, appointment.resource_id)
    return Slip(
        kind="appointment",
        reference=appointment.id or 0,
        what=title,
        start=appointment.start,
        end=appointment.end,
        room=room,
        place=place,
        leader=_name(session, appointment.advisor_id),
        holder=_holder(session, appointment.member_id, appointment.person_id),
        status=appointment.status,
        seats=appointment.people,
    )


def booking_slip(session: Session, booking: Booking, title: str) -> Slip:
    room, place = _place(session, booking.resource_id)
    return Slip(
        kind="booking",
        reference=booking.id or 0,
        what=title,
        start=booking.start,
        end=booking.end,
        room=room,
        place=place,
        leader="",
        holder=_name(session, booking.member_id),
        status=booking.status,
    )

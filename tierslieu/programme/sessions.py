"""Sessions: dated occurrences of a workshop, each holding its room through the booking engine.

Creating a session books its room with the engine's own rules and refusals (a 409 with the
engine's ``code``; never a double booking, the door follows the booking); a series books one
room booking per occurrence, all or nothing, like recurring bookings. A FabLab session may also
hold printers, booked the same way. Cancelling frees the room and printers and tells the
registered (one ``session_cancelled`` event per open registration).

The bookings are made in the name of the session's leader (their badge opens the room), or of
the organiser planning it when the workshop has no leader.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from tierslieu.booking import lifecycle, service
from tierslieu.booking.rules import ACTIVE_STATUSES
from tierslieu.booking.schedule import utc
from tierslieu.db.driver import DriverStatement
from tierslieu.db.rows import attach_row, columns_of
from tierslieu.errors import Conflict, InvalidInput, NotFound
from tierslieu.events import EventHub
from tierslieu.models import Booking, Member, Registration, Resource, WorkshopSession
from tierslieu.models.enums import ResourceKind
from tierslieu.models.programme import (
    OPEN_REGISTRATION_STATUSES,
    RegistrationStatus,
    SessionPrinter,
    SessionStatus,
    Workshop,
)
from tierslieu.programme.events import ProgrammeEvent, ProgrammeEventKind, ProgrammeEvents
from tierslieu.programme.roles import is_advisor_capable
from tierslieu.programme.workshops import get_workshop
from tierslieu.services import members as member_service
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import ALL_SITES, SiteScope

__all__ = [
    "SessionFacts",
    "SessionFilter",
    "SessionPlan",
    "cancel_session",
    "create_sessions",
    "describe",
    "get_session",
    "list_sessions",
    "session_printers",
]


@dataclass(frozen=True)
class SessionPlan:
    """What ``POST /workshops/{id}/sessions`` asks: ``end`` defaults to the workshop's
    duration, ``capacity`` to the workshop's (never above the room's)."""

    resource_id: int
    start: datetime
    end: datetime | None = None
    capacity: int | None = None
    recurrence: str | None = None  # RRULE, like bookings
    printer_ids: tuple[int, ...] = ()  # printer resources a FabLab session holds
    leader_id: int | None = None  # default: the workshop's leader
    public: bool = True


@dataclass(frozen=True)
class SessionFilter:
    start: datetime | None = None  # sessions ending after
    end: datetime | None = None  # sessions starting before
    workshop_id: int | None = None
    include_cancelled: bool = True
    public_only: bool = False
    limit: int = 500
    offset: int = 0


def get_session(session: Session, session_id: int, *, lock: bool = False) -> WorkshopSession:
    found = session.get(WorkshopSession, session_id, with_for_update=lock or None, populate_existing=lock)
    if found is None:
        raise NotFound("programme.session_not_found", session=session_id)
    return found


def session_and_workshop_columns() -> list[sa.Column[Any]]:
    """A session's columns, then its workshop's (:func:`columns_of` order): what
    :func:`attach_session_and_workshop` reads."""
    return [column for _key, column in columns_of(WorkshopSession)] + [c for _key, c in columns_of(Workshop)]


def attach_session_and_workshop(session: Session, row: Sequence[Any]) -> tuple[WorkshopSession, Workshop]:
    """A Core row of :func:`session_and_workshop_columns` as the two persistent rows (see :func:`attach_row`)."""
    split = len(columns_of(WorkshopSession))
    return attach_row(session, WorkshopSession, row[:split]), attach_row(session, Workshop, row[split:])


@cache
def _session_and_workshop_query() -> DriverStatement:
    """Built once: building a select costs more Python than running this one."""
    return DriverStatement(
        sa.select(*session_and_workshop_columns())
        .select_from(WorkshopSession.__table__)  # type: ignore[attr-defined]
        .join(Workshop.__table__, col(Workshop.id) == col(WorkshopSession.workshop_id))  # type: ignore[attr-defined]
        .where(col(WorkshopSession.id) == sa.bindparam("session_id"))
    )


def get_session_and_workshop(session: Session, session_id: int) -> tuple[WorkshopSession, Workshop]:
    """The session and its workshop in one query, both then in the session's identity map (read
    with Core and attached, see :func:`attach_row`: a registration's first statement)."""
    rows = _session_and_workshop_query().run(session, {"session_id": session_id}).rows
    if not rows:
        raise NotFound("programme.session_not_found", session=session_id)
    return attach_session_and_workshop(session, rows[0])


def list_sessions(session: Session, wanted: SessionFilter, scope: SiteScope = ALL_SITES) -> Sequence[WorkshopSession]:
    """By start time; the sessions held at the sites of ``scope`` (a session is at its room's site)."""
    query = select(WorkshopSession).where(scope.where_resource(WorkshopSession.resource_id))
    if wanted.start is not None:
        query = query.where(col(WorkshopSession.end) > wanted.start)
    if wanted.end is not None:
        query = query.where(col(WorkshopSession.start) < wanted.end)
    if wanted.workshop_id is not None:
        query = query.where(WorkshopSession.workshop_id == wanted.workshop_id)
    if not wanted.include_cancelled:
        query = query.where(WorkshopSession.status == SessionStatus.scheduled)
    if wanted.public_only:
        query = query.where(col(WorkshopSession.public).is_(True))
    query = query.order_by(col(WorkshopSession.start), col(WorkshopSession.id))
    return session.exec(query.offset(wanted.offset).limit(wanted.limit)).all()


def session_printers(session: Session, session_id: int) -> list[int]:
    rows = session.exec(select(SessionPrinter).where(SessionPrinter.session_id == session_id)).all()
    return sorted(row.resource_id for row in rows)


# Creating -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    workshop: Workshop
    room: Resource
    printers: tuple[Resource, ...]
    holder: Member  # in whose name the room is booked
    leader_id: int | None
    end: datetime
    capacity: int


def _resource_of_kind(session: Session, resource_id: int, kind: ResourceKind) -> Resource:
    resource = space_service.get_resource(session, resource_id)
    if resource.kind != kind:
        code = "programme.not_a_room" if kind == ResourceKind.room else "programme.not_a_printer"
        raise InvalidInput(code, resource=resource.name)
    return resource


def _check(session: Session, actor: Member, workshop_id: int, plan: SessionPlan) -> _Checked:
    workshop = get_workshop(session, workshop_id)
    if not workshop.active:
        raise Conflict("programme.workshop_inactive", workshop=workshop.title)
    room = _resource_of_kind(session, plan.resource_id, ResourceKind.room)
    printers = tuple(_resource_of_kind(session, p, ResourceKind.printer) for p in dict.fromkeys(plan.printer_ids))
    capacity = plan.capacity or workshop.capacity
    if room.capacity is not None and capacity > room.capacity:
        raise InvalidInput("programme.capacity_above_room", capacity=capacity, room=room.name, seats=room.capacity)
    leader_id = plan.leader_id or workshop.leader_id
    holder = actor
    if leader_id is not None and leader_id != actor.id:
        holder = member_service.get_member(session, leader_id)
        if not is_advisor_capable(holder):
            raise InvalidInput("programme.leader_not_organiser", member=leader_id)
    end = plan.end or plan.start + timedelta(minutes=workshop.duration_minutes)
    return _Checked(workshop, room, printers, holder, leader_id, end, capacity)


def _book(
    session: Session,
    checked: _Checked,
    actor: Member,
    resource: Resource,
    plan: SessionPlan,
    now: datetime,
    tz: ZoneInfo,
    events: EventHub | None,
) -> list[tuple[Booking, int | None]]:
    """Book ``resource`` for the session (each occurrence of a series): ``(booking, series_id)``.

    The engine judges the booking as the holder's own (their rules, their quotas); the
    programme has already checked that ``actor`` may plan it, and is recorded as its author."""
    assert resource.id is not None
    note = checked.workshop.title[:500]
    if plan.recurrence is None:
        booking, _verdict = service.create_booking(
            session, actor=checked.holder, resource_id=resource.id, member_id=None, start=plan.start,
            end=checked.end, note=note, now=now, tz=tz, events=events,
        )  # fmt: skip
        booked: list[tuple[Booking, int | None]] = [(booking, None)]
    else:
        result = service.create_series(
            session, actor=checked.holder, resource_id=resource.id, member_id=None, start=plan.start,
            end=checked.end, rrule=plan.recurrence, note=note, now=now, tz=tz, events=events,
        )  # fmt: skip
        assert result.series is not None
        booked = [(b, result.series.id) for b in result.bookings]
    for booking, _series in booked:
        booking.created_by = actor.id
        session.add(booking)
    return booked


def create_sessions(
    session: Session,
    *,
    actor: Member,
    workshop_id: int,
    plan: SessionPlan,
    now: datetime,
    tz: ZoneInfo,
    events: EventHub | None = None,
) -> list[WorkshopSession]:
    """Book the room (and printers) and create the session(s): one, or one per occurrence of
    ``plan.recurrence``. The engine's refusals propagate unchanged (409 ``RuleViolation`` with
    its ``code``, 422 for an impossible interval or rule); nothing is kept after a refusal."""
    checked = _check(session, actor, workshop_id, plan)
    assert checked.workshop.id is not None and checked.room.id is not None
    rooms = _book(session, checked, actor, checked.room, plan, now, tz, events)
    printers = [(p, _book(session, checked, actor, p, plan, now, tz, events)) for p in checked.printers]
    created: list[WorkshopSession] = []
    for index, (booking, series_id) in enumerate(rooms):
        ws = WorkshopSession(
            workshop_id=checked.workshop.id,
            resource_id=checked.room.id,
            start=booking.start,
            end=booking.end,
            capacity=checked.capacity,
            leader_id=checked.leader_id,
            booking_id=booking.id,
            series_id=series_id,
            public=plan.public,
            created_by=actor.id,
        )
        session.add(ws)
        session.flush()
        assert ws.id is not None
        for printer, printer_bookings in printers:
            assert printer.id is not None
            printer_booking = printer_bookings[index][0]
            session.add(SessionPrinter(session_id=ws.id, resource_id=printer.id, booking_id=printer_booking.id))
        created.append(ws)
    session.flush()
    return created


# Cancelling ---------------------------------------------------------------------------------


def _free_booking(
    session: Session, booking_id: int | None, actor: Member, reason: str, now: datetime, events: EventHub | None
) -> None:
    if booking_id is None:
        return
    booking = session.get(Booking, booking_id)
    if booking is None or booking.status not in ACTIVE_STATUSES or booking.end <= now:
        return
    holder = member_service.get_member(session, booking.member_id)
    lifecycle.cancel(session, holder, booking_id, now=now, reason=reason, events=events)
    booking.decided_by = actor.id
    session.add(booking)


def cancel_session(
    session: Session,
    *,
    actor: Member,
    session_id: int,
    reason: str,
    now: datetime,
    events: EventHub | None,
    programme: ProgrammeEvents,
) -> WorkshopSession:
    """Cancel the session, its room and printer bookings, and its open registrations; each
    registration is announced (``session_cancelled``) so the registered are told."""
    ws = get_session(session, session_id, lock=True)
    if ws.status == SessionStatus.cancelled:
        raise Conflict("programme.session_cancelled", session=session_id)
    if ws.end <= now:
        raise Conflict("programme.session_over", session=session_id)
    _free_booking(session, ws.booking_id, actor, reason, now, events)
    for printer in session.exec(select(SessionPrinter).where(SessionPrinter.session_id == session_id)).all():
        _free_booking(session, printer.booking_id, actor, reason, now, events)
    open_regs = session.exec(
        select(Registration)
        .where(Registration.session_id == session_id, col(Registration.status).in_(OPEN_REGISTRATION_STATUSES))
        .order_by(col(Registration.id))
    ).all()
    for registration in open_regs:
        registration.status, registration.cancelled_at = RegistrationStatus.cancelled, utc(now)
        session.add(registration)
    ws.status, ws.cancelled_at, ws.cancel_reason, ws.seats_taken = SessionStatus.cancelled, utc(now), reason, 0
    session.add(ws)
    session.flush()
    for registration in open_regs:
        kind = ProgrammeEventKind.session_cancelled
        programme.emit(session, ProgrammeEvent(kind, session_id=session_id, registration_id=registration.id))
    programme.emit(session, ProgrammeEvent(ProgrammeEventKind.session_cancelled, session_id=session_id))
    return ws


# Describing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionFacts:
    """What a listing shows beside the row: the workshop's title, the waitlist, the printers."""

    session: WorkshopSession
    title: str
    waitlisted: int
    printer_ids: list[int]

    @property
    def seats_left(self) -> int:
        return max(0, self.session.capacity - self.session.seats_taken)


def describe(session: Session, sessions: Sequence[WorkshopSession]) -> list[SessionFacts]:
    """The facts of many sessions in three queries (the agenda lists hundreds)."""
    ids = [ws.id for ws in sessions if ws.id is not None]
    if not ids:
        return []
    titles = dict(
        session.exec(
            select(Workshop.id, Workshop.title).where(col(Workshop.id).in_({ws.workshop_id for ws in sessions}))
        ).all()
    )
    waitlisted = dict(
        session.exec(
            select(Registration.session_id, func.count())
            .where(col(Registration.session_id).in_(ids), Registration.status == RegistrationStatus.waitlisted)
            .group_by(col(Registration.session_id))
        ).all()
    )
    printers: dict[int, list[int]] = {}
    for row in session.exec(select(SessionPrinter).where(col(SessionPrinter.session_id).in_(ids))).all():
        printers.setdefault(row.session_id, []).append(row.resource_id)
    return [
        SessionFacts(
            ws, titles.get(ws.workshop_id, ""), waitlisted.get(ws.id or 0, 0), sorted(printers.get(ws.id or 0, []))
        )
        for ws in sessions
    ]

"""Registrations: seats taken under the database's guard, a waitlist promoted in order.

**Capacity is never exceeded**, whatever the concurrency: a registration takes its seats with
one conditional UPDATE of the session row (``seats_taken = seats_taken + n WHERE seats_taken +
n <= capacity``, with a CHECK constraint behind it); when no row is updated it is waitlisted.
On SQLite the write session's ``BEGIN IMMEDIATE`` serializes it; on PostgreSQL the UPDATE's row
lock does, and the WHERE is evaluated again on the row a concurrent transaction committed.
A cancellation locks the session row first, so the seats it frees go to the waitlist before
any newcomer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from tierslieu.booking.schedule import utc
from tierslieu.db.changes import record_update
from tierslieu.db.driver import DriverStatement
from tierslieu.db.rows import attach_row, columns_of, execute_write, insert_row, new_row
from tierslieu.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from tierslieu.models import Attendance, GroupRegistration, Member, Person, Registration, Workshop, WorkshopSession
from tierslieu.models.programme import OPEN_REGISTRATION_STATUSES, RegistrationStatus, SessionStatus
from tierslieu.programme import seats as seat_rules
from tierslieu.programme.events import ProgrammeEvent, ProgrammeEventKind, ProgrammeEvents
from tierslieu.programme.holders import GroupHolder, Holder, MemberHolder, PersonHolder
from tierslieu.programme.persons import person_from_holder
from tierslieu.programme.roles import can_register_others, check_leads, session_site
from tierslieu.programme.sessions import (
    attach_session_and_workshop,
    get_session,
    get_session_and_workshop,
    session_and_workshop_columns,
)
from tierslieu.services import members as member_service

__all__ = [
    "MAX_INDIVIDUAL_SEATS",
    "RegistrationView",
    "cancel_registration",
    "list_own",
    "list_registrations",
    "register",
    "waitlist_position",
]

# A member or a person may bring someone (a grandchild, a carer); more is a group.
MAX_INDIVIDUAL_SEATS = 4


@dataclass(frozen=True)
class RegistrationView:
    """A registration as the leader's roll-call shows it: who (a group by its teacher, school
    and head count), its waitlist position and whether they came (``None``: not ticked)."""

    registration: Registration
    kind: str  # member | person | group
    name: str
    organisation: str | None
    position: int | None
    present: bool | None


def _take_statement() -> sa.Update:
    """Take ``seats`` of the session if they fit and it is open: the one condition seats are taken on."""
    table = _sessions_table()
    taken, seats = table.c.seats_taken, sa.bindparam("seats", type_=sa.Integer())
    return (
        sa.update(table)
        .where(
            table.c.id == sa.bindparam("session_id"),
            table.c.status == SessionStatus.scheduled.value,
            taken + seats <= table.c.capacity,
        )
        .values(seats_taken=taken + seats)
    )


def _sessions_table() -> sa.Table:
    table = sa.inspect(WorkshopSession).local_table
    assert isinstance(table, sa.Table)
    return table


@cache
def _seat_statements() -> tuple[DriverStatement, DriverStatement]:
    """The seat counter's two UPDATEs (take, give back), built once on the table: neither the
    statement's construction nor the ORM's bulk-update path is paid per registration."""
    table = _sessions_table()
    taken, seats = table.c.seats_taken, sa.bindparam("seats", type_=sa.Integer())
    # The CHECK constraint refuses a negative count.
    give_back = sa.update(table).where(table.c.id == sa.bindparam("session_id")).values(seats_taken=taken - seats)
    return DriverStatement(_take_statement()), DriverStatement(give_back)


def _update_seats(session: Session, statement: DriverStatement, session_id: int, seats: int) -> bool:
    """Run one of the seat statements; the change feed hears of the row (the ORM does not see it)."""
    result = execute_write(session, statement, {"session_id": session_id, "seats": seats})
    updated = result.rowcount == 1
    if updated:
        record_update(session, str(WorkshopSession.__tablename__), session_id)
    return updated


def _take_seats(session: Session, session_id: int, seats: int) -> bool:
    """The one place seats are taken: a conditional UPDATE the database serializes."""
    return _update_seats(session, _seat_statements()[0], session_id, seats)


@cache
def _take_seats_and_read(with_workshop: bool) -> DriverStatement:
    """The seat UPDATE (as :func:`_take_seats`) that returns the session, as updated, and (on
    PostgreSQL: SQLite's RETURNING sees only the updated table) its workshop: a registration
    that fits needs no read of its own."""
    statement = _take_statement()
    if with_workshop:
        workshops = sa.inspect(Workshop).local_table
        statement = statement.where(workshops.c.id == _sessions_table().c.workshop_id)
        return DriverStatement(statement.returning(*session_and_workshop_columns()))
    return DriverStatement(statement.returning(*(column for _key, column in columns_of(WorkshopSession))))


def _seats_taken_in(session: Session, session_id: int, seats: int) -> tuple[WorkshopSession, Workshop] | None:
    """Take ``seats`` and return the session and its workshop (in the session's identity map),
    or ``None`` when they do not fit (or the session is not open, or not there)."""
    with_workshop = session.get_bind().dialect.name != "sqlite"
    rows = execute_write(session, _take_seats_and_read(with_workshop), {"session_id": session_id, "seats": seats}).rows
    if not rows:
        return None
    record_update(session, str(WorkshopSession.__tablename__), session_id)
    if with_workshop:
        return attach_session_and_workshop(session, rows[0])
    ws = attach_row(session, WorkshopSession, rows[0])
    workshop = session.get(Workshop, ws.workshop_id)
    assert workshop is not None  # a foreign key
    return ws, workshop


def _give_back_seats(session: Session, session_id: int, seats: int) -> None:
    _update_seats(session, _seat_statements()[1], session_id, seats)


def _check_open(ws: WorkshopSession, now: datetime) -> None:
    if ws.status == SessionStatus.cancelled:
        raise Conflict("programme.session_cancelled", session=ws.id)
    if ws.end <= now:
        raise Conflict("programme.session_over", session=ws.id)


def _holder_columns(
    session: Session, actor: Member, holder: Holder, now: datetime, site_id: int | None
) -> dict[str, int]:
    """The registration's holder column."""
    if isinstance(holder, MemberHolder):
        member_id = holder.member_id if holder.member_id is not None else actor.id
        assert member_id is not None
        if member_id != actor.id and not can_register_others(actor, site_id):
            raise PermissionDenied("programme.register_others_forbidden")
        member = member_service.get_member(session, member_id)
        if not member.active:
            raise Conflict("programme.member_inactive", member=member_id)
        return {"member_id": member_id}
    if not can_register_others(actor, site_id):
        raise PermissionDenied("programme.register_others_forbidden")
    if isinstance(holder, PersonHolder):
        person = person_from_holder(session, holder, actor=actor, now=now)
        assert person.id is not None
        return {"person_id": person.id}
    group = GroupRegistration(
        contact_name=holder.contact_name.strip(),
        organisation=holder.organisation.strip(),
        head_count=holder.head_count,
        public=holder.public,
        age_band=holder.age_band,
    )
    if not group.contact_name:
        raise InvalidInput("programme.group_contact_required")
    session.add(group)
    session.flush()
    assert group.id is not None
    return {"group_id": group.id}


def register(
    session: Session,
    *,
    actor: Member,
    session_id: int,
    holder: Holder,
    seats: int | None = None,
    now: datetime,
    programme: ProgrammeEvents,
) -> Registration:
    """Register the holder for ``seats`` seats (a group: its head count): ``confirmed`` when
    they fit, else ``waitlisted``. Members register themselves; staff, animators and the
    advisor register anyone, people without an account and groups."""
    wanted = holder.head_count if isinstance(holder, GroupHolder) else 1 if seats is None else seats
    if not isinstance(holder, GroupHolder) and not 1 <= wanted <= MAX_INDIVIDUAL_SEATS:
        raise InvalidInput("programme.too_many_seats", seats=wanted, most=MAX_INDIVIDUAL_SEATS)
    # The seats first, with the session and its workshop (the confirmation names it) in the same
    # statement; read on their own only when they do not fit. Whatever is refused below (a session
    # over, a holder not allowed, a second registration) raises, and the request rolls it all back:
    # no savepoint.
    taken = _seats_taken_in(session, session_id, wanted)
    confirmed = taken is not None
    ws, _workshop = taken or get_session_and_workshop(session, session_id)
    _check_open(ws, now)
    columns = _holder_columns(session, actor, holder, now, session_site(session, ws))
    if not confirmed and session.get_bind().dialect.name != "sqlite":
        # Queue in turn: holding the session row until commit (as a seat taken does)
        # gives waitlisted registrations ids in the order their positions are counted.
        # (SQLite's write transactions are serialized already.)
        get_session(session, session_id, lock=True)
    status = RegistrationStatus.confirmed if confirmed else RegistrationStatus.waitlisted
    registration = new_row(
        Registration, session_id=session_id, seats=wanted, status=status, created_by=actor.id, **columns
    )
    try:
        insert_row(session, registration)
    except IntegrityError as exc:
        # Already registered (or two racing requests): the partial unique indexes on open
        # registrations decide, so no query beforehand; the request rolls back the seats.
        raise Conflict("programme.already_registered", session=session_id) from exc
    kind = ProgrammeEventKind.registration_confirmed if confirmed else ProgrammeEventKind.registration_waitlisted
    programme.emit(session, ProgrammeEvent(kind, session_id=session_id, registration_id=registration.id))
    return registration


def get_registration(session: Session, actor: Member, registration_id: int, *, lock: bool = False) -> Registration:
    """The registration if the actor may act on it (their own, or any for organisers); 404
    otherwise, so nobody probes other people's registrations."""
    registration = session.get(Registration, registration_id, with_for_update=lock or None, populate_existing=lock)
    not_found = NotFound("programme.registration_not_found", registration=registration_id)
    if registration is None:
        raise not_found
    if registration.member_id == actor.id:
        return registration
    site_id = session_site(session, get_session(session, registration.session_id))
    if can_register_others(actor, site_id):
        return registration
    if can_register_others(actor):
        raise PermissionDenied("site_forbidden")  # an organiser of another site
    raise not_found


def _waiting(session: Session, session_id: int) -> list[Registration]:
    query = (
        select(Registration)
        .where(Registration.session_id == session_id, Registration.status == RegistrationStatus.waitlisted)
        .order_by(col(Registration.id))
        .with_for_update()
    )
    return list(session.exec(query).all())


def promote_waitlist(session: Session, ws: WorkshopSession, now: datetime, programme: ProgrammeEvents) -> list[int]:
    """Give free seats to the waitlisted that fit, in order (the caller holds the session row)."""
    assert ws.id is not None
    waiting = _waiting(session, ws.id)
    by_id = {r.id: r for r in waiting}
    plan = seat_rules.promotions(
        ws.capacity, ws.seats_taken, [seat_rules.Waiting(r.id, r.seats) for r in waiting if r.id is not None]
    )
    promoted: list[int] = []
    for registration_id in plan:
        registration = by_id[registration_id]
        if not _take_seats(session, ws.id, registration.seats):
            break
        registration.status, registration.promoted_at = RegistrationStatus.confirmed, utc(now)
        session.add(registration)
        promoted.append(registration_id)
    session.flush()
    for registration_id in promoted:
        kind = ProgrammeEventKind.waitlist_promoted
        programme.emit(session, ProgrammeEvent(kind, session_id=ws.id, registration_id=registration_id))
    return promoted


def cancel_registration(
    session: Session, *, actor: Member, registration_id: int, now: datetime, programme: ProgrammeEvents
) -> Registration:
    """Cancel (one's own, or anyone's for organisers); the seats freed go at once to the first
    waitlisted that fit (``waitlist_promoted``)."""
    registration = get_registration(session, actor, registration_id)
    # The session row first, then the registration: the same order as registering, and the
    # freed seats stay ours until the waitlist has had them.
    ws = get_session(session, registration.session_id, lock=True)
    registration = get_registration(session, actor, registration_id, lock=True)
    if registration.status == RegistrationStatus.cancelled:
        raise Conflict("programme.registration_cancelled", registration=registration_id)
    _check_open(ws, now)
    was_confirmed = registration.status == RegistrationStatus.confirmed
    registration.status, registration.cancelled_at = RegistrationStatus.cancelled, utc(now)
    session.add(registration)
    session.flush()
    if was_confirmed:
        _give_back_seats(session, ws.id or 0, registration.seats)
        session.refresh(ws)
    kind = ProgrammeEventKind.registration_cancelled
    programme.emit(session, ProgrammeEvent(kind, session_id=ws.id, registration_id=registration_id))
    if was_confirmed:
        promote_waitlist(session, ws, now, programme)
        session.refresh(ws)
    return registration


def list_own(session: Session, *, actor: Member, include_past: bool = False, now: datetime) -> list[Registration]:
    """The caller's open registrations (confirmed or waitlisted), by the session's start."""
    query = (
        select(Registration)
        .join(WorkshopSession, col(WorkshopSession.id) == col(Registration.session_id))
        .where(Registration.member_id == actor.id, col(Registration.status).in_(OPEN_REGISTRATION_STATUSES))
    )
    if not include_past:
        query = query.where(col(WorkshopSession.end) > now)
    return list(session.exec(query.order_by(col(WorkshopSession.start), col(Registration.id))).all())


def waitlist_position(session: Session, registration: Registration) -> int | None:
    """1 = next to get a seat; ``None`` when not waitlisted."""
    if registration.status != RegistrationStatus.waitlisted:
        return None
    query = (
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.session_id == registration.session_id,
            Registration.status == RegistrationStatus.waitlisted,
            col(Registration.id) <= registration.id,
        )
    )
    return int(session.exec(query).one())


def list_registrations(session: Session, *, actor: Member, session_id: int) -> list[RegistrationView]:
    """Staff and the session's leader: every registration, confirmed first then the waitlist
    in order, cancelled last."""
    ws = get_session(session, session_id)
    check_leads(session, actor, ws)
    registrations = session.exec(
        select(Registration).where(Registration.session_id == session_id).order_by(col(Registration.id))
    ).all()
    members = _names(session, Member, {r.member_id for r in registrations})
    persons = _names(session, Person, {r.person_id for r in registrations})
    group_ids = {r.group_id for r in registrations if r.group_id is not None}
    groups = {g.id: g for g in session.exec(select(GroupRegistration).where(col(GroupRegistration.id).in_(group_ids)))}
    attendance = {
        a.registration_id: a.present
        for a in session.exec(select(Attendance).where(Attendance.session_id == session_id)).all()
        if a.registration_id is not None
    }
    positions = seat_rules.positions(
        [r.id for r in registrations if r.status == RegistrationStatus.waitlisted and r.id is not None]
    )
    order = {RegistrationStatus.confirmed: 0, RegistrationStatus.waitlisted: 1, RegistrationStatus.cancelled: 2}
    views = []
    for r in sorted(registrations, key=lambda r: (order.get(RegistrationStatus(r.status), 3), r.id or 0)):
        assert r.id is not None
        if r.group_id is not None:
            group = groups[r.group_id]
            kind, name, organisation = "group", group.contact_name, group.organisation or None
        elif r.person_id is not None:
            kind, name, organisation = "person", persons.get(r.person_id, ""), None
        else:
            kind, name, organisation = "member", members.get(r.member_id, ""), None
        views.append(RegistrationView(r, kind, name, organisation, positions.get(r.id), attendance.get(r.id)))
    return views


def _names(session: Session, model: type[Member] | type[Person], ids: set[int | None]) -> dict[int | None, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    query = sa.select(col(model.id), col(model.name)).where(col(model.id).in_(wanted))
    return {row_id: str(name) for row_id, name in session.execute(query)}

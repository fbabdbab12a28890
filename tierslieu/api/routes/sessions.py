"""Sessions: the agenda, cancelling, registering (members, people without an account, groups),
the list of the registered, and attendance.

Everyone signed in reads the agenda and registers themself; organisers register anyone;
staff and the session's leader see the registrations and take the roll-call.
"""

from __future__ import annotations

from fastapi import Depends, Query, Request, status
from pydantic import AwareDatetime

from tierslieu.api.deps import (
    EVERYONE,
    EVERYONE_IN_THREAD,
    MAX_ID,
    IdPath,
    RuntimeDep,
    SessionDep,
    SiteScopeDep,
    in_thread,
    runtime_of,
)
from tierslieu.api.routes.programme_views import ORGANISERS, registration_listed, registration_public, session_public
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.programme import (
    AttendanceCreate,
    AttendancePublic,
    AttendanceSheet,
    RegistrationCreate,
    RegistrationListed,
    RegistrationPublic,
    SessionCancel,
    SessionPublic,
    TallyPublic,
)
from tierslieu.db.types import utcnow
from tierslieu.models import Member
from tierslieu.programme import attendance, registrations, sessions
from tierslieu.programme.holders import GroupHolder, Holder, MemberHolder, PersonHolder
from tierslieu.programme.roles import session_site

router = PrefixRouter(prefix="/sessions", tags=["programme"])


@router.get("", response_model=list[SessionPublic], dependencies=[Depends(EVERYONE)])
def list_sessions(
    session: SessionDep,
    scope: SiteScopeDep,
    start: AwareDatetime | None = Query(default=None, alias="from", description="séances finissant après"),
    end: AwareDatetime | None = Query(default=None, alias="to", description="séances commençant avant"),
    workshop_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    include_cancelled: bool = True,
    limit: int = Query(default=500, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=MAX_ID),
) -> list[SessionPublic]:
    wanted = sessions.SessionFilter(start, end, workshop_id, include_cancelled, limit=limit, offset=offset)
    return [session_public(f) for f in sessions.describe(session, sessions.list_sessions(session, wanted, scope))]


@router.get("/{session_id}", response_model=SessionPublic, dependencies=[Depends(EVERYONE)])
def get_session(session_id: IdPath, session: SessionDep, scope: SiteScopeDep) -> SessionPublic:
    ws = sessions.get_session(session, session_id)
    scope.check(session_site(session, ws))
    return session_public(sessions.describe(session, [ws])[0])


@router.post("/{session_id}/cancel", response_model=SessionPublic)
def cancel_session(
    session_id: IdPath,
    session: SessionDep,
    runtime: RuntimeDep,
    body: SessionCancel | None = None,
    actor: Member = Depends(ORGANISERS),
) -> SessionPublic:
    """Frees the room (and printers); every registration is cancelled and its holder told."""
    ws = sessions.cancel_session(
        session,
        actor=actor,
        session_id=session_id,
        reason=body.reason if body else "",
        now=utcnow(),
        events=runtime.events,
        programme=runtime.programme_events,
    )
    return session_public(sessions.describe(session, [ws])[0])


def _holder(body: RegistrationCreate) -> Holder:
    if body.person is not None:
        p = body.person
        return PersonHolder(p.name, p.phone, p.email, p.postal_address, p.birth_year, p.consent, p.id)
    if body.group is not None:
        g = body.group
        return GroupHolder(g.name, g.head_count, g.organisation, g.public, g.age_band)
    return MemberHolder(body.member_id)


@router.post("/{session_id}/registrations", response_model=RegistrationPublic, status_code=status.HTTP_201_CREATED)
async def register(
    session_id: IdPath,
    body: RegistrationCreate,
    request: Request,
    session: SessionDep,
    actor: Member = Depends(EVERYONE_IN_THREAD),
) -> RegistrationPublic:
    """``confirmed`` when the seats fit, else ``waitlisted`` with its ``position``."""
    runtime = runtime_of(request)  # from the request: one dependency node fewer on a busy write

    def work() -> RegistrationPublic:
        registration = registrations.register(
            session,
            actor=actor,
            session_id=session_id,
            holder=_holder(body),
            seats=body.seats,
            now=utcnow(),
            programme=runtime.programme_events,
        )
        return registration_public(session, registration)

    return await in_thread(session, work)


@router.get("/{session_id}/registrations", response_model=list[RegistrationListed])
def list_registrations(
    session_id: IdPath, session: SessionDep, actor: Member = Depends(ORGANISERS)
) -> list[RegistrationListed]:
    """Staff and the session's leader: confirmed, then the waitlist in order, then cancelled."""
    views = registrations.list_registrations(session, actor=actor, session_id=session_id)
    return [registration_listed(v) for v in views]


@router.post("/{session_id}/attendance", response_model=AttendancePublic)
def record_attendance(
    session_id: IdPath, body: AttendanceCreate, session: SessionDep, actor: Member = Depends(ORGANISERS)
) -> AttendancePublic:
    """Tick a registration present or absent, or add a walk-in (staff and the leader)."""
    now = utcnow()
    if body.walk_in is not None:
        w = body.walk_in
        row = attendance.walk_in(
            session, actor=actor, session_id=session_id, member_id=w.member_id, person_id=w.person_id,
            seats=w.seats, public=w.public, age_band=w.age_band, now=now,
        )  # fmt: skip
    else:
        assert body.registration_id is not None
        row = attendance.mark(
            session, actor=actor, session_id=session_id, registration_id=body.registration_id,
            present=body.present, seats=body.seats, now=now,
        )  # fmt: skip
    return AttendancePublic.model_validate(row)


@router.get("/{session_id}/attendance", response_model=AttendanceSheet)
def attendance_sheet(session_id: IdPath, session: SessionDep, actor: Member = Depends(ORGANISERS)) -> AttendanceSheet:
    """Who was there and the counts (present, absent, no-shows, walk-ins, by public and age
    band); after the retention period only the counts remain (staff and the leader)."""
    ws, rows = attendance.attendance_rows(session, actor=actor, session_id=session_id)
    tally = attendance.session_tally(session, ws)
    return AttendanceSheet(
        session_id=session_id,
        purged=ws.attendance_purged_at is not None,
        tally=TallyPublic.model_validate(tally.as_json()),
        rows=[AttendancePublic.model_validate(r) for r in rows],
    )

"""Workshops (ateliers) and planning their sessions.

Organisers (staff, animators, the advisor) create and change workshops and plan sessions;
everyone signed in reads them. Planning a session books its room through the booking engine:
its refusals are 409 problem details with the engine's ``code``.
"""

from __future__ import annotations

from fastapi import Depends, status

from tierslieu.api.deps import EVERYONE, IdPath, RuntimeDep, SessionDep, SiteScopeDep
from tierslieu.api.routes.programme_views import ORGANISERS, session_public
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.programme import SessionCreate, SessionPublic, WorkshopCreate, WorkshopPublic, WorkshopUpdate
from tierslieu.db.types import utcnow
from tierslieu.models import Member
from tierslieu.programme import sessions, workshops
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import site_of_resource

router = PrefixRouter(prefix="/workshops", tags=["programme"])


@router.post("", response_model=WorkshopPublic, status_code=status.HTTP_201_CREATED)
def create_workshop(body: WorkshopCreate, session: SessionDep, actor: Member = Depends(ORGANISERS)) -> WorkshopPublic:
    workshop = workshops.create_workshop(
        session,
        actor=actor,
        title=body.title,
        description=body.description,
        themes=[t.value for t in body.themes],
        publics=[p.value for p in body.publics],
        duration_minutes=body.duration_minutes,
        capacity=body.capacity,
        leader_id=body.leader_id,
    )
    return WorkshopPublic.model_validate(workshop)


@router.get("", response_model=list[WorkshopPublic], dependencies=[Depends(EVERYONE)])
def list_workshops(session: SessionDep, scope: SiteScopeDep, include_inactive: bool = False) -> list[WorkshopPublic]:
    found = workshops.list_workshops(session, include_inactive=include_inactive, scope=scope)
    return [WorkshopPublic.model_validate(w) for w in found]


@router.get("/{workshop_id}", response_model=WorkshopPublic, dependencies=[Depends(EVERYONE)])
def get_workshop(workshop_id: IdPath, session: SessionDep) -> WorkshopPublic:
    return WorkshopPublic.model_validate(workshops.get_workshop(session, workshop_id))


@router.patch("/{workshop_id}", response_model=WorkshopPublic)
def update_workshop(
    workshop_id: IdPath, body: WorkshopUpdate, session: SessionDep, actor: Member = Depends(ORGANISERS)
) -> WorkshopPublic:
    changes = body.model_dump(mode="json", exclude_unset=True)
    workshop = workshops.update_workshop(session, actor=actor, workshop_id=workshop_id, changes=changes)
    return WorkshopPublic.model_validate(workshop)


@router.post(
    "/{workshop_id}/sessions",
    response_model=SessionPublic | list[SessionPublic],
    status_code=status.HTTP_201_CREATED,
)
def create_sessions(
    workshop_id: IdPath,
    body: SessionCreate,
    session: SessionDep,
    runtime: RuntimeDep,
    scope: SiteScopeDep,
    actor: Member = Depends(ORGANISERS),
) -> SessionPublic | list[SessionPublic]:
    """One session, or with ``recurrence`` one per date (all or nothing): the answer is then
    the list of sessions, in a room of the caller's sites (its local time: the site's)."""
    space_service.get_resource(session, body.resource_id)  # 404 for a room that does not exist
    scope.check(site_of_resource(session, body.resource_id))
    plan = sessions.SessionPlan(
        resource_id=body.resource_id,
        start=body.start,
        end=body.end,
        capacity=body.capacity,
        recurrence=body.recurrence,
        printer_ids=tuple(body.printer_ids),
        leader_id=body.leader_id,
        public=body.public,
    )
    created = sessions.create_sessions(
        session,
        actor=actor,
        workshop_id=workshop_id,
        plan=plan,
        now=utcnow(),
        tz=runtime.settings.tz,
        events=runtime.events,
    )
    public = [session_public(facts) for facts in sessions.describe(session, created)]
    return public if body.recurrence is not None else public[0]

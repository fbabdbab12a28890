"""Personal data: a person's export, erasure by an admin, one's own access log, and the
access report whose totals survive the retention purge."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from tierslieu.api.deps import ADMIN, EVERYONE, STAFF, Allow, IdPath, RuntimeDep, SessionDep, SiteScopeDep
from tierslieu.api.schemas.devices import AccessEventPublic
from tierslieu.db.types import utcnow
from tierslieu.errors import InvalidInput
from tierslieu.hardware.audit import AccessEventFilter, list_access_events
from tierslieu.models import Member
from tierslieu.privacy.retention import access_totals
from tierslieu.privacy.subject import erase_member, export_member
from tierslieu.services.members import get_member
from tierslieu.services.sites import timezone_of_scope

router = APIRouter(tags=["personal data"])

SELF_OR_ADMIN = Allow("admin", self_param="member_id")
MAX_DAYS = 366


class ErasedPublic(BaseModel):
    id: int
    erased: bool = True


class AccessCountPublic(BaseModel):
    day: date
    space_id: int | None
    device_id: int | None
    device_name: str
    decision: str
    reason: str
    count: int


@router.get("/members/me/access-events", response_model=list[AccessEventPublic])
def my_access_events(
    session: SessionDep,
    limit: int = Query(default=200, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=1_000_000),
    me: Member = Depends(EVERYONE),
) -> list[AccessEventPublic]:
    """The caller's own lines of the access log (kept ``access_log_retention_days``), newest first."""
    wanted = AccessEventFilter(member_id=me.id, limit=limit, offset=offset)
    return [AccessEventPublic.model_validate(e, from_attributes=True) for e in list_access_events(session, wanted)]


@router.get("/members/{member_id}/export", dependencies=[Depends(SELF_OR_ADMIN)])
def export(member_id: IdPath, session: SessionDep) -> dict[str, Any]:
    """Everything stored about a person (account, badges, trainings, tokens, bookings, waitlist,
    access events, print jobs), for the person themself and admins."""
    return export_member(session, get_member(session, member_id), utcnow())


@router.post("/members/{member_id}/erase", response_model=ErasedPublic)
def erase(member_id: IdPath, session: SessionDep, actor: Member = Depends(ADMIN)) -> ErasedPublic:
    """Remove a person's identity: badges revoked, name and e-mail replaced, no password, no
    tokens, account disabled; bookings, prints and access lines stay, without identity."""
    erase_member(session, get_member(session, member_id), actor, utcnow())
    return ErasedPublic(id=member_id)


@router.get("/reports/access", response_model=list[AccessCountPublic], dependencies=[Depends(STAFF)])
def access_report(
    session: SessionDep,
    runtime: RuntimeDep,
    scope: SiteScopeDep,
    from_: date | None = Query(default=None, alias="from", description="first local day (default: 30 days ago)"),
    to: date | None = Query(default=None, description="last local day, included (default: today)"),
) -> list[AccessCountPublic]:
    """Access-log lines per local day, door, space, decision and reason — purged days included
    (of the spaces of the caller's sites)."""
    tz = timezone_of_scope(session, scope, runtime.settings.tz)
    last = to or utcnow().astimezone(tz).date()
    first = from_ or last - timedelta(days=29)
    if first > last or (last - first).days >= MAX_DAYS or last.year >= 9999:
        raise InvalidInput("invalid_report_period", days=MAX_DAYS)
    totals = access_totals(session, first, last + timedelta(days=1), tz)
    shown = scope.space_ids(session)
    return [
        AccessCountPublic(**key._asdict(), count=count)
        for key, count in totals.items()
        if shown is None or key.space_id in shown
    ]

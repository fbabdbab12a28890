"""The access audit log: every badge decision and every staff door command."""

from __future__ import annotations

from datetime import datetime

from fastapi import Depends, Query

from tierslieu.api.deps import MAX_ID, STAFF, SessionDep, SiteScopeDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.devices import AccessEventPublic
from tierslieu.errors import InvalidInput
from tierslieu.hardware.audit import AccessEventFilter, list_access_events

router = PrefixRouter(prefix="/access-events", tags=["access"])


@router.get("", response_model=list[AccessEventPublic], dependencies=[Depends(STAFF)])
def access_events(
    session: SessionDep,
    scope: SiteScopeDep,
    space_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    member_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    device_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    from_: datetime | None = Query(default=None, alias="from", description="inclusive; with a timezone"),
    to: datetime | None = Query(default=None, description="exclusive; with a timezone"),
    limit: int = Query(default=200, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=1_000_000),
) -> list[AccessEventPublic]:
    """Newest first."""
    for moment in (from_, to):
        if moment is not None and moment.utcoffset() is None:
            raise InvalidInput("invalid_interval", msgid="invalid_interval.timezone")
    wanted = AccessEventFilter(space_id, member_id, device_id, from_, to, limit, offset)
    return [
        AccessEventPublic.model_validate(e, from_attributes=True) for e in list_access_events(session, wanted, scope)
    ]

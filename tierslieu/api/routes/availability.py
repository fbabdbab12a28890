"""Free time per resource, within opening hours and respecting buffers and the slot grid."""

from __future__ import annotations

from datetime import timedelta

from fastapi import Depends, Query
from pydantic import AwareDatetime

from tierslieu.api.deps import EVERYONE, MAX_ID, RuntimeDep, SessionDep, SiteScopeDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.bookings import AvailabilityPublic, FreeInterval, ResourceAvailability
from tierslieu.booking.vacancy import free_time
from tierslieu.db.types import utcnow

router = PrefixRouter(prefix="/availability", tags=["availability"])

DEFAULT_PERIOD = timedelta(days=7)


@router.get("", response_model=AvailabilityPublic, dependencies=[Depends(EVERYONE)])
def availability(
    session: SessionDep,
    runtime: RuntimeDep,
    scope: SiteScopeDep,
    space_id: int | None = Query(default=None, ge=1, le=MAX_ID, description="ses ressources actives"),
    resource_id: int | None = Query(default=None, ge=1, le=MAX_ID),
    start: AwareDatetime | None = Query(default=None, alias="from", description="par défaut maintenant"),
    end: AwareDatetime | None = Query(default=None, alias="to", description="par défaut 7 jours après ; 31 au plus"),
) -> AvailabilityPublic:
    """Free intervals of each resource of a space (or of one resource) within ``[from, to)``."""
    start = start or utcnow()
    end = end or start + DEFAULT_PERIOD
    found = free_time(
        session, space_id=space_id, resource_id=resource_id, start=start, end=end, tz=runtime.settings.tz, scope=scope
    )
    return AvailabilityPublic(
        start=start,
        end=end,
        resources=[
            ResourceAvailability(
                resource_id=item.resource.id or 0,
                name=item.resource.name,
                kind=item.resource.kind,
                slot_minutes=item.slot_minutes,
                buffer_minutes=item.buffer_minutes,
                free=[FreeInterval(start=a, end=b) for a, b in item.free],
            )
            for item in found
        ],
    )

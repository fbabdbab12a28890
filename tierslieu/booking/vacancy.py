"""Free time per resource over a period: what ``GET /availability`` answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from tierslieu.booking import store
from tierslieu.booking.availability import free_intervals
from tierslieu.booking.schedule import Interval, utc
from tierslieu.errors import InvalidInput
from tierslieu.models import Resource
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import ALL_SITES, SiteScope, site_of_resource, timezone_of_resource

__all__ = ["MAX_WINDOW", "ResourceFreeTime", "free_time"]

MAX_WINDOW = timedelta(days=31)


@dataclass(frozen=True)
class ResourceFreeTime:
    resource: Resource
    free: list[Interval]
    slot_minutes: int | None
    buffer_minutes: int


def _resources(session: Session, space_id: int | None, resource_id: int | None, scope: SiteScope) -> list[Resource]:
    if resource_id is not None:
        resource = space_service.get_resource(session, resource_id)
        scope.check(site_of_resource(session, resource_id))
        return [resource]
    if space_id is not None:
        scope.check(space_service.get_space(session, space_id).site_id)
        return [r for r in space_service.list_resources(session, space_id=space_id) if r.active]
    raise InvalidInput("space_or_resource_required")


def free_time(
    session: Session,
    *,
    space_id: int | None,
    resource_id: int | None,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    scope: SiteScope = ALL_SITES,
) -> list[ResourceFreeTime]:
    """Free intervals of each resource within ``[start, end)`` (at most 31 days): opening hours
    minus closures, holidays and active bookings widened by the buffer, on the slot grid, in
    the local time of the resource's site (``tz`` for none)."""
    start, end = utc(start), utc(end)
    if not start < end <= start + MAX_WINDOW:
        raise InvalidInput("invalid_period", msgid="invalid_period.vacancy")
    rules = store.RulesCache(session)
    found = []
    resources = _resources(session, space_id, resource_id, scope)
    # A space's resources share its site: one timezone for them all.
    local = timezone_of_resource(session, resources[0].id, tz) if resources else tz
    for resource in resources:
        assert resource.id is not None
        effective = rules(resource.id)
        taken = store.clashing_bookings(session, resource.id, start, end, effective.buffer_minutes)
        free = free_intervals(start, end, rules=effective, busy=[(b.start, b.end) for b in taken], tz=local)
        found.append(ResourceFreeTime(resource, free, effective.slot_minutes, effective.buffer_minutes))
    return found

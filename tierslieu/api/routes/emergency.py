"""Fire alarm: staff reset the release once the building is safe (audited in the access log)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from tierslieu.api.deps import RuntimeDep, SessionDep, StaffMember
from tierslieu.api.routing import PrefixRouter
from tierslieu.db.types import utcnow
from tierslieu.errors import Conflict
from tierslieu.hardware.doors import DoorController
from tierslieu.hardware.emergency import FIRE_RESET, alarm_in_log, emergency_line
from tierslieu.hardware.facts import FactsCache
from tierslieu.services.sites import list_sites, scope_for

router = PrefixRouter(prefix="/emergency", tags=["emergency"])


class EmergencyReset(BaseModel):
    alarm: bool
    alarm_since: datetime
    reset_at: datetime


@router.post("/reset", response_model=EmergencyReset)
def reset_emergency(session: SessionDep, runtime: RuntimeDep, actor: StaffMember) -> EmergencyReset:
    """End the fire release: each door goes back to what its bookings and overrides want.

    The release and its reset concern every door the controller drives, so a staff member
    scoped to some sites may reset it only when those are all the sites (403 otherwise)."""
    scope = scope_for(actor)
    for site in list_sites(session):
        scope.check(site.id)
    controller = runtime.controller
    doors, hub, facts = controller.doors, controller.hub, controller.facts
    since = alarm_in_log(session)
    if since is None and doors is not None:
        since = doors.emergency.since  # raised a moment ago, its line not written yet
    if since is None:
        raise Conflict("emergency.no_alarm")
    if hub is not None and hub.fire_panels_in_alarm():
        raise Conflict("emergency.still_in_alarm", panels=", ".join(panel.name for panel in hub.fire_panels_in_alarm()))
    now = utcnow()
    session.add(emergency_line(FIRE_RESET, now, None, None, member_id=actor.id))
    session.commit()
    if isinstance(doors, DoorController):
        doors.reset_emergency()
    if isinstance(facts, FactsCache):
        facts.refresh()
    return EmergencyReset(alarm=False, alarm_since=since, reset_at=now)

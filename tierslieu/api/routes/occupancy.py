"""Live occupancy of every space, as a list and as a Server-Sent Events stream.

Who may look: staff and admins, and animators — they run the workshops in the hall and the
FabLab and need to see who is in, which door is open and what is offline. Members and
municipal agents do not see the building's presence data.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from tierslieu.api.deps import Allow, RuntimeDep, request_language
from tierslieu.api.schemas.occupancy import SpaceOccupancyPublic
from tierslieu.occupancy.service import current_statuses
from tierslieu.occupancy.stream import StreamOptions, occupancy_events

router = APIRouter(prefix="/occupancy", tags=["occupancy"])

OCCUPANCY_VIEWERS = Allow("admin", "staff", "animator")


@router.get("", response_model=list[SpaceOccupancyPublic], dependencies=[Depends(OCCUPANCY_VIEWERS)])
def list_occupancy(request: Request, runtime: RuntimeDep) -> list[SpaceOccupancyPublic]:
    """Every space, parents first: presence, people, bookings running now, devices, alerts."""
    language = request_language(request)
    return [SpaceOccupancyPublic.model_validate(s.to_dict(language)) for s in current_statuses(runtime)]


@router.get(
    "/stream",
    dependencies=[Depends(OCCUPANCY_VIEWERS)],
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`snapshot` (all spaces), then `space` and `alert` events; `: keep-alive` comments. "
            "Without `Accept: text/event-stream` the response ends after the snapshot.",
        }
    },
)
def stream_occupancy(request: Request, runtime: RuntimeDep) -> StreamingResponse:
    """Server-Sent Events: the snapshot first, then every change (EventSource reconnects)."""
    settings = runtime.settings
    options = StreamOptions(
        locale=request_language(request),
        follow="text/event-stream" in request.headers.get("accept", ""),
        keepalive_seconds=settings.occupancy_keepalive_seconds,
        max_seconds=settings.occupancy_stream_max_seconds,
    )
    events = occupancy_events(runtime.events, lambda: current_statuses(runtime), options, request.is_disconnected)
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

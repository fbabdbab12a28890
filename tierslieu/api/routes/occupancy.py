"""Live occupancy of every space, as a list and as a Server-Sent Events stream.

Who may look: staff and admins, and animators — they run the workshops in the hall and the
FabLab and need to see who is in, which door is open and what is offline. Members and
municipal agents do not see the building's presence data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from fastapi import Depends, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from tierslieu.api.deps import Allow, RuntimeDep, SessionDep, SiteScopeDep, request_language
from tierslieu.api.load import StreamSlots
from tierslieu.api.routing import PrefixRouter
from tierslieu.api.schemas.occupancy import SpaceOccupancyPublic
from tierslieu.models import Member
from tierslieu.occupancy.service import current_statuses
from tierslieu.occupancy.stream import StreamOptions, occupancy_events

router = PrefixRouter(prefix="/occupancy", tags=["occupancy"])

OCCUPANCY_VIEWERS = Allow("admin", "staff", "animator")


@router.get("", response_model=list[SpaceOccupancyPublic], dependencies=[Depends(OCCUPANCY_VIEWERS)])
def list_occupancy(
    request: Request, runtime: RuntimeDep, session: SessionDep, scope: SiteScopeDep
) -> list[SpaceOccupancyPublic]:
    """Every space (of the caller's sites), parents first: presence, people, bookings running
    now, devices, alerts."""
    language, shown = request_language(request), scope.space_ids(session)
    return [
        SpaceOccupancyPublic.model_validate(s.to_dict(language))
        for s in current_statuses(runtime)
        if shown is None or s.space_id in shown
    ]


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`snapshot` (all spaces), then `space` and `alert` events; `: keep-alive` comments. "
            "Without `Accept: text/event-stream` the response ends after the snapshot.",
        }
    },
)
def stream_occupancy(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    scope: SiteScopeDep,
    viewer: Member = Depends(OCCUPANCY_VIEWERS),
) -> StreamingResponse:
    """Server-Sent Events: the snapshot first, then every change (EventSource reconnects).

    A stream holds no thread and no database connection while it waits for changes, only a
    slot: past ``sse_max_streams`` (or ``sse_max_streams_per_member``) the answer is 503 with
    Retry-After. The browser's EventSource retries by itself."""
    slots: StreamSlots = request.app.state.streams
    assert viewer.id is not None
    release = slots.take(viewer.id)
    settings = runtime.settings
    options = StreamOptions(
        locale=request_language(request),
        follow="text/event-stream" in request.headers.get("accept", ""),
        keepalive_seconds=settings.occupancy_keepalive_seconds,
        max_seconds=settings.occupancy_stream_max_seconds,
        # Read once: a space added to the viewer's sites shows at the next reconnect.
        space_ids=scope.space_ids(session),
    )
    events = occupancy_events(runtime.events, lambda: current_statuses(runtime), options, request.is_disconnected)
    return StreamingResponse(
        _released_at_end(events, release),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        # Also after a stream that never started (client gone first); releasing twice is a no-op.
        background=BackgroundTask(release),
    )


async def _released_at_end(events: AsyncIterator[bytes], release: Callable[[], None]) -> AsyncIterator[bytes]:
    try:
        async for frame in events:
            yield frame
    finally:
        release()

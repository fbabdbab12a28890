"""The occupancy Server-Sent Events stream: a snapshot first, then every change.

The subscription to the event hub is opened *before* the snapshot is taken, so no change can
fall between the two. Keep-alive comments go out when nothing happened for a while; the
stream ends when the client goes away, after ``max_seconds`` (the browser's EventSource then
reconnects and gets a fresh snapshot), or right after the snapshot for a client that did not
ask for ``text/event-stream`` (a plain HTTP GET must not hang).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from fastapi.sse import format_sse_event
from starlette.concurrency import run_in_threadpool

from tierslieu.events import Event, EventHub
from tierslieu.occupancy.alerts import Alert
from tierslieu.occupancy.state import SpaceStatus
from tierslieu.occupancy.tracker import TOPIC

__all__ = ["StreamOptions", "occupancy_events", "render_event"]

RETRY_MS = 5000


@dataclass(frozen=True, slots=True)
class StreamOptions:
    locale: str = "fr"
    follow: bool = True
    keepalive_seconds: float = 15.0
    max_seconds: float = 3600.0
    # The spaces the viewer may see (their sites'); None: every space.
    space_ids: frozenset[int] | None = None

    def shows(self, space_id: int) -> bool:
        return self.space_ids is None or space_id in self.space_ids


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render_event(
    event: Event, locale: str, event_id: int, shows: Callable[[int], bool] = lambda _space: True
) -> bytes | None:
    """The SSE frame for a hub event on the occupancy topic; None for what we do not know
    (or for a space the viewer may not see)."""
    kind = event.data.get("type")
    status, alert = event.data.get("status"), event.data.get("alert")
    if isinstance(status, SpaceStatus) and not shows(status.space_id):
        return None
    if isinstance(alert, Alert) and not shows(alert.space_id):
        return None
    if kind == "space" and isinstance(status, SpaceStatus):
        return format_sse_event(event="space", data_str=_json(status.to_dict(locale)), id=str(event_id))
    if kind == "alert" and isinstance(alert, Alert):
        body = {"state": event.data.get("state"), "alert": alert.to_dict(locale)}
        return format_sse_event(event="alert", data_str=_json(body), id=str(event_id))
    return None


def _snapshot_frame(snapshot: Callable[[], list[SpaceStatus]], options: StreamOptions) -> bytes:
    body = {"spaces": [s.to_dict(options.locale) for s in snapshot() if options.shows(s.space_id)]}
    return format_sse_event(event="snapshot", data_str=_json(body), id="0", retry=RETRY_MS)


async def occupancy_events(
    events: EventHub,
    snapshot: Callable[[], list[SpaceStatus]],
    options: StreamOptions,
    is_disconnected: Callable[[], Awaitable[bool]],
) -> AsyncIterator[bytes]:
    # EventHub.subscribe is an async generator: closing it unregisters the subscriber.
    subscription = cast(AsyncGenerator[Event, None], events.subscribe(TOPIC))
    pending: asyncio.Future[Event] = asyncio.ensure_future(anext(subscription))
    await asyncio.sleep(0)  # the subscriber is registered once the task has started
    loop = asyncio.get_running_loop()
    try:
        # Rendered in a worker thread too: hundreds of streams opening at once must not keep
        # the event loop (and everything it answers, the liveness probe first) busy.
        yield await run_in_threadpool(_snapshot_frame, snapshot, options)
        if not options.follow:
            return
        deadline = loop.time() + options.max_seconds
        event_id = 0
        while (remaining := deadline - loop.time()) > 0:
            done, _ = await asyncio.wait({pending}, timeout=min(options.keepalive_seconds, remaining))
            if pending in done:
                event = pending.result()
                pending = asyncio.ensure_future(anext(subscription))
                event_id += 1
                frame = render_event(event, options.locale, event_id, options.shows)
                if frame is not None:
                    yield frame
            elif await is_disconnected():
                return
            else:
                yield b": keep-alive\n\n"
    finally:
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await pending
        await subscription.aclose()

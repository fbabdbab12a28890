"""An in-process publish/subscribe hub for live updates (SSE streams, notifications).

Producers run in any thread (MQTT network thread, scheduler); consumers are asyncio tasks.
Events of the other processes of the deployment arrive here too, relayed through the broker
(``tierslieu.cluster.relay``), with the sending process in ``origin``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000


@dataclass(frozen=True)
class Event:
    topic: str  # "occupancy", "booking", "waitlist", "printer", "access"...
    data: dict[str, Any] = field(default_factory=dict)
    # None: published in this process; otherwise the process it was relayed from.
    origin: str | None = None


class EventHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event], frozenset[str]]] = []
        self._listeners: list[Callable[[Event], None]] = []

    def add_listener(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """A plain function called with every event in the publisher's thread (metrics): it must
        be quick and must not raise. Returns the function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                self._listeners = [x for x in self._listeners if x is not listener]

        return remove

    def publish(self, event: Event) -> None:
        with self._lock:
            targets = list(self._subscribers)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a listener never stops an event
                log.exception("event listener failed")
        for loop, queue, topics in targets:
            if topics and event.topic not in topics:
                continue
            try:
                loop.call_soon_threadsafe(self._offer, queue, event)
            except RuntimeError:  # the subscriber's loop is closed
                continue

    @staticmethod
    def _offer(queue: asyncio.Queue[Event], event: Event) -> None:
        if queue.full():
            # A slow consumer loses the oldest update, never blocks producers.
            queue.get_nowait()
        queue.put_nowait(event)

    async def subscribe(self, *topics: str) -> AsyncIterator[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        entry = (asyncio.get_running_loop(), queue, frozenset(topics))
        with self._lock:
            self._subscribers.append(entry)
        try:
            while True:
                yield await queue.get()
        finally:
            with self._lock:
                self._subscribers.remove(entry)

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

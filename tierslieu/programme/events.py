"""What the programme announces: typed events, heard inside the transaction of the change.

A listener (the notifications outbox) is called with the database session of the change, so
what it writes (an outbox row) commits or rolls back with it: never a message about a
registration that did not happen, never a registration whose message is lost. The same events
also go to the live :class:`~tierslieu.events.EventHub` (topic ``programme``) after commit.

    unsubscribe = runtime.programme_events.subscribe(outbox.on_programme_event)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Protocol

from sqlmodel import Session

from tierslieu.booking.notify import publish_after_commit
from tierslieu.events import EventHub

__all__ = ["ProgrammeEvent", "ProgrammeEventKind", "ProgrammeEvents", "ProgrammeListener"]


class ProgrammeEventKind(StrEnum):
    registration_confirmed = "registration_confirmed"
    registration_waitlisted = "registration_waitlisted"
    waitlist_promoted = "waitlist_promoted"  # a waitlisted registration got a seat
    registration_cancelled = "registration_cancelled"
    session_cancelled = "session_cancelled"  # one per open registration, then one for the session
    appointment_booked = "appointment_booked"
    appointment_cancelled = "appointment_cancelled"


@dataclass(frozen=True)
class ProgrammeEvent:
    """What happened, by ids: a listener reads what it needs in the same session."""

    kind: ProgrammeEventKind
    session_id: int | None = None
    registration_id: int | None = None
    appointment_id: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "kind": str(self.kind)}


class ProgrammeListener(Protocol):
    def __call__(self, session: Session, event: ProgrammeEvent) -> None: ...


class ProgrammeEvents:
    """The listeners of one running service (created with the ``Runtime``, no global)."""

    def __init__(self, hub: EventHub | None = None) -> None:
        self._hub = hub
        self._lock = threading.Lock()
        self._listeners: list[ProgrammeListener] = []

    def subscribe(self, listener: ProgrammeListener) -> Callable[[], None]:
        """Add ``listener``; returns the function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def emit(self, session: Session, event: ProgrammeEvent) -> None:
        """Call every listener in the caller's transaction (a failing listener fails the change),
        then queue the live event for after commit."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(session, event)
        publish_after_commit(session, self._hub, "programme", event.as_dict())

"""Publish booking events once the transaction that caused them is committed.

A service publishes while its session is still open; publishing at once would announce a
booking that a later error rolls back. Events wait in ``session.info`` and go out after commit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from tierslieu.events import Event, EventHub

__all__ = ["booking_event", "publish_after_commit"]

_PENDING = "tierslieu.pending_events"


def publish_after_commit(session: Session, hub: EventHub | None, topic: str, data: dict[str, Any]) -> None:
    """Queue ``Event(topic, data)`` on ``hub``, sent when ``session`` commits (dropped on rollback)."""
    if hub is None:
        return
    pending: list[tuple[EventHub, Event]] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _send)
        event.listen(session, "after_rollback", _drop)
    pending.append((hub, Event(topic, data)))


def _send(session: Session) -> None:
    pending: list[tuple[EventHub, Event]] = session.info.get(_PENDING, [])
    sent, pending[:] = list(pending), []
    for hub, ev in sent:
        hub.publish(ev)


def _drop(session: Session) -> None:
    session.info.get(_PENDING, []).clear()


def booking_event(action: str, booking: Any) -> dict[str, Any]:
    """The payload of a ``booking`` event: what changed and the booking's new state."""
    return {
        "action": action,
        "booking_id": booking.id,
        "resource_id": booking.resource_id,
        "member_id": booking.member_id,
        "status": booking.status,
        "start": booking.start.isoformat(),
        "end": booking.end.isoformat(),
    }

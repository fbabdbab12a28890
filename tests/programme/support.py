"""Builders for the programme's tests: a room, a workshop, a session, and a recorder of events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from tests.booking.factory import make_resource
from tests.conftest import ApiUser, AppHarness
from tierslieu.programme.events import ProgrammeEvent
from tierslieu.runtime import Runtime

__all__ = ["EventRecorder", "iso", "make_room", "make_session", "make_workshop"]

THEMES = ["Maîtrise des outils numériques du quotidien", "Aide aux démarches administratives"]


def iso(moment: datetime) -> str:
    return moment.isoformat()


def make_room(runtime: Runtime, rules: dict[str, Any] | None = None, *, capacity: int | None = 40) -> int:
    """A room (a resource of kind ``room``) in a space of its own, committed."""
    with runtime.db.session(write=True) as session:
        room = make_resource(session, rules, kind="room")
        room.capacity = capacity
        session.add(room)
        session.commit()
        assert room.id is not None
        return room.id


def make_workshop(api: AppHarness, by: ApiUser | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": f"Atelier {uuid.uuid4().hex[:6]}",
        "themes": THEMES,
        "publics": ["seniors"],
        "duration_minutes": 90,
        "capacity": 12,
        **fields,
    }
    response = api.client.post("/api/v1/workshops", json=body, headers=(by or api.users["animator"]).headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def make_session(
    api: AppHarness, workshop_id: int, room_id: int, start: datetime, by: ApiUser | None = None, **fields: Any
) -> Any:
    body = {"resource_id": room_id, "start": iso(start), **fields}
    headers = (by or api.users["animator"]).headers
    response = api.client.post(f"/api/v1/workshops/{workshop_id}/sessions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


@dataclass
class EventRecorder:
    """A programme listener that records what it hears (and checks it runs in the transaction)."""

    heard: list[ProgrammeEvent] = field(default_factory=list)

    def __call__(self, session: Session, event: ProgrammeEvent) -> None:
        assert session.in_transaction()
        self.heard.append(event)

    def kinds(self, registration_id: int | None = None) -> list[str]:
        return [str(e.kind) for e in self.heard if registration_id is None or e.registration_id == registration_id]


def soon(minutes: int = 10) -> datetime:
    """A start a few minutes ahead, to the minute (the roll-call is open an hour before)."""
    from tierslieu.db.types import utcnow

    return (utcnow() + timedelta(minutes=minutes)).replace(second=0, microsecond=0)

"""Capacity is never exceeded, for real: 30 members register at the same instant for a session
of 12 seats, through the app served by uvicorn, on SQLite (BEGIN IMMEDIATE) and PostgreSQL
(the seat counter's conditional UPDATE and CHECK) — exactly 12 confirmed and 18 waitlisted,
positions 1 to 18, and the counter says 12."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from tests.booking.factory import at, future_weekday
from tests.conftest import ApiUser, create_user, make_settings
from tests.programme.support import iso, make_room
from tests.support.server import LiveServer, live_server
from tierslieu.api import create_app
from tierslieu.models import Registration, WorkshopSession

REGISTRANTS = 30
SEATS = 12


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    with live_server(create_app(make_settings(url, tmp_path))) as srv:
        yield srv


def _user(srv: LiveServer, role: str = "member") -> ApiUser:
    return create_user(srv.runtime, role, email=f"{role}-{uuid.uuid4().hex[:10]}@trilport.test")


def _session_of(srv: LiveServer, seats: int) -> int:
    animator = _user(srv, "animator")
    room = make_room(srv.runtime)
    with httpx.Client(base_url=srv.url, headers=animator.headers, timeout=30) as client:
        workshop = client.post(
            "/api/v1/workshops",
            json={"title": "Atelier tablette", "themes": ["Maîtrise des outils numériques du quotidien"],
                  "publics": ["seniors"], "duration_minutes": 90, "capacity": seats},
        ).json()  # fmt: skip
        created = client.post(
            f"/api/v1/workshops/{workshop['id']}/sessions",
            json={"resource_id": room, "start": iso(at(future_weekday(1), "14:00"))},
        )
        assert created.status_code == 201, created.text
        session_id: int = created.json()["id"]
        return session_id


def _register_together(srv: LiveServer, session_id: int, users: list[ApiUser]) -> list[httpx.Response]:
    start_together = threading.Barrier(len(users))

    def register(user: ApiUser) -> httpx.Response:
        with httpx.Client(base_url=srv.url, timeout=60) as client:
            start_together.wait()
            return client.post(f"/api/v1/sessions/{session_id}/registrations", json={}, headers=user.headers)

    with ThreadPoolExecutor(len(users)) as pool:
        return list(pool.map(register, users))


def test_thirty_registrations_for_twelve_seats(server: LiveServer) -> None:
    session_id = _session_of(server, SEATS)
    users = [_user(server) for _ in range(REGISTRANTS)]
    responses = _register_together(server, session_id, users)
    assert Counter(r.status_code for r in responses) == {201: REGISTRANTS}, [r.text for r in responses]
    answers = [r.json() for r in responses]
    assert Counter(a["status"] for a in answers) == {"confirmed": SEATS, "waitlisted": REGISTRANTS - SEATS}
    # Every waitlisted answer has its own place in the queue (ranks read in the same transaction).
    waitlisted = sorted(answers, key=lambda a: a["id"])
    waitlisted = [a for a in waitlisted if a["status"] == "waitlisted"]
    assert [a["position"] for a in waitlisted] == list(range(1, REGISTRANTS - SEATS + 1))
    with server.runtime.db.session() as db:
        ws = db.get(WorkshopSession, session_id)
        rows = db.exec(select(Registration).where(Registration.session_id == session_id)).all()
    assert ws is not None and ws.seats_taken == SEATS
    assert sum(r.seats for r in rows if r.status == "confirmed") == SEATS
    assert len({r.member_id for r in rows}) == REGISTRANTS

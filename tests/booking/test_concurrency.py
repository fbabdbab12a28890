"""Never a double booking, for real: 50 simultaneous HTTP requests for one desk and slot
against the app served by uvicorn, on SQLite (BEGIN IMMEDIATE) and PostgreSQL (exclusion
constraint) — exactly one 201, 49 409 ``overlap``."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.booking.factory import at, committed_resource, future_weekday
from tests.conftest import ApiUser, create_user, make_settings
from tests.support.server import LiveServer, live_server
from tierslieu.api import create_app

REQUESTS = 50


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveServer]:
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    with live_server(create_app(make_settings(url, tmp_path))) as srv:
        yield srv


def _user(srv: LiveServer, role: str = "member") -> ApiUser:
    return create_user(srv.runtime, role, email=f"{role}-{uuid.uuid4().hex[:10]}@trilport.test")


def _resource_id(srv: LiveServer) -> int:
    return committed_resource(srv.runtime)


def _fire(srv: LiveServer, bodies: list[tuple[ApiUser, dict[str, Any]]]) -> list[httpx.Response]:
    start_together = threading.Barrier(len(bodies))

    def post(item: tuple[ApiUser, dict[str, Any]]) -> httpx.Response:
        user, body = item
        with httpx.Client(base_url=srv.url, timeout=60) as client:
            start_together.wait()
            return client.post("/api/v1/bookings", json=body, headers=user.headers)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def test_fifty_requests_for_one_slot_give_one_booking(server: LiveServer) -> None:
    resource_id = _resource_id(server)
    users = [_user(server) for _ in range(5)]
    day = future_weekday(1)
    body = {"resource_id": resource_id, "start": at(day, "10:00").isoformat(), "end": at(day, "11:00").isoformat()}
    responses = _fire(server, [(users[i % len(users)], body) for i in range(REQUESTS)])
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: REQUESTS - 1}, [r.text for r in responses if r.status_code not in (201, 409)]
    conflicts = [r.json() for r in responses if r.status_code == 409]
    assert {c["code"] for c in conflicts} == {"overlap"}
    assert all("réservé" in c["detail"] for c in conflicts)
    listed = httpx.get(
        f"{server.url}/api/v1/bookings",
        params={"resource_id": resource_id},
        headers=_user(server, "staff").headers,
    ).json()
    assert len(listed) == 1 and listed[0]["status"] == "confirmed"


def test_adjacent_slots_both_succeed(server: LiveServer) -> None:
    resource_id = _resource_id(server)
    first, second = _user(server), _user(server)
    day = future_weekday(2)
    bodies = [
        (
            first,
            {"resource_id": resource_id, "start": at(day, "10:00").isoformat(), "end": at(day, "11:00").isoformat()},
        ),
        (
            second,
            {"resource_id": resource_id, "start": at(day, "11:00").isoformat(), "end": at(day, "12:00").isoformat()},
        ),
    ]
    responses = _fire(server, bodies)
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]

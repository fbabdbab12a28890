"""The request path's round trips on PostgreSQL, and what keeps them few safe.

- A read-only request runs in autocommit: no BEGIN, no COMMIT; a warm ``members/me`` is one
  statement (the identity generation). A writing request's BEGIN rides with that same read.
- A write still checks its cached caller at once: a token revoked or a role withdrawn meanwhile
  is refused (401, 403) and nothing is written.
- No ping per checkout: a pooled connection whose server side died (killed backend, restart)
  is replaced at checkout, so the next request works.
- A connection that dies inside a writing request's transaction: 503 ``database_busy``, nothing
  written, and the next request works.
- A read-only session (both databases) that writes after all gets its transaction before its
  first write.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.conftest import create_user, make_settings
from tests.programme.support import THEMES
from tierslieu.app import create_app
from tierslieu.db import Database, transaction_open
from tierslieu.db.types import utcnow
from tierslieu.models import Booking, Space
from tierslieu.runtime import Runtime
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import default_site_id


@pytest.fixture
def pg_app(pg_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Runtime]]:
    with TestClient(create_app(make_settings(pg_url, tmp_path), migrate=False)) as client:
        yield client, client.app.state.runtime  # type: ignore[attr-defined]


class Statements:
    """Every statement sent to PostgreSQL, as the driver's cursors get them (through
    SQLAlchemy or straight on the driver, as the identity read is), and the COMMITs: one
    round trip each."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[str] = []
        execute, commit = psycopg.Cursor.execute, psycopg.Connection.commit

        def recorded(cursor: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
            self.sent.append(str(query))
            return execute(cursor, query, *args, **kwargs)

        def committed(conn: psycopg.Connection[Any]) -> None:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self.sent.append("COMMIT")
            commit(conn)

        monkeypatch.setattr(psycopg.Cursor, "execute", recorded)
        monkeypatch.setattr(psycopg.Connection, "commit", committed)

    def during(self, action: Any) -> list[str]:
        self.sent.clear()
        action()
        return list(self.sent)


def test_a_warm_members_me_is_one_statement_and_a_booking_has_no_savepoint(
    pg_app: tuple[TestClient, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, runtime = pg_app
    user = create_user(runtime, "member", email="trips@trilport.test")
    resource_id = _resource(runtime)
    statements = Statements(monkeypatch)
    assert client.get("/api/v1/members/me", headers=user.headers).status_code == 200  # warms the cache
    me = statements.during(lambda: client.get("/api/v1/members/me", headers=user.headers))
    assert me == [GENERATION]  # no BEGIN, no COMMIT
    body = {"resource_id": resource_id, "start": "2031-03-04T10:00:00+01:00", "end": "2031-03-04T11:00:00+01:00"}
    assert client.post("/api/v1/bookings", json=body, headers=user.headers).status_code == 201  # warms the rules
    body |= {"start": "2031-03-04T12:00:00+01:00", "end": "2031-03-04T13:00:00+01:00"}
    sent = statements.during(lambda: client.post("/api/v1/bookings", json=body, headers=user.headers))
    # The transaction opens with the identity read, in one round trip; then the clashes and the
    # insert (the resource, its rules and the caller's trainings come from the caches); no
    # savepoint, no ping; the COMMIT.
    assert [s.split()[0] for s in sent] == ["SELECT", "SELECT", "INSERT", "COMMIT"]
    assert sent[0] == f"{GENERATION}; BEGIN"


def test_a_registration_that_fits_reads_its_session_with_the_seats_it_takes(
    pg_app: tuple[TestClient, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, runtime = pg_app
    session_id = _workshop_session(client, runtime)
    user = create_user(runtime, "member", email="inscrite@trilport.test")
    statements = Statements(monkeypatch)
    assert client.get("/api/v1/members/me", headers=user.headers).status_code == 200
    url = f"/api/v1/sessions/{session_id}/registrations"
    sent = statements.during(lambda: client.post(url, json={}, headers=user.headers))
    # The identity read with the BEGIN; the seats taken, returning the session and its workshop;
    # the registration; its confirmation e-mail; the COMMIT. No savepoint, no ping.
    assert [statement.split()[0] for statement in sent] == ["SELECT", "UPDATE", "INSERT", "INSERT", "COMMIT"]
    assert sent[0] == f"{GENERATION}; BEGIN"
    assert "RETURNING" in sent[1] and "workshop.title" in sent[1]


def test_a_token_revoked_just_before_a_booking_is_refused_and_books_nothing(pg_app: tuple[TestClient, Runtime]) -> None:
    client, runtime = pg_app
    user = create_user(runtime, "member", email="revoquee@trilport.test")
    resource_id = _resource(runtime)
    assert client.get("/api/v1/members/me", headers=user.headers).status_code == 200  # cached for a few seconds
    assert client.post("/api/v1/auth/logout", headers=user.headers).status_code == 204
    body = {"resource_id": resource_id, "start": "2031-03-04T10:00:00+01:00", "end": "2031-03-04T11:00:00+01:00"}
    refused = client.post("/api/v1/bookings", json=body, headers=user.headers)
    assert refused.status_code == 401
    with runtime.db.session() as session:
        assert session.exec(select(Booking).where(Booking.resource_id == resource_id)).all() == []


def test_a_role_withdrawn_just_before_a_booking_for_someone_else_is_refused(pg_app: tuple[TestClient, Runtime]) -> None:
    client, runtime = pg_app
    staff = create_user(runtime, "staff", email="accueil@trilport.test")
    admin = create_user(runtime, "admin", email="admin-trips@trilport.test")
    resident = create_user(runtime, "member", email="habitante@trilport.test")
    resource_id = _resource(runtime)
    body = {
        "resource_id": resource_id, "member_id": resident.id,
        "start": "2031-03-04T10:00:00+01:00", "end": "2031-03-04T11:00:00+01:00",
    }  # fmt: skip
    assert client.get("/api/v1/members/me", headers=staff.headers).status_code == 200  # cached as staff
    demoted = client.patch(f"/api/v1/members/{staff.id}", json={"roles": ["member"]}, headers=admin.headers)
    assert demoted.status_code == 200, demoted.text
    refused = client.post("/api/v1/bookings", json=body, headers=staff.headers)
    assert refused.status_code == 403, refused.text
    with runtime.db.session() as session:
        assert session.exec(select(Booking).where(Booking.resource_id == resource_id)).all() == []


GENERATION = "SELECT value FROM identity_generation WHERE id = 1"


def _resource(runtime: Runtime) -> int:
    with runtime.db.session(write=True) as session:
        space = space_service.create_space(session, name="Salle", kind="room", rules={"public_holidays_closed": False})
        resource = space_service.create_resource(session, name="Bureau", kind="desk", space_id=space.id or 0)
        session.commit()
        assert resource.id is not None
        return resource.id


def _workshop_session(client: TestClient, runtime: Runtime) -> int:
    animator = create_user(runtime, "animator", email="animatrice-trips@trilport.test")
    with runtime.db.session(write=True) as session:
        space = space_service.create_space(
            session, name="Atelier", kind="room", rules={"public_holidays_closed": False}
        )
        room = space_service.create_resource(session, name="Atelier", kind="room", space_id=space.id or 0)
        session.commit()
    workshop = client.post(
        "/api/v1/workshops",
        json={"title": "Premiers pas", "themes": THEMES[:1], "duration_minutes": 60, "capacity": 8},
        headers=animator.headers,
    )
    assert workshop.status_code == 201, workshop.text
    start = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    created = client.post(
        f"/api/v1/workshops/{workshop.json()['id']}/sessions",
        json={"resource_id": room.id, "start": start.isoformat()},
        headers=animator.headers,
    )
    assert created.status_code == 201, created.text
    session_id: int = created.json()["id"]
    return session_id


def _kill_backends(pg_url: str) -> None:
    """Terminate every server process of the app's database, as a restart does, and wait."""
    name = pg_url.rsplit("/", 1)[1]
    admin = pg_url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        query = (
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()"
        )
        assert conn.execute(query, (name,)).fetchone() is not None
        deadline = time.monotonic() + 10
        alive = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
        while (row := conn.execute(alive, (name,)).fetchone()) and row[0] and time.monotonic() < deadline:
            time.sleep(0.05)


def test_requests_after_the_servers_connections_died_still_work(
    pg_app: tuple[TestClient, Runtime], pg_url: str
) -> None:
    client, runtime = pg_app
    user = create_user(runtime, "member", email="survivor@trilport.test")
    assert client.get("/api/v1/members/me", headers=user.headers).status_code == 200  # pooled connections
    for _ in range(2):  # twice: the replacements are pooled and reused in turn
        _kill_backends(pg_url)
        assert client.get("/api/v1/members/me", headers=user.headers).status_code == 200
        assert client.post("/api/v1/auth/logout", headers=user.headers).status_code == 204
        user = create_user(runtime, "member", email=f"survivor-{time.monotonic_ns()}@trilport.test")


def test_a_booking_whose_connection_dies_mid_transaction_is_answered_503_and_books_nothing(
    pg_app: tuple[TestClient, Runtime], pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server goes away between the transaction's first statement and the insert: the
    # request is told to retry (not a 500), the rollback of the dead transaction raises nothing
    # of its own, and the retry books once.
    client, runtime = pg_app
    user = create_user(runtime, "member", email="coupure@trilport.test")
    resource_id = _resource(runtime)
    body = {"resource_id": resource_id, "start": "2031-03-04T10:00:00+01:00", "end": "2031-03-04T11:00:00+01:00"}
    execute = psycopg.Cursor.execute
    killed: list[str] = []

    def dies_before_the_insert(cursor: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        if str(query).startswith("INSERT INTO booking") and not killed:
            killed.append(str(query))
            _kill_backends(pg_url)
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", dies_before_the_insert)
    refused = client.post("/api/v1/bookings", json=body, headers=user.headers)
    assert killed, "the booking never reached its insert"
    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "database_busy"
    assert refused.headers["retry-after"]
    retried = client.post("/api/v1/bookings", json=body, headers=user.headers)
    assert retried.status_code == 201, retried.text
    with runtime.db.session() as session:
        booked = session.exec(select(Booking).where(Booking.resource_id == resource_id)).all()
    assert [booking.id for booking in booked] == [retried.json()["id"]]


def test_a_read_only_session_opens_a_transaction_before_it_writes(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.session(write=True) as session:
            site_id = default_site_id(session, "Europe/Paris")
            session.commit()
        with db.session(read_only=True) as session:
            session.exec(select(Space)).all()
            assert not transaction_open(session)  # autocommit: nothing to end
            session.add(Space(name="Écrite", kind="room", site_id=site_id))
            session.flush()
            assert transaction_open(session)
            session.rollback()
        with db.session() as session:
            assert session.exec(select(Space).where(Space.name == "Écrite")).first() is None
    finally:
        db.dispose()

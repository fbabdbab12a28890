"""The request path's round trips on PostgreSQL, and what keeps them few safe.

- A read-only request runs in autocommit: no BEGIN, no COMMIT; a warm ``members/me`` is one
  statement (the identity generation). A writing request's BEGIN rides with that same read.
- No ping per checkout: a pooled connection whose server side died (killed backend, restart)
  is replaced at checkout, so the next request works.
- A read-only session (both databases) that writes after all gets its transaction before its
  first write.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.conftest import create_user, make_settings
from tierslieu.app import create_app
from tierslieu.db import Database, transaction_open
from tierslieu.models import Space
from tierslieu.runtime import Runtime
from tierslieu.services import spaces as space_service
from tierslieu.services.sites import default_site_id


@pytest.fixture
def pg_app(pg_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, Runtime]]:
    with TestClient(create_app(make_settings(pg_url, tmp_path), migrate=False)) as client:
        yield client, client.app.state.runtime  # type: ignore[attr-defined]


class Statements:
    """Every statement sent to PostgreSQL, as the driver's cursors get them (through
    SQLAlchemy or straight on the driver, as the identity read is)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[str] = []
        execute = psycopg.Cursor.execute

        def recorded(cursor: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
            self.sent.append(str(query))
            return execute(cursor, query, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "execute", recorded)

    def during(self, action: Any) -> list[str]:
        self.sent.clear()
        action()
        return list(self.sent)


def test_a_warm_members_me_is_one_statement_and_a_booking_has_no_savepoint(
    pg_app: tuple[TestClient, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, runtime = pg_app
    user = create_user(runtime, "member", email="trips@trilport.test")
    with runtime.db.session(write=True) as session:
        space = space_service.create_space(session, name="Salle", kind="room", rules={"public_holidays_closed": False})
        resource = space_service.create_resource(session, name="Bureau", kind="desk", space_id=space.id or 0)
        session.commit()
    statements = Statements(monkeypatch)
    assert client.get("/api/v1/members/me", headers=user.headers).status_code == 200  # warms the cache
    me = statements.during(lambda: client.get("/api/v1/members/me", headers=user.headers))
    assert me == ["SELECT value FROM identity_generation WHERE id = 1"]  # no BEGIN, no COMMIT
    body = {"resource_id": resource.id, "start": "2031-03-04T10:00:00+01:00", "end": "2031-03-04T11:00:00+01:00"}
    assert client.post("/api/v1/bookings", json=body, headers=user.headers).status_code == 201  # warms the rules
    body |= {"start": "2031-03-04T12:00:00+01:00", "end": "2031-03-04T13:00:00+01:00"}
    sent = statements.during(lambda: client.post("/api/v1/bookings", json=body, headers=user.headers))
    # The transaction opens with the identity read, in one round trip; then the clashes and the
    # insert (the resource, its rules and the caller's trainings come from the caches); no
    # savepoint, no ping; the COMMIT follows.
    assert [s.split()[0] for s in sent] == ["SELECT", "SELECT", "INSERT"]
    assert sent[0] == "SELECT value FROM identity_generation WHERE id = 1; BEGIN"


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

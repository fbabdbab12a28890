"""The per-token identity cache: revocation, disabling, role changes and expiry act at once.

Two apps on one database stand for two processes: each has its own cache, and only the
database's identity generation tells the second one that the first changed someone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.conftest import AppHarness
from tierslieu.api import create_app
from tierslieu.models import IdentityGeneration
from tierslieu.services import members as member_service


@pytest.fixture
def other(api_any_db: AppHarness) -> Iterator[TestClient]:
    """A second process on the same database (own runtime, own identity cache)."""
    with TestClient(create_app(api_any_db.runtime.settings, migrate=False), raise_server_exceptions=False) as client:
        yield client


def _me(client: TestClient, headers: dict[str, str]) -> int:
    status: int = client.get("/api/v1/members/me", headers=headers).status_code
    return status


def _generation(api: AppHarness) -> int:
    with api.runtime.db.session() as session:
        return session.exec(select(IdentityGeneration.value)).one()


def test_logout_elsewhere_is_refused_at_once(api_any_db: AppHarness, other: TestClient) -> None:
    user = api_any_db.user("member", email="leaving@trilport.test")
    assert _me(other, user.headers) == _me(api_any_db.client, user.headers) == 200  # both caches warm
    assert api_any_db.client.post("/api/v1/auth/logout", headers=user.headers).status_code == 204
    assert _me(other, user.headers) == 401
    assert _me(api_any_db.client, user.headers) == 401


def test_disabling_or_demoting_acts_at_once_in_every_process(api_any_db: AppHarness, other: TestClient) -> None:
    admin = api_any_db.users["admin"].headers
    staff = api_any_db.user("staff", email="demoted@trilport.test")
    member = api_any_db.user("member", email="disabled@trilport.test")
    assert other.get("/api/v1/members", headers=staff.headers).status_code == 200
    assert _me(other, member.headers) == 200
    demote = {"roles": ["member"]}
    assert api_any_db.client.patch(f"/api/v1/members/{staff.id}", json=demote, headers=admin).status_code == 200
    assert other.get("/api/v1/members", headers=staff.headers).status_code == 403
    disable = {"active": False}
    assert api_any_db.client.patch(f"/api/v1/members/{member.id}", json=disable, headers=admin).status_code == 200
    assert _me(other, member.headers) == 401


def test_a_cached_token_still_expires_on_time(api_any_db: AppHarness) -> None:
    user = api_any_db.user("member", email="short@trilport.test")
    with api_any_db.runtime.db.session(write=True) as session:
        member = member_service.get_member(session, user.id)
        token = member_service.issue_token(session, member, lifetime=timedelta(seconds=1))
        session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    assert _me(api_any_db.client, headers) == 200  # now cached, for longer than the token lives
    time.sleep(1.1)
    expired = api_any_db.client.get("/api/v1/members/me", headers=headers)
    assert expired.status_code == 401 and expired.json()["code"] == "token_expired"


def test_only_changes_to_members_and_tokens_move_the_generation(api_any_db: AppHarness) -> None:
    before = _generation(api_any_db)
    user = api_any_db.user("member", email="new@trilport.test")  # a new member and a new token
    assert _me(api_any_db.client, user.headers) == 200
    assert _generation(api_any_db) == before  # log-ins do not empty every process's cache
    api_any_db.client.patch(f"/api/v1/members/{user.id}", json={"name": "Autre"}, headers=user.headers)
    assert _generation(api_any_db) == before + 1

"""The per-token identity cache: revocation, disabling, role changes and expiry act at once.

Two apps on one database stand for two processes: each has its own cache, and only the
database's identity generation tells the second one that the first changed someone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.conftest import AppHarness
from tierslieu.api import create_app
from tierslieu.db.types import utcnow
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


def test_only_changes_to_members_tokens_badges_and_trainings_move_the_generation(api_any_db: AppHarness) -> None:
    before = _generation(api_any_db)
    user = api_any_db.user("member", email="new@trilport.test")  # a new member and a new token
    assert _me(api_any_db.client, user.headers) == 200
    assert _generation(api_any_db) == before  # log-ins do not empty every process's cache
    api_any_db.client.patch(f"/api/v1/members/{user.id}", json={"name": "Autre"}, headers=user.headers)
    assert _generation(api_any_db) == before + 1
    staff = api_any_db.users["staff"].headers
    api_any_db.client.post(f"/api/v1/members/{user.id}/badges", json={"uid": "04A1B2C3"}, headers=staff)
    assert _generation(api_any_db) == before + 2  # an insert too: the cached profile lists badges


def test_badges_and_trainings_show_at_once_in_every_process(api_any_db: AppHarness, other: TestClient) -> None:
    """members/me answers from the cache; a badge or a training given elsewhere still shows."""
    staff = api_any_db.users["staff"].headers
    user = api_any_db.user("member", email="profile@trilport.test")

    def profile() -> tuple[list[str], list[str]]:
        body = other.get("/api/v1/members/me", headers=user.headers).json()
        return [b["uid"] for b in body["badges"]], [t["training"] for t in body["trainings"]]

    assert profile() == ([], [])  # now cached in the other process
    base = f"/api/v1/members/{user.id}"
    assert api_any_db.client.post(f"{base}/badges", json={"uid": "04A1B2C3"}, headers=staff).status_code == 201
    assert profile() == (["04A1B2C3"], [])
    assert api_any_db.client.post(f"{base}/trainings", json={"training": "laser"}, headers=staff).status_code == 201
    assert profile() == (["04A1B2C3"], ["laser"])
    assert api_any_db.client.delete(f"{base}/badges/04A1B2C3", headers=staff).status_code == 204
    assert api_any_db.client.delete(f"{base}/trainings/laser", headers=staff).status_code == 204
    assert profile() == ([], [])


def test_a_session_reads_the_trainings_it_writes_and_never_shares_them(api_any_db: AppHarness) -> None:
    """The cached profile serves a request only until that request writes a badge or a training,
    and what a request wrote reaches the shared cache only once committed (then through the
    generation)."""
    user = api_any_db.user("member", email="self@trilport.test")
    runtime = api_any_db.runtime

    def request(grant: str | None, commit: bool) -> dict[str, date | None]:
        with runtime.db.session(write=True) as session:
            member = runtime.identities.member_for_token(session, user.token, utcnow())
            assert member_service.trainings_of(session, user.id) == {}  # from the shared profile
            if grant is not None:
                member_service.grant_training(session, member, grant, expires_on=None, granted_by=None)
            seen = member_service.trainings_of(session, user.id)
            if commit:
                session.commit()
            return seen

    assert request(None, commit=False) == {}  # fills the cached profile
    assert request("soudure", commit=False) == {"soudure": None}  # its own write, then rolled back
    assert request(None, commit=False) == {}  # the rolled-back training never reached the cache
    assert request("laser", commit=True) == {"laser": None}
    with runtime.db.session() as session:
        runtime.identities.member_for_token(session, user.token, utcnow())
        assert member_service.trainings_of(session, user.id) == {"laser": None}

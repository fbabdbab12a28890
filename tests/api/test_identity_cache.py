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

from tests.booking.factory import at, committed_resource, future_weekday
from tests.conftest import AppHarness
from tierslieu.api import create_app
from tierslieu.db.types import utcnow
from tierslieu.models import Booking, IdentityGeneration
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


def _desk(api: AppHarness) -> int:
    return committed_resource(api.runtime)


def _booking_body(resource_id: int, member_id: int | None = None, hour: int = 10) -> dict[str, object]:
    day = future_weekday()
    body: dict[str, object] = {"resource_id": resource_id, "start": at(day, f"{hour}:00").isoformat()}
    body["end"] = at(day, f"{hour + 1}:00").isoformat()
    return body if member_id is None else {**body, "member_id": member_id}


def _bookings_of(api: AppHarness, resource_id: int) -> int:
    with api.runtime.db.session() as session:
        return len(session.exec(select(Booking).where(Booking.resource_id == resource_id)).all())


def test_a_write_confirms_its_cached_identity_before_it_acts(api_any_db: AppHarness, other: TestClient) -> None:
    """Writing routes check their policy against the cached identity and confirm it in the
    handler's thread: a token revoked elsewhere meanwhile books nothing."""
    desk = _desk(api_any_db)
    user = api_any_db.user("member", email="writer@trilport.test")
    assert other.post("/api/v1/bookings", json=_booking_body(desk), headers=user.headers).status_code == 201
    assert api_any_db.client.post("/api/v1/auth/logout", headers=user.headers).status_code == 204
    refused = other.post("/api/v1/bookings", json=_booking_body(desk, hour=14), headers=user.headers)
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_token"
    assert _bookings_of(api_any_db, desk) == 1


def test_a_write_by_someone_changed_elsewhere_uses_their_new_roles(api_any_db: AppHarness, other: TestClient) -> None:
    admin = api_any_db.users["admin"].headers
    desk = _desk(api_any_db)
    staff = api_any_db.user("staff", email="desk-staff@trilport.test")
    guest = api_any_db.user("member", email="desk-guest@trilport.test")
    booked = other.post("/api/v1/bookings", json=_booking_body(desk, guest.id), headers=staff.headers)
    assert booked.status_code == 201  # staff may book for someone; now cached as staff
    demote = {"roles": ["member"]}
    assert api_any_db.client.patch(f"/api/v1/members/{staff.id}", json=demote, headers=admin).status_code == 200
    refused = other.post("/api/v1/bookings", json=_booking_body(desk, guest.id, hour=14), headers=staff.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "book_for_others_forbidden"
    partner = {"roles": ["partner"]}  # outside the route's policy: checked again on the new roles
    assert api_any_db.client.patch(f"/api/v1/members/{staff.id}", json=partner, headers=admin).status_code == 200
    refused = other.post("/api/v1/bookings", json=_booking_body(desk, hour=16), headers=staff.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert _bookings_of(api_any_db, desk) == 1

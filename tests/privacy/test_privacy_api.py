"""Personal data through the API (the real app factory): one's own access log, the export for
the person and admins, erasure by admins (identity gone, history and report totals kept)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, func, select

from tests.conftest import PASSWORD, AppHarness
from tests.support.bookings import insert_booking
from tests.support.site import load_trilport
from tierslieu.db.types import utcnow
from tierslieu.models import AccessEvent, Booking, Resource


def _lines(api: AppHarness, member_id: int | None, count: int, *, days_ago: int = 1) -> None:
    with api.runtime.db.session(write=True) as session:
        for i in range(count):
            session.add(
                AccessEvent(
                    at=utcnow() - timedelta(days=days_ago, minutes=i),
                    device_id=1,
                    device_name="Porte principale",
                    space_id=1,
                    member_id=member_id,
                    badge_uid="04A1B2C3" if member_id else "DEADBEEF",
                    decision="granted" if member_id else "denied",
                    reason="booking" if member_id else "unknown_badge",
                )
            )
        session.commit()


def test_a_member_sees_only_their_own_access_log(api_any_db: AppHarness) -> None:
    api = api_any_db
    member, other = api.users["member"], api.user("member")
    _lines(api, member.id, 3)
    _lines(api, other.id, 2)
    _lines(api, None, 1)
    mine = api.client.get("/api/v1/members/me/access-events", headers=member.headers)
    assert mine.status_code == 200
    assert len(mine.json()) == 3 and {line["member_id"] for line in mine.json()} == {member.id}
    assert api.client.get("/api/v1/members/me/access-events").status_code == 401


def test_export_for_the_person_and_admins_only(api_any_db: AppHarness) -> None:
    api = api_any_db
    member = api.users["member"]
    api.client.post(f"/api/v1/members/{member.id}/badges", json={"uid": "04A1B2C3"}, headers=api.users["staff"].headers)
    _lines(api, member.id, 2)
    mine = api.client.get(f"/api/v1/members/{member.id}/export", headers=member.headers)
    assert mine.status_code == 200
    body = mine.json()
    assert set(body) >= {"account", "badges", "trainings", "bookings", "access_events", "print_jobs", "tokens"}
    assert body["account"]["email"] == member.email and "password_hash" not in body["account"]
    assert [b["uid"] for b in body["badges"]] == ["04A1B2C3"] and len(body["access_events"]) == 2
    assert all("token_hash" not in t for t in body["tokens"])
    assert api.client.get(f"/api/v1/members/{member.id}/export", headers=api.users["admin"].headers).status_code == 200
    for role in ("staff", "animator", "municipal"):
        refused = api.client.get(f"/api/v1/members/{member.id}/export", headers=api.users[role].headers)
        assert refused.status_code == 403, role


def test_erasure_removes_the_identity_and_keeps_history_and_totals(api_any_db: AppHarness) -> None:
    api = api_any_db
    load_trilport(api.runtime)
    admin, member = api.users["admin"], api.user("member", email="camille.martin@trilport.test")
    staff = api.users["staff"]
    assert api.client.post(f"/api/v1/members/{member.id}/badges", json={"uid": "04A1B2C3"}, headers=staff.headers)
    with api.runtime.db.session() as session:
        room = session.exec(select(Resource).where(col(Resource.kind) == "room")).first()
        assert room is not None and room.id is not None
    now = utcnow().replace(microsecond=0)
    past = insert_booking(api.runtime, room.id, member.id, now - timedelta(days=3), now - timedelta(days=3, hours=-1))
    insert_booking(api.runtime, room.id, member.id, now + timedelta(days=3), now + timedelta(days=3, hours=1))
    _lines(api, member.id, 4)
    reports = ("/api/v1/reports/access", "/api/v1/reports/occupancy", "/api/v1/reports/printing")
    before = {path: api.client.get(path, headers=staff.headers).json() for path in reports}

    assert api.client.post(f"/api/v1/members/{member.id}/erase", headers=staff.headers).status_code == 403
    erased = api.client.post(f"/api/v1/members/{member.id}/erase", headers=admin.headers)
    assert erased.status_code == 200 and erased.json() == {"id": member.id, "erased": True}

    # Identity gone, login impossible.
    assert api.client.get("/api/v1/members/me", headers=member.headers).status_code == 401
    login = api.client.post("/api/v1/auth/token", data={"username": member.email, "password": PASSWORD})
    assert login.status_code == 401
    export = api.client.get(f"/api/v1/members/{member.id}/export", headers=admin.headers).json()
    assert export["account"]["name"] == "Personne effacée" and "camille" not in str(export).lower()
    assert export["account"]["active"] is False and export["tokens"] == []
    assert all(b["revoked_at"] is not None for b in export["badges"])
    # History kept without identity; the future booking is freed; the reports say the same.
    with api.runtime.db.session() as session:
        assert session.exec(select(func.count()).select_from(Booking).where(Booking.member_id == member.id)).one() == 2
        assert session.get(Booking, past) is not None
        statuses = sorted(b.status for b in session.exec(select(Booking).where(Booking.member_id == member.id)))
    assert statuses == ["cancelled", "confirmed"]
    assert len(export["access_events"]) == 4 + 1  # the erasure itself is in the audit trail
    after = {path: api.client.get(path, headers=staff.headers).json() for path in reports}
    assert after == before
    # An admin cannot erase themself (another admin must).
    refused = api.client.post(f"/api/v1/members/{admin.id}/erase", headers=admin.headers)
    assert refused.status_code == 409 and refused.json()["code"] == "cannot_erase_self"

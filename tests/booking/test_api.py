"""The booking HTTP contract: shapes, status codes, problem details in plain French,
visibility per role, lifecycle endpoints, availability and the waitlist."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from tests.booking.factory import at, future_weekday, make_resource
from tests.conftest import ApiUser, AppHarness

DAY = future_weekday(1)


def resource_id(api: AppHarness, rules: dict[str, Any] | None = None) -> int:
    with api.runtime.db.session(write=True) as session:
        resource = make_resource(session, rules)
        session.commit()
        assert resource.id is not None
        return resource.id


def body(rid: int, start: str, end: str, day: date = DAY, **extra: Any) -> dict[str, Any]:
    return {"resource_id": rid, "start": at(day, start).isoformat(), "end": at(day, end).isoformat(), **extra}


def post(api: AppHarness, user: ApiUser, payload: dict[str, Any], path: str = "/api/v1/bookings") -> Any:
    return api.client.post(path, json=payload, headers=user.headers)


def test_create_returns_contract_fields(api: AppHarness) -> None:
    rid, member = resource_id(api), api.users["member"]
    response = post(api, member, body(rid, "10:00", "11:00", note="réunion"))
    assert response.status_code == 201, response.text
    data = response.json()
    assert {"id", "resource_id", "member_id", "start", "end", "status"} <= data.keys()
    assert (data["resource_id"], data["member_id"], data["status"]) == (rid, member.id, "confirmed")
    assert data["start"].endswith("Z") or "+" in data["start"]
    assert data["message"].startswith("Réservation confirmée")
    again = api.client.get(f"/api/v1/bookings/{data['id']}", headers=member.headers)
    assert again.status_code == 200 and again.json()["note"] == "réunion"


def test_naive_instants_are_422(api: AppHarness) -> None:
    rid = resource_id(api)
    payload = {"resource_id": rid, "start": f"{DAY}T10:00:00", "end": f"{DAY}T11:00:00"}
    response = post(api, api.users["member"], payload)
    assert response.status_code == 422 and response.json()["code"] == "validation_error"


def test_conflict_is_409_problem_in_french_and_english(api: AppHarness) -> None:
    rid = resource_id(api, {"max_duration": 60})
    member = api.users["member"]
    assert post(api, member, body(rid, "10:00", "11:00")).status_code == 201
    taken = post(api, api.users["animator"], body(rid, "10:30", "11:30"))
    assert taken.status_code == 409
    problem = taken.json()
    assert problem["code"] == "overlap" and problem["status"] == 409
    assert problem["detail"].startswith("Cet espace est réservé")
    assert taken.headers["content-type"].startswith("application/problem+json")
    too_long = api.client.post(
        "/api/v1/bookings", json=body(rid, "14:00", "17:00"), headers={**member.headers, "Accept-Language": "en"}
    )
    assert too_long.status_code == 409 and too_long.json()["code"] == "max_duration"
    assert "cannot last more than" in too_long.json()["detail"]


def test_booking_for_someone_else_needs_staff(api: AppHarness) -> None:
    rid = resource_id(api)
    member, staff, other = api.users["member"], api.users["staff"], api.users["animator"]
    refused = post(api, member, body(rid, "10:00", "11:00", member_id=other.id))
    assert refused.status_code == 403 and refused.json()["code"] == "book_for_others_forbidden"
    done = post(api, staff, body(rid, "10:00", "11:00", member_id=other.id))
    assert done.status_code == 201 and done.json()["member_id"] == other.id and done.json()["created_by"] == staff.id


def test_members_see_their_own_bookings_only(api: AppHarness) -> None:
    rid = resource_id(api)
    member, other, staff = api.users["member"], api.users["municipal"], api.users["staff"]
    mine = post(api, member, body(rid, "10:00", "11:00")).json()
    post(api, other, body(rid, "11:00", "12:00"))
    listed = api.client.get("/api/v1/bookings", params={"resource_id": rid}, headers=member.headers).json()
    assert [b["id"] for b in listed] == [mine["id"]]
    assert api.client.get(f"/api/v1/bookings/{mine['id']}", headers=other.headers).status_code == 404
    forbidden = api.client.get("/api/v1/bookings", params={"member_id": other.id}, headers=member.headers)
    assert forbidden.status_code == 403
    everyone = api.client.get(
        "/api/v1/bookings",
        params={"resource_id": rid, "from": at(DAY, "00:00").isoformat(), "to": at(DAY, "23:00").isoformat()},
        headers=staff.headers,
    ).json()
    assert len(everyone) == 2
    confirmed = api.client.get("/api/v1/bookings", params={"status": "cancelled"}, headers=staff.headers).json()
    assert confirmed == []


def test_cancel_approve_reject_checkin_endpoints(api: AppHarness) -> None:
    rid = resource_id(api, {"requires_approval": ["member"]})
    member, staff = api.users["member"], api.users["staff"]
    pending = post(api, member, body(rid, "10:00", "11:00")).json()
    assert pending["status"] == "pending" and "validée" in pending["message"]
    url = f"/api/v1/bookings/{pending['id']}"
    assert api.client.post(f"{url}/approve", headers=member.headers).status_code == 403
    assert api.client.post(f"{url}/checkin", headers=member.headers).json()["code"] == "not_approved"
    approved = api.client.post(f"{url}/approve", json={"reason": "ok"}, headers=staff.headers)
    assert approved.status_code == 200 and approved.json()["status"] == "confirmed"
    early = api.client.post(f"{url}/checkin", headers=member.headers)
    assert early.status_code == 409 and early.json()["code"] == "checkin_not_open"
    cancelled = api.client.post(f"{url}/cancel", headers=member.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert api.client.post(f"{url}/cancel", headers=member.headers).json()["code"] == "invalid_transition"
    second = post(api, member, body(rid, "14:00", "15:00")).json()
    rejected = api.client.post(
        f"/api/v1/bookings/{second['id']}/reject", json={"reason": "complet"}, headers=staff.headers
    )
    assert rejected.json()["status"] == "cancelled" and rejected.json()["reason"] == "complet"


def test_recurring_series_lists_each_occurrence(api: AppHarness) -> None:
    rid = resource_id(api)
    animator = api.users["animator"]
    blocker = post(api, api.users["member"], body(rid, "14:00", "16:00", day=DAY + timedelta(days=7)))
    assert blocker.status_code == 201
    series = body(
        rid, "14:00", "16:00", recurrence="FREQ=WEEKLY;BYDAY=" + "MOTUWETHFRSASU"[DAY.weekday() * 2 :][:2] + ";COUNT=3"
    )
    refused = post(api, animator, series)
    assert refused.status_code == 409 and refused.json()["code"] == "overlap"
    assert [o["ok"] for o in refused.json()["occurrences"]] == [True, False, True]
    assert "rien n'a été réservé" in refused.json()["detail"]
    partial = post(api, animator, {**series, "allow_partial": True})
    assert partial.status_code == 201
    data = partial.json()
    assert [o["ok"] for o in data["occurrences"]] == [True, False, True] and data["series_id"] is not None
    assert data["occurrences"][1]["detail"].startswith("Cet espace est réservé")


def test_preview_does_not_book(api: AppHarness) -> None:
    rid = resource_id(api, {"slot_minutes": 30})
    member = api.users["member"]
    verdict = post(api, member, body(rid, "10:10", "11:00"), "/api/v1/bookings/check").json()
    assert verdict["ok"] is False and verdict["code"] == "slot_alignment"
    ok = post(api, member, body(rid, "10:00", "11:00"), "/api/v1/bookings/check").json()
    assert ok["ok"] is True
    assert api.client.get("/api/v1/bookings", headers=member.headers).json() == []


def test_availability_respects_hours_buffers_and_bookings(api: AppHarness) -> None:
    hours = {day: ["09:00-12:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    rid = resource_id(api, {"opening_hours": hours, "buffer_minutes": 30, "slot_minutes": 30})
    post(api, api.users["member"], body(rid, "10:00", "10:30"))
    params = {
        "resource_id": rid,
        "from": at(DAY, "00:00").isoformat(),
        "to": at(DAY + timedelta(days=1), "00:00").isoformat(),
    }
    response = api.client.get("/api/v1/availability", params=params, headers=api.users["member"].headers)
    assert response.status_code == 200, response.text
    (resource,) = response.json()["resources"]
    free = [(f["start"], f["end"]) for f in resource["free"]]
    expected = [(at(DAY, "09:00"), at(DAY, "09:30")), (at(DAY, "11:00"), at(DAY, "12:00"))]
    parsed = [(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in free]
    assert parsed == expected
    missing = api.client.get("/api/v1/availability", headers=api.users["member"].headers)
    assert missing.status_code == 422 and missing.json()["code"] == "space_or_resource_required"


def test_waitlist_offer_and_accept(api: AppHarness) -> None:
    rid = resource_id(api)
    first, waiting = api.users["member"], api.users["municipal"]
    taken = post(api, first, body(rid, "10:00", "11:00")).json()
    free_slot = post(api, waiting, body(rid, "14:00", "15:00"), "/api/v1/bookings/waitlist")
    assert free_slot.status_code == 409 and free_slot.json()["code"] == "slot_available"
    entry = post(api, waiting, body(rid, "10:00", "11:00"), "/api/v1/bookings/waitlist")
    assert entry.status_code == 201 and entry.json()["status"] == "waiting"
    duplicate = post(api, waiting, body(rid, "10:00", "11:00"), "/api/v1/bookings/waitlist")
    assert duplicate.json()["code"] == "already_waiting"
    api.client.post(f"/api/v1/bookings/{taken['id']}/cancel", headers=first.headers)
    (offered,) = api.client.get("/api/v1/bookings/waitlist", headers=waiting.headers).json()
    assert offered["status"] == "offered" and offered["offer_expires_at"] is not None
    accepted = api.client.post(f"/api/v1/bookings/waitlist/{offered['id']}/accept", headers=waiting.headers)
    assert accepted.status_code == 201 and accepted.json()["member_id"] == waiting.id
    assert api.client.get("/api/v1/bookings/waitlist", headers=waiting.headers).json() == []


@pytest.mark.parametrize("path", ["/api/v1/bookings/999999", "/api/v1/bookings/999999/cancel"])
def test_unknown_booking_is_404(api: AppHarness, path: str) -> None:
    method = api.client.get if path.endswith("999999") else api.client.post
    response = method(path, headers=api.users["admin"].headers)
    assert response.status_code == 404 and response.json()["code"] == "booking_not_found"

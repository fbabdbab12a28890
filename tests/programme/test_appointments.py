"""The advisor's appointments through the API, on SQLite and PostgreSQL: booked by the front desk
or a referring partner (who sees only its own), the room booked through the engine, the
activity report afterwards."""

from __future__ import annotations

from typing import Any

from tests.booking.factory import at, future_weekday
from tests.conftest import ApiUser, AppHarness
from tests.programme.support import EventRecorder, iso, make_room


def _book(api: AppHarness, by: ApiUser, room: int, start: str, end: str, **fields: Any) -> Any:
    body = {"advisor_id": api.users["animator"].id, "resource_id": room, "start": start, "end": end, **fields}
    return api.client.post("/api/v1/appointments", json=body, headers=by.headers)


def test_a_partner_books_for_a_person_and_sees_only_its_own(api_any_db: AppHarness) -> None:
    api = api_any_db
    heard = EventRecorder()
    api.runtime.programme_events.subscribe(heard)
    room = make_room(api.runtime, {"slot_minutes": 30}, capacity=3)
    day = future_weekday(1)
    ccas, library = api.users["partner"], api.user("partner", email="mediatheque@trilport.test")
    booked = _book(
        api, ccas, room, iso(at(day, "10:00")), iso(at(day, "11:00")),
        person={"name": "Mme Dupont", "phone": "01 60 00 00 00", "consent": True}, people=2,
        note="Dossier retraite",
    )  # fmt: skip
    assert booked.status_code == 201, booked.text
    appointment = booked.json()
    assert appointment["person_id"] and appointment["member_id"] is None and appointment["people"] == 2
    assert appointment["referred_by"] == "partner" and appointment["status"] == "booked"
    booking = api.client.get(f"/api/v1/bookings/{appointment['booking_id']}", headers=api.users["staff"].headers)
    assert booking.json()["member_id"] == api.users["animator"].id  # the advisor's badge opens her room
    assert heard.kinds() == ["appointment_booked"]
    # The partner sees its own; another partner sees nothing of it; staff and the advisor see it.
    assert [a["id"] for a in api.client.get("/api/v1/appointments", headers=ccas.headers).json()] == [appointment["id"]]
    assert api.client.get("/api/v1/appointments", headers=library.headers).json() == []
    hidden = api.client.get(f"/api/v1/appointments/{appointment['id']}", headers=library.headers)
    assert hidden.status_code == 404 and hidden.json()["code"] == "programme.appointment_not_found"
    for role in ("staff", "animator"):
        listed = api.client.get("/api/v1/appointments", headers=api.users[role].headers).json()
        assert [a["id"] for a in listed] == [appointment["id"]]
    # The advisor is taken then; a partner books nothing but appointments.
    again = _book(api, library, room, iso(at(day, "10:30")), iso(at(day, "11:30")), member_id=api.users["member"].id)
    assert again.status_code == 409 and again.json()["code"] == "programme.advisor_busy"
    room_booking = api.client.post(
        "/api/v1/bookings",
        json={"resource_id": room, "start": iso(at(day, "15:00")), "end": iso(at(day, "16:00"))},
        headers=ccas.headers,
    )
    assert room_booking.status_code == 403
    assert api.client.get("/api/v1/workshops", headers=ccas.headers).status_code == 403
    assert api.client.get("/api/v1/members/me", headers=ccas.headers).status_code == 200


def test_appointment_rules(api_any_db: AppHarness) -> None:
    api = api_any_db
    room = make_room(api.runtime)
    desk_like = make_room(api.runtime)
    day = future_weekday(2)
    staff = api.users["staff"]
    too_short = _book(api, staff, room, iso(at(day, "10:00")), iso(at(day, "10:20")), member_id=api.users["member"].id)
    assert too_short.status_code == 422 and too_short.json()["code"] == "programme.appointment_duration"
    too_long = _book(api, staff, room, iso(at(day, "10:00")), iso(at(day, "11:45")), member_id=api.users["member"].id)
    assert too_long.status_code == 422
    nobody = _book(api, staff, room, iso(at(day, "10:00")), iso(at(day, "11:00")))
    assert nobody.status_code == 422 and nobody.json()["code"] == "programme.appointment_needs_someone"
    crowd = _book(api, staff, room, iso(at(day, "10:00")), iso(at(day, "11:00")), member_id=api.users["member"].id,
                  people=4)  # fmt: skip
    assert crowd.status_code == 422
    not_advisor = api.client.post(
        "/api/v1/appointments",
        json={"advisor_id": api.users["member"].id, "resource_id": room, "start": iso(at(day, "10:00")),
              "end": iso(at(day, "11:00")), "member_id": api.users["municipal"].id},
        headers=staff.headers,
    )  # fmt: skip
    assert not_advisor.status_code == 422 and not_advisor.json()["code"] == "programme.not_an_advisor"
    first = _book(api, staff, room, iso(at(day, "10:00")), iso(at(day, "11:00")), member_id=api.users["member"].id)
    assert first.status_code == 201
    # The room is taken by a booking: the engine's refusal, with its code.
    member_booking = api.client.post(
        "/api/v1/bookings",
        json={"resource_id": room, "start": iso(at(day, "14:00")), "end": iso(at(day, "15:00"))},
        headers=api.users["member"].headers,
    )
    assert member_booking.status_code == 201
    taken = _book(api, staff, room, iso(at(day, "14:30")), iso(at(day, "15:30")), member_id=api.users["municipal"].id)
    assert taken.status_code == 409 and taken.json()["code"] == "overlap"
    # The advisor cannot be in two rooms at once.
    elsewhere = _book(
        api, staff, desk_like, iso(at(day, "10:30")), iso(at(day, "11:30")), member_id=api.users["municipal"].id
    )
    assert elsewhere.status_code == 409 and elsewhere.json()["code"] == "programme.advisor_busy"


def test_the_advisor_reports_and_a_cancelled_appointment_frees_the_room(api_any_db: AppHarness) -> None:
    api = api_any_db
    room = make_room(api.runtime)
    day = future_weekday(3)
    staff = api.users["staff"]
    made = _book(api, staff, room, iso(at(day, "14:00")), iso(at(day, "15:00")), member_id=api.users["member"].id)
    appointment = made.json()
    report_body = {
        "kind": "individual",
        "duration_minutes": 50,
        "themes": ["Aide aux démarches administratives"],
        "publics": ["seniors"],
        "referred_to": ["France Services", "CAF"],
    }
    path = f"/api/v1/appointments/{appointment['id']}"
    by_partner = api.client.post(f"{path}/report", json=report_body, headers=api.users["partner"].headers)
    assert by_partner.status_code == 403
    other_animator = api.user("animator", email="animateur2@trilport.test")
    by_other = api.client.post(f"{path}/report", json=report_body, headers=other_animator.headers)
    assert by_other.status_code == 404  # not hers: she does not even see it
    report = api.client.post(f"{path}/report", json=report_body, headers=api.users["animator"].headers)
    assert report.status_code == 200, report.text
    assert report.json() | {"kind": "individual", "duration_minutes": 50, "people": 1} == report.json()
    assert report.json()["referred_to"] == ["France Services", "CAF"]
    rewritten = api.client.post(
        f"{path}/report", json={**report_body, "duration_minutes": 40}, headers=api.users["animator"].headers
    )
    assert rewritten.json()["id"] == report.json()["id"] and rewritten.json()["duration_minutes"] == 40
    assert api.client.get(path, headers=staff.headers).json()["status"] == "done"
    # Another appointment, cancelled: its room is free again.
    second = _book(api, staff, room, iso(at(day, "16:00")), iso(at(day, "17:00")), member_id=api.users["member"].id)
    cancelled = api.client.post(f"/api/v1/appointments/{second.json()['id']}/cancel", headers=staff.headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    booking = api.client.get(f"/api/v1/bookings/{second.json()['booking_id']}", headers=staff.headers).json()
    assert booking["status"] == "cancelled"
    retaken = _book(api, staff, room, iso(at(day, "16:00")), iso(at(day, "17:00")), member_id=api.users["member"].id)
    assert retaken.status_code == 201

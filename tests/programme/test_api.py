"""The programme through the HTTP API, on SQLite and PostgreSQL: workshops, sessions that book
their room through the booking engine, registrations and the waitlist, attendance, cancelling."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import select

from tests.booking.factory import at, future_weekday, make_resource
from tests.conftest import AppHarness
from tests.programme.support import EventRecorder, iso, make_room, make_session, make_workshop, soon
from tierslieu.db.changes import Changes
from tierslieu.models import ActivityReport, Booking, Person


def _register(api: AppHarness, session_id: int, body: dict[str, Any], role: str = "staff") -> Any:
    return api.client.post(f"/api/v1/sessions/{session_id}/registrations", json=body, headers=api.users[role].headers)


def test_workshops_are_created_read_and_changed(api_any_db: AppHarness) -> None:
    api = api_any_db
    created = make_workshop(api, leader_id=api.users["animator"].id, description="Tablettes et smartphones")
    assert created["themes"][0] == "Maîtrise des outils numériques du quotidien"
    member = api.users["member"].headers
    assert api.client.get(f"/api/v1/workshops/{created['id']}", headers=member).json()["title"] == created["title"]
    assert created["id"] in [w["id"] for w in api.client.get("/api/v1/workshops", headers=member).json()]
    changed = api.client.patch(
        f"/api/v1/workshops/{created['id']}", json={"capacity": 8, "publics": ["seniors", "habitants"]},
        headers=api.users["staff"].headers,
    )  # fmt: skip
    assert changed.status_code == 200 and changed.json()["capacity"] == 8
    assert changed.json()["publics"] == ["seniors", "habitants"]
    bad = api.client.post(
        "/api/v1/workshops",
        json={"title": "x", "themes": ["Cuisine"], "duration_minutes": 60, "capacity": 5},
        headers=api.users["animator"].headers,
    )
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    not_a_leader = api.client.post(
        "/api/v1/workshops",
        json={"title": "x", "themes": created["themes"], "duration_minutes": 60, "capacity": 5,
              "leader_id": api.users["member"].id},
        headers=api.users["animator"].headers,
    )  # fmt: skip
    assert not_a_leader.status_code == 422 and not_a_leader.json()["code"] == "programme.leader_not_organiser"


def test_a_session_books_its_room_and_is_refused_with_the_engines_code(api_any_db: AppHarness) -> None:
    api = api_any_db
    room = make_room(api.runtime, {"opening_hours": {"tue": ["09:00-18:00"]}})
    workshop = make_workshop(api, leader_id=api.users["animator"].id)
    day = future_weekday(1)  # a Tuesday
    first = make_session(api, workshop["id"], room, at(day, "14:00"))
    assert datetime.fromisoformat(first["end"]) == at(day, "15:30")  # the workshop's 90 minutes
    assert first["seats_left"] == 12 and first["capacity"] == 12 and first["booking_id"]
    staff = api.users["staff"].headers
    booking = api.client.get(f"/api/v1/bookings/{first['booking_id']}", headers=staff).json()
    assert booking["resource_id"] == room and booking["status"] == "confirmed"
    assert booking["member_id"] == api.users["animator"].id  # the leader's badge opens the room
    # The room is taken: the engine's refusal, unchanged.
    taken = api.client.post(
        f"/api/v1/workshops/{workshop['id']}/sessions",
        json={"resource_id": room, "start": iso(at(day, "15:00"))},
        headers=api.users["animator"].headers,
    )
    assert taken.status_code == 409 and taken.json()["code"] == "overlap", taken.text
    # A plain booking cannot take the session's room either.
    clash = api.client.post(
        "/api/v1/bookings",
        json={"resource_id": room, "start": iso(at(day, "15:00")), "end": iso(at(day, "16:00"))},
        headers=api.users["member"].headers,
    )
    assert clash.status_code == 409 and clash.json()["code"] == "overlap"
    # The room is closed on Wednesdays.
    closed = api.client.post(
        f"/api/v1/workshops/{workshop['id']}/sessions",
        json={"resource_id": room, "start": iso(at(future_weekday(2), "14:00"))},
        headers=api.users["animator"].headers,
    )
    assert closed.status_code == 409 and closed.json()["code"] == "outside_opening_hours", closed.text
    too_big = api.client.post(
        f"/api/v1/workshops/{workshop['id']}/sessions",
        json={"resource_id": room, "start": iso(at(day, "10:00")), "capacity": 41},
        headers=api.users["animator"].headers,
    )
    assert too_big.status_code == 422 and too_big.json()["code"] == "programme.capacity_above_room"
    sessions = api.client.get(
        "/api/v1/sessions", params={"workshop_id": workshop["id"]}, headers=api.users["member"].headers
    ).json()
    assert [s["id"] for s in sessions] == [first["id"]]


def test_a_weekly_series_books_every_date_or_nothing(api_any_db: AppHarness) -> None:
    api = api_any_db
    room = make_room(api.runtime)
    workshop = make_workshop(api, leader_id=api.users["animator"].id)
    day = future_weekday(3)
    series = make_session(api, workshop["id"], room, at(day, "10:00"), recurrence="FREQ=WEEKLY;COUNT=4")
    assert isinstance(series, list) and len(series) == 4
    assert len({s["booking_id"] for s in series}) == 4
    # Another workshop's series meets one of those dates: refused, nothing kept.
    other = make_workshop(api, leader_id=api.users["animator"].id)
    refused = api.client.post(
        f"/api/v1/workshops/{other['id']}/sessions",
        json={"resource_id": room, "start": iso(at(day, "09:00")), "recurrence": "FREQ=WEEKLY;INTERVAL=3;COUNT=2"},
        headers=api.users["staff"].headers,
    )
    assert refused.status_code == 409 and refused.json()["code"] == "overlap"
    assert (
        api.client.get(
            "/api/v1/sessions", params={"workshop_id": other["id"]}, headers=api.users["staff"].headers
        ).json()
        == []
    )
    window = api.client.get(
        "/api/v1/sessions",
        params={"from": iso(at(day, "00:00")), "to": iso(at(future_weekday(3, 3), "00:00"))},
        headers=api.users["member"].headers,
    ).json()
    assert [s["id"] for s in window] == [series[0]["id"]]


def test_registrations_fill_seats_then_the_waitlist_moves_up_in_order(api_any_db: AppHarness) -> None:
    api = api_any_db
    heard = EventRecorder()
    api.runtime.programme_events.subscribe(heard)
    room = make_room(api.runtime)
    workshop = make_workshop(api, capacity=3, leader_id=api.users["animator"].id)
    ws = make_session(api, workshop["id"], room, at(future_weekday(4), "14:00"))
    own = _register(api, ws["id"], {}, role="member")
    assert own.status_code == 201 and own.json()["status"] == "confirmed" and own.json()["kind"] == "member"
    assert own.json()["member_id"] == api.users["member"].id
    person = _register(api, ws["id"], {"person": {"name": "Odette Martin", "phone": "06 12 34 56 78",
                                                  "birth_year": 1948, "consent": True}})  # fmt: skip
    assert person.json()["status"] == "confirmed" and person.json()["kind"] == "person"
    group = _register(api, ws["id"], {"group": {"name": "Mme Leroy", "organisation": "Collège", "head_count": 2}})
    assert group.json() | {"status": "waitlisted", "position": 1, "seats": 2} == group.json()
    late = _register(api, ws["id"], {"member_id": api.users["municipal"].id})
    assert late.json()["status"] == "confirmed"  # one seat left: a single fits before the pair
    later = _register(api, ws["id"], {}, role="admin")
    assert later.json()["status"] == "waitlisted" and later.json()["position"] == 2
    again = _register(api, ws["id"], {}, role="member")
    assert again.status_code == 409 and again.json()["code"] == "programme.already_registered"
    mine = api.client.get("/api/v1/registrations", headers=api.users["admin"].headers).json()
    assert [(r["id"], r["status"], r["position"]) for r in mine] == [(later.json()["id"], "waitlisted", 2)]
    session_now = api.client.get(f"/api/v1/sessions/{ws['id']}", headers=api.users["member"].headers).json()
    assert session_now["seats_left"] == 0 and session_now["waitlisted"] == 2
    # The member cancels: one seat frees, the pair still does not fit, the admin (next) does.
    cancelled = api.client.post(f"/api/v1/registrations/{own.json()['id']}/cancel", headers=api.users["member"].headers)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    listed = api.client.get(f"/api/v1/sessions/{ws['id']}/registrations", headers=api.users["animator"].headers)
    by_id = {r["id"]: r for r in listed.json()}
    assert by_id[later.json()["id"]]["status"] == "confirmed"
    assert (
        by_id[group.json()["id"]] | {"status": "waitlisted", "position": 1, "name": "Mme Leroy"}
        == by_id[group.json()["id"]]
    )
    assert by_id[person.json()["id"]]["name"] == "Odette Martin"
    assert heard.kinds(later.json()["id"]) == ["registration_waitlisted", "waitlist_promoted"]
    assert heard.kinds(own.json()["id"]) == ["registration_confirmed", "registration_cancelled"]
    # The person's phone is kept as digits, so the front desk finds it however it is typed.
    found = api.client.get("/api/v1/persons", params={"q": "0612 34"}, headers=api.users["staff"].headers).json()
    assert [p["name"] for p in found] == ["Odette Martin"] and found[0]["phone"] == "0612345678"


def test_a_registration_tells_the_change_feed_its_row_and_the_sessions(api_any_db: AppHarness) -> None:
    """The seats are taken and the registration written without the ORM's flush: the change
    feed still hears of both rows, by id, once committed."""
    api = api_any_db
    heard: list[Changes] = []
    api.runtime.db.changes.subscribe(heard.append)
    workshop = make_workshop(api, capacity=1, leader_id=api.users["animator"].id)
    ws = make_session(api, workshop["id"], make_room(api.runtime), at(future_weekday(4), "10:00"))
    heard.clear()
    own = _register(api, ws["id"], {}, role="member")
    assert own.status_code == 201 and own.json()["status"] == "confirmed"
    committed = [c for c in heard if c.touches("registration")]
    assert len(committed) == 1
    assert committed[0].ids("registration") == frozenset({own.json()["id"]})
    assert committed[0].ids("workshop_session") == frozenset({ws["id"]})
    assert committed[0].altered.get("workshop_session") == frozenset({ws["id"]})


def test_least_data_and_who_may_register_whom(api_any_db: AppHarness) -> None:
    api = api_any_db
    room = make_room(api.runtime)
    ws = make_session(api, make_workshop(api)["id"], room, at(future_weekday(1), "10:00"))
    no_consent = _register(api, ws["id"], {"person": {"name": "Jean", "email": "jean@example.org", "consent": False}})
    assert no_consent.status_code == 422 and no_consent.json()["code"] == "programme.consent_required"
    assert "accord" in no_consent.json()["detail"]
    minor = _register(api, ws["id"], {"person": {"name": "Lucas", "birth_year": 2014, "consent": True}})
    assert minor.status_code == 422 and minor.json()["code"] == "programme.minor_not_named"
    name_only = _register(api, ws["id"], {"person": {"name": "Jean", "consent": False}})
    assert name_only.status_code == 201
    other = make_session(api, make_workshop(api)["id"], room, at(future_weekday(1), "14:00"))
    known = _register(api, other["id"], {"person": {"id": name_only.json()["person_id"]}})
    assert known.status_code == 201 and known.json()["person_id"] == name_only.json()["person_id"]
    nameless = _register(api, other["id"], {"person": {"phone": "0600000000", "consent": True}})
    assert nameless.status_code == 422 and nameless.json()["code"] == "programme.person_name_required"
    for_other = _register(api, ws["id"], {"member_id": api.users["admin"].id}, role="member")
    assert for_other.status_code == 403 and for_other.json()["code"] == "programme.register_others_forbidden"
    person_by_member = _register(api, ws["id"], {"person": {"name": "X", "consent": False}}, role="member")
    assert person_by_member.status_code == 403
    partner = _register(api, ws["id"], {}, role="partner")
    assert partner.status_code == 403 and partner.json()["code"] == "forbidden"
    english = api.client.post(
        f"/api/v1/sessions/{ws['id']}/registrations",
        json={"person": {"name": "Lucas", "birth_year": 2014, "consent": True}},
        headers={**api.users["staff"].headers, "Accept-Language": "en"},
    )
    assert "never registered by name" in english.json()["detail"]
    with api.runtime.db.session() as session:
        people = session.exec(select(Person)).all()
    assert [(p.name, p.email, p.consent) for p in people] == [("Jean", None, "")]


def test_only_staff_and_the_leader_see_the_registered_and_take_the_roll_call(api_any_db: AppHarness) -> None:
    api = api_any_db
    other_animator = api.user("animator", email="autre-animateur@trilport.test")
    room = make_room(api.runtime)
    workshop = make_workshop(api, leader_id=api.users["animator"].id)
    ws = make_session(api, workshop["id"], room, soon())
    registration = _register(api, ws["id"], {}, role="member").json()
    path = f"/api/v1/sessions/{ws['id']}"
    refused = api.client.get(f"{path}/registrations", headers=other_animator.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "programme.not_leader"
    assert api.client.get(f"{path}/registrations", headers=api.users["member"].headers).status_code == 403
    leader = api.users["animator"].headers
    ticked = api.client.post(
        f"{path}/attendance", json={"registration_id": registration["id"], "present": True}, headers=leader
    )
    assert ticked.status_code == 200 and ticked.json()["present"] is True and ticked.json()["source"] == "roll_call"
    walk_in = api.client.post(
        f"{path}/attendance", json={"walk_in": {"public": "seniors", "age_band": "70+"}}, headers=leader
    )
    assert walk_in.status_code == 200 and walk_in.json()["source"] == "walk_in"
    refused = api.client.post(
        f"{path}/attendance", json={"registration_id": registration["id"], "present": False},
        headers=other_animator.headers,
    )  # fmt: skip
    assert refused.status_code == 403
    listed = api.client.get(f"{path}/registrations", headers=leader).json()
    assert [(r["id"], r["present"]) for r in listed] == [(registration["id"], True)]
    sheet = api.client.get(f"{path}/attendance", headers=leader).json()
    assert sheet["tally"] | {"present": 2, "walk_ins": 1, "no_shows": 0, "seats_confirmed": 1} == sheet["tally"]
    assert sheet["tally"]["by_age_band"] == {"70+": 1, "non_renseigne": 1} and len(sheet["rows"]) == 2
    assert api.client.get(f"{path}/attendance", headers=other_animator.headers).status_code == 403
    with api.runtime.db.session() as session:
        report = session.exec(select(ActivityReport).where(ActivityReport.session_id == ws["id"])).one()
    assert (report.kind, report.people, report.duration_minutes) == ("collective", 2, 90)
    assert report.themes == workshop["themes"] and report.publics == ["seniors"]


def test_the_roll_call_opens_an_hour_before(api_any_db: AppHarness) -> None:
    api = api_any_db
    ws = make_session(api, make_workshop(api)["id"], make_room(api.runtime), at(future_weekday(2), "10:00"))
    registration = _register(api, ws["id"], {}, role="member").json()
    early = api.client.post(
        f"/api/v1/sessions/{ws['id']}/attendance",
        json={"registration_id": registration["id"], "present": True},
        headers=api.users["staff"].headers,
    )
    assert early.status_code == 409 and early.json()["code"] == "programme.roll_call_not_open"


def test_cancelling_a_session_frees_the_room_and_tells_the_registered(api_any_db: AppHarness) -> None:
    api = api_any_db
    heard = EventRecorder()
    api.runtime.programme_events.subscribe(heard)
    room = make_room(api.runtime)
    workshop = make_workshop(api, capacity=1, leader_id=api.users["animator"].id)
    day = future_weekday(1)
    ws = make_session(api, workshop["id"], room, at(day, "14:00"))
    first = _register(api, ws["id"], {}, role="member").json()
    second = _register(api, ws["id"], {}, role="municipal").json()
    assert (first["status"], second["status"]) == ("confirmed", "waitlisted")
    cancelled = api.client.post(
        f"/api/v1/sessions/{ws['id']}/cancel", json={"reason": "animatrice malade"}, headers=api.users["staff"].headers
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    with api.runtime.db.session() as session:
        booking = session.get(Booking, ws["booking_id"])
        assert booking is not None and booking.status == "cancelled"
    told = [(str(e.kind), e.registration_id) for e in heard.heard if str(e.kind) == "session_cancelled"]
    assert told == [
        ("session_cancelled", first["id"]),
        ("session_cancelled", second["id"]),
        ("session_cancelled", None),
    ]
    # The room is free again; the session refuses registrations and a second cancel.
    again = make_session(api, workshop["id"], room, at(day, "14:00"))
    assert again["booking_id"] != ws["booking_id"]
    late = _register(api, ws["id"], {}, role="admin")
    assert late.status_code == 409 and late.json()["code"] == "programme.session_cancelled"
    twice = api.client.post(f"/api/v1/sessions/{ws['id']}/cancel", headers=api.users["staff"].headers)
    assert twice.status_code == 409


def test_a_fablab_session_holds_its_printers_and_gives_them_back(api_any_db: AppHarness) -> None:
    api = api_any_db
    room = make_room(api.runtime)
    with api.runtime.db.session(write=True) as session:
        printers = [make_resource(session, kind="printer").id or 0 for _ in range(2)]
        session.commit()
    workshop = make_workshop(api, title="Un objet en 3D", themes=["Loisirs et créations numériques"],
                             publics=["scolaires"], leader_id=api.users["animator"].id)  # fmt: skip
    day = future_weekday(4)
    ws = make_session(api, workshop["id"], room, at(day, "09:00"), printer_ids=printers)
    assert ws["printer_ids"] == sorted(printers)
    staff = api.users["staff"].headers
    held = api.client.get("/api/v1/bookings", params={"from": iso(at(day, "00:00")), "to": iso(at(day, "23:00"))},
                          headers=staff).json()  # fmt: skip
    assert sorted(b["resource_id"] for b in held) == sorted([room, *printers])
    # A printer is taken: the engine refuses, and the room is not kept either.
    other = api.client.post(
        f"/api/v1/workshops/{workshop['id']}/sessions",
        json={"resource_id": make_room(api.runtime), "start": iso(at(day, "10:00")), "printer_ids": printers[:1]},
        headers=api.users["animator"].headers,
    )
    assert other.status_code == 409 and other.json()["code"] == "overlap"
    not_a_printer = api.client.post(
        f"/api/v1/workshops/{workshop['id']}/sessions",
        json={"resource_id": room, "start": iso(at(day, "14:00")), "printer_ids": [room]},
        headers=api.users["animator"].headers,
    )
    assert not_a_printer.status_code == 422 and not_a_printer.json()["code"] == "programme.not_a_printer"
    api.client.post(f"/api/v1/sessions/{ws['id']}/cancel", headers=staff)
    held = api.client.get(
        "/api/v1/bookings", params={"from": iso(at(day, "00:00")), "to": iso(at(day, "23:00")), "status": "confirmed"},
        headers=staff,
    ).json()  # fmt: skip
    assert held == []

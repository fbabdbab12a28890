"""Through the production wiring: the service (API + background worker) running, a booking
cancelled through the API frees a slot, the waitlisted member gets the offer by e-mail with
its .ics — on a real SMTP server, or as an .eml file when no server is configured."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx

from tests.booking.factory import at, future_weekday, make_resource
from tests.conftest import ApiUser, create_user, make_settings
from tests.support.server import LiveServer, live_server
from tests.support.smtp import smtp_server
from tierslieu.api import create_app
from tierslieu.booking.calendar import parse_feed

DAY = future_weekday(2)


def _resource(server: LiveServer, kind: str = "desk") -> int:
    with server.runtime.db.session(write=True) as session:
        resource = make_resource(session, kind=kind)
        session.commit()
        assert resource.id is not None
        return resource.id


def _free_a_slot_for_the_waitlist(server: LiveServer) -> tuple[ApiUser, ApiUser]:
    runtime, url = server.runtime, server.url
    holder = create_user(runtime, "member", email="holder@trilport.test", name="Hélène Holder")
    waiting = create_user(runtime, "member", email="waiting@trilport.test", name="Wassim Waiting")
    slot: dict[str, Any] = {
        "resource_id": _resource(server),
        "start": at(DAY, "10:00").isoformat(),
        "end": at(DAY, "11:00").isoformat(),
    }
    booked = httpx.post(f"{url}/api/v1/bookings", json=slot, headers=holder.headers)
    assert booked.status_code == 201, booked.text
    joined = httpx.post(f"{url}/api/v1/bookings/waitlist", json=slot, headers=waiting.headers)
    assert joined.status_code == 201, joined.text
    cancelled = httpx.post(f"{url}/api/v1/bookings/{booked.json()['id']}/cancel", json={}, headers=holder.headers)
    assert cancelled.status_code == 200, cancelled.text
    return holder, waiting


def _outbox(server: LiveServer, staff: ApiUser, **query: str) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/api/v1/outbox", params=query, headers=staff.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _wait_sent(server: LiveServer, staff: ApiUser, timeout: float = 15) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = _outbox(server, staff, status="sent")
        if page["total"]:
            return page
        time.sleep(0.1)
    raise AssertionError(f"nothing sent: {_outbox(server, staff)}")


def test_waitlist_offer_reaches_a_real_smtp_server(sqlite_url: str, tmp_path: Path) -> None:
    with smtp_server() as inbox:
        settings = make_settings(sqlite_url, tmp_path, run_background=True, smtp_url=inbox.url, outbox_pass_seconds=0.2)
        with live_server(create_app(settings)) as server:
            staff = create_user(server.runtime, "staff", email="accueil@trilport.test")
            _holder, waiting = _free_a_slot_for_the_waitlist(server)
            (email,) = inbox.wait_for(1)
            page = _wait_sent(server, staff)
    assert inbox.recipients == [["waiting@trilport.test"]]
    assert email["Subject"].startswith("Un créneau s'est libéré : Poste ")
    body = email.get_body(("plain",))
    assert body is not None and "Bonjour Wassim Waiting," in body.get_content()
    (attachment,) = list(email.iter_attachments())
    payload = attachment.get_payload(decode=True)
    assert isinstance(payload, bytes)
    (event,) = parse_feed(payload)
    assert event.decoded("dtstart") == at(DAY, "10:00") and event.decoded("dtend") == at(DAY, "11:00")
    (item,) = page["items"]
    assert (item["kind"], item["status"], item["transport"], item["has_calendar"]) == (
        "booking_offered",
        "sent",
        "smtp",
        True,
    )
    assert item["recipient_email"] == waiting.email


def test_without_smtp_the_eml_lands_under_the_data_folder(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, tmp_path, run_background=True, outbox_pass_seconds=0.2)
    assert settings.smtp_url is None
    with live_server(create_app(settings)) as server:
        staff = create_user(server.runtime, "staff", email="accueil@trilport.test")
        _free_a_slot_for_the_waitlist(server)
        (item,) = _wait_sent(server, staff)["items"]
    assert item["transport"] == "file"
    (path,) = (tmp_path / "var" / "outbox").glob("*.eml")
    email = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert email["To"] == "Wassim Waiting <waiting@trilport.test>"
    assert [a.get_content_type() for a in email.iter_attachments()] == ["text/calendar"]


def test_outbox_is_for_admin_and_staff_only(sqlite_url: str, tmp_path: Path) -> None:
    settings = make_settings(sqlite_url, tmp_path)
    with live_server(create_app(settings)) as server:
        for role, expected in [("admin", 200), ("staff", 200), ("animator", 403), ("member", 403)]:
            user = create_user(server.runtime, role)
            assert httpx.get(f"{server.url}/api/v1/outbox", headers=user.headers).status_code == expected
        assert httpx.get(f"{server.url}/api/v1/outbox").status_code == 401


def test_registration_cancelled_promotes_the_waitlist_and_mails_it(sqlite_url: str, tmp_path: Path) -> None:
    """Through the programme's API: a seat freed by a cancellation goes to the first waiting,
    and the real SMTP server receives the promotion with its .ics."""
    with smtp_server() as inbox:
        settings = make_settings(sqlite_url, tmp_path, run_background=True, smtp_url=inbox.url, outbox_pass_seconds=0.2)
        with live_server(create_app(settings)) as server:
            url, runtime = server.url, server.runtime
            staff = create_user(runtime, "staff", email="accueil@trilport.test")
            first = create_user(runtime, "member", email="first@trilport.test", name="Françoise First")
            second = create_user(runtime, "member", email="second@trilport.test", name="Samuel Second")
            workshop = httpx.post(
                f"{url}/api/v1/workshops",
                json={"title": "Tablette : premiers pas", "themes": ["Maîtrise des outils numériques du quotidien"],
                      "publics": ["seniors"], "duration_minutes": 90, "capacity": 1},
                headers=staff.headers,
            )  # fmt: skip
            assert workshop.status_code == 201, workshop.text
            start = at(DAY, "14:00")
            created = httpx.post(
                f"{url}/api/v1/workshops/{workshop.json()['id']}/sessions",
                json={"resource_id": _resource(server, "room"), "start": start.isoformat()},
                headers=staff.headers,
            )
            assert created.status_code == 201, created.text
            session_id = created.json()["id"]
            path = f"{url}/api/v1/sessions/{session_id}/registrations"
            held = httpx.post(path, json={}, headers=first.headers)
            waiting = httpx.post(path, json={}, headers=second.headers)
            assert (held.json()["status"], waiting.json()["status"]) == ("confirmed", "waitlisted"), waiting.text
            cancelled = httpx.post(
                f"{url}/api/v1/registrations/{held.json()['id']}/cancel", json={}, headers=first.headers
            )
            assert cancelled.status_code == 200, cancelled.text
            messages = inbox.wait_for(4)
    subjects = {str(m["Subject"]).split(" :")[0]: m for m in messages}
    assert set(subjects) == {
        "Inscription confirmée",
        "Liste d'attente",
        "Inscription annulée",
        "Une place s'est libérée",
    }
    promotion = subjects["Une place s'est libérée"]
    assert promotion["To"] == "Samuel Second <second@trilport.test>"
    assert str(promotion["Subject"]).startswith("Une place s'est libérée : Tablette : premiers pas, ")
    (attachment,) = list(promotion.iter_attachments())
    payload = attachment.get_payload(decode=True)
    assert isinstance(payload, bytes)
    (event,) = parse_feed(payload)
    assert event.decoded("dtstart") == start and event.decoded("dtend") == start + timedelta(minutes=90)
    assert str(event["uid"]) == f"registration-{waiting.json()['id']}@tierslieu"

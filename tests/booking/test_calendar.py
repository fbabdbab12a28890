"""iCalendar feeds, parsed back as a calendar client would: the member's secret feed, the
resource feed (login or token), URL rotation."""

from __future__ import annotations

from typing import Any

from icalendar import Calendar

from tests.booking.factory import at, future_weekday, make_resource
from tests.conftest import AppHarness

DAY = future_weekday(2)


def _setup(api: AppHarness) -> tuple[int, dict[str, Any]]:
    with api.runtime.db.session(write=True) as session:
        resource = make_resource(session)
        session.commit()
    assert resource.id is not None
    payload = {"resource_id": resource.id, "start": at(DAY, "10:00").isoformat(), "end": at(DAY, "11:30").isoformat()}
    booking = api.client.post("/api/v1/bookings", json=payload, headers=api.users["member"].headers).json()
    return resource.id, booking


def _events(data: bytes) -> list[Any]:
    calendar = Calendar.from_ical(data)
    assert calendar["VERSION"] == "2.0" and "PRODID" in calendar
    return list(calendar.walk("VEVENT"))


def test_member_feed_by_secret_url(api: AppHarness) -> None:
    rid, booking = _setup(api)
    member = api.users["member"]
    links = api.client.get("/api/v1/calendars/feeds", headers=member.headers).json()
    url = links["member_url"]
    assert url.endswith(".ics") and f"/members/{member.id}/" in url
    response = api.client.get(url)  # no credentials: calendar clients cannot log in
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
    (event,) = _events(response.content)
    assert str(event["UID"]) == f"booking-{booking['id']}@tierslieu"
    assert event.decoded("DTSTART") == at(DAY, "10:00") and event.decoded("DTEND") == at(DAY, "11:30")
    assert str(event["STATUS"]) == "CONFIRMED" and str(event["SUMMARY"]).startswith("Réservation")
    assert any(r["resource_id"] == rid for r in links["resources"])


def test_member_feed_refuses_wrong_or_rotated_token(api: AppHarness) -> None:
    _setup(api)
    member = api.users["member"]
    url = api.client.get("/api/v1/calendars/feeds", headers=member.headers).json()["member_url"]
    forged = url.rsplit("/", 1)[0] + "/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics"
    assert api.client.get(forged).status_code == 404
    other = api.users["staff"]
    assert api.client.get(url.replace(f"/members/{member.id}/", f"/members/{other.id}/")).status_code == 404
    new_url = api.client.post("/api/v1/calendars/feeds/reset", headers=member.headers).json()["member_url"]
    assert new_url != url
    assert api.client.get(url).status_code == 404
    assert api.client.get(new_url).status_code == 200


def test_resource_feed_shows_busy_times_without_names(api: AppHarness) -> None:
    rid, booking = _setup(api)
    path = f"/api/v1/calendars/resources/{rid}.ics"
    assert api.client.get(path).status_code == 401
    assert api.client.get(path, params={"token": "wrong"}).status_code == 401
    by_login = api.client.get(path, headers=api.users["municipal"].headers)
    assert by_login.status_code == 200
    (event,) = _events(by_login.content)
    assert str(event["SUMMARY"]) == "Réservé" and "Membre" not in by_login.text and "member" not in by_login.text
    links = api.client.get("/api/v1/calendars/feeds", headers=api.users["member"].headers).json()
    url = next(r["url"] for r in links["resources"] if r["resource_id"] == rid)
    by_token = api.client.get(url)
    assert by_token.status_code == 200 and len(_events(by_token.content)) == 1
    api.client.post(f"/api/v1/bookings/{booking['id']}/cancel", headers=api.users["member"].headers)
    assert _events(api.client.get(url).content) == []

"""Level-triggered transitions: no-shows released, bookings completed, stale requests dropped,
freed slots offered — once, whatever the number of passes; and for real across a restart."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from tests.booking.factory import TZ, at, make_member, make_resource
from tests.conftest import TEST_SECRET, create_user, make_settings
from tests.support.server import live_server
from tierslieu.api import create_app
from tierslieu.booking import lifecycle, reasons, service, waitlist
from tierslieu.booking.jobs import run_pass
from tierslieu.db import Database
from tierslieu.db.types import utcnow
from tierslieu.models import Booking, WaitlistEntry
from tierslieu.security import Secrets

TUESDAY = date(2030, 3, 5)
BEFORE = at(TUESDAY - timedelta(days=1), "08:00")
SECRETS = Secrets(TEST_SECRET)


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    database = Database(db_url)
    with database.session(write=True) as s:
        yield s
        s.rollback()
    database.dispose()


def _book(session: Session, rules: dict[str, object], start: str, end: str) -> Booking:
    resource, member = make_resource(session, rules), make_member(session, SECRETS)
    booking, _ = service.create_booking(
        session, actor=member, resource_id=resource.id or 0, member_id=None,
        start=at(TUESDAY, start), end=at(TUESDAY, end), now=BEFORE, tz=TZ,
    )  # fmt: skip
    return booking


def test_no_show_released_once(session: Session) -> None:
    booking = _book(session, {"checkin_minutes": 30}, "10:00", "12:00")
    assert run_pass(session, at(TUESDAY, "10:29")).no_shows == []
    report = run_pass(session, at(TUESDAY, "10:30"))
    assert report.no_shows == [booking.id] and booking.status == "no_show"
    assert booking.reason == reasons.NO_SHOW  # a catalogue code, put into words when shown
    assert not run_pass(session, at(TUESDAY, "10:30")).changed
    assert not run_pass(session, at(TUESDAY, "13:00")).changed  # not "completed" afterwards


def test_checked_in_booking_is_completed_at_its_end(session: Session) -> None:
    booking = _book(session, {"checkin_minutes": 30}, "10:00", "12:00")
    assert booking.id is not None
    lifecycle.checkin_active_booking(session, booking.member_id, [booking.resource_id], at(TUESDAY, "10:05"))
    assert not run_pass(session, at(TUESDAY, "11:00")).changed
    report = run_pass(session, at(TUESDAY, "12:00"))
    assert report.completed == [booking.id] and booking.ended_at == at(TUESDAY, "12:00")


def test_missed_ticks_heal_in_one_pass(session: Session) -> None:
    no_show = _book(session, {"checkin_minutes": 15}, "10:00", "11:00")
    done = _book(session, {}, "09:00", "10:00")
    pending = _book(session, {"requires_approval": ["member"]}, "09:00", "10:00")
    report = run_pass(session, at(TUESDAY, "18:00"))  # the service was down all day
    assert report.no_shows == [no_show.id] and report.completed == [done.id]
    assert report.expired_requests == [pending.id] and pending.status == "cancelled"
    assert pending.reason == reasons.REQUEST_EXPIRED


def test_waitlist_offer_made_once_then_expires(session: Session) -> None:
    booking = _book(session, {}, "10:00", "11:00")
    waiting = make_member(session, SECRETS)
    entry = waitlist.join(
        session, actor=waiting, resource_id=booking.resource_id, member_id=None,
        start=booking.start, end=booking.end, now=BEFORE, tz=TZ,
    )  # fmt: skip
    assert not run_pass(session, BEFORE).changed
    booking.status = "cancelled"  # freed behind the engine's back: the pass must still notice
    session.add(booking)
    session.flush()
    assert run_pass(session, BEFORE, offer_minutes=20).offers == [entry.id]
    assert entry.status == "offered" and entry.offer_expires_at == BEFORE + timedelta(minutes=20)
    assert run_pass(session, BEFORE + timedelta(minutes=5)).offers == []
    run_pass(session, BEFORE + timedelta(minutes=20))
    assert session.get(WaitlistEntry, entry.id) is not None and entry.status == "expired"


def test_release_happens_after_a_restart(sqlite_url: str, tmp_path: Path) -> None:
    """The service is down while a check-in window expires; the first pass after the restart
    releases the booking (and nothing did it while it was down)."""
    settings = make_settings(sqlite_url, tmp_path, run_background=True, booking_pass_seconds=0.2)
    with live_server(create_app(settings)) as first:
        with first.runtime.db.session(write=True) as s:
            resource = make_resource(s, {"checkin_minutes": 1})
            member = make_member(s, SECRETS)
            # Started 52 s ago: the 1-minute check-in window closes in 8 s, time enough for the
            # passes below while it is still open, even on a machine busy with other tests.
            start = utcnow().replace(microsecond=0) - timedelta(seconds=52)
            booking, _ = service.create_booking(
                s, actor=member, resource_id=resource.id or 0, member_id=None, start=start,
                end=start + timedelta(hours=1), now=start - timedelta(hours=1), tz=TZ,
            )  # fmt: skip
            s.commit()
        staff = create_user(first.runtime, "staff", email=f"staff-{uuid.uuid4().hex[:8]}@trilport.test")
        time.sleep(0.6)  # a few passes while the window is still open
        assert _status(first.url, booking.id, staff.headers) == "confirmed"
    time.sleep(max(0.0, (start + timedelta(minutes=1) - utcnow()).total_seconds()) + 0.5)
    database = Database(sqlite_url)
    with database.session() as s:
        still = s.get(Booking, booking.id)
        assert still is not None and still.status == "confirmed"  # nobody ran while stopped
    database.dispose()
    with live_server(create_app(settings)) as second:
        deadline = time.monotonic() + 10
        while _status(second.url, booking.id, staff.headers) != "no_show" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _status(second.url, booking.id, staff.headers) == "no_show"
        url = f"{second.url}/api/v1/bookings/{booking.id}"
        french = httpx.get(url, headers=staff.headers, timeout=10).json()
        english = httpx.get(url, headers={**staff.headers, "Accept-Language": "en"}, timeout=10).json()
    assert french["reason"] == "Présence non validée à temps : le créneau a été libéré."
    assert english["reason"] == "Presence not confirmed in time: the slot was freed."


def _status(url: str, booking_id: int | None, headers: dict[str, str]) -> str:
    response = httpx.get(f"{url}/api/v1/bookings/{booking_id}", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status

"""The access facts after commits that wrote bookings only: those bookings are read again by id
(or, ids unknown, the booking window), and nothing else is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.conftest import make_settings
from tests.hardware.rig import UIDS, Site, build_site
from tests.support.bookings import insert_booking
from tests.support.waiting import eventually
from tierslieu.db.types import utcnow
from tierslieu.hardware import facts as facts_module
from tierslieu.hardware.facts import CHANGE_DELAY_SECONDS, FactsCache, SiteFacts, load_site_facts, with_bookings
from tierslieu.models import Badge, Booking
from tierslieu.runtime import Runtime


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    # A long safety net: within a test, only the change feed makes the cache read again.
    runtime = Runtime.create(make_settings(sqlite_url, tmp_path, access_refresh_seconds=3600.0))
    yield runtime
    runtime.stop()


@pytest.fixture
def site(rt: Runtime) -> Site:
    return build_site(rt)


def _facts(rt: Runtime) -> SiteFacts:
    with rt.db.session() as session:
        return load_site_facts(session, utcnow())


def _set_status(rt: Runtime, booking_id: int, status: str) -> None:
    with rt.db.session(write=True) as session:
        booking = session.get(Booking, booking_id)
        assert booking is not None
        booking.status = status
        session.add(booking)
        session.commit()


def _amended(rt: Runtime, facts: SiteFacts, ids: frozenset[int] | None) -> SiteFacts:
    with rt.db.session() as session:
        return with_bookings(session, facts, ids, utcnow())


def test_the_bookings_read_by_id_replace_theirs_and_nothing_else(rt: Runtime, site: Site) -> None:
    before = _facts(rt)
    now = utcnow()
    bob, room = site.members["bob"], site.resources["room"]
    added = insert_booking(rt, room, bob, now + timedelta(hours=2), now + timedelta(hours=3))
    next_week = insert_booking(rt, room, bob, now + timedelta(days=7), now + timedelta(days=7, hours=1))
    _set_status(rt, site.bookings["alice_room"], "cancelled")
    after = _amended(rt, before, frozenset({added, next_week, site.bookings["alice_room"]}))
    assert [b.id for b in after.bookings] == [added]  # cancelled: gone; next week: outside the window
    assert after.bookings[0].opens < after.bookings[0].start  # the resource's rules still apply
    # The rest of the snapshot is the very same objects: nothing else was read.
    for part in ("spaces", "resources", "badges", "members", "overrides"):
        assert getattr(after, part) is getattr(before, part), part


def test_a_deleted_booking_leaves_and_untouched_ones_stay(rt: Runtime, site: Site) -> None:
    now = utcnow()
    other = insert_booking(rt, site.resources["visio"], site.members["bob"], now, now + timedelta(hours=1))
    before = _facts(rt)
    with rt.db.session(write=True) as session:
        booking = session.get(Booking, site.bookings["alice_room"])
        session.delete(booking)
        session.commit()
    after = _amended(rt, before, frozenset({site.bookings["alice_room"]}))
    assert [b.id for b in after.bookings] == [other]
    assert after.bookings[0] is next(b for b in before.bookings if b.id == other)


def test_unknown_ids_read_the_booking_window_again(rt: Runtime, site: Site) -> None:
    before = _facts(rt)
    now = utcnow()
    added = insert_booking(rt, site.resources["visio"], site.members["bob"], now, now + timedelta(hours=1))
    _set_status(rt, site.bookings["alice_room"], "cancelled")
    after = _amended(rt, before, None)
    assert [b.id for b in after.bookings] == [added]
    assert after.bookings == _facts(rt).bookings
    assert after.badges is before.badges


def test_too_many_ids_read_the_booking_window_again(rt: Runtime, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(facts_module, "_BY_ID_LIMIT", 1)
    before = _facts(rt)
    now = utcnow()
    added = insert_booking(rt, site.resources["visio"], site.members["bob"], now, now + timedelta(hours=1))
    after = _amended(rt, before, frozenset({site.bookings["alice_room"], 10_000}))  # not ``added``: read all the same
    assert {b.id for b in after.bookings} == {site.bookings["alice_room"], added}


class Loads:
    """Counts the cache's full reloads (``load_site_facts``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        monkeypatch.setattr(facts_module, "load_site_facts", self._load)

    def _load(self, session: Session, now: datetime, previous: SiteFacts | None = None) -> SiteFacts:
        self.count += 1
        return load_site_facts(session, now, previous)


def test_a_booking_commit_is_read_alone_and_other_writes_reload_all(
    rt: Runtime, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads = Loads(monkeypatch)
    cache = FactsCache(rt)
    cache.start()
    try:
        assert loads.count == 1  # the load at start
        now = utcnow()
        added = insert_booking(rt, site.resources["visio"], site.members["bob"], now, now + timedelta(hours=1))
        _set_status(rt, site.bookings["alice_room"], "cancelled")
        seen = eventually(lambda: {b.id for b in cache.current.bookings} == {added}, 3 * CHANGE_DELAY_SECONDS)
        assert seen, "the booking commits did not reach the facts"
        assert loads.count == 1  # read by id: no full reload
        with rt.db.session(write=True) as session:
            badge = session.exec(select(Badge).where(Badge.uid == UIDS["bob"])).one()
            badge.revoked_at = utcnow()
            session.add(badge)
            session.commit()
        assert eventually(lambda: cache.current.badges[UIDS["bob"]].revoked, 3 * CHANGE_DELAY_SECONDS)
        assert loads.count == 2  # a badge: everything read again
    finally:
        cache.stop()

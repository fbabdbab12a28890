"""The booking service over a real database (SQLite and PostgreSQL): rules, no double booking,
series, approval, override, walk-ins, the access controller's queries, events."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlmodel import Session

from tests.booking.factory import TZ, at, make_member, make_resource
from tests.conftest import TEST_SECRET
from tierslieu.booking import lifecycle, service
from tierslieu.booking.notify import publish_after_commit
from tierslieu.db import Database
from tierslieu.errors import InvalidInput, PermissionDenied, RuleViolation
from tierslieu.events import Event, EventHub
from tierslieu.models import Booking, Member, Resource
from tierslieu.security import Secrets

MONDAY = date(2030, 3, 4)
TUESDAY = MONDAY + timedelta(days=1)
NOW = at(MONDAY, "08:00")
SECRETS = Secrets(TEST_SECRET)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def session(db: Database) -> Iterator[Session]:
    with db.session(write=True) as s:
        yield s
        s.rollback()


def book(
    session: Session, actor: Member, resource: Resource, start: str, end: str, day: date = TUESDAY, **kw: object
) -> Booking:
    assert resource.id is not None
    booking, _ = service.create_booking(
        session, actor=actor, resource_id=resource.id, member_id=kw.pop("member_id", None),  # type: ignore[arg-type]
        start=at(day, start), end=at(day, end), now=kw.pop("now", NOW), tz=TZ, **kw,  # type: ignore[arg-type]
    )  # fmt: skip
    return booking


def refused(session: Session, *args: object, **kw: object) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        book(session, *args, **kw)  # type: ignore[arg-type]
    return caught.value


def test_confirmed_booking_holds_a_buffered_block(session: Session) -> None:
    resource = make_resource(session, {"buffer_minutes": 30})
    member = make_member(session, SECRETS)
    booking = book(session, member, resource, "10:00", "11:00")
    assert booking.id is not None and booking.status == "confirmed"
    assert booking.member_id == member.id and booking.created_by == member.id
    assert booking.block_start == at(TUESDAY, "09:45") and booking.block_end == at(TUESDAY, "11:15")


def test_overlap_refused_adjacent_accepted(session: Session) -> None:
    resource = make_resource(session)
    member, other = make_member(session, SECRETS), make_member(session, SECRETS)
    book(session, member, resource, "10:00", "11:00")
    error = refused(session, other, resource, "10:30", "11:30")
    assert error.code == "overlap" and error.status == 409
    assert "réservé de 10:00 à 11:00" in error.message_fr
    assert book(session, other, resource, "11:00", "12:00").status == "confirmed"
    assert book(session, other, resource, "09:00", "10:00").status == "confirmed"


def test_buffer_keeps_a_gap(session: Session) -> None:
    resource = make_resource(session, {"buffer_minutes": 30})
    member = make_member(session, SECRETS)
    book(session, member, resource, "10:00", "11:00")
    assert refused(session, member, resource, "11:00", "12:00").code == "overlap"
    assert book(session, member, resource, "11:30", "12:30").status == "confirmed"


def test_rule_codes_and_all_violations_listed(session: Session) -> None:
    resource = make_resource(
        session, {"opening_hours": {"tue": ["09:00-18:00"]}, "max_duration": 60, "allowed_roles": ["staff"]}
    )
    member = make_member(session, SECRETS)
    error = refused(session, member, resource, "17:00", "19:00")
    codes = [v["code"] for v in error.extra["violations"]]
    assert error.code == "role_not_allowed"
    assert set(codes) == {"role_not_allowed", "max_duration", "outside_opening_hours"}


def test_training_required_then_granted(session: Session) -> None:
    from tierslieu.services.members import grant_training

    resource = make_resource(session, {"required_training": ["impression-3d"]}, kind="printer")
    member = make_member(session, SECRETS)
    assert refused(session, member, resource, "10:00", "11:00").code == "training_required"
    grant_training(session, member, "impression-3d", expires_on=None, granted_by=None)
    assert book(session, member, resource, "10:00", "11:00").status == "confirmed"


def test_quota_counts_existing_bookings(session: Session) -> None:
    resource = make_resource(session, {"max_hours_per_week": 2})
    member = make_member(session, SECRETS)
    book(session, member, resource, "09:00", "10:30")
    error = refused(session, member, resource, "14:00", "15:00")
    assert error.code == "quota_exceeded"
    assert "1 h 30" in error.message_fr or "1h30" in error.message_fr


def test_approval_pending_holds_slot_then_approve_or_reject(session: Session) -> None:
    resource = make_resource(session, {"requires_approval": ["member"]})
    member, staff = make_member(session, SECRETS), make_member(session, SECRETS, "staff")
    pending = book(session, member, resource, "10:00", "12:00")
    assert pending.status == "pending"
    assert refused(session, staff, resource, "11:00", "12:00").code == "overlap"
    assert pending.id is not None
    assert lifecycle.approve(session, staff, pending.id).status == "confirmed"
    second = book(session, member, resource, "14:00", "15:00")
    assert second.id is not None
    rejected = lifecycle.reject(session, staff, second.id, reason="salle réservée pour la mairie")
    assert rejected.status == "cancelled" and rejected.decided_by == staff.id
    assert book(session, staff, resource, "14:00", "15:00").status == "confirmed"  # slot freed


def test_override_is_staff_only_and_recorded(session: Session) -> None:
    resource = make_resource(session, {"max_duration": 60})
    member, staff = make_member(session, SECRETS), make_member(session, SECRETS, "staff")
    with pytest.raises(PermissionDenied):
        book(session, member, resource, "10:00", "13:00", override=True)
    booking = book(session, staff, resource, "10:00", "13:00", override=True, member_id=member.id)
    assert booking.override and booking.overridden == ["max_duration"]
    assert booking.member_id == member.id and booking.created_by == staff.id
    # An override never lifts an overlap.
    assert refused(session, staff, resource, "12:00", "14:00", override=True).code == "overlap"


def test_only_staff_book_for_someone_else(session: Session) -> None:
    resource = make_resource(session)
    member, other = make_member(session, SECRETS), make_member(session, SECRETS)
    with pytest.raises(PermissionDenied) as caught:
        book(session, member, resource, "10:00", "11:00", member_id=other.id)
    assert caught.value.code == "book_for_others_forbidden"


def test_impossible_intervals_are_invalid_input(session: Session) -> None:
    resource = make_resource(session)
    member = make_member(session, SECRETS)
    with pytest.raises(InvalidInput):
        book(session, member, resource, "11:00", "10:00")
    with pytest.raises(InvalidInput):
        book(session, member, resource, "10:00", "11:00", day=date(2999, 1, 1))


def test_series_all_or_nothing_and_partial(session: Session) -> None:
    resource = make_resource(session)
    member = make_member(session, SECRETS)
    assert resource.id is not None
    book(session, member, resource, "14:00", "16:00", day=TUESDAY + timedelta(days=14))  # 3rd Tuesday taken
    args = dict(actor=member, resource_id=resource.id, member_id=None, start=at(TUESDAY, "14:00"),
                end=at(TUESDAY, "16:00"), rrule="FREQ=WEEKLY;BYDAY=TU;COUNT=4", now=NOW, tz=TZ)  # fmt: skip
    with pytest.raises(RuleViolation) as caught:
        service.create_series(session, **args)  # type: ignore[arg-type]
    report = caught.value.extra["occurrences"]
    assert caught.value.code == "overlap" and [o["ok"] for o in report] == [True, True, False, True]
    result = service.create_series(session, allow_partial=True, **args)  # type: ignore[arg-type]
    assert len(result.bookings) == 3 and result.series is not None
    assert {b.series_id for b in result.bookings} == {result.series.id}
    assert [o.booking is not None for o in result.occurrences] == [True, True, False, True]


def test_series_refuses_bad_rrule(session: Session) -> None:
    resource = make_resource(session)
    member = make_member(session, SECRETS)
    assert resource.id is not None
    with pytest.raises(InvalidInput) as caught:
        service.create_series(session, actor=member, resource_id=resource.id, member_id=None,
                              start=at(TUESDAY, "14:00"), end=at(TUESDAY, "15:00"), rrule="FREQ=WEEKLY",
                              now=NOW, tz=TZ)  # fmt: skip
    assert caught.value.code == "invalid_recurrence"


def test_cancel_checkin_transitions(session: Session) -> None:
    resource = make_resource(session)
    member, other = make_member(session, SECRETS), make_member(session, SECRETS)
    booking = book(session, member, resource, "10:00", "11:00")
    assert booking.id is not None
    with pytest.raises(Exception) as hidden:
        lifecycle.cancel(session, other, booking.id, now=NOW)
    assert getattr(hidden.value, "status", None) == 404
    with pytest.raises(Exception) as early:
        lifecycle.checkin(session, member, booking.id, now=NOW)
    assert getattr(early.value, "code", None) == "checkin_not_open"
    done = lifecycle.checkin(session, member, booking.id, now=at(TUESDAY, "09:55"))
    assert done.status == "checked_in" and done.checked_in_at == at(TUESDAY, "09:55")
    ended = lifecycle.cancel(session, member, booking.id, now=at(TUESDAY, "10:30"))
    assert ended.status == "completed" and ended.ended_at == at(TUESDAY, "10:30")
    with pytest.raises(Exception) as again:
        lifecycle.cancel(session, member, booking.id, now=at(TUESDAY, "10:31"))
    assert getattr(again.value, "code", None) == "invalid_transition"


def test_access_queries_and_badge_checkin(session: Session) -> None:
    resource = make_resource(session, {"access_lead_minutes": 10, "overrun_minutes": 5})
    member, other = make_member(session, SECRETS), make_member(session, SECRETS)
    booking = book(session, member, resource, "10:00", "11:00")
    assert resource.id is not None and resource.space_id is not None
    assert lifecycle.active_bookings_at(session, [resource.id], at(TUESDAY, "09:49")) == []
    assert lifecycle.active_bookings_at(session, [resource.id], at(TUESDAY, "09:50")) == [booking]
    assert lifecycle.active_bookings_at(session, [resource.id], at(TUESDAY, "11:04")) == [booking]
    assert lifecycle.active_bookings_at(session, [resource.id], at(TUESDAY, "11:05")) == []
    assert lifecycle.bookings_in_space_now(session, resource.space_id, at(TUESDAY, "10:30")) == [booking]
    assert lifecycle.checkin_active_booking(session, other.id or 0, [resource.id], at(TUESDAY, "10:00")) is None
    found = lifecycle.checkin_active_booking(session, member.id or 0, [resource.id], at(TUESDAY, "09:55"))
    assert found is not None and found.status == "checked_in"


def test_walk_in_runs_until_next_booking(session: Session) -> None:
    resource = make_resource(session, {"walk_in": True, "slot_minutes": 120, "max_duration": 240})
    member, other = make_member(session, SECRETS), make_member(session, SECRETS)
    book(session, other, resource, "12:00", "14:00")
    assert resource.id is not None and member.id is not None
    walk_in = service.create_walk_in(session, member.id, resource.id, at(TUESDAY, "10:13"), TZ)
    assert walk_in.walk_in and walk_in.status == "checked_in"
    assert (walk_in.start, walk_in.end) == (at(TUESDAY, "10:13"), at(TUESDAY, "12:00"))
    with pytest.raises(RuleViolation) as caught:
        service.create_walk_in(session, other.id or 0, resource.id, at(TUESDAY, "12:30"), TZ)
    assert caught.value.code == "overlap"
    closed = make_resource(session)
    assert closed.id is not None
    with pytest.raises(RuleViolation) as no_walk_in:
        service.create_walk_in(session, member.id, closed.id, at(TUESDAY, "10:00"), TZ)
    assert no_walk_in.value.code == "walk_in_not_allowed"


def test_events_are_published_after_commit_only(db: Database) -> None:
    hub = EventHub()
    received: list[Event] = []

    async def collect() -> None:
        async def listen() -> None:
            async for event in hub.subscribe("booking"):
                received.append(event)

        task = asyncio.create_task(listen())
        await asyncio.sleep(0.01)
        with db.session(write=True) as s:
            resource, member = make_resource(s), make_member(s, SECRETS)
            s.commit()
        with db.session(write=True) as s:
            book(s, s.merge(member), s.merge(resource), "10:00", "11:00", events=hub)
            s.rollback()  # nothing may be announced
        with db.session(write=True) as s:
            book(s, s.merge(member), s.merge(resource), "10:00", "11:00", events=hub)
            s.commit()
        await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(collect())
    assert [e.data["action"] for e in received] == ["created"]
    assert received[0].data["status"] == "confirmed"


def test_events_wait_for_the_outer_commit_and_survive_a_savepoints_rollback(db: Database) -> None:
    """A partial series books in savepoints: one rolled back must not drop the events of the
    occurrences already booked, nor may a savepoint's release send them before the commit."""
    hub = EventHub()
    published: list[str] = []
    hub.add_listener(lambda event: published.append(event.data["action"]))
    with db.session(write=True) as s:
        publish_after_commit(s, hub, "booking", {"action": "first"})
        with s.begin_nested():
            publish_after_commit(s, hub, "booking", {"action": "second"})
        assert published == []  # released, not committed
        nested = s.begin_nested()
        nested.rollback()
        assert published == []
        s.commit()
    assert published == ["first", "second"]
    with db.session(write=True) as s:
        publish_after_commit(s, hub, "booking", {"action": "rolled back"})
        s.connection()
        s.rollback()
        s.commit()  # a later commit of the same session sends nothing of the rolled-back transaction
    assert published == ["first", "second"]


def test_max_active_bookings_counts_upcoming_only(session: Session) -> None:
    resource = make_resource(session, {"max_active_bookings": 2})
    member = make_member(session, SECRETS)
    book(session, member, resource, "09:00", "10:00")
    book(session, member, resource, "10:00", "11:00")
    assert refused(session, member, resource, "11:00", "12:00").code == "too_many_bookings"
    later = at(TUESDAY, "10:30")  # the first one is over by then
    assert book(session, member, resource, "11:00", "12:00", now=later).status == "confirmed"

"""History buckets: the pure accumulator, and storage on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from tierslieu.db import Database
from tierslieu.models import Booking, Member, Resource, Space
from tierslieu.models.occupancy import OccupancyBucket
from tierslieu.occupancy.history import (
    Bucket,
    HistoryAccumulator,
    booked_seconds,
    bucket_start,
    load_open_buckets,
    write_buckets,
)
from tierslieu.occupancy.state import Layout, SpaceInfo
from tierslieu.services.sites import default_site_id

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_bucket_start_is_the_quarter_hour() -> None:
    assert bucket_start(_at(14.99)) == T0
    assert bucket_start(_at(15)) == _at(15)
    paris = datetime(2026, 7, 1, 10, 7, tzinfo=UTC).astimezone()
    assert bucket_start(paris).minute == 0


def test_accumulator_integrates_occupied_time_across_buckets() -> None:
    acc = HistoryAccumulator()
    acc.observe(_at(0), {1: (0, False)})
    acc.observe(_at(5), {1: (3, True)})  # occupied from 9:05
    acc.observe(_at(10), {1: (5, True)})
    acc.observe(_at(20), {1: (1, True)})  # crosses 9:15
    acc.observe(_at(25), {1: (0, False)})  # empty from 9:25
    acc.observe(_at(31), {1: (0, False)})  # crosses 9:30
    first, second = acc.take_completed()
    assert (first.start, first.max_people, first.occupied_seconds) == (_at(0), 5, 10 * 60)
    # The new quarter starts with the 5 people still there, then 1.
    assert (second.start, second.max_people, second.occupied_seconds) == (_at(15), 5, 10 * 60)
    (current,) = acc.current()
    assert (current.start, current.max_people, current.occupied_seconds) == (_at(30), 0, 0)
    assert acc.take_completed() == []


def test_accumulator_carries_on_after_a_restart() -> None:
    acc = HistoryAccumulator()
    acc.seed([Bucket(1, _at(0), max_people=4, occupied_seconds=120)])
    acc.observe(_at(10), {1: (2, True)})
    acc.observe(_at(12), {1: (2, True)})
    (current,) = acc.current()
    assert (current.max_people, current.occupied_seconds) == (4, 240)


def test_deleted_space_closes_its_bucket() -> None:
    acc = HistoryAccumulator()
    acc.observe(_at(0), {1: (1, True), 2: (0, False)})
    acc.observe(_at(2), {1: (1, True)})
    (closed,) = acc.take_completed()
    assert closed.space_id == 2


def test_booked_seconds_counts_overlaps_once() -> None:
    intervals = [(_at(-10), _at(5)), (_at(3), _at(8)), (_at(12), _at(40))]
    assert booked_seconds(intervals, _at(0), _at(15)) == (8 + 3) * 60


def test_write_buckets_upserts_and_measures_bookings(db_url: str) -> None:
    db = Database(db_url)
    try:
        with db.session(write=True) as session:
            floor = Space(name="Étage", kind="floor", site_id=default_site_id(session, "Europe/Paris"))
            session.add(floor)
            session.flush()
            room = Space(name="Salle", kind="room", parent_id=floor.id, site_id=floor.site_id, capacity=6)
            session.add(room)
            session.flush()
            resource = Resource(name="Salle", kind="room", space_id=room.id)
            member = Member(name="Alice", email="alice@trilport.test")
            session.add_all([resource, member])
            session.flush()
            assert resource.id and member.id and room.id and floor.id
            session.add(
                Booking(
                    resource_id=resource.id,
                    member_id=member.id,
                    start=_at(5),
                    end=_at(10),
                    block_start=_at(5),
                    block_end=_at(10),
                    status="confirmed",
                )
            )
            session.commit()
            room_id, floor_id = room.id, floor.id
        layout = Layout(
            {floor_id: SpaceInfo(floor_id, "Étage", None), room_id: SpaceInfo(room_id, "Salle", floor_id)}, {}
        )
        write_buckets(db, layout, [Bucket(room_id, _at(0), 2, 300.4), Bucket(floor_id, _at(0), 2, 300)])
        write_buckets(db, layout, [Bucket(room_id, _at(0), 3, 400)])  # the same quarter, later
        write_buckets(db, layout, [Bucket(999_999, _at(0), 1, 1)])  # a space deleted meanwhile: skipped
        with db.session() as session:
            rows = {r.space_id: r for r in session.exec(select(OccupancyBucket)).all()}
        assert set(rows) == {room_id, floor_id}
        assert (rows[room_id].max_people, rows[room_id].occupied_seconds, rows[room_id].booked_seconds) == (3, 400, 300)
        assert rows[floor_id].booked_seconds == 300  # the floor is booked when a room in it is
        assert rows[room_id].bucket_start == _at(0)
        assert [b.max_people for b in load_open_buckets(db, _at(7)) if b.space_id == room_id] == [3]
    finally:
        db.dispose()

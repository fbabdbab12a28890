"""Occupancy history: per space and per 15 minutes, the most people seen, the minutes the space
was occupied and the minutes it was booked.

:class:`HistoryAccumulator` is pure: it is told what each space looks like at successive
instants and integrates occupied time between them, bucket by bucket. Booked minutes are not
sampled: they are measured from the bookings themselves when a bucket is written, so they are
exact even for a bucket the service was down for part of.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from tierslieu.booking.schedule import merge_intervals
from tierslieu.db import Database
from tierslieu.db.types import utcnow
from tierslieu.models import Space
from tierslieu.models.occupancy import OccupancyBucket
from tierslieu.occupancy.state import Layout
from tierslieu.occupancy.store import booked_intervals

__all__ = [
    "BUCKET",
    "Bucket",
    "HistoryAccumulator",
    "booked_seconds",
    "bucket_start",
    "load_open_buckets",
    "write_buckets",
]

log = logging.getLogger(__name__)

BUCKET = timedelta(minutes=15)
_EPOCH = datetime(2000, 1, 3, tzinfo=UTC)


def bucket_start(at: datetime) -> datetime:
    """The start of the 15-minute bucket holding ``at`` (UTC; quarter hours in every French
    local time too, offsets being whole hours)."""
    elapsed = at.astimezone(UTC) - _EPOCH
    return _EPOCH + (elapsed // BUCKET) * BUCKET


@dataclass(frozen=True, slots=True)
class Bucket:
    space_id: int
    start: datetime
    max_people: int = 0
    occupied_seconds: float = 0.0
    booked_seconds: float = 0.0

    @property
    def end(self) -> datetime:
        return self.start + BUCKET


@dataclass(slots=True)
class _Track:
    bucket: Bucket
    last_at: datetime
    occupied: bool
    people: int


class HistoryAccumulator:
    """Feeds on ``observe(now, {space_id: (people, occupied)})``; not thread-safe (one owner)."""

    def __init__(self) -> None:
        self._tracks: dict[int, _Track] = {}
        self._done: list[Bucket] = []
        self._seeds: dict[int, Bucket] = {}

    def seed(self, buckets: Iterable[Bucket]) -> None:
        """Carry on with buckets already stored (a restart within a quarter hour)."""
        self._seeds.update({bucket.space_id: bucket for bucket in buckets})

    def observe(self, now: datetime, spaces: Mapping[int, tuple[int, bool]]) -> None:
        for space_id, (people, occupied) in spaces.items():
            track = self._tracks.get(space_id)
            if track is None:
                bucket = Bucket(space_id, bucket_start(now), people)
                seed = self._seeds.pop(space_id, None)
                if seed is not None and seed.start == bucket.start:
                    bucket = replace(seed, max_people=max(seed.max_people, people))
                self._tracks[space_id] = _Track(bucket, now, occupied, people)
                continue
            self._advance(track, now)
            track.occupied, track.people = occupied, people
            track.bucket = replace(track.bucket, max_people=max(track.bucket.max_people, people))
        for space_id in set(self._tracks) - set(spaces):  # a space that was deleted
            self._advance(self._tracks[space_id], now)
            self._done.append(self._tracks.pop(space_id).bucket)

    def _advance(self, track: _Track, now: datetime) -> None:
        """Integrate the state held since ``track.last_at`` up to ``now``, closing buckets."""
        if now <= track.last_at:
            return
        while now >= track.bucket.end:
            self._add_time(track, track.bucket.end)
            self._done.append(track.bucket)
            # The new quarter starts with whoever is still there.
            track.bucket = Bucket(track.bucket.space_id, track.bucket.end, track.people)
        self._add_time(track, now)

    @staticmethod
    def _add_time(track: _Track, until: datetime) -> None:
        if track.occupied and until > track.last_at:
            seconds = (until - track.last_at).total_seconds()
            track.bucket = replace(track.bucket, occupied_seconds=track.bucket.occupied_seconds + seconds)
        track.last_at = max(track.last_at, until)

    def take_completed(self) -> list[Bucket]:
        done, self._done = self._done, []
        return done

    def current(self) -> list[Bucket]:
        """The buckets still filling, as they stand."""
        return [track.bucket for track in self._tracks.values()]


def booked_seconds(intervals: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime) -> float:
    """Seconds of [start, end) covered by at least one interval (overlaps counted once)."""
    clipped = [(max(a, start), min(b, end)) for a, b in intervals if a < end and b > start]
    return sum((b - a).total_seconds() for a, b in merge_intervals(clipped))


def _with_booked(session: Session, layout: Layout, buckets: Sequence[Bucket]) -> list[Bucket]:
    if not buckets:
        return []
    start = min(b.start for b in buckets)
    end = max(b.end for b in buckets)
    by_space = booked_intervals(session, start, end)
    subtree: dict[int, list[tuple[datetime, datetime]]] = {}
    for sid in layout.bottom_up:  # children first: a floor is booked when a room in it is
        own = list(by_space.get(sid, []))
        for child in layout.children.get(sid, ()):
            own.extend(subtree.get(child, []))
        subtree[sid] = own
    return [
        replace(b, booked_seconds=booked_seconds(subtree.get(b.space_id, by_space.get(b.space_id, [])), b.start, b.end))
        for b in buckets
    ]


def write_buckets(db: Database, layout: Layout, buckets: Sequence[Bucket]) -> None:
    """Insert or replace the buckets (one transaction), measuring their booked time."""
    if not buckets:
        return
    with db.session(write=True) as session:
        measured = _with_booked(session, layout, buckets)
        known = set(session.exec(select(Space.id)).all())  # a space deleted meanwhile is skipped
        insert = sqlite_insert if db.is_sqlite else pg_insert
        now = utcnow()
        for bucket in measured:
            if bucket.space_id not in known:
                continue
            values = {
                "space_id": bucket.space_id,
                "bucket_start": bucket.start,
                "max_people": bucket.max_people,
                "occupied_seconds": round(min(bucket.occupied_seconds, BUCKET.total_seconds())),
                "booked_seconds": round(min(bucket.booked_seconds, BUCKET.total_seconds())),
                "updated_at": now,
            }
            statement = insert(OccupancyBucket).values(**values)
            statement = statement.on_conflict_do_update(
                index_elements=["space_id", "bucket_start"],
                set_={
                    k: statement.excluded[k] for k in ("max_people", "occupied_seconds", "booked_seconds", "updated_at")
                },
            )
            session.execute(statement)
        session.commit()


def load_open_buckets(db: Database, at: datetime) -> list[Bucket]:
    """The stored rows of the bucket holding ``at``, to carry on after a restart."""
    with db.session() as session:
        rows = session.exec(select(OccupancyBucket).where(col(OccupancyBucket.bucket_start) == bucket_start(at))).all()
        return [Bucket(r.space_id, r.bucket_start, r.max_people, float(r.occupied_seconds)) for r in rows]

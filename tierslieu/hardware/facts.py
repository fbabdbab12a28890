"""The access facts, loaded from the database into memory: who holds which badge, with which
roles, which bookings open which spaces, which doors staff hold open or locked.

Badge decisions and the door controller read an immutable ``SiteFacts`` snapshot so that a
scan is decided without a database round trip (the unlock must not wait on SQL). The
``FactsCache`` reloads it when a commit writes one of the tables it reads (the change feed,
within ``CHANGE_DELAY_SECONDS``: a burst of writes is one reload), every
``access_refresh_seconds`` as a safety net, and on demand (``refresh()``) — and at once for
denials: before one is final, what concerns that badge is read again from the database
(``recheck``). When the commits since the last reload wrote bookings only (a burst of booking
creates), only those bookings are read again (``with_bookings``), by id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from tierslieu.booking.rules import BookingRules, EffectiveRules, merge_rules
from tierslieu.booking.schedule import Schedule
from tierslieu.db.types import utcnow
from tierslieu.hardware.quiet import QuietGate, paced
from tierslieu.models import Badge, Booking, Member, Resource, Space
from tierslieu.models.access import DoorOverride
from tierslieu.runtime import Runtime
from tierslieu.services.sites import ALL_SITES, SiteScope, scope_of
from tierslieu.workers import PeriodicWorker

__all__ = [
    "ACCESS_STATUSES",
    "BadgeFacts",
    "BookingWindow",
    "FactsCache",
    "MemberAccess",
    "PlaceFacts",
    "SiteFacts",
    "load_site_facts",
    "with_bookings",
    "with_fresh_badge",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

# A pending request does not open a door.
ACCESS_STATUSES = ("confirmed", "checked_in")
# Bookings kept in memory: those whose access window can meet [now - margin, now + margin].
_WINDOW_MARGIN = timedelta(days=1)
# The tables the facts are read from: a commit writing one of them reloads the facts.
FACT_TABLES = ("space", "resource", "badge", "member", "booking", "door_override")
# Commits writing only bookings among FACT_TABLES re-read those bookings, not everything.
_NOT_BOOKINGS = tuple(table for table in FACT_TABLES if table != "booking")
# More bookings written than this (an import): the booking window is read again instead, not
# an ``IN`` list of every id.
_BY_ID_LIMIT = 500
# A write is seen within this delay; the writes of a burst share one reload.
CHANGE_DELAY_SECONDS = 1.0


@dataclass(frozen=True)
class PlaceFacts:
    """A space or a resource with its effective rules (inherited from the spaces above)."""

    id: int
    kind: str
    rules: EffectiveRules
    schedule: Schedule
    parent_id: int | None = None  # spaces: the parent space; resources: their space
    site_id: int | None = None  # spaces: their site (a scoped member's roles apply there only)


# slots: one object per row instead of two (the instance and its __dict__) for the collector
# to walk; facts are reloaded every few seconds.
@dataclass(frozen=True, slots=True)
class BadgeFacts:
    member_id: int | None
    revoked: bool


@dataclass(frozen=True, slots=True)
class MemberAccess:
    active: bool
    roles: frozenset[str]
    sites: SiteScope = ALL_SITES  # where the roles apply (``Member.site_ids``)

    def roles_at(self, site_id: int | None) -> frozenset[str]:
        """Outside their sites, a scoped staff member or municipal agent is a plain member."""
        return self.roles if self.sites.allows(site_id) else frozenset({"member"})


def _member_access(active: bool, roles: Iterable[str] | None, site_ids: Iterable[int] | None) -> MemberAccess:
    held = frozenset(roles or ())
    return MemberAccess(active, held, scope_of(held, site_ids))


@dataclass(frozen=True, slots=True)
class BookingWindow:
    id: int
    resource_id: int
    member_id: int
    status: str
    start: datetime
    end: datetime
    opens: datetime  # start - access_lead_minutes
    closes: datetime  # end + overrun_minutes

    def open_at(self, now: datetime) -> bool:
        return self.opens <= now < self.closes


@dataclass(frozen=True)
class SiteFacts:
    spaces: Mapping[int, PlaceFacts] = field(default_factory=dict)
    resources: Mapping[int, PlaceFacts] = field(default_factory=dict)
    badges: Mapping[str, BadgeFacts] = field(default_factory=dict)
    members: Mapping[int, MemberAccess] = field(default_factory=dict)
    bookings: tuple[BookingWindow, ...] = ()
    overrides: Mapping[int, str] = field(default_factory=dict)  # door id -> "unlocked" | "locked"
    loaded_at: datetime | None = None

    def ancestors(self, space_id: int) -> list[int]:
        """The space and the spaces above it, innermost first."""
        chain: list[int] = []
        current: int | None = space_id
        while current is not None and current not in chain and current in self.spaces:
            chain.append(current)
            current = self.spaces[current].parent_id
        return chain

    def is_within(self, space_id: int, outer_id: int) -> bool:
        return outer_id in self.ancestors(space_id)

    def __post_init__(self) -> None:
        # Indexes for the hot path, built once per snapshot (the dataclass is frozen).
        by_member: dict[int, list[BookingWindow]] = {}
        by_resource: dict[int, list[BookingWindow]] = {}
        for booking in self.bookings:
            by_member.setdefault(booking.member_id, []).append(booking)
            by_resource.setdefault(booking.resource_id, []).append(booking)
        within: dict[int, set[int]] = {}
        for rid, res in self.resources.items():
            for space_id in self.ancestors(res.parent_id) if res.parent_id is not None else ():
                within.setdefault(space_id, set()).add(rid)
        object.__setattr__(self, "_by_member", by_member)
        object.__setattr__(self, "_by_resource", by_resource)
        object.__setattr__(self, "_within", {k: frozenset(v) for k, v in within.items()})

    def resource_ids_within(self, space_id: int) -> frozenset[int]:
        within: dict[int, frozenset[int]] = getattr(self, "_within")  # noqa: B009 - set in __post_init__
        return within.get(space_id, frozenset())

    def bookings_within(self, space_id: int, now: datetime, member_id: int | None = None) -> list[BookingWindow]:
        """Bookings giving access now to a resource in the space or a space inside it
        (only ``member_id``'s when given)."""
        inside = self.resource_ids_within(space_id)
        if member_id is not None:
            by_member: dict[int, list[BookingWindow]] = getattr(self, "_by_member")  # noqa: B009
            candidates: Sequence[BookingWindow] = by_member.get(member_id, ())
        else:
            candidates = self.bookings
        return [b for b in candidates if b.resource_id in inside and b.open_at(now)]

    def bookings_of(self, resource_id: int, now: datetime) -> list[BookingWindow]:
        by_resource: dict[int, list[BookingWindow]] = getattr(self, "_by_resource")  # noqa: B009
        return [b for b in by_resource.get(resource_id, ()) if b.open_at(now)]


def _place(
    kind: str, rules: EffectiveRules, row_id: int, parent_id: int | None, site_id: int | None = None
) -> PlaceFacts:
    return PlaceFacts(row_id, kind, rules, rules.schedule, parent_id, site_id)


BookingRow = tuple[int | None, int, int, str, datetime, datetime]
BookingQuery = sa.Select[int | None, int, int, str, datetime, datetime]


class _SpaceRow(NamedTuple):
    id: int
    kind: str
    parent_id: int | None
    rules: dict[str, Any] | None
    site_id: int | None


def _space_levels(rows: Mapping[int, _SpaceRow]) -> dict[int, list[BookingRules]]:
    """Each space's rule levels, outermost first (what merge_rules takes)."""
    levels: dict[int, list[BookingRules]] = {}
    for space_id in rows:
        chain: list[BookingRules] = []
        current, seen = rows.get(space_id), set()
        while current is not None and current.id not in seen:
            seen.add(current.id)
            chain.insert(0, BookingRules.model_validate(current.rules))
            current = rows.get(current.parent_id) if current.parent_id is not None else None
        levels[space_id] = chain
    return levels


def load_site_facts(session: Session, now: datetime, previous: SiteFacts | None = None) -> SiteFacts:
    """The facts as the database holds them now. Rows unchanged since ``previous`` keep their
    objects: a reload then leaves little new long-lived memory behind, and the collector's full
    passes (which stop every thread for tens of milliseconds) stay rare."""
    # Column tuples through Core, not ORM objects, read at a pace that lets the badge thread
    # in: this runs every few seconds beside it, and building ORM instances was most of its cost.
    old = previous or SiteFacts()
    db = session.connection()
    space_query = sa.select(col(Space.id), col(Space.kind), col(Space.parent_id), col(Space.rules), col(Space.site_id))
    space_rows = {row.id: row for row in map(_SpaceRow._make, paced(db.execute(space_query))) if row.id is not None}
    levels = _space_levels(space_rows)
    spaces = {
        sid: _place(row.kind, merge_rules(*levels[sid]), sid, row.parent_id, row.site_id)
        for sid, row in space_rows.items()
    }
    resources: dict[int, PlaceFacts] = {}
    resource_query = sa.select(col(Resource.id), col(Resource.kind), col(Resource.space_id), col(Resource.rules))
    for rid, kind, space_id, rules in paced(db.execute(resource_query)):
        if rid is None or space_id not in space_rows:
            continue
        merged = merge_rules(*levels[space_id], BookingRules.model_validate(rules))
        resources[rid] = _place(kind, merged, rid, space_id)
    badge_query = sa.select(col(Badge.uid), col(Badge.member_id), col(Badge.revoked_at).is_not(None))
    badges = {
        uid: _same(old.badges.get(uid), BadgeFacts(mid, bool(revoked)))
        for uid, mid, revoked in paced(db.execute(badge_query))
    }
    member_query = sa.select(col(Member.id), col(Member.active), col(Member.roles), col(Member.site_ids))
    members = {
        mid: _same(old.members.get(mid), _member_access(active, roles, site_ids))
        for mid, active, roles, site_ids in paced(db.execute(member_query))
        if mid
    }
    override_query = sa.select(col(DoorOverride.device_id), col(DoorOverride.mode))
    overrides = {device_id: mode for device_id, mode in db.execute(override_query)}
    earlier = {booking.id: booking for booking in old.bookings}
    windows = _windows(paced(db.execute(_booking_query(now))), resources)
    bookings = tuple(_same(earlier.get(window.id), window) for window in windows)
    return SiteFacts(spaces, resources, badges, members, bookings, overrides, now)


def _same(earlier: T | None, now: T) -> T:
    """``earlier`` when equal to ``now``, which is then freed at once instead of kept."""
    return earlier if earlier is not None and earlier == now else now


def _booking_query(now: datetime, member_id: int | None = None) -> BookingQuery:
    """(id, resource, member, status, start, end) of the bookings that can meet [now - margin, now + margin]."""
    query = (
        sa.select(
            col(Booking.id),
            col(Booking.resource_id),
            col(Booking.member_id),
            col(Booking.status),
            col(Booking.start),
            col(Booking.end),
        )
        .where(
            col(Booking.status).in_(ACCESS_STATUSES),
            col(Booking.start) < now + _WINDOW_MARGIN,
            col(Booking.end) > now - _WINDOW_MARGIN,
        )
        .order_by(col(Booking.start), col(Booking.id))
    )
    return query if member_id is None else query.where(col(Booking.member_id) == member_id)


def _windows(rows: Iterable[BookingRow], resources: Mapping[int, PlaceFacts]) -> tuple[BookingWindow, ...]:
    windows = []
    for bid, resource_id, booker, status, start, end in rows:
        place = resources.get(resource_id)
        if place is None or bid is None:
            continue
        lead = timedelta(minutes=place.rules.access_lead_minutes)
        overrun = timedelta(minutes=place.rules.overrun_minutes)
        windows.append(BookingWindow(bid, resource_id, booker, status, start, end, start - lead, end + overrun))
    return tuple(windows)


def with_bookings(session: Session, facts: SiteFacts, ids: frozenset[int] | None, now: datetime) -> SiteFacts:
    """``facts`` with the bookings ``ids`` read again (one query by id: those no longer in the
    window or no longer giving access leave it), or, ids unknown, the whole window: what commits
    that wrote bookings only can change."""
    if ids is not None and len(ids) > _BY_ID_LIMIT:
        ids = None
    query = _booking_query(now)
    if ids is not None:
        query = query.where(col(Booking.id).in_(sorted(ids)))
    rows = paced(session.connection().execute(query))
    earlier = {booking.id: booking for booking in facts.bookings}
    fresh = [_same(earlier.get(window.id), window) for window in _windows(rows, facts.resources)]
    kept = [booking for booking in facts.bookings if ids is not None and booking.id not in ids]
    # In the full load's order (start, id): the decisions look at them in that order.
    bookings = tuple(sorted([*kept, *fresh], key=lambda b: (b.start, b.id)))
    return replace(facts, bookings=bookings)


def with_fresh_badge(session: Session, facts: SiteFacts, uid: str, now: datetime) -> SiteFacts:
    """``facts`` with this badge, its member and the member's bookings read again (three small
    indexed queries): enough to re-decide a denial without reloading everything."""
    badge = session.exec(select(Badge).where(Badge.uid == uid)).first()
    badges = {k: v for k, v in facts.badges.items() if k != uid}
    if badge is None:
        return replace(facts, badges=badges)
    badges[uid] = BadgeFacts(badge.member_id, badge.revoked_at is not None)
    member = session.get(Member, badge.member_id) if badge.member_id is not None else None
    members = dict(facts.members)
    if member is None or member.id is None:
        return replace(facts, badges=badges)
    members[member.id] = _member_access(member.active, member.roles, member.site_ids)
    own = _windows(session.connection().execute(_booking_query(now, member.id)), facts.resources)
    others = tuple(b for b in facts.bookings if b.member_id != member.id)
    return replace(facts, badges=badges, members=members, bookings=others + own)


class FactsCache:
    """A ``Component`` keeping a fresh ``SiteFacts``; ``runtime.controller.facts``."""

    name = "access-facts"

    def __init__(self, runtime: Runtime, quiet: QuietGate | None = None) -> None:
        self._runtime = runtime
        self._quiet = quiet
        self._facts = SiteFacts()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        settings = runtime.settings
        self._worker = PeriodicWorker(
            self.name,
            self._reload,
            runtime.scheduler,
            settings.access_refresh_seconds,
            run_at_start=False,
            metrics=runtime.metrics,
        )
        self._worker.wake_on(runtime.db.changes, *FACT_TABLES, delay=CHANGE_DELAY_SECONDS)

    @property
    def current(self) -> SiteFacts:
        return self._facts

    def on_refresh(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def refresh(self) -> SiteFacts:
        """Reload now; on a database error the previous snapshot stays (and is logged)."""
        return self._update(load_site_facts)

    def refresh_bookings(self, ids: frozenset[int] | None) -> SiteFacts:
        """Read the bookings ``ids`` again (``None``: every booking of the window), nothing else."""
        return self._update(lambda session, now, facts: with_bookings(session, facts, ids, now))

    def _update(self, load: Callable[[Session, datetime, SiteFacts], SiteFacts]) -> SiteFacts:
        with self._lock:
            try:
                with self._runtime.db.session() as session:
                    self._facts = load(session, utcnow(), self._facts)
            except Exception:
                log.exception("access facts not reloaded; keeping the previous ones")
            facts = self._facts
        for listener in list(self._listeners):
            listener()
        return facts

    def recheck(self, uid: str, now: datetime) -> SiteFacts:
        """The snapshot with what concerns this badge read again from the database; the
        snapshot itself on a database error (logged)."""
        facts = self._facts
        try:
            with self._runtime.db.session() as session:
                return with_fresh_badge(session, facts, uid, now)
        except Exception:
            log.exception("badge %s not re-read from the database", uid)
            return facts

    def start(self) -> None:
        self.refresh()  # before the doors and badges are served
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    def _reload(self) -> None:
        changes = self._worker.changes
        if self._quiet is not None:
            self._quiet.wait(self._worker.stopping)
        # loaded_at None: the first load failed, there is no snapshot to amend.
        if changes is None or changes.touches(*_NOT_BOOKINGS) or self._facts.loaded_at is None:
            self.refresh()
        else:
            self.refresh_bookings(changes.ids("booking"))

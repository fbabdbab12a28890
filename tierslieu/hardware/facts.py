"""The access facts, loaded from the database into memory: who holds which badge, with which
roles, which bookings open which spaces, which doors staff hold open or locked.

Badge decisions and the door controller read an immutable ``SiteFacts`` snapshot so that a
scan is decided without a database round trip (the unlock must not wait on SQL). The
``FactsCache`` reloads it every ``access_refresh_seconds`` and on demand (``refresh()``), so
a change made through the API is seen within that delay — at once for denials: before one is
final, what concerns that badge is read again from the database (``recheck``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from tierslieu.booking.rules import BookingRules, EffectiveRules, merge_rules
from tierslieu.booking.schedule import Schedule
from tierslieu.db.types import utcnow
from tierslieu.hardware.quiet import QuietGate
from tierslieu.models import Badge, Booking, Member, Resource, Space
from tierslieu.models.access import DoorOverride
from tierslieu.runtime import Runtime

__all__ = [
    "ACCESS_STATUSES",
    "BadgeFacts",
    "BookingWindow",
    "FactsCache",
    "MemberAccess",
    "PlaceFacts",
    "SiteFacts",
    "load_site_facts",
    "with_fresh_badge",
]

log = logging.getLogger(__name__)

# A pending request does not open a door.
ACCESS_STATUSES = ("confirmed", "checked_in")
# Bookings kept in memory: those whose access window can meet [now - margin, now + margin].
_WINDOW_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class PlaceFacts:
    """A space or a resource with its effective rules (inherited from the spaces above)."""

    id: int
    kind: str
    rules: EffectiveRules
    schedule: Schedule
    parent_id: int | None = None  # spaces: the parent space; resources: their space


@dataclass(frozen=True)
class BadgeFacts:
    member_id: int | None
    revoked: bool


@dataclass(frozen=True)
class MemberAccess:
    active: bool
    roles: frozenset[str]


@dataclass(frozen=True)
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


def _place(kind: str, rules: EffectiveRules, row_id: int, parent_id: int | None) -> PlaceFacts:
    return PlaceFacts(row_id, kind, rules, rules.schedule, parent_id)


def _space_levels(rows: Mapping[int, Space]) -> dict[int, list[BookingRules]]:
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


def load_site_facts(session: Session, now: datetime) -> SiteFacts:
    space_rows = {row.id: row for row in session.exec(select(Space)).all() if row.id is not None}
    levels = _space_levels(space_rows)
    spaces = {sid: _place(row.kind, merge_rules(*levels[sid]), sid, row.parent_id) for sid, row in space_rows.items()}
    resources: dict[int, PlaceFacts] = {}
    for res in session.exec(select(Resource)).all():
        if res.id is None or res.space_id not in space_rows:
            continue
        merged = merge_rules(*levels[res.space_id], BookingRules.model_validate(res.rules))
        resources[res.id] = _place(res.kind, merged, res.id, res.space_id)
    badges = {b.uid: BadgeFacts(b.member_id, b.revoked_at is not None) for b in session.exec(select(Badge)).all()}
    members = {
        m.id: MemberAccess(m.active, frozenset(m.roles or ())) for m in session.exec(select(Member)).all() if m.id
    }
    query = _booking_query(now)
    overrides = {o.device_id: o.mode for o in session.exec(select(DoorOverride)).all()}
    return SiteFacts(spaces, resources, badges, members, _windows(query, session, resources), overrides, now)


def _booking_query(now: datetime) -> SelectOfScalar[Booking]:
    return select(Booking).where(
        col(Booking.status).in_(ACCESS_STATUSES),
        col(Booking.start) < now + _WINDOW_MARGIN,
        col(Booking.end) > now - _WINDOW_MARGIN,
    )


def _windows(
    query: SelectOfScalar[Booking], session: Session, resources: Mapping[int, PlaceFacts]
) -> tuple[BookingWindow, ...]:
    windows = []
    for b in session.exec(query.order_by(col(Booking.start), col(Booking.id))).all():
        place = resources.get(b.resource_id)
        if place is None or b.id is None:
            continue
        lead = timedelta(minutes=place.rules.access_lead_minutes)
        overrun = timedelta(minutes=place.rules.overrun_minutes)
        windows.append(
            BookingWindow(b.id, b.resource_id, b.member_id, b.status, b.start, b.end, b.start - lead, b.end + overrun)
        )
    return tuple(windows)


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
    members[member.id] = MemberAccess(member.active, frozenset(member.roles or ()))
    own = _windows(_booking_query(now).where(Booking.member_id == member.id), session, facts.resources)
    others = tuple(b for b in facts.bookings if b.member_id != member.id)
    return replace(facts, badges=badges, members=members, bookings=others + own)


class FactsCache:
    """A ``Component`` keeping a fresh ``SiteFacts``; shared as ``runtime.services["access_facts"]``."""

    name = "access-facts"

    def __init__(self, runtime: Runtime, quiet: QuietGate | None = None) -> None:
        self._runtime = runtime
        self._quiet = quiet
        self._facts = SiteFacts()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._listeners: list[Callable[[], None]] = []

    @property
    def current(self) -> SiteFacts:
        return self._facts

    def on_refresh(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def refresh(self) -> SiteFacts:
        """Reload now; on a database error the previous snapshot stays (and is logged)."""
        with self._lock:
            try:
                with self._runtime.db.session() as session:
                    self._facts = load_site_facts(session, utcnow())
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
        self.refresh()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="access-facts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping.wait(self._runtime.settings.access_refresh_seconds):
            if self._quiet is not None:
                self._quiet.wait(self._stopping)
            self.refresh()

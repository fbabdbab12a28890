"""What the occupancy model reads from the database: the layout, the last device states,
the bookings running now and each space's rules (opening hours, door-open limit)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from devices.model import DeviceKind
from tierslieu.booking import store as booking_store
from tierslieu.booking.rules import BookingRules, EffectiveRules, merge_rules
from tierslieu.models import Booking, Device, Resource, Space
from tierslieu.occupancy.state import BookingNow, DeviceInfo, Layout, Reading, SpaceContext, SpaceInfo

__all__ = [
    "booked_intervals",
    "bookings_now",
    "load_layout",
    "load_readings",
    "space_contexts",
    "space_rules",
]

log = logging.getLogger(__name__)

# Statuses that make a space "booked now"; pending bookings are not confirmed yet.
# Statuses counted in history as booked time (a booking that took place is "completed").
HISTORY_STATUSES = ("confirmed", "checked_in", "completed")


def load_layout(session: Session) -> Layout:
    spaces = {
        s.id: SpaceInfo(s.id, s.name, s.parent_id, s.capacity)
        for s in session.exec(select(Space)).all()
        if s.id is not None
    }
    rows = [d for d in session.exec(select(Device)).all() if d.id is not None]
    by_name = {d.name: d.id for d in rows}
    devices: dict[int, DeviceInfo] = {}
    for row in rows:
        assert row.id is not None
        try:
            kind = DeviceKind(row.kind)
        except ValueError:
            log.error("device %r ignored by occupancy: unknown kind %r", row.name, row.kind)
            continue
        watcher = (row.options or {}).get("contact_sensor")
        contact_id = by_name.get(watcher) if isinstance(watcher, str) else None
        devices[row.id] = DeviceInfo(row.id, row.name, kind, row.space_id, row.resource_id, contact_id)
    return Layout(spaces, devices)


def reading_from_reported(online: bool | None, last_seen: datetime | None, reported: Mapping[str, Any]) -> Reading:
    """A reading from what the device hub stored (``Device.reported``: occupied, people, open,
    locked/lock_state or relay_on)."""
    reading = Reading(online=online, last_seen=last_seen)
    occupied, people, is_open = reported.get("occupied"), reported.get("people"), reported.get("open")
    if isinstance(occupied, bool):
        reading.occupied = occupied
    if isinstance(people, int) and not isinstance(people, bool) and people >= 0:
        reading.people = people
    if isinstance(is_open, bool):
        reading.open = is_open
        # The exact opening time is not stored: the last message is the best we know.
        reading.open_since = last_seen if is_open else None
    if "locked" in reported:
        locked = reported["locked"]
        reading.locked = locked if isinstance(locked, bool) else None
        reading.lock_state = str(reported.get("lock_state") or "")
    elif isinstance(reported.get("relay_on"), bool):
        reading.locked = not reported["relay_on"]
        reading.lock_state = "locked" if reading.locked else "unlocked"
    return reading


def load_readings(session: Session) -> dict[int, Reading]:
    return {
        row.id: reading_from_reported(
            row.online if row.last_seen is not None else None, row.last_seen, row.reported or {}
        )
        for row in session.exec(select(Device)).all()
        if row.id is not None
    }


def space_rules(session: Session) -> dict[int, EffectiveRules]:
    """Effective rules of every space (inherited from its parents), in one query."""
    rows = {s.id: s for s in session.exec(select(Space)).all() if s.id is not None}
    resolved: dict[int, EffectiveRules] = {}
    for sid in rows:
        chain: list[Space] = []
        current: Space | None = rows[sid]
        while current is not None and current not in chain and len(chain) < 16:
            chain.insert(0, current)
            current = rows.get(current.parent_id) if current.parent_id is not None else None
        try:
            resolved[sid] = merge_rules(*(BookingRules.model_validate(s.rules or {}) for s in chain))
        except ValueError:
            log.exception("space %s has invalid rules: defaults used for occupancy", sid)
            resolved[sid] = EffectiveRules()
    return resolved


def _is_open(rules: EffectiveRules, now: datetime, tz: ZoneInfo) -> bool:
    return bool(rules.schedule.open_intervals(now, now + timedelta(seconds=1), tz))


def space_contexts(rules: Mapping[int, EffectiveRules], now: datetime, tz: ZoneInfo) -> dict[int, SpaceContext]:
    return {sid: SpaceContext(_is_open(r, now, tz), r.door_open_alert_minutes) for sid, r in rules.items()}


def _resource_checkin(
    session: Session, resource_ids: Iterable[int], rules: Mapping[int, EffectiveRules]
) -> dict[int, tuple[int | None, int | None]]:
    """resource id -> (space id, checkin_minutes), the resource's own rule winning."""
    found: dict[int, tuple[int | None, int | None]] = {}
    ids = list(resource_ids)
    if not ids:
        return found
    for resource in session.exec(select(Resource).where(col(Resource.id).in_(ids))).all():
        assert resource.id is not None
        space_id = resource.space_id
        checkin = rules[space_id].checkin_minutes if space_id is not None and space_id in rules else None
        own = (resource.rules or {}).get("checkin_minutes")
        if isinstance(own, int) and not isinstance(own, bool):
            checkin = own or None  # 0 switches the feature off
        found[resource.id] = (space_id, checkin)
    return found


def bookings_now(session: Session, now: datetime, rules: Mapping[int, EffectiveRules]) -> list[BookingNow]:
    """Confirmed or checked-in bookings with start <= now < end."""
    rows = booking_store.in_progress(session, now)
    places = _resource_checkin(session, {b.resource_id for b in rows}, rules)
    found = []
    for booking in rows:
        space_id, checkin = places.get(booking.resource_id, (None, None))
        if booking.id is None or space_id is None:
            continue
        found.append(
            BookingNow(
                booking.id,
                space_id,
                booking.resource_id,
                booking.start,
                booking.end,
                booking.status == "checked_in",
                checkin,
            )
        )
    return found


def booked_intervals(session: Session, start: datetime, end: datetime) -> dict[int, list[tuple[datetime, datetime]]]:
    """space id (of the booked resource) -> booking intervals overlapping [start, end)."""
    rows = session.exec(
        select(Booking.start, Booking.end, Resource.space_id)
        .join(Resource, col(Resource.id) == col(Booking.resource_id))
        .where(col(Booking.status).in_(HISTORY_STATUSES), col(Booking.start) < end, col(Booking.end) > start)
    ).all()
    found: dict[int, list[tuple[datetime, datetime]]] = {}
    for booking_start, booking_end, space_id in rows:
        if space_id is not None:
            found.setdefault(space_id, []).append((booking_start, booking_end))
    return found

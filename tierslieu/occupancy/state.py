"""The occupancy model, pure: device readings in, one status per space out.

- :class:`Layout` is the site as the model needs it (the space tree, where each device is).
- :class:`Reading` is the last thing each device said; :func:`apply_event` folds a device
  event into it.
- :func:`compute_statuses` turns layout + readings + the bookings running now into a
  :class:`SpaceStatus` per space, aggregated up the tree (a floor is occupied when one of its
  rooms is), with the alerts of :mod:`tierslieu.occupancy.alerts`.

People in a space: the sum of its people counters when it has some, otherwise the members
checked in on its bookings; a parent holds at least the sum of its children (an entrance
counter may see more). Occupied: an occupancy sensor says so, someone is counted, a child is
occupied, or — in a space without presence sensors — a door of it opened in the last minutes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from devices.model import (
    ContactChanged,
    DeviceAvailability,
    DeviceEvent,
    DeviceKind,
    LockStateChanged,
    OccupancyChanged,
    PeopleCount,
    RelayStateChanged,
)
from tierslieu.occupancy.alerts import (
    Alert,
    BookingFacts,
    DeviceFacts,
    DoorFacts,
    Limits,
    SpaceFacts,
    alerts_for,
    device_health,
)

__all__ = [
    "DOOR_ACTIVITY",
    "BookingNow",
    "DeviceBrief",
    "DeviceInfo",
    "DoorStatus",
    "Layout",
    "Reading",
    "SpaceContext",
    "SpaceInfo",
    "SpaceStatus",
    "apply_event",
    "compute_statuses",
]

# In a space without presence sensors, a door opening means someone is there for this long.
DOOR_ACTIVITY = timedelta(minutes=5)
_SENSING_KINDS = frozenset({DeviceKind.OCCUPANCY_SENSOR, DeviceKind.PEOPLE_COUNTER})


# --------------------------------------------------------------------------- the site


@dataclass(frozen=True, slots=True)
class SpaceInfo:
    id: int
    name: str
    parent_id: int | None
    capacity: int | None = None


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: int
    name: str
    kind: DeviceKind
    space_id: int | None
    resource_id: int | None = None
    # A door may name the contact sensor that watches it (site option ``contact_sensor``).
    contact_sensor_id: int | None = None


@dataclass(frozen=True)
class Layout:
    spaces: Mapping[int, SpaceInfo]
    devices: Mapping[int, DeviceInfo]
    children: Mapping[int, tuple[int, ...]] = field(init=False)
    # Children before their parents, so one walk can aggregate.
    bottom_up: tuple[int, ...] = field(init=False)
    devices_in: Mapping[int, tuple[DeviceInfo, ...]] = field(init=False)
    watched_contacts: frozenset[int] = field(init=False)

    def __post_init__(self) -> None:
        children: dict[int, list[int]] = {sid: [] for sid in self.spaces}
        for space in self.spaces.values():
            if space.parent_id in children and space.parent_id != space.id:
                children[space.parent_id].append(space.id)
        order: list[int] = []
        seen: set[int] = set()
        roots = [s.id for s in self.spaces.values() if s.parent_id not in self.spaces or s.parent_id == s.id]
        for root in sorted(roots) + sorted(self.spaces):  # a cycle is walked from any of its members
            self._post_order(root, children, seen, order)
        devices_in: dict[int, list[DeviceInfo]] = {sid: [] for sid in self.spaces}
        for device in sorted(self.devices.values(), key=lambda d: d.id):
            if device.space_id in devices_in:
                devices_in[device.space_id].append(device)
        object.__setattr__(self, "children", {sid: tuple(sorted(c)) for sid, c in children.items()})
        object.__setattr__(self, "bottom_up", tuple(order))
        object.__setattr__(self, "devices_in", {sid: tuple(d) for sid, d in devices_in.items()})
        watched = {d.contact_sensor_id for d in self.devices.values() if d.contact_sensor_id is not None}
        object.__setattr__(self, "watched_contacts", frozenset(watched))

    @staticmethod
    def _post_order(root: int, children: Mapping[int, list[int]], seen: set[int], order: list[int]) -> None:
        stack: list[tuple[int, bool]] = [(root, False)]
        while stack:
            sid, expanded = stack.pop()
            if expanded:
                order.append(sid)
                continue
            if sid in seen:
                continue
            seen.add(sid)
            stack.append((sid, True))
            stack.extend((child, False) for child in children.get(sid, ()) if child not in seen)

    def space_of_device(self, device_id: int) -> int | None:
        device = self.devices.get(device_id)
        return device.space_id if device else None


# --------------------------------------------------------------------------- readings


@dataclass(slots=True)
class Reading:
    """What one device last said. ``None`` everywhere means it never said it."""

    online: bool | None = None
    last_seen: datetime | None = None
    occupied: bool | None = None
    people: int | None = None
    open: bool | None = None
    open_since: datetime | None = None
    last_activity: datetime | None = None  # last time a contact opened or closed
    locked: bool | None = None
    lock_state: str = ""


def apply_event(reading: Reading, event: DeviceEvent, at: datetime) -> bool:
    """Fold one event into a reading. True when something a status shows has changed."""
    if isinstance(event, DeviceAvailability):
        # A last will ("offline") is not a sign of life: last_seen stays as it was.
        if event.online:
            reading.last_seen = at
        changed = reading.online != event.online
        reading.online = event.online
        return changed
    reading.last_seen = at
    # A device that talks is online, whatever its last will said before.
    changed = reading.online is not True
    reading.online = True
    if isinstance(event, OccupancyChanged):
        changed |= reading.occupied != event.occupied
        reading.occupied = event.occupied
    elif isinstance(event, PeopleCount):
        changed |= reading.people != event.count
        reading.people = event.count
    elif isinstance(event, ContactChanged):
        if reading.open != event.open:
            changed = True
            reading.open_since = at if event.open else None
            reading.last_activity = at
        reading.open = event.open
    elif isinstance(event, LockStateChanged):
        changed |= reading.locked != event.locked or reading.lock_state != event.raw_state
        reading.locked, reading.lock_state = event.locked, event.raw_state
    elif isinstance(event, RelayStateChanged):
        # A door relay that is on holds the strike released: the door is unlocked.
        locked = not event.on
        changed |= reading.locked != locked
        reading.locked, reading.lock_state = locked, "locked" if locked else "unlocked"
    return changed


# --------------------------------------------------------------------------- bookings and rules


@dataclass(frozen=True, slots=True)
class BookingNow:
    """A confirmed or checked-in booking running now."""

    id: int
    space_id: int
    resource_id: int
    start: datetime
    end: datetime
    checked_in: bool
    checkin_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class SpaceContext:
    """What the space's rules say right now."""

    is_open: bool = True
    door_open_alert_minutes: int | None = None


# --------------------------------------------------------------------------- statuses


@dataclass(frozen=True, slots=True)
class DoorStatus:
    device_id: int
    name: str
    kind: str  # door | contact_sensor
    online: bool
    locked: bool | None
    lock_state: str
    open: bool | None
    open_since: datetime | None
    has_contact: bool = False  # a contact sensor tells whether it is open

    def to_dict(self) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "name": self.name,
            "kind": self.kind,
            "online": self.online,
            "locked": self.locked,
            "lock_state": self.lock_state,
            "open": self.open,
            "open_since": _iso(self.open_since),
            "has_contact": self.has_contact,
        }


@dataclass(frozen=True, slots=True)
class DeviceBrief:
    id: int
    name: str
    kind: str
    space_id: int
    reason: str  # unavailable | silent | never_seen
    last_seen: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "space_id": self.space_id,
            "reason": self.reason,
            "last_seen": _iso(self.last_seen),
        }


@dataclass(frozen=True, slots=True)
class SpaceStatus:
    space_id: int
    name: str
    parent_id: int | None
    capacity: int | None
    occupied: bool
    people: int
    people_source: str  # counter | check_ins | none
    booked_now: bool
    checked_in: int
    devices_online: int
    devices_total: int
    devices_offline: tuple[DeviceBrief, ...] = ()
    doors: tuple[DoorStatus, ...] = ()
    alerts: tuple[Alert, ...] = ()

    def to_dict(self, locale: str = "fr") -> dict[str, Any]:
        return {
            "space_id": self.space_id,
            "name": self.name,
            "parent_id": self.parent_id,
            "capacity": self.capacity,
            "occupied": self.occupied,
            "people": self.people,
            "people_source": self.people_source,
            "booked_now": self.booked_now,
            "checked_in": self.checked_in,
            "devices_online": self.devices_online,
            "devices_total": self.devices_total,
            "devices_offline": [d.to_dict() for d in self.devices_offline],
            "doors": [d.to_dict() for d in self.doors],
            "alerts": [a.to_dict(locale) for a in self.alerts],
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@dataclass(slots=True)
class _Totals:
    """What a space passes up to its parent."""

    people: int = 0
    occupied: bool = False
    booked: bool = False
    checked_in: int = 0
    sensing: bool = False
    online: int = 0
    total: int = 0
    offline: list[DeviceBrief] = field(default_factory=list)


def compute_statuses(
    layout: Layout,
    readings: Mapping[int, Reading],
    bookings: Iterable[BookingNow],
    contexts: Mapping[int, SpaceContext],
    limits: Limits,
) -> dict[int, SpaceStatus]:
    """One status per space of the layout."""
    by_space: dict[int, list[BookingNow]] = {}
    for booking in bookings:
        by_space.setdefault(booking.space_id, []).append(booking)
    totals: dict[int, _Totals] = {}
    statuses: dict[int, SpaceStatus] = {}
    empty = Reading()
    for sid in layout.bottom_up:
        space = layout.spaces[sid]
        devices = layout.devices_in.get(sid, ())
        own_bookings = by_space.get(sid, [])
        kids = [totals[c] for c in layout.children.get(sid, ()) if c in totals]
        context = contexts.get(sid, SpaceContext())
        t = _Totals()
        counters = [
            readings.get(d.id, empty).people
            for d in devices
            if d.kind == DeviceKind.PEOPLE_COUNTER and readings.get(d.id, empty).online is not False
        ]
        counted = [c for c in counters if c is not None]
        own_checked_in = sum(1 for b in own_bookings if b.checked_in)
        kids_people = sum(k.people for k in kids)
        if counted:
            t.people, source = max(sum(counted), kids_people), "counter"
        else:
            t.people = own_checked_in + kids_people
            source = "check_ins" if t.people else "none"
        sensed = (
            any(
                readings.get(d.id, empty).occupied is True and readings.get(d.id, empty).online is not False
                for d in devices
                if d.kind == DeviceKind.OCCUPANCY_SENSOR
            )
            or sum(counted) > 0
        )
        own_sensing = any(d.kind in _SENSING_KINDS for d in devices)
        t.sensing = own_sensing or any(k.sensing for k in kids)
        doors = _doors(layout, devices, readings, limits)
        recent_door = not own_sensing and any(
            _door_active(readings.get(d.id, empty), limits.now) for d in devices if d.kind == DeviceKind.CONTACT_SENSOR
        )
        t.occupied = sensed or t.people > 0 or recent_door or any(k.occupied for k in kids)
        t.booked = bool(own_bookings) or any(k.booked for k in kids)
        t.checked_in = own_checked_in + sum(k.checked_in for k in kids)
        device_facts = [
            DeviceFacts(d.id, d.name, readings.get(d.id, empty).online, readings.get(d.id, empty).last_seen)
            for d in devices
        ]
        for device, dfacts in zip(devices, device_facts, strict=True):
            health = device_health(dfacts, limits)
            t.total += 1
            if health.online:
                t.online += 1
            elif health.reason is not None:  # not heard from yet is not "offline" yet
                t.offline.append(
                    DeviceBrief(device.id, device.name, device.kind.value, sid, health.reason, dfacts.last_seen)
                )
        for k in kids:
            t.online, t.total = t.online + k.online, t.total + k.total
            t.offline.extend(k.offline)
        facts = SpaceFacts(
            space_id=sid,
            name=space.name,
            capacity=space.capacity,
            people=t.people,
            occupied=t.occupied,
            sensed_presence=sensed,
            has_sensing=t.sensing,
            booked_now=t.booked,
            is_open=context.is_open,
            door_open_alert_minutes=context.door_open_alert_minutes,
            doors=tuple(DoorFacts(d.device_id, d.name, d.open, d.open_since) for d in doors),
            devices=tuple(device_facts),
            bookings=tuple(BookingFacts(b.id, b.start, b.checked_in, b.checkin_minutes) for b in own_bookings),
        )
        totals[sid] = t
        statuses[sid] = SpaceStatus(
            space_id=sid,
            name=space.name,
            parent_id=space.parent_id,
            capacity=space.capacity,
            occupied=t.occupied,
            people=t.people,
            people_source=source,
            booked_now=t.booked,
            checked_in=t.checked_in,
            devices_online=t.online,
            devices_total=t.total,
            devices_offline=tuple(sorted(t.offline, key=lambda d: d.id)),
            doors=doors,
            alerts=alerts_for(facts, limits),
        )
    return statuses


def _door_active(reading: Reading, now: datetime) -> bool:
    if reading.open and reading.online is not False:
        return True
    return reading.last_activity is not None and now - reading.last_activity < DOOR_ACTIVITY


def _doors(
    layout: Layout, devices: Iterable[DeviceInfo], readings: Mapping[int, Reading], limits: Limits
) -> tuple[DoorStatus, ...]:
    """Doors of a space: door devices (open state from the contact sensor that watches them)
    and contact sensors that watch no door device."""
    empty = Reading()
    doors: list[DoorStatus] = []
    for device in devices:
        reading = readings.get(device.id, empty)
        online = device_health(DeviceFacts(device.id, device.name, reading.online, reading.last_seen), limits).online
        if device.kind == DeviceKind.DOOR:
            contact = readings.get(device.contact_sensor_id, empty) if device.contact_sensor_id else empty
            doors.append(
                DoorStatus(
                    device.id,
                    device.name,
                    "door",
                    online,
                    reading.locked,
                    reading.lock_state,
                    contact.open,
                    contact.open_since,
                    device.contact_sensor_id is not None,
                )
            )
        elif device.kind == DeviceKind.CONTACT_SENSOR and device.id not in layout.watched_contacts:
            doors.append(
                DoorStatus(
                    device.id, device.name, "contact_sensor", online, None, "", reading.open, reading.open_since, True
                )
            )
    return tuple(doors)

"""Alert rules over one space's facts: pure functions, one per alert, table-driven.

Each rule reads a :class:`SpaceFacts` (what the sensors, bookings and rules say about a space
right now) and yields :class:`Alert` values. ``since`` is the instant the condition started
when it is known, so an alert compares equal from one pass to the next and is announced once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from tierslieu.i18n import render

__all__ = [
    "DEFAULT_CHECKIN_WINDOW_MINUTES",
    "RULES",
    "Alert",
    "AlertCode",
    "BookingFacts",
    "DeviceFacts",
    "DeviceHealth",
    "DoorFacts",
    "Limits",
    "SpaceFacts",
    "alerts_for",
    "device_health",
]

# A booked room with no check-in rule is called empty this long after the booking started.
DEFAULT_CHECKIN_WINDOW_MINUTES = 15


class AlertCode(StrEnum):
    OVER_CAPACITY = "over_capacity"
    DOOR_OPEN_TOO_LONG = "door_open_too_long"
    PRESENCE_OUTSIDE_HOURS = "presence_outside_hours"
    BOOKED_BUT_EMPTY = "booked_but_empty"
    DEVICE_OFFLINE = "device_offline"


_SEVERITY = {
    AlertCode.OVER_CAPACITY: "warning",
    AlertCode.DOOR_OPEN_TOO_LONG: "warning",
    AlertCode.PRESENCE_OUTSIDE_HOURS: "critical",
    AlertCode.BOOKED_BUT_EMPTY: "info",
    AlertCode.DEVICE_OFFLINE: "warning",
}


@dataclass(frozen=True, slots=True)
class Alert:
    code: AlertCode
    space_id: int
    since: datetime | None
    device_id: int | None = None
    booking_id: int | None = None
    # Values for the message; compared, never hashed.
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def key(self) -> tuple[str, int, int | None, int | None]:
        """What identifies an alert across passes (its since/params may be refined)."""
        return (self.code.value, self.space_id, self.device_id, self.booking_id)

    @property
    def severity(self) -> str:
        return _SEVERITY[self.code]

    def message(self, locale: str = "fr") -> str:
        """The alert in words, from the catalogue (``alert.<code>``; offline devices say why)."""
        msgid = f"alert.{self.code.value}"
        if self.code == AlertCode.DEVICE_OFFLINE:
            msgid = f"{msgid}.{self.params.get('reason', 'unavailable')}"
        return render(msgid, self.params, locale)

    def to_dict(self, locale: str = "fr") -> dict[str, Any]:
        return {
            "code": self.code.value,
            "severity": self.severity,
            "space_id": self.space_id,
            "device_id": self.device_id,
            "booking_id": self.booking_id,
            "since": self.since.isoformat() if self.since else None,
            "message": self.message(locale),
        }


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True, slots=True)
class DoorFacts:
    device_id: int
    name: str
    open: bool | None
    open_since: datetime | None


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    device_id: int
    name: str
    online: bool | None  # None: the device never said
    last_seen: datetime | None


@dataclass(frozen=True, slots=True)
class BookingFacts:
    """A booking of a resource in the space, running now."""

    booking_id: int
    start: datetime
    checked_in: bool
    checkin_window_minutes: int | None  # the checkin_minutes rule; None = default window


@dataclass(frozen=True, slots=True)
class SpaceFacts:
    space_id: int
    name: str
    capacity: int | None
    people: int  # the space and the spaces inside it
    occupied: bool  # the space and the spaces inside it, from every source
    sensed_presence: bool  # the space's own occupancy sensors or counters see someone
    has_sensing: bool  # the space or a space inside it has occupancy sensors or counters
    booked_now: bool  # the space or a space inside it
    is_open: bool  # inside opening hours
    door_open_alert_minutes: int | None = None
    doors: tuple[DoorFacts, ...] = ()
    devices: tuple[DeviceFacts, ...] = ()
    bookings: tuple[BookingFacts, ...] = ()  # bookings of the space's own resources


@dataclass(frozen=True, slots=True)
class Limits:
    """Site-wide settings the rules need."""

    now: datetime
    # A device quiet for longer than this is offline; None switches silence detection off.
    silence: timedelta | None
    # When the tracker started: a device never heard of is only reported after ``silence``.
    started_at: datetime


# --------------------------------------------------------------------------- device health


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    online: bool
    reason: str | None  # unavailable | silent | never_seen, when offline
    since: datetime | None


def device_health(device: DeviceFacts, limits: Limits) -> DeviceHealth:
    """Whether a device counts as online, and if not why and since when."""
    if device.online is False:
        return DeviceHealth(False, "unavailable", device.last_seen)
    if device.last_seen is None:
        if limits.silence is not None and limits.now - limits.started_at >= limits.silence:
            return DeviceHealth(False, "never_seen", limits.started_at + limits.silence)
        # Too early to tell: not counted online, not alerted either.
        return DeviceHealth(False, None, None)
    if limits.silence is not None and limits.now - device.last_seen > limits.silence:
        return DeviceHealth(False, "silent", device.last_seen + limits.silence)
    return DeviceHealth(True, None, None)


# --------------------------------------------------------------------------- the rules


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def over_capacity(facts: SpaceFacts, limits: Limits) -> Iterator[Alert]:
    if facts.capacity is not None and facts.people > facts.capacity:
        params = {"space": facts.name, "people": facts.people, "capacity": facts.capacity}
        yield Alert(AlertCode.OVER_CAPACITY, facts.space_id, None, params=params)


def door_open_too_long(facts: SpaceFacts, limits: Limits) -> Iterator[Alert]:
    limit = facts.door_open_alert_minutes
    if not limit:
        return
    for door in facts.doors:
        if door.open and door.open_since is not None and limits.now - door.open_since >= timedelta(minutes=limit):
            params = {"space": facts.name, "door": door.name, "minutes": limit}
            yield Alert(
                AlertCode.DOOR_OPEN_TOO_LONG, facts.space_id, door.open_since, device_id=door.device_id, params=params
            )


def presence_outside_hours(facts: SpaceFacts, limits: Limits) -> Iterator[Alert]:
    # Only what the space's own sensors see: a booking check-in is never an intrusion.
    if facts.sensed_presence and not facts.is_open and not facts.booked_now:
        yield Alert(AlertCode.PRESENCE_OUTSIDE_HOURS, facts.space_id, None, params={"space": facts.name})


def booked_but_empty(facts: SpaceFacts, limits: Limits) -> Iterator[Alert]:
    for booking in facts.bookings:
        window = booking.checkin_window_minutes or DEFAULT_CHECKIN_WINDOW_MINUTES
        deadline = booking.start + timedelta(minutes=window)
        if limits.now < deadline:
            continue
        # With sensors, trust them; without, only a check-in says someone came.
        empty = not facts.occupied if facts.has_sensing else not booking.checked_in
        if empty:
            params = {"space": facts.name, "minutes": window}
            yield Alert(
                AlertCode.BOOKED_BUT_EMPTY, facts.space_id, deadline, booking_id=booking.booking_id, params=params
            )


def device_offline(facts: SpaceFacts, limits: Limits) -> Iterator[Alert]:
    for device in facts.devices:
        health = device_health(device, limits)
        if health.online or health.reason is None:
            continue
        params: dict[str, Any] = {"space": facts.name, "device": device.name, "reason": health.reason}
        if health.reason == "silent" and limits.silence is not None:
            params["minutes"] = _minutes(limits.silence)
        yield Alert(AlertCode.DEVICE_OFFLINE, facts.space_id, health.since, device_id=device.device_id, params=params)


Rule = Callable[[SpaceFacts, Limits], Iterable[Alert]]
RULES: tuple[Rule, ...] = (over_capacity, door_open_too_long, presence_outside_hours, booked_but_empty, device_offline)


def alerts_for(facts: SpaceFacts, limits: Limits, rules: Iterable[Rule] = RULES) -> tuple[Alert, ...]:
    """Every alert the rules raise for this space, in rule order."""
    return tuple(alert for rule in rules for alert in rule(facts, limits))

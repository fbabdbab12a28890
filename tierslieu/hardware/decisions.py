"""Badge decisions: a pure function from the facts of one scan to a verdict with a reason.

A badge scanned on a reader of a space opens it when the badge's member (active badge, active
account) has a booking giving access now to that space or a space inside it — so a booking in
a room also opens the building entrance on the way — or holds a role the space grants without
booking: staff and admins everywhere, municipal agents on the municipal floor and the doors
leading to it, during opening hours — at the doors of their own sites, for members scoped to
some sites (``Member.site_ids``). A reader attached to a resource (a desk) checks the member
in to their booking there, or offers a walk-in when the desk is free and the rules allow it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tierslieu.hardware.facts import BookingWindow, PlaceFacts, SiteFacts

__all__ = ["STAFF_ROLES", "Decision", "Reason", "Scan", "decide"]

STAFF_ROLES = frozenset({"admin", "staff"})
MUNICIPAL_FLOOR = "municipal_floor"


class Reason(StrEnum):
    GRANTED_BOOKING = "granted_booking"
    GRANTED_ROLE = "granted_role"
    GRANTED_WALK_IN = "granted_walk_in"
    UNKNOWN_BADGE = "unknown_badge"
    BADGE_REVOKED = "badge_revoked"
    ACCOUNT_DISABLED = "account_disabled"
    NO_BOOKING = "no_booking"
    OUTSIDE_HOURS = "outside_hours"
    DESK_TAKEN = "desk_taken"
    DEVICE_OFFLINE = "device_offline"
    AUTH_FAILED = "auth_failed"  # the reader says the tag failed its authentication
    UNKNOWN_PLACE = "unknown_place"


@dataclass(frozen=True)
class Scan:
    """One badge on one reader. ``door_ids``: the doors a grant opens; ``offline_door_ids``:
    those known to be offline (their last word was a last will or ``offline``)."""

    reader_id: int
    space_id: int
    uid: str
    now: datetime
    resource_id: int | None = None
    door_ids: tuple[int, ...] = ()
    offline_door_ids: frozenset[int] = frozenset()
    authenticated: bool = True


@dataclass(frozen=True)
class Decision:
    granted: bool
    reason: Reason
    member_id: int | None = None
    booking_id: int | None = None
    # Doors to pulse open (empty when denied, or for a desk reader).
    unlock: tuple[int, ...] = ()
    check_in: bool = False  # check the member in on booking_id
    walk_in: bool = False  # create a walk-in booking on the scan's resource (may still fail)

    @property
    def decision(self) -> str:
        return "granted" if self.granted else "denied"


def _is_open(place: PlaceFacts, now: datetime, tz: ZoneInfo) -> bool:
    return place.schedule.fits_one_opening(now, now + timedelta(seconds=1), tz)


def _denied(reason: Reason, member_id: int | None = None) -> Decision:
    return Decision(False, reason, member_id)


def _first_own(bookings: list[BookingWindow], member_id: int) -> BookingWindow | None:
    return next((b for b in bookings if b.member_id == member_id), None)


def _municipal_reach(facts: SiteFacts, space_id: int) -> bool:
    """On a municipal floor, or on the way to one (the building entrance)."""
    if any(facts.spaces[s].kind == MUNICIPAL_FLOOR for s in facts.ancestors(space_id)):
        return True
    return any(place.kind == MUNICIPAL_FLOOR and facts.is_within(sid, space_id) for sid, place in facts.spaces.items())


def _at_resource(scan: Scan, facts: SiteFacts, member_id: int, tz: ZoneInfo) -> Decision:
    assert scan.resource_id is not None
    resource = facts.resources.get(scan.resource_id)
    if resource is None:
        return _denied(Reason.UNKNOWN_PLACE, member_id)
    current = facts.bookings_of(scan.resource_id, scan.now)
    own = _first_own(current, member_id)
    if own is not None:
        return Decision(True, Reason.GRANTED_BOOKING, member_id, own.id, check_in=True)
    if current:
        return _denied(Reason.DESK_TAKEN, member_id)
    if not resource.rules.walk_in:
        return _denied(Reason.NO_BOOKING, member_id)
    if not _is_open(resource, scan.now, tz):
        return _denied(Reason.OUTSIDE_HOURS, member_id)
    return Decision(True, Reason.GRANTED_WALK_IN, member_id, walk_in=True)


def _at_space(scan: Scan, facts: SiteFacts, member_id: int, roles: frozenset[str], tz: ZoneInfo) -> Decision:
    space = facts.spaces.get(scan.space_id)
    if space is None:
        return _denied(Reason.UNKNOWN_PLACE, member_id)
    own = _first_own(facts.bookings_within(scan.space_id, scan.now, member_id), member_id)
    if own is not None:
        return Decision(True, Reason.GRANTED_BOOKING, member_id, own.id, check_in=True)
    if roles & STAFF_ROLES:
        return Decision(True, Reason.GRANTED_ROLE, member_id)
    if "municipal" in roles and _municipal_reach(facts, scan.space_id):
        if _is_open(space, scan.now, tz):
            return Decision(True, Reason.GRANTED_ROLE, member_id)
        return _denied(Reason.OUTSIDE_HOURS, member_id)
    return _denied(Reason.NO_BOOKING, member_id)


def decide(scan: Scan, facts: SiteFacts, tz: ZoneInfo) -> Decision:
    badge = facts.badges.get(scan.uid)
    if not scan.authenticated:
        # A cloned UID passes the UID check; a failed authentication never opens.
        return _denied(Reason.AUTH_FAILED, badge.member_id if badge is not None else None)
    if badge is None or badge.member_id is None:
        return _denied(Reason.UNKNOWN_BADGE)
    member_id = badge.member_id
    if badge.revoked:
        return _denied(Reason.BADGE_REVOKED, member_id)
    member = facts.members.get(member_id)
    if member is None or not member.active:
        return _denied(Reason.ACCOUNT_DISABLED, member_id)
    if scan.resource_id is not None:
        return _at_resource(scan, facts, member_id, tz)
    place = facts.spaces.get(scan.space_id)
    # A scoped member's roles open the doors of their own sites only; elsewhere, bookings do.
    roles = member.roles_at(place.site_id if place is not None else None)
    decision = _at_space(scan, facts, member_id, roles, tz)
    if not decision.granted:
        return decision
    if scan.door_ids and all(door in scan.offline_door_ids for door in scan.door_ids):
        # Nobody would get in, and a command queued for an offline door could open it later.
        return Decision(False, Reason.DEVICE_OFFLINE, member_id, decision.booking_id)
    reachable = tuple(door for door in scan.door_ids if door not in scan.offline_door_ids)
    return Decision(True, decision.reason, member_id, decision.booking_id, reachable, decision.check_in)

"""Closed vocabularies fixed by the API contract."""

from __future__ import annotations

from enum import StrEnum

from devices.model import DeviceKind
from firmware_bridges.names import BridgeName

__all__ = [
    "BRIDGE_NAMES",
    "DEVICE_KINDS",
    "RESOURCE_KINDS",
    "ROLES",
    "SPACE_KINDS",
    "BridgeName",
    "DeviceKind",
    "ResourceKind",
    "Role",
    "SpaceKind",
]


class Role(StrEnum):
    admin = "admin"
    staff = "staff"
    animator = "animator"
    municipal = "municipal"
    member = "member"
    # A referring organisation (CCAS, library): may only book the advisor's appointments and
    # see the ones it made.
    partner = "partner"


class SpaceKind(StrEnum):
    building = "building"
    floor = "floor"
    municipal_floor = "municipal_floor"
    workshop_hall = "workshop_hall"
    visio_room = "visio_room"
    coworking = "coworking"
    fablab = "fablab"
    room = "room"


class ResourceKind(StrEnum):
    room = "room"
    desk = "desk"
    printer = "printer"
    equipment = "equipment"


ROLES = tuple(r.value for r in Role)
SPACE_KINDS = tuple(k.value for k in SpaceKind)
RESOURCE_KINDS = tuple(k.value for k in ResourceKind)
# The device vocabulary belongs to the device layer (devices/, firmware_bridges/): imported, never copied.
DEVICE_KINDS = tuple(k.value for k in DeviceKind)
BRIDGE_NAMES = tuple(b.value for b in BridgeName)

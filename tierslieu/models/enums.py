"""Closed vocabularies fixed by the API contract."""

from __future__ import annotations

from enum import StrEnum


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


class DeviceKindName(StrEnum):
    door = "door"
    badge_reader = "badge_reader"
    occupancy_sensor = "occupancy_sensor"
    contact_sensor = "contact_sensor"
    people_counter = "people_counter"
    fire_panel = "fire_panel"


class BridgeName(StrEnum):
    zigbee2mqtt = "zigbee2mqtt"
    tasmota = "tasmota"
    shelly_gen1 = "shelly_gen1"
    shelly_gen2 = "shelly_gen2"
    esphome = "esphome"


ROLES = tuple(r.value for r in Role)
SPACE_KINDS = tuple(k.value for k in SpaceKind)
RESOURCE_KINDS = tuple(k.value for k in ResourceKind)
DEVICE_KINDS = tuple(k.value for k in DeviceKindName)
BRIDGES = tuple(b.value for b in BridgeName)

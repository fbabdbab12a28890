"""A small site in the database and the device stack running over a chosen transport.

The site: a building (entrance door + reader) holding a room, a visio room that unlocks
during bookings, a coworking space with a desk reader and walk-ins, and a municipal floor.
People: Alice (booked in the room now), Bob (no booking), Sam (staff), a municipal agent,
a revoked badge and a disabled account.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from devices.transport import Transport
from tests.support.bookings import insert_booking
from tierslieu.db.types import utcnow
from tierslieu.hardware.wiring import DeviceStack, TransportComponent, build_device_stack
from tierslieu.models import Badge, Device, Member, Resource, Space
from tierslieu.runtime import Runtime
from tierslieu.services.sites import default_site_id

ALL_WEEK = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
UIDS = {
    "alice": "A1A1A1A1",
    "bob": "B0B0B0B0",
    "sam": "5A5A5A5A",
    "mona": "3C3C3C3C",
    "revoked": "DEADBEEF",
    "disabled": "D15AB1ED",
}


@dataclass
class Site:
    spaces: dict[str, int] = field(default_factory=dict)
    resources: dict[str, int] = field(default_factory=dict)
    devices: dict[str, int] = field(default_factory=dict)
    members: dict[str, int] = field(default_factory=dict)
    bookings: dict[str, int] = field(default_factory=dict)


def _add(session: Any, row: Any) -> int:
    session.add(row)
    session.flush()
    assert row.id is not None
    return int(row.id)


def build_site(runtime: Runtime, *, open_hours: dict[str, list[str]] | None = None) -> Site:
    site = Site()
    hours = open_hours or ALL_WEEK
    with runtime.db.session(write=True) as session:
        s = site.spaces
        site_id = default_site_id(session, "Europe/Paris")

        def add_space(name: str, kind: str, parent: str | None = None, rules: dict[str, object] | None = None) -> int:
            parent_id = s[parent] if parent else None
            return _add(session, Space(name=name, kind=kind, site_id=site_id, parent_id=parent_id, rules=rules or {}))

        s["building"] = add_space("Bâtiment", "building", rules={"opening_hours": hours})
        s["room"] = add_space("Salle", "room", "building")
        s["visio"] = add_space("Visio", "visio_room", "building", {"unlock_during_bookings": True})
        s["cowork"] = add_space("Coworking", "coworking", "building", {"walk_in": True})
        s["mairie"] = add_space("Mairie", "municipal_floor", "building")
        r = site.resources
        r["room"] = _add(session, Resource(name="Salle R", kind="room", space_id=s["room"]))
        r["visio"] = _add(session, Resource(name="Visio R", kind="room", space_id=s["visio"]))
        r["desk"] = _add(session, Resource(name="Poste 1", kind="desk", space_id=s["cowork"]))
        d = site.devices
        extra: dict[str, Any] = {}
        for name, kind, bridge, address, space in [
            ("entrance_door", "door", "tasmota", "porte-entree", "building"),
            ("entrance_reader", "badge_reader", "tasmota", "lecteur-entree", "building"),
            ("entrance_contact", "contact_sensor", "zigbee2mqtt", "contact_entree", "building"),
            ("room_door", "door", "zigbee2mqtt", "serrure_salle", "room"),
            ("room_reader", "badge_reader", "tasmota", "lecteur-salle", "room"),
            ("visio_door", "door", "tasmota", "porte-visio", "visio"),
            ("mairie_reader", "badge_reader", "tasmota", "lecteur-mairie", "mairie"),
        ]:
            d[name] = _add(
                session,
                Device(name=name, kind=kind, bridge=bridge, address=address, space_id=s[space], options=dict(extra)),
            )
        d["desk_reader"] = _add(
            session,
            Device(
                name="desk_reader",
                kind="badge_reader",
                bridge="esphome",
                address="poste-1",
                space_id=s["cowork"],
                resource_id=r["desk"],
                options={"tag_sensor": "badge"},
            ),
        )
        m = site.members
        for name, roles, active in [
            ("alice", ["member"], True),
            ("bob", ["member"], True),
            ("sam", ["staff"], True),
            ("mona", ["municipal"], True),
            ("disabled", ["member"], False),
        ]:
            m[name] = _add(session, Member(name=name, email=f"{name}@trilport.test", roles=roles, active=active))
        for name, uid in UIDS.items():
            owner = m["bob"] if name == "revoked" else m[name]
            revoked = utcnow() if name == "revoked" else None
            session.add(Badge(uid=uid, member_id=owner, revoked_at=revoked))
        session.commit()
    now = utcnow()
    site.bookings["alice_room"] = insert_booking(
        runtime, site.resources["room"], site.members["alice"], now - timedelta(minutes=5), now + timedelta(hours=1)
    )
    return site


@contextmanager
def running_stack(runtime: Runtime, transport: Transport, *, start_transport: bool = True) -> Iterator[DeviceStack]:
    """The device stack over ``transport``, started like the service starts it."""
    stack = build_device_stack(runtime, transport)
    components = stack.components(TransportComponent(transport) if start_transport else None)
    started = []
    try:
        for component in components:
            component.start()
            started.append(component)
        yield stack
    finally:
        for component in reversed(started):
            component.stop()

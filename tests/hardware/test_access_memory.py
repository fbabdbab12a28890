"""Badge scans through the whole device stack over the in-memory transport, on SQLite."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from devices.memory import InMemoryTransport
from tests.conftest import make_settings
from tests.hardware.rig import UIDS, Site, build_site, running_stack
from tests.support.bookings import insert_booking
from tierslieu.db.types import utcnow
from tierslieu.hardware.wiring import DeviceStack
from tierslieu.models import AccessEvent, Booking, Device
from tierslieu.runtime import Runtime


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.create(make_settings(sqlite_url, tmp_path, door_pass_seconds=60.0, door_pulse_seconds=0.5))
    yield runtime
    runtime.stop()


@pytest.fixture
def site(rt: Runtime) -> Site:
    return build_site(rt)


@pytest.fixture
def bus() -> InMemoryTransport:
    return InMemoryTransport()


@pytest.fixture
def stack(rt: Runtime, site: Site, bus: InMemoryTransport) -> Iterator[DeviceStack]:
    with running_stack(rt, bus) as running:
        settle(running, bus)
        yield running


def settle(stack: DeviceStack, bus: InMemoryTransport) -> None:
    """Let the door controller's first pass (one command to every door) go by, then forget it."""
    deadline = time.monotonic() + 5
    while stack.doors.passes < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stack.doors.passes >= 1
    bus.published.clear()


def scan(bus: InMemoryTransport, reader: str, uid: str) -> None:
    bus.publish(f"tele/{reader}/SENSOR", f'{{"PN532":{{"UID":"{uid}","DATA":""}}}}'.encode())


def sent_to(bus: InMemoryTransport, prefix: str) -> list[tuple[str, bytes]]:
    return [(m.topic, m.payload) for m in bus.published if m.topic.startswith(prefix)]


def audit(rt: Runtime, stack: DeviceStack) -> list[AccessEvent]:
    assert stack.access.audit.wait_idle()
    with rt.db.session() as session:
        return list(session.exec(select(AccessEvent).order_by(AccessEvent.id)).all())  # type: ignore[arg-type]


def test_booked_member_opens_the_entrance_and_is_checked_in(
    rt: Runtime, site: Site, bus: InMemoryTransport, stack: DeviceStack
) -> None:
    scan(bus, "lecteur-entree", UIDS["alice"])
    assert sent_to(bus, "cmnd/porte-entree/") == [
        ("cmnd/porte-entree/PulseTime1", b"5"),
        ("cmnd/porte-entree/POWER1", b"ON"),
    ]
    [line] = audit(rt, stack)
    assert (line.decision, line.reason, line.member_id) == ("granted", "granted_booking", site.members["alice"])
    assert line.booking_id == site.bookings["alice_room"] and line.badge_uid == UIDS["alice"]
    with rt.db.session() as session:
        booking = session.get(Booking, site.bookings["alice_room"])
        assert booking is not None and booking.status == "checked_in"


def test_same_scan_delivered_twice_is_one_decision(rt: Runtime, bus: InMemoryTransport, stack: DeviceStack) -> None:
    scan(bus, "lecteur-entree", UIDS["alice"])
    scan(bus, "lecteur-entree", UIDS["alice"])
    assert len(sent_to(bus, "cmnd/porte-entree/POWER1")) == 1
    assert len(audit(rt, stack)) == 1
    assert stack.access.duplicates == 1


@pytest.mark.parametrize(
    ("who", "reader", "reason"),
    [
        ("bob", "lecteur-entree", "no_booking"),
        ("revoked", "lecteur-entree", "badge_revoked"),
        ("disabled", "lecteur-entree", "account_disabled"),
        ("mona", "lecteur-salle", "no_booking"),  # municipal, but the room is not on their floor
    ],
)
def test_denied_scans_open_nothing(
    rt: Runtime, bus: InMemoryTransport, stack: DeviceStack, who: str, reader: str, reason: str
) -> None:
    scan(bus, reader, UIDS[who])
    assert sent_to(bus, "cmnd/porte-") == [] and sent_to(bus, "zigbee2mqtt/serrure_salle/set") == []
    [line] = audit(rt, stack)
    assert (line.decision, line.reason) == ("denied", reason)


def test_unknown_badge_is_audited_and_offered_for_assignment(
    rt: Runtime, site: Site, bus: InMemoryTransport, stack: DeviceStack
) -> None:
    scan(bus, "lecteur-entree", "0102030405")
    [line] = audit(rt, stack)
    assert (line.reason, line.member_id, line.badge_uid) == ("unknown_badge", None, "0102030405")
    from tierslieu.hardware.audit import last_unknown_badge

    with rt.db.session() as session:
        found = last_unknown_badge(session, site.devices["entrance_reader"])
        assert found is not None and found.badge_uid == "0102030405"


def test_staff_everywhere_municipal_on_their_floor(rt: Runtime, bus: InMemoryTransport, stack: DeviceStack) -> None:
    scan(bus, "lecteur-salle", UIDS["sam"])
    assert sent_to(bus, "zigbee2mqtt/serrure_salle/set") == [("zigbee2mqtt/serrure_salle/set", b'{"state":"UNLOCK"}')]
    scan(bus, "lecteur-mairie", UIDS["mona"])
    scan(bus, "lecteur-entree", UIDS["mona"])
    reasons = [(line.device_name, line.reason) for line in audit(rt, stack)]
    assert reasons == [
        ("room_reader", "granted_role"),
        ("mairie_reader", "granted_role"),
        ("entrance_reader", "granted_role"),
    ]


def test_a_booking_made_a_moment_ago_opens_at_once(
    rt: Runtime, site: Site, bus: InMemoryTransport, stack: DeviceStack
) -> None:
    now = utcnow()
    insert_booking(rt, site.resources["room"], site.members["bob"], now, now + timedelta(hours=1))
    scan(bus, "lecteur-salle", UIDS["bob"])  # the in-memory facts predate the booking
    assert [line.reason for line in audit(rt, stack)] == ["granted_booking"]


def test_door_that_does_not_relock_gets_lock_after_the_pulse(
    rt: Runtime, bus: InMemoryTransport, stack: DeviceStack
) -> None:
    scan(bus, "lecteur-salle", UIDS["alice"])
    assert sent_to(bus, "zigbee2mqtt/serrure_salle/set") == [("zigbee2mqtt/serrure_salle/set", b'{"state":"UNLOCK"}')]
    stack.doors.run_pass()  # during the pulse: the door is left alone
    assert len(sent_to(bus, "zigbee2mqtt/serrure_salle/set")) == 1
    bus.publish("zigbee2mqtt/serrure_salle", b'{"state":"UNLOCK"}')
    for _ in range(100):
        if len(sent_to(bus, "zigbee2mqtt/serrure_salle/set")) == 2:
            break
        time.sleep(0.1)
    assert sent_to(bus, "zigbee2mqtt/serrure_salle/set")[-1][1] == b'{"state":"LOCK"}'


def test_offline_door_denies_with_device_offline(rt: Runtime, bus: InMemoryTransport, stack: DeviceStack) -> None:
    bus.publish("tele/porte-entree/LWT", b"Offline")
    scan(bus, "lecteur-entree", UIDS["alice"])
    assert sent_to(bus, "cmnd/porte-entree/") == []
    [line] = audit(rt, stack)
    assert (line.decision, line.reason) == ("denied", "device_offline")


def test_desk_reader_checks_in_or_creates_a_walk_in(
    rt: Runtime, site: Site, bus: InMemoryTransport, stack: DeviceStack
) -> None:
    bus.publish("poste-1/text_sensor/badge/state", UIDS["bob"].encode())
    lines = audit(rt, stack)
    assert [(line.decision, line.reason) for line in lines] == [("granted", "granted_walk_in")]
    with rt.db.session() as session:
        walk_in = session.get(Booking, lines[0].booking_id)
        assert walk_in is not None and walk_in.walk_in and walk_in.status == "checked_in"
        assert walk_in.member_id == site.members["bob"] and walk_in.resource_id == site.resources["desk"]
    stack.facts.refresh()
    bus.publish("poste-1/text_sensor/badge/state", UIDS["alice"].encode())
    assert [line.reason for line in audit(rt, stack)][-1] == "desk_taken"
    assert sent_to(bus, "cmnd/") == []  # a desk reader opens no door


def test_device_states_reach_the_database(rt: Runtime, site: Site, bus: InMemoryTransport, stack: DeviceStack) -> None:
    bus.publish("zigbee2mqtt/contact_entree", b'{"contact": false, "battery": 87}')
    stack.hub.flush()
    with rt.db.session() as session:
        row = session.get(Device, site.devices["entrance_contact"])
        assert row is not None and row.online and row.last_seen is not None
        assert row.reported == {"open": True, "battery": 87}

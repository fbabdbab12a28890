"""The caches and bulk writes that keep the badge and sensor paths fast behave like the plain code
they replaced: same events, same commands, same audit lines and check-ins, same failures."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from devices.errors import DeviceConfigError
from devices.model import (
    BadgeScanned,
    DeviceAvailability,
    DeviceKind,
    DeviceRef,
    Feedback,
    OccupancyChanged,
    PeopleCount,
    Unlock,
)
from devices.mqtt import _demote_reconnect_noise, paho_logger
from firmware_bridges import BRIDGES, build_bridges
from tests.conftest import make_settings
from tests.hardware.rig import UIDS, Site, build_site
from tierslieu.db.types import utcnow
from tierslieu.events import Event, EventHub
from tierslieu.hardware.audit import AuditEntry, AuditWriter, CheckIn
from tierslieu.hardware.facts import load_site_facts
from tierslieu.hardware.quiet import chunked, paced
from tierslieu.hardware.registry import DeviceRegistry, RegisteredDevice
from tierslieu.hardware.state import StateBook
from tierslieu.models import AccessEvent, Badge, Booking
from tierslieu.runtime import Runtime

READER = DeviceRef(1, "lecteur", DeviceKind.BADGE_READER, "tasmota", "lecteur-1")
DOOR = DeviceRef(2, "porte", DeviceKind.DOOR, "tasmota", "porte-1")
COUNTER = DeviceRef(3, "compteur", DeviceKind.PEOPLE_COUNTER, "esphome", "compteur-1", {"people_sensor": "gens"})


# -- bridges: plans, routes and encoded commands are remembered per device --------------------


def test_a_copy_of_a_device_parses_like_the_original() -> None:
    tasmota = build_bridges()["tasmota"]
    payload = b'{"PN532":{"UID":"94D8FC5F"}}'
    copy = DeviceRef(1, "lecteur", DeviceKind.BADGE_READER, "tasmota", "lecteur-1")
    assert tasmota.parse(READER, "tele/lecteur-1/SENSOR", payload) == [BadgeScanned(1, "94D8FC5F")]
    assert tasmota.parse(copy, "tele/lecteur-1/SENSOR", payload) == [BadgeScanned(1, "94D8FC5F")]


def test_a_misconfigured_device_is_refused_every_time() -> None:
    tasmota = build_bridges()["tasmota"]
    broken = DeviceRef(4, "porte", DeviceKind.DOOR, "tasmota", "porte-2", {"relay": 99})
    for _ in range(3):
        with pytest.raises(DeviceConfigError):
            tasmota.parse(broken, "stat/porte-2/POWER99", b"ON")
        with pytest.raises(DeviceConfigError):
            tasmota.encode(broken, Unlock(3))


def test_encoded_commands_are_fresh_lists_with_the_same_messages() -> None:
    tasmota = build_bridges()["tasmota"]
    first = tasmota.encode(DOOR, Unlock(3))
    first.clear()  # a caller may consume its list
    again = tasmota.encode(DOOR, Unlock(3))
    assert [(m.topic, m.payload) for m in again] == [("cmnd/porte-1/PulseTime1", b"30"), ("cmnd/porte-1/POWER1", b"ON")]
    assert tasmota.encode(DOOR, Unlock(5))[0].payload == b"50"
    assert tasmota.encode(READER, Feedback(True)) == []  # no buzzer configured


def test_unknown_topic_suffixes_read_nothing_and_do_not_grow_without_end() -> None:
    esphome = build_bridges()["esphome"]
    for index in range(500):
        assert esphome.parse(COUNTER, f"compteur-1/sensor/autre_{index}/state", b"3") == []
    assert esphome.parse(COUNTER, "compteur-1/sensor/gens/state", b"3") == [PeopleCount(3, 3)]
    plans = getattr(esphome, "_plans")  # noqa: B009 - the memo under test
    assert all(len(plan.routes) <= 64 for plan in plans.values())


def test_registry_routes_topics_to_their_devices() -> None:
    sensor = DeviceRef(5, "pir", DeviceKind.OCCUPANCY_SENSOR, "zigbee2mqtt", "pir_1")
    registry = DeviceRegistry.build([RegisteredDevice(READER, 10), RegisteredDevice(sensor, 11)], BRIDGES)
    for _ in range(2):  # the second answer comes from the memo
        assert [(b.name, e.id) for b, e in registry.route("tele/lecteur-1/SENSOR")] == [("tasmota", 1)]
        assert [(b.name, e.id) for b, e in registry.route("zigbee2mqtt/pir_1")] == [("zigbee2mqtt", 5)]
        assert registry.route("tele/inconnu/SENSOR") == ()
        assert registry.route("cmnd/lecteur-1/POWER1") == ()


# -- device states --------------------------------------------------------------------------


def test_a_state_handed_out_does_not_change_afterwards() -> None:
    book = StateBook()
    first_seen = utcnow()
    book.note(5, OccupancyChanged(5, True), first_seen)
    before = book.get(5)
    book.note(5, OccupancyChanged(5, False), first_seen + timedelta(seconds=1))
    book.note(5, DeviceAvailability(5, False), first_seen + timedelta(seconds=2))
    after = book.get(5)
    assert before is not None and after is not None
    assert (before.online, before.last_seen, dict(before.reported)) == (True, first_seen, {"occupied": True})
    # A last will is not a sign of life: last_seen stays at the last real message.
    assert (after.online, after.last_seen, dict(after.reported)) == (
        False,
        first_seen + timedelta(seconds=1),
        {"occupied": False},
    )
    assert book.take_dirty() == {5: after}
    assert book.take_dirty() == {}


# -- background work hands the interpreter over --------------------------------------------


def test_paced_and_chunked_keep_every_item_in_order() -> None:
    assert list(paced(range(100), every=7)) == list(range(100))
    assert [list(chunk) for chunk in chunked(list(range(7)), 3)] == [[0, 1, 2], [3, 4, 5], [6]]


def test_paho_reconnect_noise_is_demoted_not_other_errors() -> None:
    noise = logging.LogRecord(
        "devices.mqtt.paho", logging.ERROR, "", 0, "Client is not connected. Socket: None", (), None
    )
    real = logging.LogRecord(
        "devices.mqtt.paho", logging.ERROR, "", 0, "Caught exception in on_message: %s", ("x",), None
    )
    assert _demote_reconnect_noise(noise) is paho_logger.isEnabledFor(logging.DEBUG)
    assert noise.levelno == logging.DEBUG
    assert _demote_reconnect_noise(real) is True and real.levelno == logging.ERROR


# -- the audit writer, on SQLite and PostgreSQL ----------------------------------------------


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.create(make_settings(db_url, tmp_path))
    yield runtime
    runtime.stop()


class RecordingHub(EventHub):
    def __init__(self) -> None:
        super().__init__()
        self.heard: list[Event] = []

    def publish(self, event: Event) -> None:
        self.heard.append(event)
        super().publish(event)


def _line(site: Site, uid: str, member: str | None, booking: str | None = None, **changes: object) -> dict[str, object]:
    line: dict[str, object] = {
        "at": utcnow(),
        "device_id": site.devices["entrance_reader"],
        "device_name": "entrance_reader",
        "space_id": site.spaces["building"],
        "member_id": site.members[member] if member else None,
        "badge_uid": uid,
        "decision": "granted" if booking else "denied",
        "reason": "granted_booking" if booking else "unknown_badge",
        "booking_id": site.bookings[booking] if booking else None,
        "detail": "",
    }
    line.update(changes)
    return line


def _check_in(site: Site, booking: str, member: str) -> CheckIn:
    return CheckIn(site.bookings[booking], site.members[member], utcnow())


def test_entries_are_written_together_with_their_check_ins(rt: Runtime) -> None:
    site = build_site(rt)
    events = RecordingHub()
    writer = AuditWriter(rt.db, rt.scheduler, events=events)
    writer.start()
    try:
        alice = AuditEntry(
            _line(site, "A1", "alice", "alice_room"), _check_in(site, "alice_room", "alice"), Event("access", {"n": 1})
        )
        # The same booking badged twice in one batch is checked in once; bob cannot check alice in.
        twice = AuditEntry(_line(site, "A1", "alice", "alice_room"), _check_in(site, "alice_room", "alice"))
        impostor = AuditEntry(_line(site, "B0", "bob", "alice_room"), _check_in(site, "alice_room", "bob"))
        unknown = AuditEntry(_line(site, "FFFF", None))
        for entry in (impostor, alice, twice, unknown):
            writer.log(entry)
        assert writer.wait_idle(10)
    finally:
        writer.stop()
    with rt.db.session() as session:
        lines = session.exec(select(AccessEvent)).all()
        booking = session.get(Booking, site.bookings["alice_room"])
    assert writer.written == 4 and writer.failed == 0 and len(lines) == 4
    assert booking is not None and booking.status == "checked_in" and booking.checked_in_at is not None
    heard = events.heard
    check_ins = [e for e in heard if e.topic == "booking" and e.data["action"] == "checked_in"]
    assert [e.data["booking_id"] for e in check_ins] == [site.bookings["alice_room"]]
    assert [e.data for e in heard if e.topic == "access"] == [{"n": 1}]


def test_a_bad_entry_loses_only_its_own_line(rt: Runtime) -> None:
    site = build_site(rt)
    writer = AuditWriter(rt.db, rt.scheduler)
    writer.start()
    try:
        writer.log(AuditEntry(_line(site, "A1", "alice")))
        writer.log(AuditEntry(_line(site, "B0", "bob", decision=None)))  # NOT NULL column
        writer.log(AuditEntry(_line(site, "C2", None), _check_in(site, "alice_room", "alice")))
        assert writer.wait_idle(10)
    finally:
        writer.stop()
    with rt.db.session() as session:
        uids = sorted(line.badge_uid or "" for line in session.exec(select(AccessEvent)).all())
        booking = session.get(Booking, site.bookings["alice_room"])
    assert uids == ["A1", "C2"] and writer.written == 2 and writer.failed == 1
    assert booking is not None and booking.status == "checked_in"


def test_stop_writes_what_was_accepted(rt: Runtime) -> None:
    site = build_site(rt)
    writer = AuditWriter(rt.db, rt.scheduler)
    writer.start()
    for index in range(150):  # more than one chunk
        writer.log(AuditEntry(_line(site, f"{index:04X}", None)))
    writer.submit(lambda session: [AccessEvent(decision="command", reason="staff_pulse")])
    writer.stop()
    with rt.db.session() as session:
        assert len(session.exec(select(AccessEvent)).all()) == 151


# -- access facts reuse what did not change ----------------------------------------------------


def test_a_reload_keeps_unchanged_rows_and_sees_changes(rt: Runtime) -> None:
    site = build_site(rt)
    with rt.db.session() as session:
        first = load_site_facts(session, utcnow())
    with rt.db.session(write=True) as session:
        badge = session.exec(select(Badge).where(Badge.uid == UIDS["alice"])).one()
        badge.revoked_at = utcnow()
        session.add(badge)
        session.commit()
    with rt.db.session() as session:
        second = load_site_facts(session, utcnow(), first)
    alice, bob = UIDS["alice"], UIDS["bob"]
    assert second.badges[bob] is first.badges[bob]
    assert second.members[site.members["bob"]] is first.members[site.members["bob"]]
    assert {b.id for b in second.bookings} == {b.id for b in first.bookings}
    assert all(b is next(old for old in first.bookings if old.id == b.id) for b in second.bookings)
    assert first.badges[alice].revoked is False and second.badges[alice].revoked is True


def test_stopping_the_writer_from_another_thread_while_it_waits_is_prompt(rt: Runtime) -> None:
    writer = AuditWriter(rt.db, rt.scheduler)
    writer.start()
    stopper = threading.Thread(target=writer.stop)
    stopper.start()
    stopper.join(5)
    assert not stopper.is_alive()

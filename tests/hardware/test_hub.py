"""DeviceHub over the in-memory transport: routing, trust, bad input, reload, send."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select

from devices.memory import InMemoryTransport
from devices.model import BadgeScanned, ContactChanged, DeviceEvent, DeviceRef, Feedback, Lock, Unlock
from firmware_bridges import BRIDGES, Bridge
from tests.conftest import make_settings
from tests.hardware.rig import Site, build_site
from tierslieu.hardware.hub import DeviceHub
from tierslieu.models import Device
from tierslieu.runtime import Runtime


@pytest.fixture
def rt(sqlite_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime.create(make_settings(sqlite_url, tmp_path))
    yield runtime
    runtime.stop()


@pytest.fixture
def site(rt: Runtime) -> Site:
    return build_site(rt)


@dataclass
class Heard:
    events: list[tuple[DeviceRef, DeviceEvent]]

    def __call__(self, device: DeviceRef, event: DeviceEvent, at: datetime) -> None:
        assert at.tzinfo is not None
        self.events.append((device, event))


def started(rt: Runtime, bus: InMemoryTransport, bridges: object = BRIDGES) -> tuple[DeviceHub, Heard]:
    hub = DeviceHub(rt, bus, bridges)  # type: ignore[arg-type]
    heard = Heard([])
    hub.add_listener(heard)
    hub.start()
    bus.start()
    return hub, heard


def test_subscribes_each_filter_once_and_routes_events(rt: Runtime, site: Site) -> None:
    bus = InMemoryTransport()
    hub, heard = started(rt, bus)
    assert "tele/lecteur-entree/+" in bus.subscriptions and "zigbee2mqtt/contact_entree" in bus.subscriptions
    bus.publish("zigbee2mqtt/contact_entree", b'{"contact": true}')
    assert [(d.name, e) for d, e in heard.events] == [
        ("entrance_contact", ContactChanged(site.devices["entrance_contact"], open=False))
    ]
    assert hub.device(site.devices["entrance_contact"]) == heard.events[0][0]
    assert {d.name for d in hub.devices()} >= {"entrance_door", "desk_reader"}
    hub.stop()


@pytest.mark.parametrize(
    ("topic", "payload", "counter"),
    [
        ("tele/lecteur-entree/SENSOR", b"{not json", "bad_payload"),
        ("tele/lecteur-entree/SENSOR", b'{"PN532": {"UID": 12', "bad_payload"),
        ("tele/lecteur-entree/SENSOR", b'{"PN532": "A1A1"}', "bad_payload"),
        ("tele/lecteur-entree/SENSOR", b'{"PN532": {"UID": "not hex!"}}', "bad_payload"),
        ("tele/lecteur-entree/SENSOR", b"\xff\xfe", "bad_payload"),
        ("tele/lecteur-entree/SENSOR", b"x" * 70_000, "oversized"),
        # None: no filter of the hub matches, so the transport never hands it over.
        ("tele/inconnu/SENSOR", b'{"PN532": {"UID": "A1A1A1A1"}}', None),
        ("cmnd/porte-entree/POWER1", b"ON", None),  # a command topic is never an input
        ("zigbee2mqtt/serrure_salle/set", b'{"state": "UNLOCK"}', None),
        ("random/topic", b"hello", None),
    ],
)
def test_bad_input_is_counted_and_dropped(
    rt: Runtime, site: Site, topic: str, payload: bytes, counter: str | None
) -> None:
    bus = InMemoryTransport()
    hub, heard = started(rt, bus)
    bus.publish(topic, payload)
    assert heard.events == []
    if counter is None:
        assert hub.metrics.received == 0
    else:
        assert getattr(hub.metrics, counter) == 1
    bus.publish("tele/lecteur-entree/SENSOR", b'{"PN532": {"UID": "A1A1A1A1"}}')
    assert [e for _, e in heard.events] == [BadgeScanned(site.devices["entrance_reader"], "A1A1A1A1")]
    hub.stop()


class _LyingBridge:
    """A bridge that makes a contact sensor claim a badge scan (as a hostile device might)."""

    def __init__(self, real: Bridge) -> None:
        self._real = real
        self.name = real.name

    def __getattr__(self, attribute: str) -> object:
        return getattr(self._real, attribute)

    def parse(self, device: DeviceRef, topic: str, payload: bytes) -> list[DeviceEvent]:
        return [BadgeScanned(device.id, "A1A1A1A1"), *self._real.parse(device, topic, payload)]


def test_devices_are_trusted_for_their_own_kind_only(rt: Runtime, site: Site) -> None:
    bridges = {**BRIDGES, "zigbee2mqtt": _LyingBridge(BRIDGES["zigbee2mqtt"])}
    bus = InMemoryTransport()
    hub, heard = started(rt, bus, bridges)
    bus.publish("zigbee2mqtt/contact_entree", b'{"contact": false}')
    assert [e for _, e in heard.events] == [ContactChanged(site.devices["entrance_contact"], open=True)]
    assert hub.metrics.untrusted == 1
    hub.stop()


def test_a_failing_listener_does_not_stop_the_others(rt: Runtime, site: Site) -> None:
    bus = InMemoryTransport()
    hub = DeviceHub(rt, bus)

    def broken(device: DeviceRef, event: DeviceEvent, at: datetime) -> None:
        raise RuntimeError("boom")

    heard = Heard([])
    hub.add_listener(broken)
    hub.add_listener(heard)
    hub.start()
    bus.start()
    bus.publish("zigbee2mqtt/contact_entree", b'{"contact": true}')
    assert len(heard.events) == 1 and hub.metrics.listener_errors == 1
    hub.stop()


def test_reload_follows_database_changes(rt: Runtime, site: Site) -> None:
    bus = InMemoryTransport()
    hub, heard = started(rt, bus)
    with rt.db.session(write=True) as session:
        session.add(Device(name="new", kind="occupancy_sensor", bridge="zigbee2mqtt", address="pir", space_id=1))
        gone = session.exec(select(Device).where(Device.name == "entrance_contact")).one()
        session.delete(gone)
        session.commit()
    hub.reload()
    assert "zigbee2mqtt/pir" in bus.subscriptions
    assert "zigbee2mqtt/contact_entree" not in bus.subscriptions
    bus.publish("zigbee2mqtt/contact_entree", b'{"contact": true}')
    bus.publish("zigbee2mqtt/pir", b'{"occupancy": true}')
    assert [d.name for d, _ in heard.events] == ["new"]
    hub.stop()


def test_a_committed_device_change_reloads_the_registry_by_itself(rt: Runtime, site: Site) -> None:
    """The change feed wakes the hub's registry worker: no API call, no restart (and a change
    relayed from another process arrives through the same feed)."""
    bus = InMemoryTransport()
    hub, heard = started(rt, bus)
    try:
        with rt.db.session(write=True) as session:
            session.add(Device(name="new", kind="occupancy_sensor", bridge="zigbee2mqtt", address="pir", space_id=1))
            session.commit()
        deadline = time.monotonic() + 2
        while "zigbee2mqtt/pir" not in bus.subscriptions and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "zigbee2mqtt/pir" in bus.subscriptions
        bus.publish("zigbee2mqtt/pir", b'{"occupancy": true}')
        assert [d.name for d, _ in heard.events] == ["new"]
    finally:
        hub.stop()


def test_send_encodes_and_reports_unsupported(rt: Runtime, site: Site) -> None:
    bus = InMemoryTransport()
    hub, _ = started(rt, bus)
    hub.send(site.devices["entrance_door"], Unlock(2))
    hub.send(site.devices["entrance_contact"], Lock())  # a sensor takes no command: logged
    hub.send(999, Lock())  # unknown device: logged
    assert hub.try_send(site.devices["entrance_reader"], Feedback(True))  # no buzzer: nothing to send
    assert [m.topic for m in bus.published] == ["cmnd/porte-entree/PulseTime1", "cmnd/porte-entree/POWER1"]
    assert hub.metrics.commands_failed == 1
    hub.stop()

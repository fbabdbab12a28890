"""Simulated devices over the real Mosquitto broker: the real hub parses what they say, the
tracker's occupancy follows them, doors obey commands, and garbage is dropped."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

import pytest

from devices.model import DeviceKind, Unlock
from firmware_bridges import BRIDGES
from tests.support.mosquitto import MosquittoServer
from tests.support.mqtt import client
from tests.support.site import Ids, load_trilport
from tierslieu.hardware.hub import DeviceHub
from tierslieu.occupancy.state import Reading
from tierslieu.occupancy.tracker import OccupancyTracker
from tierslieu.runtime import Runtime
from tierslieu.simulator import Faults, SimulatedSite


def _eventually(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


@dataclass
class Rig:
    hub: DeviceHub
    tracker: OccupancyTracker
    site: SimulatedSite
    ids: Ids


def _rig(runtime: Runtime, broker: MosquittoServer, faults: Faults) -> Generator[Rig, None, None]:
    ids = load_trilport(runtime)
    service = client(broker.url, "service")
    hub = DeviceHub(runtime, service)
    tracker = OccupancyTracker(runtime, hub)
    hub.start()
    service.start()
    assert service.wait_connected(10)
    tracker.load()
    site = SimulatedSite(
        client(broker.url, "devices"),
        hub.devices(),
        ["74103794", "A1B2C3D4"],
        scheduler=runtime.scheduler,
        faults=faults,
        interval_seconds=3600,
        seed=7,
    )
    site.start()
    try:
        yield Rig(hub, tracker, site, ids)
    finally:
        site.stop()
        service.stop()
        hub.stop()


@pytest.fixture
def rig(runtime: Runtime, private_mosquitto: MosquittoServer) -> Iterator[Rig]:
    yield from _rig(runtime, private_mosquitto, Faults())


def test_simulated_devices_move_occupancy(rig: Rig) -> None:
    _eventually(lambda: rig.hub.metrics.events >= 16)  # every device said it is online
    for _ in range(150):
        rig.site.step()
    counters = {d.id for d in rig.hub.devices() if d.kind == DeviceKind.PEOPLE_COUNTER}
    sensors = {d.id for d in rig.hub.devices() if d.kind == DeviceKind.OCCUPANCY_SENSOR}
    assert set(rig.site.people) & counters and set(rig.site.occupied) & sensors

    def follows() -> bool:
        readings = {i: rig.tracker.reading(i) or Reading() for i in counters | sensors}
        return all(readings[i].people == n for i, n in rig.site.people.items()) and all(
            readings[i].occupied == on for i, on in rig.site.occupied.items()
        )

    _eventually(follows)
    rig.tracker.refresh()
    hall = rig.tracker.status(rig.ids.spaces["Grande salle d'ateliers"])
    assert hall is not None and hall.people == rig.site.people[rig.ids.devices["Compteur grande salle"]]
    assert rig.hub.metrics.bad_payload == 0 and rig.hub.metrics.events > 100


@pytest.mark.parametrize(
    "door", ["Porte d'entrée", "Porte grande salle", "Porte FabLab", "Serrure salle de visio", "Porte coworking"]
)
def test_simulated_doors_obey_and_report(rig: Rig, door: str) -> None:
    door_id = rig.ids.devices[door]

    def unlocked() -> bool | None:
        reading = rig.tracker.reading(door_id)
        return None if reading is None or reading.locked is None else not reading.locked

    _eventually(lambda: unlocked() is False)
    assert rig.hub.try_send(door_id, Unlock(1))
    _eventually(lambda: unlocked() is True)
    ref = rig.hub.device(door_id)
    assert ref is not None
    if BRIDGES[ref.bridge].relocks_itself(ref):
        _eventually(lambda: unlocked() is False, timeout=8)  # the device ended the pulse itself


def test_garbage_is_dropped_and_counted(runtime: Runtime, private_mosquitto: MosquittoServer) -> None:
    rigs = _rig(runtime, private_mosquitto, Faults(garbage=1.0))
    rig = next(rigs)
    try:
        _eventually(lambda: rig.hub.metrics.received >= 16)
        for _ in range(40):
            rig.site.step()
        _eventually(lambda: rig.site.publisher.garbled >= 50 and rig.hub.metrics.bad_payload >= 10)
        rig.tracker.refresh()
        assert all(not s.occupied for s in rig.tracker.snapshot())
    finally:
        rigs.close()


def test_lost_messages_never_arrive(runtime: Runtime, private_mosquitto: MosquittoServer) -> None:
    rigs = _rig(runtime, private_mosquitto, Faults(loss=1.0, delay_ms=50))
    rig = next(rigs)
    try:
        for _ in range(20):
            rig.site.step()
        time.sleep(0.5)
        assert rig.hub.metrics.received == 0 and rig.site.publisher.lost > 20
    finally:
        rigs.close()

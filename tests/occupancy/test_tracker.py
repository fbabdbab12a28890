"""The tracker over the real device hub (in-memory transport) and the Trilport site in SQLite."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from devices.memory import InMemoryTransport
from tests.occupancy.site import add_booking
from tests.support.site import Ids, load_trilport
from tests.support.waiting import eventually
from tierslieu.db.types import utcnow
from tierslieu.events import Event
from tierslieu.hardware.hub import DeviceHub
from tierslieu.models import Space
from tierslieu.models.occupancy import OccupancyBucket
from tierslieu.occupancy import tracker as tracker_module
from tierslieu.occupancy.alerts import AlertCode
from tierslieu.occupancy.state import SpaceStatus
from tierslieu.occupancy.tracker import OccupancyTracker
from tierslieu.runtime import Runtime


@dataclass
class Rig:
    runtime: Runtime
    transport: InMemoryTransport
    hub: DeviceHub
    tracker: OccupancyTracker
    ids: Ids

    def send(self, topic: str, payload: object) -> None:
        data = (
            payload
            if isinstance(payload, bytes)
            else (payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
        )
        self.transport.publish(topic, data)

    def status(self, space: str) -> SpaceStatus:
        status = self.tracker.status(self.ids.spaces[space])
        assert status is not None
        return status

    def codes(self, space: str) -> list[AlertCode]:
        return [alert.code for alert in self.status(space).alerts]


def _rig(runtime: Runtime, always_open: bool) -> Iterator[Rig]:
    ids = load_trilport(runtime, always_open=always_open)
    transport = InMemoryTransport()
    hub = DeviceHub(runtime, transport)
    tracker = OccupancyTracker(runtime, hub)
    hub.start()
    transport.start()
    tracker.load()
    tracker.run_pass()
    yield Rig(runtime, transport, hub, tracker, ids)
    hub.stop()


@pytest.fixture
def rig(runtime: Runtime) -> Iterator[Rig]:
    yield from _rig(runtime, always_open=True)


@pytest.fixture
def closed_rig(runtime: Runtime) -> Iterator[Rig]:
    yield from _rig(runtime, always_open=False)


def test_an_occupancy_sensor_fills_its_space_and_the_ones_around_it(rig: Rig) -> None:
    assert not rig.status("FabLab").occupied
    rig.send("zigbee2mqtt/presence_fablab", {"occupancy": True, "battery": 90, "illuminance": 300})
    changed = rig.tracker.refresh()
    names = {s.name for s in changed}
    assert {"FabLab", "Rez-de-chaussée", "Tiers-lieu"} <= names
    assert rig.status("FabLab").occupied and rig.status("Tiers-lieu").occupied
    assert not rig.status("Salle de visio").occupied
    assert rig.tracker.refresh() == []  # nothing new, nothing published


def test_a_people_counter_over_capacity_raises_an_alert(rig: Rig) -> None:
    rig.send("compteur-grande-salle/sensor/personnes/state", "55")
    rig.tracker.refresh()
    hall = rig.status("Grande salle d'ateliers")
    assert (hall.people, hall.people_source, hall.capacity) == (55, "counter", 50)
    assert AlertCode.OVER_CAPACITY in rig.codes("Grande salle d'ateliers")
    assert rig.status("Tiers-lieu").people == 55
    rig.send("compteur-grande-salle/sensor/personnes/state", "12")
    rig.tracker.refresh()
    assert AlertCode.OVER_CAPACITY not in rig.codes("Grande salle d'ateliers")


def test_presence_outside_hours(closed_rig: Rig) -> None:
    closed_rig.send("shellies/shellymotionsensor-visio/status", {"motion": True, "lux": 20, "bat": 80})
    closed_rig.tracker.refresh()
    assert AlertCode.PRESENCE_OUTSIDE_HOURS in closed_rig.codes("Salle de visio")


def test_a_booking_covers_presence_outside_hours_and_is_watched_for_no_show(closed_rig: Rig) -> None:
    rig = closed_rig
    now = utcnow()
    add_booking(rig.runtime, rig.ids.resources["Salle de visio"], now - timedelta(minutes=20), now + timedelta(hours=1))
    rig.send("shellies/shellymotionsensor-visio/status", {"motion": False})
    rig.tracker.run_pass()
    visio = rig.status("Salle de visio")
    assert visio.booked_now and rig.status("Tiers-lieu").booked_now
    assert AlertCode.BOOKED_BUT_EMPTY in rig.codes("Salle de visio")
    rig.send("shellies/shellymotionsensor-visio/status", {"motion": True})
    rig.tracker.refresh()
    assert rig.codes("Salle de visio") == []  # booked: no intrusion; occupied: no no-show


def test_the_entrance_door_shows_its_lock_and_contact(rig: Rig) -> None:
    rig.send("shellyplus1-entree/status/switch:0", {"id": 0, "output": True})
    rig.send("zigbee2mqtt/contact_porte_entree", {"contact": False, "battery": 100})
    rig.tracker.refresh()
    (door,) = rig.status("Tiers-lieu").doors
    assert (door.name, door.locked, door.open, door.has_contact) == ("Porte d'entrée", False, True, True)
    # The building's rule: a door open for more than 5 minutes is an alert.
    rig.tracker.refresh(utcnow() + timedelta(minutes=6))
    assert AlertCode.DOOR_OPEN_TOO_LONG in rig.codes("Tiers-lieu")
    rig.send("zigbee2mqtt/contact_porte_entree", {"contact": True})
    rig.tracker.refresh()
    assert AlertCode.DOOR_OPEN_TOO_LONG not in rig.codes("Tiers-lieu")


def test_last_will_and_silence_make_devices_offline(rig: Rig) -> None:
    rig.send("zigbee2mqtt/presence_fablab", {"occupancy": False})
    rig.tracker.refresh()
    fablab = rig.ids.devices["Présence FabLab"]
    assert fablab not in [d.id for d in rig.status("FabLab").devices_offline]
    rig.send("zigbee2mqtt/presence_fablab/availability", {"state": "offline"})
    rig.tracker.refresh()
    (offline,) = [d for d in rig.status("FabLab").devices_offline if d.id == fablab]
    assert offline.reason == "unavailable"
    rig.send("zigbee2mqtt/presence_fablab/availability", "online")  # the legacy plain form
    rig.tracker.refresh()
    assert fablab not in [d.id for d in rig.status("FabLab").devices_offline]
    rig.tracker.refresh(utcnow() + timedelta(minutes=rig.runtime.settings.device_silence_minutes + 1))
    (silent,) = [d for d in rig.status("FabLab").devices_offline if d.id == fablab]
    assert silent.reason == "silent"
    assert any(a.code == AlertCode.DEVICE_OFFLINE and a.device_id == fablab for a in rig.status("FabLab").alerts)


def test_garbage_changes_nothing(rig: Rig) -> None:
    before = rig.tracker.snapshot()
    for payload in (b"\xff\xfe", b"{", b'{"occupancy": "yes"}', b"[]", b"x" * 70_000):
        rig.send("zigbee2mqtt/presence_fablab", payload)
    rig.send("zigbee2mqtt/unknown_sensor", {"occupancy": True})
    assert rig.tracker.refresh() == [] and rig.tracker.snapshot() == before


def test_history_is_written_for_every_space(rig: Rig) -> None:
    rig.send("compteur-grande-salle/sensor/personnes/state", "8")
    rig.tracker.run_pass()
    with rig.runtime.db.session() as session:
        rows = session.exec(select(OccupancyBucket)).all()
    assert {r.space_id for r in rows} == set(rig.ids.spaces.values())
    by_space = {r.space_id: r for r in rows}
    assert by_space[rig.ids.spaces["Grande salle d'ateliers"]].max_people == 8
    assert by_space[rig.ids.spaces["Tiers-lieu"]].max_people == 8


def test_changes_and_alerts_are_published_on_the_event_hub(rig: Rig) -> None:
    async def scenario() -> list[Event]:
        received: list[Event] = []

        async def collect() -> None:
            async for event in rig.runtime.events.subscribe("occupancy"):
                received.append(event)

        task = asyncio.ensure_future(collect())
        await asyncio.sleep(0)
        rig.send("compteur-grande-salle/sensor/personnes/state", "60")
        await asyncio.to_thread(rig.tracker.refresh)
        await asyncio.sleep(0.05)
        task.cancel()
        return received

    events = asyncio.run(scenario())
    kinds = [(e.data["type"], e.data.get("state")) for e in events]
    assert ("alert", "raised") in kinds and ("space", None) in kinds
    (alert,) = [e.data["alert"] for e in events if e.data["type"] == "alert"]
    assert alert.code == AlertCode.OVER_CAPACITY


def test_the_component_follows_events_on_its_own(runtime: Runtime) -> None:
    runtime.settings.occupancy_pass_seconds = 0.5
    runtime.settings.occupancy_debounce_seconds = 0.05
    ids = load_trilport(runtime)
    transport = InMemoryTransport()
    hub = DeviceHub(runtime, transport)
    tracker = OccupancyTracker(runtime, hub)
    # A message before the tracker starts (a retained state replayed on connection) is kept.
    hub.start()
    transport.start()
    transport.publish("zigbee2mqtt/presence_fablab", b'{"occupancy": true}')
    tracker.start()
    try:
        assert tracker.status(ids.spaces["FabLab"]) is not None
        assert tracker.status(ids.spaces["FabLab"]).occupied  # type: ignore[union-attr]
        transport.publish("esphome-absent/status", b"online")
        transport.publish("compteur-grande-salle/sensor/personnes/state", b"3")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            hall = tracker.status(ids.spaces["Grande salle d'ateliers"])
            if hall is not None and hall.people == 3:
                break
            time.sleep(0.02)
        else:
            pytest.fail("the tracker did not follow the counter")
    finally:
        tracker.stop()
        hub.stop()
    with runtime.db.session() as session:
        assert session.exec(select(OccupancyBucket)).first() is not None


def test_a_booking_for_later_changes_nothing_now_one_starting_now_does(rig: Rig) -> None:
    now = utcnow()
    visio = rig.ids.resources["Salle de visio"]
    add_booking(rig.runtime, visio, now + timedelta(days=7), now + timedelta(days=7, hours=1))
    before = rig.tracker.snapshot()
    assert rig.tracker.refresh_bookings() == []
    assert rig.tracker.snapshot() == before
    add_booking(rig.runtime, visio, now - timedelta(minutes=1), now + timedelta(hours=1))
    changed = {status.name for status in rig.tracker.refresh_bookings()}
    assert "Salle de visio" in changed and rig.status("Salle de visio").booked_now


class Calls:
    """Counts the calls of a function of the tracker's module (it keeps working)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
        self.count = 0
        original: Callable[..., Any] = getattr(tracker_module, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(tracker_module, name, counted)


def test_booking_commits_reread_only_the_bookings(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime.settings.occupancy_pass_seconds = 3600.0  # no scheduled pass within the test
    runtime.settings.occupancy_debounce_seconds = 0.05
    ids = load_trilport(runtime)
    layouts, histories = Calls(monkeypatch, "load_layout"), Calls(monkeypatch, "write_buckets")
    tracker = OccupancyTracker(runtime)
    tracker.start()
    try:
        started = (layouts.count, histories.count)
        now = utcnow()
        add_booking(runtime, ids.resources["Salle de visio"], now - timedelta(minutes=1), now + timedelta(hours=1))
        visio = ids.spaces["Salle de visio"]
        assert eventually(lambda: bool((s := tracker.status(visio)) and s.booked_now))
        # Neither the layout read again nor the history written for a booking.
        assert (layouts.count, histories.count) == started
        with runtime.db.session(write=True) as session:
            space = session.get(Space, visio)
            assert space is not None
            space.name = "Visio"
            session.add(space)
            session.commit()
        # A space: a full pass, ending with the history.
        assert eventually(lambda: histories.count == started[1] + 1)
        assert tracker.layout.spaces[visio].name == "Visio" and layouts.count == started[0] + 1
    finally:
        tracker.stop()
    assert histories.count == started[1] + 2  # and the history at stop

"""Simulated devices for a whole site, speaking the real firmware formats over MQTT (a Component).

Doors answer the commands they receive and report their lock state (and relock by themselves
where the firmware would); readers scan known badges now and then (and sometimes an unknown
one); occupancy sensors and people counters move; door contacts open and close. Every message
goes through ``FaultyPublisher`` (delay, loss, garbage). Payloads come from
``firmware_bridges.simulated``: nothing vendor-specific lives here.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
from collections.abc import Sequence

from apscheduler.triggers.interval import IntervalTrigger

from devices.errors import DeviceError
from devices.model import DeviceKind, DeviceRef, MqttMessage
from devices.transport import Transport, Unsubscribe
from firmware_bridges import simulated
from tierslieu.simulator.faults import Faults, FaultyPublisher, Timers
from tierslieu.workers import PeriodicWorker, Scheduler

__all__ = ["SimulatedSite"]

log = logging.getLogger(__name__)

UNKNOWN_BADGE = "0BADC0DE"


class SimulatedSite:
    name = "simulator"

    def __init__(
        self,
        transport: Transport,
        devices: Sequence[DeviceRef],
        badges: Sequence[str],
        *,
        scheduler: Scheduler,
        faults: Faults = Faults(),
        interval_seconds: float = 3.0,
        seed: int | None = None,
        owns_transport: bool = True,
    ) -> None:
        self._transport = transport
        self._devices = list(devices)
        self._badges = list(badges) or [UNKNOWN_BADGE]
        self._rng = random.Random(seed)
        self._timers = Timers(scheduler)
        self._out = FaultyPublisher(transport, faults, self._timers, self._rng)
        self._owns_transport = owns_transport
        self._lock = threading.Lock()
        self.doors: dict[int, simulated.DoorState] = {}
        self.occupied: dict[int, bool] = {}
        self.people: dict[int, int] = {}
        self._commands = {d.id: simulated.command_topics(d) for d in self._devices}
        # Something happens every interval on average (half as often to half again as often).
        every = IntervalTrigger(seconds=interval_seconds, jitter=interval_seconds / 2)
        self._worker = PeriodicWorker("simulator", self.step, scheduler, every, run_at_start=False)
        self._unsubscribes: list[Unsubscribe] = []

    @property
    def publisher(self) -> FaultyPublisher:
        return self._out

    def start(self) -> None:
        self._timers.start()
        for device in self._devices:
            on_command = functools.partial(self._on_command, device)  # one per device: called once a message
            for topic_filter in self._commands[device.id]:
                self._unsubscribes.append(self._transport.subscribe(topic_filter, on_command, 1))
        if self._owns_transport:
            self._transport.start()
        for device in self._devices:
            self._send(simulated.availability_messages(device, True))
            if device.kind == DeviceKind.DOOR:
                self.doors[device.id] = simulated.DoorState()
                self._send(simulated.door_messages(device, self.doors[device.id]))
            elif device.kind == DeviceKind.CONTACT_SENSOR:
                self._send(simulated.contact_messages(device, False))
        self._worker.start()
        log.info("simulator: %d device(s), %d known badge(s)", len(self._devices), len(self._badges))

    def stop(self) -> None:
        self._worker.stop()
        self._timers.stop()
        while self._unsubscribes:
            self._unsubscribes.pop()()
        if self._owns_transport:
            self._transport.stop()

    # -- what the devices do on their own ----------------------------------------------------

    def step(self) -> None:
        """One random thing happening somewhere on the site."""
        if not self._devices:
            return
        device = self._rng.choice(self._devices)
        kind = device.kind
        if kind == DeviceKind.BADGE_READER:
            uid = UNKNOWN_BADGE if self._rng.random() < 0.1 else self._rng.choice(self._badges)
            self._send(simulated.badge_messages(device, uid))
        elif kind == DeviceKind.OCCUPANCY_SENSOR:
            self.occupied[device.id] = not self.occupied.get(device.id, False)
            self._send(simulated.occupancy_messages(device, self.occupied[device.id]))
        elif kind == DeviceKind.PEOPLE_COUNTER:
            count = max(0, self.people.get(device.id, 0) + self._rng.choice((-2, -1, 1, 1, 2, 3)))
            self.people[device.id] = count
            self._send(simulated.people_messages(device, count))
        elif kind == DeviceKind.CONTACT_SENSOR:
            self._send(simulated.contact_messages(device, True))
            self._timers.call_later(
                self._rng.uniform(2, 8), lambda: self._send(simulated.contact_messages(device, False))
            )
        elif kind == DeviceKind.DOOR:
            with self._lock:
                state = self.doors.get(device.id, simulated.DoorState())
            self._send(simulated.door_messages(device, state))  # a periodic state report

    # -- commands ------------------------------------------------------------------------------

    def _on_command(self, device: DeviceRef, topic: str, payload: bytes, retained: bool) -> None:
        with self._lock:
            state = self.doors.get(device.id, simulated.DoorState())
            try:
                reaction = simulated.react(device, state, topic, payload)
            except (DeviceError, ValueError) as error:
                log.warning("simulated %r ignores a command it cannot read on %s: %s", device.name, topic, error)
                return
            if reaction is None:
                return
            self.doors[device.id] = reaction.state
        self._send(list(reaction.replies))
        if reaction.relock_after is not None:
            self._timers.call_later(reaction.relock_after, functools.partial(self._relock, device))

    def _relock(self, device: DeviceRef) -> None:
        with self._lock:
            state = self.doors.get(device.id, simulated.DoorState())
            if not state.unlocked:
                return
            self.doors[device.id] = locked = simulated.DoorState(False, state.pulse_seconds)
        self._send(simulated.door_messages(device, locked))

    def _send(self, messages: Sequence[MqttMessage]) -> None:
        for message in messages:
            self._out.publish(message)

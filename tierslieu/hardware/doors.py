"""The door controller: level-triggered, so a lost message or a restart heals on the next pass.

Every pass (each ``door_pass_seconds``, and at once when a door reports, the broker comes
back, or staff change an override) computes the state each door should be in — held unlocked
by a staff override or while a booking runs in a space marked ``unlock_during_bookings``,
locked otherwise — compares it with what the door last reported, and sends only what
converges: nothing when they agree, one command when they differ, again only if the door has
not obeyed after ``door_resend_seconds``. Badge pulses go through ``pulse()``: during a pulse
the door is left alone, and a door that does not relock itself gets ``Lock()`` when it ends.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from devices.model import (
    DeviceAvailability,
    DeviceEvent,
    DeviceKind,
    DeviceRef,
    HoldOpen,
    Lock,
    LockStateChanged,
    RelayStateChanged,
    Unlock,
)
from tierslieu.db.types import utcnow
from tierslieu.hardware.facts import FactsCache, SiteFacts
from tierslieu.hardware.hub import DeviceHub
from tierslieu.hardware.registry import RegisteredDevice
from tierslieu.hardware.state import door_unlocked
from tierslieu.runtime import Runtime

__all__ = ["DoorController", "Sent", "pulse_seconds_of", "wanted_state"]

log = logging.getLogger(__name__)

UNLOCKED, LOCKED = "unlocked", "locked"
# Extra time after a pulse before the controller looks at the door again (report delay).
_PULSE_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class Sent:
    wanted: str
    at: float  # time.monotonic()
    confirmable: bool  # the door had reported a state: resend if it does not change


def pulse_seconds_of(door: DeviceRef, default: float) -> float:
    value = door.options.get("pulse_seconds", default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 600:
        return default
    return float(value)


def wanted_state(door: RegisteredDevice, facts: SiteFacts, now: datetime) -> str:
    """What the door should be, from the staff override, else the bookings of its space."""
    override = facts.overrides.get(door.id)
    if override in (UNLOCKED, LOCKED):
        return override
    space = facts.spaces.get(door.space_id)
    if space is not None and space.rules.unlock_during_bookings and facts.bookings_within(door.space_id, now):
        return UNLOCKED
    return LOCKED


class DoorController:
    """A ``Component``; shared as ``runtime.services["doors"]``."""

    name = "door-controller"

    def __init__(self, runtime: Runtime, hub: DeviceHub, facts: FactsCache) -> None:
        self._settings = runtime.settings
        self._hub = hub
        self._facts = facts
        self._lock = threading.Lock()
        self._pulses: dict[int, float] = {}  # door id -> monotonic end of its pulse
        self._sent: dict[int, Sent] = {}
        # Set on every (re)connection: the next pass commands every door once, whatever it
        # reported, since reports kept from before may be stale.
        self._resync = True
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0
        self._pass_seconds = runtime.metrics.pass_seconds.labels("doors")
        hub.add_listener(self._on_event)
        hub.transport.add_connection_listener(self._on_connection)
        facts.on_refresh(self.wake)

    # -- Component -------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="door-controller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    # -- public ----------------------------------------------------------------------------

    def wake(self) -> None:
        """Run a pass now (after an override or a booking change)."""
        self._wake.set()

    def pulse(self, door_id: int, seconds: float | None = None) -> bool:
        """Open the door for a moment (badge granted, staff "pulse"). A door held unlocked
        stays so: a pulse would arm its relay's timer and close it."""
        entry = self._hub.entry(door_id)
        if entry is None or entry.kind != DeviceKind.DOOR:
            return False
        if wanted_state(entry, self._facts.current, utcnow()) == UNLOCKED:
            return True
        length = seconds or pulse_seconds_of(entry.ref, self._settings.door_pulse_seconds)
        with self._lock:
            self._pulses[door_id] = time.monotonic() + length + _PULSE_GRACE_SECONDS
            self._sent.pop(door_id, None)
        sent = self._hub.try_send(door_id, Unlock(length))
        if not self._hub.bridge_of(entry.ref).relocks_itself(entry.ref):
            self._wake.set()  # so the loop wakes up for the Lock() at the end of the pulse
        return sent

    def run_pass(self, now: datetime | None = None) -> list[tuple[int, str]]:
        """One pass over every door; returns the (door id, wanted state) commands sent."""
        if not self._hub.transport.connected:
            return []  # the next connection triggers a full resync pass anyway
        now = now or utcnow()
        facts = self._facts.current
        with self._lock:
            resync, self._resync = self._resync, False
        sent: list[tuple[int, str]] = []
        for door in self._hub.registry.of_kind(DeviceKind.DOOR):
            wanted = wanted_state(door, facts, now)
            if self._needs_command(door, wanted, resync):
                command = HoldOpen() if wanted == UNLOCKED else Lock()
                if self._hub.try_send(door.id, command):
                    sent.append((door.id, wanted))
        self.passes += 1
        return sent

    # -- internals -------------------------------------------------------------------------

    def _needs_command(self, door: RegisteredDevice, wanted: str, resync: bool) -> bool:
        state = self._hub.state(door.id)
        if state is not None and state.online is False:
            return False  # offline: the command would be lost; its return wakes us
        reported = door_unlocked(state.reported) if state is not None else None
        clock = time.monotonic()
        with self._lock:
            pulse_end = self._pulses.get(door.id)
            if pulse_end is not None:
                if clock < pulse_end:
                    return False
                del self._pulses[door.id]
            if not resync and reported is not None and reported == (wanted == UNLOCKED):
                self._sent.pop(door.id, None)
                return False
            last = self._sent.get(door.id)
            # A door that never reports its state gets one command per change, not a stream.
            waiting = last is not None and (
                not last.confirmable or clock - last.at < self._settings.door_resend_seconds
            )
            if not resync and last is not None and last.wanted == wanted and waiting:
                return False
            self._sent[door.id] = Sent(wanted, clock, confirmable=reported is not None)
            return True

    def _on_event(self, device: DeviceRef, event: DeviceEvent, at: datetime) -> None:
        door_news = isinstance(event, LockStateChanged | RelayStateChanged | DeviceAvailability)
        if device.kind == DeviceKind.DOOR and door_news:
            self._wake.set()

    def _on_connection(self, connected: bool) -> None:
        if connected:
            # What we sent before may have been lost with the broker: converge from scratch.
            with self._lock:
                self._sent.clear()
                self._resync = True
            self._wake.set()

    def _next_wait(self) -> float:
        wait = self._settings.door_pass_seconds
        with self._lock:
            if self._pulses:
                wait = min(wait, max(0.0, min(self._pulses.values()) - time.monotonic()))
        return wait

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self._next_wait())
            self._wake.clear()
            if self._stopping.is_set():
                break
            try:
                with self._pass_seconds.time():
                    self.run_pass()
            except Exception:
                log.exception("door controller pass failed")

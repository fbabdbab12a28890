"""The door controller: level-triggered, so a lost message or a restart heals on the next pass.

Every pass (each ``door_pass_seconds``, and at once when a door reports, the broker comes
back, or staff change an override) computes the state each door should be in — held unlocked
by a staff override or while a booking runs in a space marked ``unlock_during_bookings``,
locked otherwise — compares it with what the door last reported, and sends only what
converges: nothing when they agree, one command when they differ, again only if the door has
not obeyed after ``door_resend_seconds``. Badge pulses go through ``pulse()``: during a pulse
the door is left alone, and a door that does not relock itself gets ``Lock()`` when it ends.

A fire alarm comes first: while it is latched (``emergency.py``), every door marked ``egress``
(the default) should be unlocked, whatever its bookings or a staff override say, until staff
reset it. The alarm, each door's release and the reset are written to the access log.

Each door's ``fail_mode`` (``down_modes.py``) is sent to it on every (re)connection, and the
holds of fail-secure doors are timed and renewed, so a door relocks if the service is gone.
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
    FireAlarmChanged,
    HoldOpen,
    Lock,
    LockStateChanged,
    RelayStateChanged,
    Unlock,
)
from firmware_bridges import Bridge
from firmware_bridges.options import EGRESS, PULSE_SECONDS
from tierslieu.db.types import utcnow
from tierslieu.events import Event
from tierslieu.hardware.down_modes import down_mode_command, hold_command, renews_hold
from tierslieu.hardware.emergency import EmergencyLatch, alarm_in_log, emergency_line
from tierslieu.hardware.facts import FactsCache, SiteFacts
from tierslieu.hardware.hub import DeviceHub
from tierslieu.hardware.registry import RegisteredDevice
from tierslieu.hardware.state import door_unlocked
from tierslieu.runtime import Runtime
from tierslieu.workers import PeriodicWorker

__all__ = ["DoorController", "Sent", "pulse_seconds_of", "wanted_state"]

log = logging.getLogger(__name__)

UNLOCKED, LOCKED = "unlocked", "locked"
# Extra time after a pulse before the controller looks at the door again (report delay).
_PULSE_GRACE_SECONDS = 1.0
# The pass after a pulse comes this much later than its end, never a hair before it.
_PULSE_MARGIN_SECONDS = 0.05


@dataclass(frozen=True)
class Sent:
    wanted: str
    at: float  # time.monotonic()
    confirmable: bool  # the door had reported a state: resend if it does not change


def pulse_seconds_of(door: DeviceRef, default: float) -> float:
    try:
        return PULSE_SECONDS.get(door) or default
    except ValueError:  # checked when the device was saved; an old row keeps the default
        return default


def is_egress(door: DeviceRef) -> bool:
    try:
        return EGRESS.get(door)
    except ValueError:
        return True  # a door of unknown status is an escape route


def wanted_state(door: RegisteredDevice, facts: SiteFacts, now: datetime, fire_alarm: bool = False) -> str:
    """What the door should be: released in a fire alarm (egress doors), else the staff
    override, else the bookings of its space."""
    if fire_alarm and is_egress(door.ref):
        return UNLOCKED
    override = facts.overrides.get(door.id)
    if override in (UNLOCKED, LOCKED):
        return override
    space = facts.spaces.get(door.space_id)
    if space is not None and space.rules.unlock_during_bookings and facts.bookings_within(door.space_id, now):
        return UNLOCKED
    return LOCKED


class DoorController:
    """A ``Component``; ``runtime.controller.doors``. Its passes are a worker woken by the doors'
    reports, the connection, and each reload of the access facts (itself woken by the change
    feed: the doors read the facts, not the database)."""

    name = "door-controller"

    def __init__(self, runtime: Runtime, hub: DeviceHub, facts: FactsCache) -> None:
        self._settings = runtime.settings
        self._runtime = runtime
        self.emergency = EmergencyLatch()
        self._hub = hub
        self._facts = facts
        self._lock = threading.Lock()
        self._pulses: dict[int, float] = {}  # door id -> monotonic end of its pulse
        self._sent: dict[int, Sent] = {}
        self._holds: dict[int, float] = {}  # door id -> monotonic time its timed hold was sent
        # Set on every (re)connection: the next pass commands every door once, whatever it
        # reported, since reports kept from before may be stale.
        self._resync = True
        self.passes = 0
        self._worker = PeriodicWorker(
            "doors", self.run_pass, runtime.scheduler, runtime.settings.door_pass_seconds, metrics=runtime.metrics
        )
        hub.add_listener(self._on_event)
        hub.transport.add_connection_listener(self._on_connection)
        facts.on_refresh(self.wake)

    # -- Component -------------------------------------------------------------------------

    def start(self) -> None:
        with self._runtime.db.session() as session:
            self.emergency.restore(alarm_in_log(session))
        self._worker.start()

    def stop(self) -> None:
        self._worker.stop()

    # -- public ----------------------------------------------------------------------------

    def wake(self) -> None:
        """Run a pass now (after an override or a booking change)."""
        self._worker.wake()

    def reset_emergency(self) -> None:
        """Staff reset the fire alarm (the caller has written the reset line): the doors go
        back to what their bookings and overrides want on the next pass."""
        self.emergency.reset()
        with self._lock:
            self._sent.clear()
        self._runtime.events.publish(Event("emergency", {"alarm": False}))
        self._worker.wake()

    def pulse(self, door_id: int, seconds: float | None = None) -> bool:
        """Open the door for a moment (badge granted, staff "pulse"). A door held unlocked
        stays so: a pulse would arm its relay's timer and close it."""
        entry = self._hub.entry(door_id)
        if entry is None or entry.kind != DeviceKind.DOOR:
            return False
        if wanted_state(entry, self._facts.current, utcnow(), self.emergency.active) == UNLOCKED:
            return True
        length = seconds or pulse_seconds_of(entry.ref, self._settings.door_pulse_seconds)
        with self._lock:
            self._pulses[door_id] = time.monotonic() + length + _PULSE_GRACE_SECONDS
            self._sent.pop(door_id, None)
        sent = self._hub.try_send(door_id, Unlock(length))
        if not self._hub.bridge_of(entry.ref).relocks_itself(entry.ref):
            # A pass at the end of the pulse, for its Lock().
            self._worker.wake_after(length + _PULSE_GRACE_SECONDS + _PULSE_MARGIN_SECONDS)
        return sent

    def run_pass(self, now: datetime | None = None) -> list[tuple[int, str]]:
        """One pass over every door; returns the (door id, wanted state) commands sent."""
        if not self._hub.transport.connected:
            self._write_emergency_lines()  # an alarm is logged even with the broker away
            return []  # the next connection triggers a full resync pass anyway
        now = now or utcnow()
        facts = self._facts.current
        with self._lock:
            resync, self._resync = self._resync, False
        fire_alarm = self.emergency.active
        sent: list[tuple[int, str]] = []
        for door in self._hub.registry.of_kind(DeviceKind.DOOR):
            if resync:
                self._hub.send(door.id, down_mode_command(door.ref))
            wanted = wanted_state(door, facts, now, fire_alarm)
            bridge, released = self._hub.bridge_of(door.ref), fire_alarm and is_egress(door.ref)
            timed = wanted == UNLOCKED and renews_hold(door.ref, bridge, released)
            if self._needs_command(door, wanted, resync) or (timed and self._hold_expiring(door)):
                command = self._hold(door, bridge, released) if wanted == UNLOCKED else Lock()
                if self._hub.try_send(door.id, command):
                    sent.append((door.id, wanted))
                    with self._lock:
                        if timed:
                            self._holds[door.id] = time.monotonic()
                        else:
                            self._holds.pop(door.id, None)
            if released:
                self.emergency.released(door.ref, door.space_id, now)
        self._write_emergency_lines()
        self.passes += 1
        return sent

    def _hold_expiring(self, door: RegisteredDevice) -> bool:
        """A timed hold half-way through: renew it (if the door is reachable and not pulsing)."""
        state = self._hub.state(door.id)
        if state is not None and state.online is False:
            return False
        clock = time.monotonic()
        with self._lock:
            if door.id in self._pulses and clock < self._pulses[door.id]:
                return False
            sent_at = self._holds.get(door.id)
            return sent_at is not None and clock - sent_at > self._settings.door_secure_hold_seconds / 2

    def _hold(self, door: RegisteredDevice, bridge: Bridge, released: bool) -> HoldOpen:
        return hold_command(door.ref, bridge, released, self._settings.door_secure_hold_seconds)

    def _write_emergency_lines(self) -> None:
        pending = self.emergency.take_pending()
        if not pending:
            return
        try:
            with self._runtime.db.session(write=True) as session:
                for line in pending:
                    session.add(emergency_line(line.reason, line.at, line.device, line.space_id, line.detail))
                session.commit()
        except Exception:
            log.exception("emergency lines not written, retrying on the next pass")
            self.emergency.put_back(pending)
            return
        for line in pending:
            log.warning("emergency: %s (%s)", line.reason, line.device.name if line.device else "-")
            self._runtime.events.publish(
                Event(
                    "emergency",
                    {
                        "alarm": self.emergency.active,
                        "reason": line.reason,
                        "device_id": line.device.id if line.device else None,
                        "at": line.at.isoformat(),
                    },
                )
            )

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
            self._worker.wake()
        elif device.kind == DeviceKind.FIRE_PANEL:
            self._on_fire_panel(device, event, at)

    def _on_fire_panel(self, panel: DeviceRef, event: DeviceEvent, at: datetime) -> None:
        entry = self._hub.entry(panel.id)
        space_id = entry.space_id if entry is not None else None
        if isinstance(event, FireAlarmChanged) and event.alarm:
            if self.emergency.alarm(panel, space_id or 0, at):
                with self._lock:
                    self._resync = True  # every egress door now, whatever it reported
            self._worker.wake()
        elif isinstance(event, DeviceAvailability) and not event.online:
            self.emergency.offline(panel, space_id or 0, at)  # an alert; it opens nothing
            self._worker.wake()

    def _on_connection(self, connected: bool) -> None:
        if connected:
            # What we sent before may have been lost with the broker: converge from scratch.
            with self._lock:
                self._sent.clear()
                self._holds.clear()
                self._resync = True
            self._worker.wake()

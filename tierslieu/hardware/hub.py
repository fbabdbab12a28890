"""The device hub: MQTT messages in, normalized events out, commands back to the devices.

Incoming path (in the transport's thread, kept short): topic -> each bridge's ``match`` ->
the configured devices at that address -> ``parse`` -> events a device of that kind may
produce -> in-memory state -> listeners. Bad payloads, unknown devices and topics we do not
own are logged, counted and dropped; nothing a device sends can stop the hub. Device
states reach the database in batches (``StateBook``), never on the hot path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime

from devices.errors import DeviceError, PartialPayload, PayloadError, UnsupportedCommand
from devices.model import (
    MAX_PAYLOAD_BYTES,
    BadgeScanned,
    BatteryLevel,
    CommandAck,
    ContactChanged,
    DeviceAvailability,
    DeviceCommand,
    DeviceEvent,
    DeviceKind,
    DeviceRef,
    FireAlarmChanged,
    Illuminance,
    LockStateChanged,
    OccupancyChanged,
    PeopleCount,
    RelayStateChanged,
)
from devices.transport import Transport, TransportError, Unsubscribe
from firmware_bridges import BRIDGES, Bridge
from tierslieu.db.types import utcnow
from tierslieu.hardware.quiet import QuietGate
from tierslieu.hardware.registry import DeviceRegistry, RegisteredDevice, load_registry
from tierslieu.hardware.state import DeviceState, StateBook, load_states, write_states
from tierslieu.runtime import Runtime
from tierslieu.workers import PeriodicWorker

__all__ = ["ALLOWED_EVENTS", "DeviceHub", "EventListener", "HubMetrics"]

log = logging.getLogger(__name__)

EventListener = Callable[[DeviceRef, DeviceEvent, datetime], None]
"""Called with (device, event, received at) in the transport's thread: return quickly."""

# Commits writing these tables change which devices exist and where they are: the registry is
# read again (a device added through another process too, once its change is relayed here).
REGISTRY_TABLES = ("device", "space", "resource")
# Besides those wakes, a safety re-read of the devices every few minutes.
REGISTRY_SAFETY_SECONDS = 300.0

_COMMON: tuple[type, ...] = (DeviceAvailability, BatteryLevel, CommandAck)
# What each kind of device may tell us. A device is trusted for its own kind only: a contact
# sensor cannot scan a badge, a reader cannot report a door unlocked.
ALLOWED_EVENTS: Mapping[DeviceKind, tuple[type, ...]] = {
    DeviceKind.DOOR: (LockStateChanged, RelayStateChanged, ContactChanged, *_COMMON),
    DeviceKind.BADGE_READER: (BadgeScanned, *_COMMON),
    DeviceKind.OCCUPANCY_SENSOR: (OccupancyChanged, Illuminance, *_COMMON),
    DeviceKind.CONTACT_SENSOR: (ContactChanged, Illuminance, *_COMMON),  # Shelly D/W reports lux
    DeviceKind.PEOPLE_COUNTER: (PeopleCount, OccupancyChanged, *_COMMON),
    DeviceKind.FIRE_PANEL: (FireAlarmChanged, *_COMMON),
}


@dataclass
class HubMetrics:
    received: int = 0
    events: int = 0
    not_ours: int = 0  # topics no configured device owns (other firmwares, our own commands)
    oversized: int = 0
    bad_payload: int = 0
    untrusted: int = 0  # events a device of that kind may not produce
    listener_errors: int = 0
    commands_sent: int = 0
    commands_failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class DeviceHub:
    """A ``Component``; ``runtime.controller.hub``."""

    name = "device-hub"

    def __init__(self, runtime: Runtime, transport: Transport, bridges: Mapping[str, Bridge] = BRIDGES) -> None:
        self._runtime = runtime
        self._transport = transport
        self._bridges = bridges
        self._registry = DeviceRegistry()
        self._listeners: tuple[EventListener, ...] = ()  # replaced, never mutated: read unlocked
        self._reload_listeners: list[Callable[[DeviceRegistry], None]] = []
        self._states = StateBook()
        self._metrics_lock = threading.Lock()
        self.metrics = HubMetrics()
        self._subscribed: dict[str, Unsubscribe] = {}  # topic filter -> how to leave it
        self._reload_lock = threading.Lock()
        # Background database work waits for a pause in the message stream (see quiet.py).
        self.quiet = QuietGate()
        self._flusher = PeriodicWorker(
            "device-state-flush",
            self._flush_when_quiet,
            runtime.scheduler,
            runtime.settings.device_flush_seconds,
            run_at_start=False,
            metrics=runtime.metrics,
        )
        self._registry_worker = PeriodicWorker(
            "device-registry",
            self.reload,
            runtime.scheduler,
            REGISTRY_SAFETY_SECONDS,
            run_at_start=False,
            metrics=runtime.metrics,
        )
        self._registry_worker.wake_on(runtime.db.changes, *REGISTRY_TABLES, delay=0.25)

    # -- Component -------------------------------------------------------------------------

    def start(self) -> None:
        self._states.seed(load_states(self._runtime.db))
        self.reload()
        self._flusher.start()
        self._registry_worker.start()

    def stop(self) -> None:
        self._registry_worker.stop()
        self._flusher.stop()
        self.flush()

    # -- public interface ------------------------------------------------------------------

    @property
    def transport(self) -> Transport:
        return self._transport

    @property
    def registry(self) -> DeviceRegistry:
        return self._registry

    def add_listener(self, listener: EventListener) -> None:
        with self._reload_lock:
            self._listeners = (*self._listeners, listener)

    def add_reload_listener(self, listener: Callable[[DeviceRegistry], None]) -> None:
        """Called with the new registry after each reload (the broker's ACL follows the devices)."""
        self._reload_listeners.append(listener)

    def reload(self) -> None:
        """Re-read the devices from the database (after API changes) and fix the subscriptions."""
        with self._reload_lock:
            with self._runtime.db.session() as session:
                registry = load_registry(session, self._bridges)
            if registry.devices == self._registry.devices and registry.subscriptions == self._subscribed.keys():
                return  # nothing moved: keep the routes learnt so far, tell nobody
            self._registry = registry
            self._states.forget(set(registry.devices))
            # Started before the transport (see wiring.py), so that the messages a persistent
            # session kept for us find their handler as soon as the connection opens.
            for topic_filter in sorted(registry.subscriptions - self._subscribed.keys()):
                self._subscribed[topic_filter] = self._transport.subscribe(topic_filter, self._on_message, 1)
            for topic_filter in sorted(self._subscribed.keys() - registry.subscriptions):
                self._subscribed.pop(topic_filter)()
        log.info("device hub: %d device(s), %d topic filter(s)", len(registry.devices), len(registry.subscriptions))
        for listener in self._reload_listeners:
            try:
                listener(registry)
            except Exception:
                log.exception("reload listener %r failed", listener)

    def device(self, device_id: int) -> DeviceRef | None:
        entry = self._registry.get(device_id)
        return entry.ref if entry is not None else None

    def entry(self, device_id: int) -> RegisteredDevice | None:
        """The device with its place (space, resource)."""
        return self._registry.get(device_id)

    def devices(self) -> list[DeviceRef]:
        return [entry.ref for entry in self._registry.devices.values()]

    def bridge_of(self, device: DeviceRef) -> Bridge:
        return self._bridges[device.bridge]

    def state(self, device_id: int) -> DeviceState | None:
        return self._states.get(device_id)

    def fire_panels_in_alarm(self) -> list[DeviceRef]:
        """The fire panels whose last report was an alarm (offline ones included: unknown)."""
        return [
            entry.ref
            for entry in self._registry.of_kind(DeviceKind.FIRE_PANEL)
            if (state := self._states.get(entry.id)) is not None and state.reported.get("alarm") is True
        ]

    def send(self, device_id: int, command: DeviceCommand) -> None:
        """Encode through the device's bridge and publish. Failures are logged, never raised:
        callers are controllers that will try again on their next pass."""
        self.try_send(device_id, command)

    def try_send(self, device_id: int, command: DeviceCommand) -> bool:
        """``send`` that says whether every message was handed to the transport."""
        entry = self._registry.get(device_id)
        if entry is None:
            log.warning("command %r for unknown device %s not sent", command, device_id)
            return False
        try:
            messages = self._bridges[entry.ref.bridge].encode(entry.ref, command)
            for message in messages:
                self._transport.publish(message.topic, message.payload, message.qos, message.retain)
        except UnsupportedCommand as error:
            log.warning("device %r: %s", entry.ref.name, error)
            self._count("commands_failed")
            return False
        except (DeviceError, TransportError) as error:
            log.error("device %r: command %r not sent: %s", entry.ref.name, command, error)
            self._count("commands_failed")
            return False
        self._count("commands_sent")
        return True

    def flush(self) -> None:
        """Write the changed device states now."""
        dirty = self._states.take_dirty()
        try:
            write_states(self._runtime.db, dirty)
        except Exception:
            log.exception("device states not written, retrying later")
            self._states.put_back(set(dirty))

    # -- incoming --------------------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        self.quiet.touch()
        self._count("received")
        if len(payload) > MAX_PAYLOAD_BYTES:
            self._count("oversized")
            log.warning("message on %s dropped: %d bytes (limit %d)", topic[:200], len(payload), MAX_PAYLOAD_BYTES)
            return
        targets = self._registry.route(topic)
        if not targets:
            self._count("not_ours")
            log.debug("message on %s ignored: no configured device owns this topic", topic[:200])
            return
        received_at = utcnow()
        for bridge, entry in targets:
            self._deliver(bridge, entry, topic, payload, received_at)

    def _deliver(self, bridge: Bridge, entry: RegisteredDevice, topic: str, payload: bytes, at: datetime) -> None:
        try:
            events = bridge.parse(entry.ref, topic, payload)
        except PartialPayload as error:  # one bad field: the others still count
            self._count("bad_payload")
            log.warning("device %r, %s: %s", entry.ref.name, topic[:200], error)
            events = list(error.events)
        except PayloadError as error:
            self._count("bad_payload")
            log.warning("device %r, %s: %s", entry.ref.name, topic[:200], error)
            return
        except DeviceError as error:
            self._count("bad_payload")
            log.error("device %r cannot be read: %s", entry.ref.name, error)
            return
        allowed = ALLOWED_EVENTS.get(entry.kind, _COMMON)
        for event in events:
            if not isinstance(event, allowed) or event.device_id != entry.id:
                self._count("untrusted")
                log.warning("device %r (%s) may not report %r: dropped", entry.ref.name, entry.kind, event)
                continue
            self._count("events")
            self._states.note(entry.id, event, at)
            for listener in self._listeners:
                try:
                    listener(entry.ref, event, at)
                except Exception:
                    self._count("listener_errors")
                    log.exception("device listener %r failed on %r", listener, event)

    def _count(self, name: str) -> None:
        with self._metrics_lock:
            setattr(self.metrics, name, getattr(self.metrics, name) + 1)

    def _flush_when_quiet(self) -> None:
        if self._states.has_dirty():
            self.quiet.wait(self._flusher.stopping)
            self.flush()

"""The configured devices, read from the database into an immutable snapshot.

A ``DeviceRegistry`` answers the hub's two hot questions without the database: which devices
does an incoming topic belong to, and where is a device (space, resource). A topic belongs to
the devices whose own subscriptions match it — so a per-device topic option (a Zigbee2MQTT
``base_topic``, an ESPHome ``tag_topic``) routes exactly as the device asked, with no
registry of base topics to keep in step. The hub swaps in a new registry on ``reload()``; a
registry is never mutated.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from devices.errors import DeviceError
from devices.model import DeviceKind, DeviceRef
from devices.transport import topic_matches
from firmware_bridges import Bridge
from tierslieu.models import Device

__all__ = ["DeviceRegistry", "RegisteredDevice", "Route", "load_registry"]

log = logging.getLogger(__name__)

# Topics a site's devices use are few; the bound only stops a flood of invented topic names
# (under a subscribed wildcard) from growing the memo without end.
_MAX_ROUTES = 10_000


@dataclass(frozen=True)
class RegisteredDevice:
    ref: DeviceRef
    space_id: int
    resource_id: int | None = None

    @property
    def id(self) -> int:
        return self.ref.id

    @property
    def kind(self) -> DeviceKind:
        return self.ref.kind


Route = tuple[tuple[Bridge, RegisteredDevice], ...]
"""The devices an incoming topic belongs to, each with the bridge that reads it."""


@dataclass(frozen=True)
class DeviceRegistry:
    devices: Mapping[int, RegisteredDevice] = field(default_factory=dict)
    # topic filter -> the devices (with their bridge) that subscribed to it; several devices
    # may share one firmware address, hence one filter.
    by_filter: Mapping[str, Route] = field(default_factory=dict)
    bridges: Mapping[str, Bridge] = field(default_factory=dict)
    # topic -> route, filled as messages arrive: asking every bridge to match every message
    # was a large part of the ingest cost, and a registry's routes never change.
    _routes: dict[str, Route] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, entries: Iterable[RegisteredDevice], bridges: Mapping[str, Bridge]) -> DeviceRegistry:
        """Keep the devices their bridge accepts; a misconfigured one is logged and left out
        (it must not stop the others from working)."""
        devices: dict[int, RegisteredDevice] = {}
        by_filter: dict[str, list[tuple[Bridge, RegisteredDevice]]] = {}
        for entry in entries:
            bridge = bridges.get(entry.ref.bridge)
            if bridge is None:
                log.error("device %r ignored: unknown bridge %r", entry.ref.name, entry.ref.bridge)
                continue
            try:
                bridge.validate_device(entry.ref)
                topics = bridge.subscriptions(entry.ref)
            except DeviceError as error:
                log.error("device %r ignored: %s", entry.ref.name, error)
                continue
            try:
                bridge.check_option_names(entry.ref)
            except DeviceError as error:  # kept: a stray key must not take a door offline
                log.warning("device %r: %s", entry.ref.name, error)
            devices[entry.id] = entry
            for topic_filter in dict.fromkeys(topics):
                by_filter.setdefault(topic_filter, []).append((bridge, entry))
        return cls(devices, {key: tuple(value) for key, value in by_filter.items()}, bridges)

    @property
    def subscriptions(self) -> frozenset[str]:
        """Deduplicated topic filters of every device, the set the hub keeps subscribed."""
        return frozenset(self.by_filter)

    def get(self, device_id: int) -> RegisteredDevice | None:
        return self.devices.get(device_id)

    def route(self, topic: str) -> Route:
        """The devices whose subscriptions ``topic`` matches, each once, memoized."""
        found = self._routes.get(topic)
        if found is None:
            pairs: dict[int, tuple[Bridge, RegisteredDevice]] = {}
            exact = self.by_filter.get(topic, ())
            for pair in exact:
                pairs.setdefault(pair[1].id, pair)
            for topic_filter, route in self.by_filter.items():
                if ("+" in topic_filter or "#" in topic_filter) and topic_matches(topic_filter, topic):
                    for pair in route:
                        pairs.setdefault(pair[1].id, pair)
            found = tuple(pairs.values())
            if len(self._routes) >= _MAX_ROUTES:
                self._routes.clear()
            self._routes[topic] = found
        return found

    def of_kind(self, kind: DeviceKind) -> list[RegisteredDevice]:
        return [entry for entry in self.devices.values() if entry.kind == kind]


def to_ref(row: Device) -> DeviceRef:
    assert row.id is not None
    return DeviceRef(
        id=row.id,
        name=row.name,
        kind=DeviceKind(row.kind),
        bridge=row.bridge,
        address=row.address,
        options=dict(row.options or {}),
    )


def load_registry(session: Session, bridges: Mapping[str, Bridge]) -> DeviceRegistry:
    entries = []
    for row in session.exec(select(Device).order_by(col(Device.id))).all():
        try:
            ref = to_ref(row)
        except ValueError as error:  # unknown kind stored by hand in the database
            log.error("device %r ignored: %s", row.name, error)
            continue
        assert row.space_id is not None
        entries.append(RegisteredDevice(ref, row.space_id, row.resource_id))
    return DeviceRegistry.build(entries, bridges)

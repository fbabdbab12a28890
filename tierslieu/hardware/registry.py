"""The configured devices, read from the database into an immutable snapshot.

A ``DeviceRegistry`` answers the hub's two hot questions without the database: which devices
does an incoming topic belong to (per bridge, by address), and where is a device (space,
resource). The hub swaps in a new registry on ``reload()``; a registry is never mutated.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from devices.errors import DeviceError
from devices.model import DeviceKind, DeviceRef
from firmware_bridges import Bridge
from tierslieu.models import Device

__all__ = ["DeviceRegistry", "RegisteredDevice", "load_registry"]

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class DeviceRegistry:
    devices: Mapping[int, RegisteredDevice] = field(default_factory=dict)
    # (bridge name, address) -> devices; several devices may share one firmware address.
    by_address: Mapping[tuple[str, str], tuple[RegisteredDevice, ...]] = field(default_factory=dict)
    # Deduplicated topic filters of every device, the set the hub keeps subscribed.
    subscriptions: frozenset[str] = frozenset()

    @classmethod
    def build(cls, entries: Iterable[RegisteredDevice], bridges: Mapping[str, Bridge]) -> DeviceRegistry:
        """Keep the devices their bridge accepts; a misconfigured one is logged and left out
        (it must not stop the others from working)."""
        devices: dict[int, RegisteredDevice] = {}
        by_address: dict[tuple[str, str], list[RegisteredDevice]] = {}
        filters: set[str] = set()
        for entry in entries:
            bridge = bridges.get(entry.ref.bridge)
            if bridge is None:
                log.error("device %r ignored: unknown bridge %r", entry.ref.name, entry.ref.bridge)
                continue
            try:
                bridge.validate_device(entry.ref)
                topics = bridge.subscriptions(entry.ref)
            except DeviceError as error:
                log.error("device %r ignored: %s", entry.ref.name, error.message("en"))
                continue
            devices[entry.id] = entry
            by_address.setdefault((bridge.name, entry.ref.address), []).append(entry)
            filters.update(topics)
        return cls(devices, {key: tuple(value) for key, value in by_address.items()}, frozenset(filters))

    def get(self, device_id: int) -> RegisteredDevice | None:
        return self.devices.get(device_id)

    def at(self, bridge: str, address: str) -> tuple[RegisteredDevice, ...]:
        return self.by_address.get((bridge, address), ())

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

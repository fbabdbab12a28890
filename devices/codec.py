"""Plain-dict form of events and commands: ``{"type": "BadgeScanned", "device_id": 3, "uid": "..."}``.

Used by the recorded fixtures, logs and anything that stores or ships events as JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from devices.model import (
    BadgeScanned,
    BatteryLevel,
    CommandAck,
    ContactChanged,
    DeviceAvailability,
    DeviceCommand,
    DeviceEvent,
    Feedback,
    FireAlarmChanged,
    HoldOpen,
    Illuminance,
    Lock,
    LockStateChanged,
    OccupancyChanged,
    PeopleCount,
    RelayStateChanged,
    SetDownMode,
    Unlock,
)

__all__ = ["command_from_dict", "command_to_dict", "event_from_dict", "event_to_dict"]

EVENT_TYPES: Mapping[str, type[DeviceEvent]] = {
    cls.__name__: cls
    for cls in (
        BadgeScanned,
        OccupancyChanged,
        PeopleCount,
        ContactChanged,
        LockStateChanged,
        RelayStateChanged,
        DeviceAvailability,
        BatteryLevel,
        Illuminance,
        CommandAck,
        FireAlarmChanged,
    )
}
COMMAND_TYPES: Mapping[str, type[DeviceCommand]] = {
    cls.__name__: cls for cls in (Unlock, Lock, HoldOpen, Feedback, SetDownMode)
}


def _to_dict(value: DeviceEvent | DeviceCommand) -> dict[str, Any]:
    return {"type": type(value).__name__, **dataclasses.asdict(value)}


def _from_dict(data: Mapping[str, Any], types: Mapping[str, type[Any]], what: str) -> Any:
    fields = dict(data)
    name = fields.pop("type", None)
    cls = types.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown {what} type {name!r} (known: {', '.join(sorted(types))})")
    try:
        return cls(**fields)
    except TypeError as error:
        raise ValueError(f"bad fields for {name}: {error}") from error


def event_to_dict(event: DeviceEvent) -> dict[str, Any]:
    return _to_dict(event)


def event_from_dict(data: Mapping[str, Any]) -> DeviceEvent:
    """Raises ValueError for an unknown type or wrong fields."""
    event: DeviceEvent = _from_dict(data, EVENT_TYPES, "event")
    return event


def command_to_dict(command: DeviceCommand) -> dict[str, Any]:
    return _to_dict(command)


def command_from_dict(data: Mapping[str, Any]) -> DeviceCommand:
    """Raises ValueError for an unknown type or wrong fields."""
    command: DeviceCommand = _from_dict(data, COMMAND_TYPES, "command")
    return command

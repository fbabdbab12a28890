"""The normalized device vocabulary: what every firmware bridge maps onto.

Vendor payloads never get past this layer: the rest of tierslieu only sees a ``DeviceRef``
(which device, through which bridge), ``DeviceEvent`` values coming in and ``DeviceCommand``
values going out, and ``MqttMessage`` as the unit handed to the transport.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from devices.badge_ids import canonical_uid
from devices.errors import DeviceConfigError, DeviceError, PayloadError, UnsupportedCommand

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "MAX_PULSE_SECONDS",
    "BadgeScanned",
    "BatteryLevel",
    "CommandAck",
    "ContactChanged",
    "DeviceAvailability",
    "DeviceCommand",
    "DeviceConfigError",
    "DeviceError",
    "DeviceEvent",
    "DeviceKind",
    "DeviceRef",
    "Feedback",
    "FireAlarmChanged",
    "HoldOpen",
    "Illuminance",
    "Lock",
    "LockStateChanged",
    "MqttMessage",
    "OccupancyChanged",
    "PayloadError",
    "PeopleCount",
    "RelayStateChanged",
    "SetDownMode",
    "Unlock",
    "UnsupportedCommand",
    "normalize_uid",
]

# Larger messages are refused before decoding: no sensor we speak sends more than a few hundred bytes.
MAX_PAYLOAD_BYTES = 64 * 1024
# A pulse longer than this is a hold-open, and must be asked for as one.
MAX_PULSE_SECONDS = 600.0


class DeviceKind(StrEnum):
    DOOR = "door"
    BADGE_READER = "badge_reader"
    OCCUPANCY_SENSOR = "occupancy_sensor"
    CONTACT_SENSOR = "contact_sensor"
    PEOPLE_COUNTER = "people_counter"
    # A dry contact from the fire alarm panel: in alarm, egress doors are released.
    FIRE_PANEL = "fire_panel"


@dataclass(frozen=True)
class DeviceRef:
    """One configured device: ``address`` is what the bridge uses to build its topics
    (Zigbee2MQTT friendly name, Tasmota topic, Shelly id, ESPHome topic prefix)."""

    id: int
    name: str
    kind: DeviceKind
    bridge: str
    address: str
    # Bridge-specific settings, e.g. {"relay": 2} or {"lock": "porte"}; read-only by convention.
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # Accept the plain string from configuration files, keep the enum.
        object.__setattr__(self, "kind", DeviceKind(self.kind))
        # A private copy, so a caller mutating its dict cannot change a live device.
        object.__setattr__(self, "options", dict(self.options))


# --- events (device -> tierslieu) -------------------------------------------------------------


@dataclass(frozen=True)
class BadgeScanned:
    device_id: int
    uid: str  # canonical (devices.badge_ids)
    # False when the reader says the tag failed its authentication (PN532 "Auth":"NOk"):
    # such a read never opens anything.
    authenticated: bool = True


@dataclass(frozen=True)
class OccupancyChanged:
    device_id: int
    occupied: bool


@dataclass(frozen=True)
class PeopleCount:
    device_id: int
    count: int


@dataclass(frozen=True)
class ContactChanged:
    device_id: int
    open: bool


@dataclass(frozen=True)
class FireAlarmChanged:
    """A fire panel's contact, read with its ``alarm_when`` option: True is the alarm."""

    device_id: int
    alarm: bool


@dataclass(frozen=True)
class LockStateChanged:
    device_id: int
    locked: bool | None  # None: jammed, moving or not fully locked; see raw_state
    raw_state: str


@dataclass(frozen=True)
class RelayStateChanged:
    device_id: int
    on: bool


@dataclass(frozen=True)
class DeviceAvailability:
    device_id: int
    online: bool


@dataclass(frozen=True)
class BatteryLevel:
    device_id: int
    percent: int


@dataclass(frozen=True)
class Illuminance:
    device_id: int
    lux: float


@dataclass(frozen=True)
class CommandAck:
    """The device confirmed (or refused) a command: Tasmota RESULT, Shelly RPC reply..."""

    device_id: int
    command: str  # e.g. "POWER1", "PulseTime1", "rpc:123456"
    ok: bool
    detail: str = ""


DeviceEvent = (
    BadgeScanned
    | OccupancyChanged
    | PeopleCount
    | ContactChanged
    | LockStateChanged
    | RelayStateChanged
    | DeviceAvailability
    | BatteryLevel
    | Illuminance
    | CommandAck
    | FireAlarmChanged
)


# --- commands (tierslieu -> device) -----------------------------------------------------------


@dataclass(frozen=True)
class Unlock:
    """Open the door for ``pulse_seconds``, then it must lock again."""

    pulse_seconds: float

    def __post_init__(self) -> None:
        pulse = self.pulse_seconds
        if isinstance(pulse, bool) or not isinstance(pulse, int | float):
            raise ValueError(f"pulse_seconds must be a number, got {pulse!r}")
        if not math.isfinite(pulse) or not 0 < pulse <= MAX_PULSE_SECONDS:
            raise ValueError(f"pulse_seconds must be in ]0, {MAX_PULSE_SECONDS:g}], got {pulse!r}")


@dataclass(frozen=True)
class Lock:
    pass


@dataclass(frozen=True)
class HoldOpen:
    """Unlock until a Lock() comes (opening hours, events, fire release).

    ``for_seconds``: where the firmware has a timer, the device locks again by itself after
    that long unless the hold is renewed — a fail-secure door then relocks when tierslieu or
    the broker is gone. None: held until Lock()."""

    for_seconds: float | None = None

    def __post_init__(self) -> None:
        seconds = self.for_seconds
        if seconds is not None and (
            isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= 3600
        ):
            raise ValueError(f"for_seconds must be in ]0, 3600] or None, got {seconds!r}")


@dataclass(frozen=True)
class SetDownMode:
    """Tell the door what to do on its own when power, tierslieu or the broker is gone:
    ``fail_safe`` True opens (fail-safe), False stays locked (fail-secure). Best effort:
    sent where the firmware has such a setting, [] elsewhere."""

    fail_safe: bool


@dataclass(frozen=True)
class Feedback:
    """Tell the person at the reader whether access was granted (beep, LED). Best effort."""

    granted: bool


DeviceCommand = Unlock | Lock | HoldOpen | Feedback | SetDownMode


@dataclass(frozen=True)
class MqttMessage:
    """The outbound unit a bridge produces and the transport publishes."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False

    def __post_init__(self) -> None:
        if not self.topic or "+" in self.topic or "#" in self.topic:
            raise ValueError(f"not a publishable MQTT topic: {self.topic!r}")
        if self.qos not in (0, 1, 2):
            raise ValueError(f"qos must be 0, 1 or 2, got {self.qos!r}")
        if not isinstance(self.payload, bytes):
            raise TypeError(f"payload must be bytes, got {type(self.payload).__name__}")


# --- badge identifiers ------------------------------------------------------------------------


def normalize_uid(raw: str) -> str:
    """A tag written in hexadecimal in its canonical form (see ``devices.badge_ids``)."""
    return canonical_uid(raw)

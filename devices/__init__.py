"""Device vocabulary shared by the firmware bridges and the rest of tierslieu.

The MQTT transport lives in ``devices.transport`` (the protocol), ``devices.session`` (its state
machine), ``devices.mqtt`` (paho) and ``devices.memory`` (for tests), imported from there.
"""

from devices.codec import command_from_dict, command_to_dict, event_from_dict, event_to_dict
from devices.errors import DeviceConfigError, DeviceError, PayloadError, UnsupportedCommand
from devices.model import (
    MAX_PAYLOAD_BYTES,
    MAX_PULSE_SECONDS,
    BadgeScanned,
    BatteryLevel,
    CommandAck,
    ContactChanged,
    DeviceAvailability,
    DeviceCommand,
    DeviceEvent,
    DeviceKind,
    DeviceRef,
    Feedback,
    FireAlarmChanged,
    HoldOpen,
    Illuminance,
    Lock,
    LockStateChanged,
    MqttMessage,
    OccupancyChanged,
    PeopleCount,
    RelayStateChanged,
    SetDownMode,
    Unlock,
    normalize_uid,
)

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
    "command_from_dict",
    "command_to_dict",
    "event_from_dict",
    "event_to_dict",
    "normalize_uid",
]

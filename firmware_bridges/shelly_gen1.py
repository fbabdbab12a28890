"""Shelly Gen1 (Shelly 1, 2.5, Door/Window 2, Motion) over their native MQTT.

Address = the device id, e.g. ``shelly1-98F4ABF298AD``. Topics under ``shellies/<id>/``:
  ``relay/<n>``                 ``on`` / ``off`` / ``overpower``
  ``relay/<n>/command``         ``on`` / ``off`` (ours; never consumed)
  ``online``                    ``true`` / ``false``
  ``sensor/state``              Door/Window: ``open`` / ``close``
  ``sensor/battery``, ``sensor/lux``   plain numbers
  ``input/<n>``                 ``0`` / ``1``
  ``status``                    Motion: ``{"motion":true,"lux":70,"bat":99,...}``
Device options (see ``OPTIONS``): ``relay`` (default 0), ``input`` (use input/<n> as the
contact instead of a Door/Window sensor), ``open_when_on`` (default true), ``auto_off``.

Gen1 relays take no timer over MQTT: Unlock sends ``on``. If the relay has "auto off" set on the
device, declare ``auto_off: true`` and the device relocks itself; otherwise the door controller
sends Lock (``off``) when the pulse is over. HoldOpen is then only possible without auto off.
"""

from __future__ import annotations

from typing import Any

from devices.model import (
    ContactChanged,
    DeviceEvent,
    DeviceKind,
    DeviceRef,
    HoldOpen,
    Lock,
    MqttMessage,
    OccupancyChanged,
    RelayStateChanged,
    Unlock,
)
from firmware_bridges._features import (
    as_bool,
    as_number,
    availability,
    battery,
    decode_json_object,
    decode_text,
    illuminance,
    plain_number,
    text_message,
    word,
)
from firmware_bridges.base import Channel, Definition, Feature, TableBridge, fire_panel_of
from firmware_bridges.options import Option, bool_option, int_option

__all__ = ["SHELLY_GEN1"]

_RELAY, _ONLINE, _DW_STATE, _BATTERY, _LUX, _INPUT, _STATUS = (
    "relay",
    "online",
    "sensor_state",
    "battery",
    "lux",
    "input",
    "status",
)


_INPUT_KINDS = (DeviceKind.CONTACT_SENSOR, DeviceKind.FIRE_PANEL)
RELAY = int_option("relay", 0, 0, 3, (DeviceKind.DOOR,))
_INPUT_NUMBER = int_option("input", 0, 0, 3, _INPUT_KINDS)
INPUT: Option[int | None] = Option(
    "input",
    None,
    _INPUT_NUMBER.expected,
    _INPUT_NUMBER.convert,
    _INPUT_NUMBER.kinds,
    "input/<n> instead of a D/W sensor",
)
OPEN_WHEN_ON = bool_option("open_when_on", True, _INPUT_KINDS)
AUTO_OFF = bool_option("auto_off", False, (DeviceKind.DOOR,), "the relay's auto off is set on the device")
OPTIONS = (RELAY, INPUT, OPEN_WHEN_ON, AUTO_OFF)


def _relay(device: DeviceRef) -> int:
    return RELAY.get(device)


def _input(device: DeviceRef) -> int | None:
    return INPUT.get(device)


def _uses_input(device: DeviceRef) -> bool:
    return _input(device) is not None


def _uses_dw_sensor(device: DeviceRef) -> bool:
    return _input(device) is None


def _auto_off(device: DeviceRef) -> bool:
    return AUTO_OFF.get(device)


# --- from the wire ----------------------------------------------------------------------------


def _read_relay(device: DeviceRef, text: str) -> list[DeviceEvent]:
    # overpower: the relay switched itself off to protect the load.
    on = word(text, {"on": True, "off": False, "overpower": False}, "relay")
    return [RelayStateChanged(device.id, on)]


def _read_online(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return [availability(device, text)]


def _read_dw_state(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return [ContactChanged(device.id, open=word(text, {"open": True, "close": False}, "sensor/state"))]


def _read_input(device: DeviceRef, text: str) -> list[DeviceEvent]:
    on = word(text, {"1": True, "0": False}, "input")
    return [ContactChanged(device.id, open=on == OPEN_WHEN_ON.get(device))]


def _read_battery_text(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return [battery(device, plain_number(text, "sensor/battery"))]


def _read_lux_text(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return [illuminance(device, plain_number(text, "sensor/lux"))]


def _read_motion(device: DeviceRef, status: dict[str, Any]) -> list[DeviceEvent]:
    motion = as_bool(status, "motion")
    return [] if motion is None else [OccupancyChanged(device.id, motion)]


def _read_motion_lux(device: DeviceRef, status: dict[str, Any]) -> list[DeviceEvent]:
    lux = as_number(status, "lux")
    return [] if lux is None else [illuminance(device, lux)]


def _read_motion_battery(device: DeviceRef, status: dict[str, Any]) -> list[DeviceEvent]:
    percent = as_number(status, "bat")
    return [] if percent is None else [battery(device, percent)]


# --- to the wire ------------------------------------------------------------------------------


def _command(device: DeviceRef, value: str) -> list[MqttMessage]:
    return [text_message(f"shellies/{device.address}/relay/{_relay(device)}/command", value)]


def _on(device: DeviceRef, command: Unlock | HoldOpen) -> list[MqttMessage]:
    return _command(device, "on")


def _off(device: DeviceRef, command: Lock) -> list[MqttMessage]:
    return _command(device, "off")


# --- the table --------------------------------------------------------------------------------

_online = Feature("availability", reads={_ONLINE: _read_online})

_CONTACT = Definition(
    DeviceKind.CONTACT_SENSOR,
    "Shelly Door/Window, or a reed switch on an input",
    (
        Feature("dw_contact", reads={_DW_STATE: _read_dw_state}, applies=_uses_dw_sensor),
        Feature("dw_battery", reads={_BATTERY: _read_battery_text}, applies=_uses_dw_sensor),
        Feature("dw_lux", reads={_LUX: _read_lux_text}, applies=_uses_dw_sensor),
        Feature("input_contact", reads={_INPUT: _read_input}, applies=_uses_input),
        _online,
    ),
)

DEFINITIONS = (
    Definition(
        DeviceKind.DOOR,
        "relay driving a door strike (Shelly 1, 2.5...)",
        (
            Feature("relay", reads={_RELAY: _read_relay}, encoders={Unlock: _on, HoldOpen: _on, Lock: _off}),
            _online,
        ),
    ),
    _CONTACT,
    fire_panel_of(_CONTACT),
    Definition(
        DeviceKind.OCCUPANCY_SENSOR,
        "Shelly Motion",
        (
            Feature("motion", reads={_STATUS: _read_motion}),
            Feature("illuminance", reads={_STATUS: _read_motion_lux}),
            Feature("battery", reads={_STATUS: _read_motion_battery}),
            _online,
        ),
    ),
)


def _subscriptions(device: DeviceRef) -> list[str]:
    base = f"shellies/{device.address}"
    topics = {
        DeviceKind.DOOR: [f"relay/{_relay(device)}"],
        DeviceKind.CONTACT_SENSOR: (
            [f"input/{_input(device)}"] if _uses_input(device) else ["sensor/state", "sensor/battery", "sensor/lux"]
        ),
        DeviceKind.FIRE_PANEL: (
            [f"input/{_input(device)}"] if _uses_input(device) else ["sensor/state", "sensor/battery", "sensor/lux"]
        ),
        DeviceKind.OCCUPANCY_SENSOR: ["status"],
    }.get(device.kind, [])
    return [f"{base}/{topic}" for topic in [*topics, "online"]]


def publish_topics(device: DeviceRef) -> list[str]:
    """The topic filters this device publishes on (for the broker's ACL)."""
    return [f"shellies/{device.address}/#"]


def _router(device: DeviceRef, topic: str) -> Channel | None:
    base = f"shellies/{device.address}/"
    if not topic.startswith(base):
        return None
    rest = topic[len(base) :]
    text_channels = {
        f"relay/{_relay(device)}": _RELAY,
        "online": _ONLINE,
        "sensor/state": _DW_STATE,
        "sensor/battery": _BATTERY,
        "sensor/lux": _LUX,
    }
    if rest in text_channels:
        return Channel(text_channels[rest], decode_text)
    if _uses_input(device) and rest == f"input/{_input(device)}":
        return Channel(_INPUT, decode_text)
    if rest == "status":
        return Channel(_STATUS, decode_json_object)
    return None


def _owner(topic: str) -> str | None:
    parts = topic.split("/")
    # shellies/announce and shellies/command are fleet-wide; .../command topics are ours.
    if len(parts) < 3 or parts[0] != "shellies" or parts[-1] == "command" or "+" in topic or "#" in topic:
        return None
    return parts[1] or None


SHELLY_GEN1 = TableBridge(
    name="shelly_gen1",
    definitions=DEFINITIONS,
    topic_owner=_owner,
    router=_router,
    subscriber=_subscriptions,
    self_relocking=_auto_off,
    publisher=publish_topics,
    options=OPTIONS,
)

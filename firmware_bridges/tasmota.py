"""Tasmota: ESP relays (door strikes), RFID readers and switch inputs.

Address = the Tasmota ``Topic``; FullTopic is the default ``%prefix%/%topic%/``:
  ``tele/<t>/SENSOR``  ``{"PN532":{"UID":"94D8FC5F","Data":"","Auth":"NOk"}}``, ``{"RC522":{"UID":...}}``,
                       ``{"RDM6300":{"UID":"008EC793"}}`` (hex), ``{"Wiegand":{"UID":7748328,"Size":26}}``
                       (decimal; ``"763AE8h"`` with SetOption123 1; Size 4/8: a keypad PIN),
                       ``{"Switch1":"ON"}``
  ``tele|stat/<t>/STATE``  ``{"POWER1":"ON",...}`` (``POWER`` on single-relay devices)
  ``tele/<t>/LWT``     ``Online`` / ``Offline``
  ``stat|tele/<t>/RESULT``  command replies ``{"POWER1":"ON"}``, ``{"Command":"Unknown"}``,
                       ``{"Switch1":{"Action":"ON"}}`` (SetOption114), ``{"SSerialReceived":"..."}``
                       (an RDM6300 on the serial bridge: the raw frame, version + tag + checksum)
  ``stat/<t>/POWER1``  ``ON`` / ``OFF``
  ``stat/<t>/PIR1``    ``ON`` / ``OFF`` (the rule of Tasmota's PIR guide)
  ``cmnd/<switch_topic>/POWER<n>``  a switch with ``SwitchTopic`` set publishes there
  ``cmnd/<t>/...``     commands (ours; never consumed)
Device options: see ``OPTIONS``.

A door pulse is timed by the device: ``PulseTime<n>`` then ``POWER<n> ON``, so a lost OFF can
never leave a door open (``relocks_itself`` is True). MQTT keeps the order of one session's QoS 1
messages, so the pulse time is always set before the relay closes.
"""

from __future__ import annotations

import re
from typing import Any

from devices.errors import PayloadError
from devices.model import (
    CommandAck,
    ContactChanged,
    DeviceEvent,
    DeviceKind,
    DeviceRef,
    Feedback,
    HoldOpen,
    Lock,
    MqttMessage,
    OccupancyChanged,
    RelayStateChanged,
    SetDownMode,
    Unlock,
)
from firmware_bridges._features import (
    availability,
    badge,
    compact_json,
    decode_json_object,
    decode_text,
    pin,
    text_message,
    word,
)
from firmware_bridges.base import Channel, Definition, Feature, TableBridge, fire_panel_of
from firmware_bridges.options import bool_option, int_option, segment_option, shorten

__all__ = ["TASMOTA", "pulse_time_value"]

_SENSOR, _STATE, _RESULT, _POWER, _LWT = "sensor", "state", "result", "power", "lwt"
_INPUT = "input"  # stat/<t>/PIR<n>, cmnd/<switch_topic>/POWER<n>: ON/OFF text
_ON_OFF = {"on": True, "off": False}
# The RFID drivers Tasmota ships that print UIDs in hex, keyed as in tele/<t>/SENSOR.
_HEX_DRIVERS = ("PN532", "RC522", "MFRC522", "RDM6300")
_INPUT_KINDS = (DeviceKind.CONTACT_SENSOR, DeviceKind.OCCUPANCY_SENSOR, DeviceKind.FIRE_PANEL)

RELAY = int_option("relay", 1, 1, 32, (DeviceKind.DOOR,))
SWITCH = int_option("switch", 1, 1, 28, _INPUT_KINDS, "the Switch<n> input")
SWITCH_TOPIC = segment_option("switch_topic", _INPUT_KINDS, "the input's SwitchTopic, if set")
OPEN_WHEN_ON = bool_option("open_when_on", True, _INPUT_KINDS)
BUZZER = bool_option("buzzer", False, (DeviceKind.DOOR, DeviceKind.BADGE_READER))
OPTIONS = (RELAY, SWITCH, SWITCH_TOPIC, OPEN_WHEN_ON, BUZZER)


def pulse_time_value(seconds: float) -> int:
    """Tasmota's PulseTime encoding: 1..111 are tenths of a second, 112..64900 are seconds + 100."""
    tenths = round(seconds * 10)
    if tenths <= 111:
        return max(1, tenths)
    whole = min(64900, max(112, round(seconds) + 100))
    # Between 11.1 s and 12 s the last tenths value (111) can be the closer of the two.
    return 111 if abs(seconds - 11.1) < abs(seconds - (whole - 100)) else whole


def _relay(device: DeviceRef) -> int:
    return RELAY.get(device)


def _switch(device: DeviceRef) -> int:
    return SWITCH.get(device)


def _power_keys(device: DeviceRef) -> tuple[str, ...]:
    # Single-relay devices say POWER, others POWER1..POWERn; POWER1 is accepted by both.
    relay = _relay(device)
    return (f"POWER{relay}", "POWER") if relay == 1 else (f"POWER{relay}",)


# --- from the wire ----------------------------------------------------------------------------


def _read_power_in(device: DeviceRef, obj: dict[str, Any]) -> list[DeviceEvent]:
    for key in _power_keys(device):
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise _not_on_off(key, value)
        return [RelayStateChanged(device.id, word(value, _ON_OFF, key))]
    return []


def _not_on_off(key: str, value: object) -> PayloadError:
    return PayloadError("payload.bad_field", field=key, expected="ON/OFF", got=shorten(value))


def _read_power_text(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return [RelayStateChanged(device.id, word(text, _ON_OFF, "POWER"))]


def _read_acks(device: DeviceRef, result: dict[str, Any]) -> list[DeviceEvent]:
    # Several devices may share one Tasmota (relay + reader): each acknowledges its own commands.
    mine = {"Buzzer"}
    if device.kind == DeviceKind.DOOR:
        mine |= {*_power_keys(device), f"PulseTime{_relay(device)}"}
    acks: list[DeviceEvent] = []
    for key, value in result.items():
        detail = compact_json(value)
        if key in mine:
            acks.append(CommandAck(device.id, key, True, detail))
        elif key == "Command":  # {"Command":"Unknown"} / {"Command":"Error"}
            acks.append(CommandAck(device.id, key, False, detail))
    return acks


def _reading(sensor: dict[str, Any], driver: str) -> dict[str, Any] | None:
    reading = sensor.get(driver)
    if reading is not None and not isinstance(reading, dict):
        raise _bad_reading(driver, reading)
    return reading


def _read_rfid(device: DeviceRef, sensor: dict[str, Any]) -> list[DeviceEvent]:
    events: list[DeviceEvent] = []
    for driver in _HEX_DRIVERS:
        reading = _reading(sensor, driver)
        if reading is not None:
            # PN532 with its data function: "Auth":"NOk" is a tag whose password check failed.
            authenticated = str(reading.get("Auth", "")).lower() != "nok"
            events.append(badge(device, reading.get("UID"), "hex", authenticated))
    return events


def _read_wiegand(device: DeviceRef, sensor: dict[str, Any]) -> list[DeviceEvent]:
    reading = _reading(sensor, "Wiegand")
    if reading is None:
        return []
    uid, size = reading.get("UID"), reading.get("Size")
    if uid == 0:
        return []  # the driver reports a frame with a parity error as UID 0
    if size in (4, 8, "4", "8"):  # a keypad: the digits typed before # or *
        return [pin(device, uid)]
    if isinstance(uid, str) and uid.lower().endswith("h"):
        return [badge(device, uid, "hex")]  # SetOption123 1
    return [badge(device, uid, "decimal")]


# The RDM6300 frame as the serial bridge relays it: STX, 2 hex digits of version, 8 of tag,
# 2 of checksum, ETX (control characters may be kept or dropped depending on SerialDelimiter).
_RDM6300_FRAME = re.compile(r"\x02?([0-9A-Fa-f]{2})([0-9A-Fa-f]{8})([0-9A-Fa-f]{2})\x03?")


def _read_serial_rdm6300(device: DeviceRef, result: dict[str, Any]) -> list[DeviceEvent]:
    received = result.get("SSerialReceived")
    if received is None:
        return []
    frame = _RDM6300_FRAME.fullmatch(received.strip()) if isinstance(received, str) else None
    if frame is None:
        raise PayloadError(
            "payload.bad_field", field="SSerialReceived", expected="an RDM6300 frame", got=shorten(received)
        )
    version, tag, checksum = frame.groups()
    data = bytes.fromhex(version + tag)
    xor = 0
    for byte in data:
        xor ^= byte
    if xor != int(checksum, 16):
        raise PayloadError("payload.bad_value", what="RDM6300 checksum", got=checksum, expected=f"{xor:02X}")
    return [badge(device, tag, "hex")]


def _bad_reading(driver: str, reading: object) -> PayloadError:
    return PayloadError("payload.bad_field", field=driver, expected='{"UID": ...}', got=shorten(reading))


def _switch_state(device: DeviceRef, obj: dict[str, Any]) -> bool | None:
    """Switch<n> in SENSOR (``"ON"``) or in RESULT with SetOption114 (``{"Action":"ON"}``)."""
    key = f"Switch{_switch(device)}"
    value = obj.get(key)
    if isinstance(value, dict):
        value = value.get("Action")
    if value is None:
        return None
    if not isinstance(value, str):
        raise _not_on_off(key, value)
    return word(value, _ON_OFF, key)


def _contact(device: DeviceRef, on: bool | None) -> list[DeviceEvent]:
    return [] if on is None else [ContactChanged(device.id, open=on == OPEN_WHEN_ON.get(device))]


def _read_contact(device: DeviceRef, obj: dict[str, Any]) -> list[DeviceEvent]:
    return _contact(device, _switch_state(device, obj))


def _read_contact_text(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return _contact(device, word(text, _ON_OFF, "input"))


def _read_occupancy(device: DeviceRef, obj: dict[str, Any]) -> list[DeviceEvent]:
    on = _switch_state(device, obj)
    return [] if on is None else [OccupancyChanged(device.id, on)]


def _read_occupancy_text(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return [OccupancyChanged(device.id, word(text, _ON_OFF, "input"))]


def _read_lwt(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return [availability(device, text)]


# --- to the wire ------------------------------------------------------------------------------


def _cmnd(device: DeviceRef, command: str, value: str) -> MqttMessage:
    return text_message(f"cmnd/{device.address}/{command}", value)


def _unlock(device: DeviceRef, command: Unlock) -> list[MqttMessage]:
    relay = _relay(device)
    return [
        _cmnd(device, f"PulseTime{relay}", str(pulse_time_value(command.pulse_seconds))),
        _cmnd(device, f"POWER{relay}", "ON"),
    ]


def _hold_open(device: DeviceRef, command: HoldOpen) -> list[MqttMessage]:
    relay = _relay(device)
    # A timed hold relocks by itself unless renewed; PulseTime 0 holds for good (and must be
    # sent, or a pulse time left by the last Unlock would close the door again).
    pulse = "0" if command.for_seconds is None else str(pulse_time_value(command.for_seconds))
    return [_cmnd(device, f"PulseTime{relay}", pulse), _cmnd(device, f"POWER{relay}", "ON")]


def _down_mode(device: DeviceRef, command: SetDownMode) -> list[MqttMessage]:
    # After a power cut the relay starts as this says (PowerOnState applies to every relay).
    return [_cmnd(device, "PowerOnState", "1" if command.fail_safe else "0")]


def _lock(device: DeviceRef, command: Lock) -> list[MqttMessage]:
    return [_cmnd(device, f"POWER{_relay(device)}", "OFF")]


def _beep(device: DeviceRef, command: Feedback) -> list[MqttMessage]:
    # One beep: welcome; three beeps: refused.
    return [_cmnd(device, "Buzzer", "1" if command.granted else "3")]


def _has_buzzer(device: DeviceRef) -> bool:
    return BUZZER.get(device)


# --- the table --------------------------------------------------------------------------------

_lwt = Feature("availability", reads={_LWT: _read_lwt})
_buzzer = Feature("buzzer", encoders={Feedback: _beep}, applies=_has_buzzer)
_acks = Feature("command_acks", reads={_RESULT: _read_acks})

_CONTACT = Definition(
    DeviceKind.CONTACT_SENSOR,
    "reed switch on a Switch<n> input",
    (
        Feature(
            "contact",
            reads={_SENSOR: _read_contact, _RESULT: _read_contact, _INPUT: _read_contact_text},
        ),
        _lwt,
    ),
)

DEFINITIONS = (
    Definition(
        DeviceKind.DOOR,
        "relay driving a door strike, pulse timed by PulseTime",
        (
            Feature(
                "relay",
                reads={_STATE: _read_power_in, _RESULT: _read_power_in, _POWER: _read_power_text},
                encoders={Unlock: _unlock, HoldOpen: _hold_open, Lock: _lock, SetDownMode: _down_mode},
            ),
            _acks,
            _buzzer,
            _lwt,
        ),
    ),
    Definition(
        DeviceKind.BADGE_READER,
        "PN532 / RC522 / RDM6300 / Wiegand reader, or an RDM6300 on the serial bridge",
        (
            Feature("rfid", reads={_SENSOR: _read_rfid}),
            Feature("wiegand", reads={_SENSOR: _read_wiegand}),
            Feature("serial_rdm6300", reads={_RESULT: _read_serial_rdm6300}),
            _acks,
            _buzzer,
            _lwt,
        ),
    ),
    _CONTACT,
    fire_panel_of(_CONTACT),
    Definition(
        DeviceKind.OCCUPANCY_SENSOR,
        "PIR on a Switch<n> input",
        (
            Feature(
                "occupancy",
                reads={_SENSOR: _read_occupancy, _RESULT: _read_occupancy, _INPUT: _read_occupancy_text},
            ),
            _lwt,
        ),
    ),
)


def _switch_topic_filters(device: DeviceRef) -> list[str]:
    switch_topic = SWITCH_TOPIC.get(device) if device.kind in _INPUT_KINDS else None
    return [] if switch_topic is None else [f"cmnd/{switch_topic}/+"]


def _subscriptions(device: DeviceRef) -> list[str]:
    return [f"tele/{device.address}/+", f"stat/{device.address}/+", *_switch_topic_filters(device)]


def publish_topics(device: DeviceRef) -> list[str]:
    """The topic filters this device publishes on (for the broker's ACL)."""
    return [f"tele/{device.address}/#", f"stat/{device.address}/#", *_switch_topic_filters(device)]


_TELE_CHANNELS = {"SENSOR": _SENSOR, "STATE": _STATE, "LWT": _LWT, "RESULT": _RESULT}
_STAT_CHANNELS = {"RESULT": _RESULT, "STATE": _STATE}


def _input_suffixes(device: DeviceRef) -> tuple[str, ...]:
    if device.kind not in _INPUT_KINDS:
        return ()
    number = _switch(device)
    return (f"PIR{number}",)


def _router(device: DeviceRef, topic: str) -> Channel | None:
    prefix, _, rest = topic.partition("/")
    address, _, suffix = rest.rpartition("/")
    if prefix == "cmnd" and device.kind in _INPUT_KINDS and address == SWITCH_TOPIC.get(device):
        # SwitchTopic: the input commands POWER<n> of another topic; that is its state.
        number = _switch(device)
        wanted = (f"POWER{number}", "POWER") if number == 1 else (f"POWER{number}",)
        return Channel(_INPUT, decode_text) if suffix in wanted else None
    if address != device.address:
        return None
    if prefix == "tele" and suffix in _TELE_CHANNELS:
        name = _TELE_CHANNELS[suffix]
        return Channel(name, decode_text if name == _LWT else decode_json_object)
    if prefix == "stat" and suffix in _STAT_CHANNELS:
        return Channel(_STAT_CHANNELS[suffix], decode_json_object)
    if prefix == "stat" and suffix in _input_suffixes(device):
        return Channel(_INPUT, decode_text)
    if prefix == "stat" and device.kind == DeviceKind.DOOR and suffix in _power_keys(device):
        return Channel(_POWER, decode_text)
    return None


def _owner(topic: str) -> str | None:
    prefix, _, rest = topic.partition("/")
    address, _, suffix = rest.rpartition("/")
    if prefix not in ("tele", "stat") or not address or not suffix:
        return None  # cmnd/ is ours, anything else is not Tasmota
    if "+" in topic or "#" in topic:
        return None
    return address


TASMOTA = TableBridge(
    name="tasmota",
    definitions=DEFINITIONS,
    topic_owner=_owner,
    router=_router,
    subscriber=_subscriptions,
    self_relocking=lambda device: True,
    publisher=publish_topics,
    options=OPTIONS,
)

"""Tasmota: ESP relays (door strikes), RFID readers and switch inputs.

Address = the Tasmota ``Topic``; FullTopic is the default ``%prefix%/%topic%/``:
  ``tele/<t>/SENSOR``  ``{"PN532":{"UID":"94D8FC5F","DATA":""}}``, ``{"RC522":{"UID":...}}``,
                       ``{"RDM6300":{"UID":"008EC793"}}``, ``{"Wiegand":{"UID":7748328,"Size":26}}``,
                       ``{"Switch1":"ON"}``
  ``tele/<t>/STATE``   ``{"POWER1":"ON",...}`` (``POWER`` on single-relay devices)
  ``tele/<t>/LWT``     ``Online`` / ``Offline``
  ``stat/<t>/RESULT``  command replies ``{"POWER1":"ON"}``, ``{"Command":"Unknown"}``
  ``stat/<t>/POWER1``  ``ON`` / ``OFF``
  ``cmnd/<t>/...``     commands (ours; never consumed)
Device options: ``relay`` (1..32, default 1), ``switch`` (input for contact/occupancy, default 1),
``open_when_on`` (contact: does switch ON mean open? default true), ``buzzer`` (default false).

A door pulse is timed by the device: ``PulseTime<n>`` then ``POWER<n> ON``, so a lost OFF can
never leave a door open (``relocks_itself`` is True). MQTT keeps the order of one session's QoS 1
messages, so the pulse time is always set before the relay closes.
"""

from __future__ import annotations

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
    Unlock,
)
from firmware_bridges._features import (
    availability,
    badge,
    compact_json,
    decode_json_object,
    decode_text,
    option_bool,
    option_int,
    shorten,
    text_message,
    word,
)
from firmware_bridges.base import Channel, Definition, Feature, TableBridge

__all__ = ["TASMOTA", "pulse_time_value"]

_SENSOR, _STATE, _RESULT, _POWER, _LWT = "sensor", "state", "result", "power", "lwt"
_ON_OFF = {"on": True, "off": False}
# The RFID drivers Tasmota ships, keyed as they appear in tele/<t>/SENSOR.
_RFID_DRIVERS = ("PN532", "RC522", "MFRC522", "RDM6300", "Wiegand")


def pulse_time_value(seconds: float) -> int:
    """Tasmota's PulseTime encoding: 1..111 are tenths of a second, 112..64900 are seconds + 100."""
    tenths = round(seconds * 10)
    if tenths <= 111:
        return max(1, tenths)
    whole = min(64900, max(112, round(seconds) + 100))
    # Between 11.1 s and 12 s the last tenths value (111) can be the closer of the two.
    return 111 if abs(seconds - 11.1) < abs(seconds - (whole - 100)) else whole


def _relay(device: DeviceRef) -> int:
    return option_int(device, "relay", 1, minimum=1, maximum=32)


def _switch(device: DeviceRef) -> int:
    return option_int(device, "switch", 1, minimum=1, maximum=28)


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


def _read_rfid(device: DeviceRef, sensor: dict[str, Any]) -> list[DeviceEvent]:
    events: list[DeviceEvent] = []
    for driver in _RFID_DRIVERS:
        reading = sensor.get(driver)
        if reading is None:
            continue
        if not isinstance(reading, dict):
            raise _bad_reading(driver, reading)
        events.append(badge(device, reading.get("UID")))
    return events


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


def _read_contact(device: DeviceRef, obj: dict[str, Any]) -> list[DeviceEvent]:
    on = _switch_state(device, obj)
    if on is None:
        return []
    return [ContactChanged(device.id, open=on == option_bool(device, "open_when_on", True))]


def _read_occupancy(device: DeviceRef, obj: dict[str, Any]) -> list[DeviceEvent]:
    on = _switch_state(device, obj)
    return [] if on is None else [OccupancyChanged(device.id, on)]


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
    # PulseTime 0 first, or a pulse time left by the last Unlock would close the door again.
    return [_cmnd(device, f"PulseTime{relay}", "0"), _cmnd(device, f"POWER{relay}", "ON")]


def _lock(device: DeviceRef, command: Lock) -> list[MqttMessage]:
    return [_cmnd(device, f"POWER{_relay(device)}", "OFF")]


def _beep(device: DeviceRef, command: Feedback) -> list[MqttMessage]:
    # One beep: welcome; three beeps: refused.
    return [_cmnd(device, "Buzzer", "1" if command.granted else "3")]


def _has_buzzer(device: DeviceRef) -> bool:
    return option_bool(device, "buzzer", False)


# --- the table --------------------------------------------------------------------------------

_lwt = Feature("availability", reads={_LWT: _read_lwt})
_buzzer = Feature("buzzer", encoders={Feedback: _beep}, applies=_has_buzzer)
_acks = Feature("command_acks", reads={_RESULT: _read_acks})

DEFINITIONS = (
    Definition(
        DeviceKind.DOOR,
        "relay driving a door strike, pulse timed by PulseTime",
        (
            Feature(
                "relay",
                reads={_STATE: _read_power_in, _RESULT: _read_power_in, _POWER: _read_power_text},
                encoders={Unlock: _unlock, HoldOpen: _hold_open, Lock: _lock},
            ),
            _acks,
            _buzzer,
            _lwt,
        ),
    ),
    Definition(
        DeviceKind.BADGE_READER,
        "PN532 / RC522 / RDM6300 / Wiegand reader",
        (Feature("rfid", reads={_SENSOR: _read_rfid}), _acks, _buzzer, _lwt),
    ),
    Definition(
        DeviceKind.CONTACT_SENSOR,
        "reed switch on a Switch<n> input",
        (Feature("contact", reads={_SENSOR: _read_contact, _RESULT: _read_contact}), _lwt),
    ),
    Definition(
        DeviceKind.OCCUPANCY_SENSOR,
        "PIR on a Switch<n> input",
        (Feature("occupancy", reads={_SENSOR: _read_occupancy, _RESULT: _read_occupancy}), _lwt),
    ),
)


def _check_options(device: DeviceRef) -> None:
    _relay(device)
    _switch(device)
    option_bool(device, "open_when_on", True)
    option_bool(device, "buzzer", False)


def _subscriptions(device: DeviceRef) -> list[str]:
    return [f"tele/{device.address}/+", f"stat/{device.address}/+"]


_TELE_CHANNELS = {"SENSOR": _SENSOR, "STATE": _STATE, "LWT": _LWT, "RESULT": _RESULT}


def _router(device: DeviceRef, topic: str) -> Channel | None:
    prefix, _, rest = topic.partition("/")
    address, _, suffix = rest.rpartition("/")
    if address != device.address:
        return None
    if prefix == "tele" and suffix in _TELE_CHANNELS:
        name = _TELE_CHANNELS[suffix]
        return Channel(name, decode_text if name == _LWT else decode_json_object)
    if prefix == "stat" and suffix == "RESULT":
        return Channel(_RESULT, decode_json_object)
    if prefix == "stat" and suffix in _power_keys(device):
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
    option_checks=_check_options,
)

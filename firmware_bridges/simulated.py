"""The device side of each firmware, for simulated devices (demo, tests, benchmarks).

Given a ``DeviceRef`` and a state, these pure functions give the ``MqttMessage`` values the real
firmware would publish (tag scans, occupancy, people count, contact, lock state, availability),
and ``react`` reads a command the device receives (what our bridges ``encode``) and says what
the device does: its new door state, when it relocks by itself, and what it answers. Topic
layouts come from the bridge modules themselves, so a simulated device and the bridge can
never disagree on where things go.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from devices.errors import PayloadError
from devices.model import DeviceKind, DeviceRef, MqttMessage
from firmware_bridges import esphome, shelly_gen1, shelly_gen2, tasmota, zigbee2mqtt
from firmware_bridges._features import decode_json_object, decode_text

__all__ = [
    "DoorReaction",
    "DoorState",
    "availability_messages",
    "badge_messages",
    "command_topics",
    "contact_messages",
    "door_messages",
    "occupancy_messages",
    "people_messages",
    "react",
]


@dataclass(frozen=True, slots=True)
class DoorState:
    unlocked: bool = False
    pulse_seconds: float = 0.0  # Tasmota's PulseTime, remembered between commands


@dataclass(frozen=True, slots=True)
class DoorReaction:
    state: DoorState
    relock_after: float | None = None  # the device locks again by itself after this many seconds
    replies: tuple[MqttMessage, ...] = ()


def _json(topic: str, body: Mapping[str, Any], retain: bool = False) -> MqttMessage:
    return MqttMessage(topic, json.dumps(body, separators=(",", ":")).encode(), qos=1, retain=retain)


def _text(topic: str, text: str, retain: bool = False) -> MqttMessage:
    return MqttMessage(topic, text.encode(), qos=1, retain=retain)


def _on_off(on: bool) -> str:
    return "ON" if on else "OFF"


def _relock_seconds(device: DeviceRef) -> float:
    value = device.options.get("relock_seconds", 5)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 else 5.0


# --------------------------------------------------------------------------- Zigbee2MQTT


def _z2m(device: DeviceRef) -> str:
    return f"{zigbee2mqtt._base_topic(device)}/{device.address}"


def _z2m_door(device: DeviceRef, state: DoorState) -> list[MqttMessage]:
    if zigbee2mqtt._is_relay(device):
        return [_json(_z2m(device), {"state": _on_off(state.unlocked)})]
    lock = "UNLOCK" if state.unlocked else "LOCK"
    return [_json(_z2m(device), {"state": lock, "lock_state": "unlocked" if state.unlocked else "locked"})]


def _z2m_react(device: DeviceRef, state: DoorState, topic: str, payload: bytes) -> DoorReaction | None:
    if topic != f"{_z2m(device)}/set":
        return None
    body = decode_json_object(payload)
    word = str(body.get("state", "")).upper()
    if word not in ("LOCK", "UNLOCK", "ON", "OFF"):
        raise PayloadError("payload.bad_value", what="state", got=word, expected="LOCK | UNLOCK | ON | OFF")
    new = replace(state, unlocked=word in ("UNLOCK", "ON"))
    on_time = body.get("on_time")
    relock = float(on_time) if new.unlocked and isinstance(on_time, int | float) and on_time > 0 else None
    return DoorReaction(new, relock, tuple(_z2m_door(device, new)))


# --------------------------------------------------------------------------- Tasmota


def _tasmota_sensor(device: DeviceRef, body: Mapping[str, Any]) -> MqttMessage:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return _json(f"tele/{device.address}/SENSOR", {"Time": stamp, **body})


def _tasmota_switch(device: DeviceRef, on: bool) -> list[MqttMessage]:
    return [_tasmota_sensor(device, {f"Switch{tasmota._switch(device)}": _on_off(on)})]


def _tasmota_door(device: DeviceRef, state: DoorState) -> list[MqttMessage]:
    key = f"POWER{tasmota._relay(device)}"
    return [
        _json(f"stat/{device.address}/RESULT", {key: _on_off(state.unlocked)}),
        _text(f"stat/{device.address}/{key}", _on_off(state.unlocked)),
    ]


def _pulse_seconds(value: int) -> float:
    """The inverse of ``tasmota.pulse_time_value``."""
    if value <= 0:
        return 0.0
    return value / 10 if value <= 111 else float(value - 100)


def _tasmota_react(device: DeviceRef, state: DoorState, topic: str, payload: bytes) -> DoorReaction | None:
    prefix = f"cmnd/{device.address}/"
    if not topic.startswith(prefix):
        return None
    command, value = topic[len(prefix) :], decode_text(payload)
    relay = tasmota._relay(device) if device.kind == DeviceKind.DOOR else None
    result = f"stat/{device.address}/RESULT"
    if relay is not None and command == f"PulseTime{relay}":
        setting = int(value) if value.isdigit() else 0
        return DoorReaction(
            replace(state, pulse_seconds=_pulse_seconds(setting)),
            replies=(_json(result, {command: {"Set": setting, "Remaining": 0}}),),
        )
    if relay is not None and command in (f"POWER{relay}", "POWER" if relay == 1 else ""):
        new = replace(state, unlocked=value.upper() in ("ON", "1"))
        relock = state.pulse_seconds if new.unlocked and state.pulse_seconds > 0 else None
        return DoorReaction(new, relock, tuple(_tasmota_door(device, new)))
    if command == "Buzzer":
        return DoorReaction(state, replies=(_json(result, {"Buzzer": value}),))
    return DoorReaction(state, replies=(_json(result, {"Command": "Unknown"}),))


# --------------------------------------------------------------------------- Shelly Gen1 and Gen2


def _gen1(device: DeviceRef) -> str:
    return f"shellies/{device.address}"


def _gen1_contact(device: DeviceRef, is_open: bool) -> list[MqttMessage]:
    index = shelly_gen1._input(device)
    if index is None:
        return [_text(f"{_gen1(device)}/sensor/state", "open" if is_open else "close")]
    on = is_open == tasmota.OPEN_WHEN_ON.get(device)
    return [_text(f"{_gen1(device)}/input/{index}", "1" if on else "0")]


def _gen1_react(device: DeviceRef, state: DoorState, topic: str, payload: bytes) -> DoorReaction | None:
    relay = shelly_gen1._relay(device)
    if topic != f"{_gen1(device)}/relay/{relay}/command":
        return None
    word = decode_text(payload).lower()
    new = replace(state, unlocked=word in ("on", "toggle") and not (word == "toggle" and state.unlocked))
    relock = _relock_seconds(device) if new.unlocked and shelly_gen1._auto_off(device) else None
    return DoorReaction(new, relock, (_text(f"{_gen1(device)}/relay/{relay}", "on" if new.unlocked else "off"),))


def _gen2_switch(device: DeviceRef, on: bool) -> MqttMessage:
    relay = shelly_gen2._relay(device)
    body = {"id": relay, "source": "MQTT", "output": on, "apower": 0.0, "voltage": 230.1}
    return _json(f"{device.address}/status/switch:{relay}", body)


def _gen2_contact(device: DeviceRef, is_open: bool) -> list[MqttMessage]:
    index = shelly_gen2._input(device)
    state = is_open == tasmota.OPEN_WHEN_ON.get(device)
    return [_json(f"{device.address}/status/input:{index}", {"id": index, "state": state})]


def _gen2_react(device: DeviceRef, state: DoorState, topic: str, payload: bytes) -> DoorReaction | None:
    if topic != f"{device.address}/rpc":
        return None
    request = decode_json_object(payload)
    found = request.get("params")
    params: dict[str, Any] = found if isinstance(found, dict) else {}
    source = request.get("src")
    reply_to = f"{source}/rpc" if isinstance(source, str) and source else None
    base = {"id": request.get("id"), "src": device.address, "dst": source}
    if request.get("method") != "Switch.Set" or params.get("id") != shelly_gen2._relay(device):
        error = {"code": -103, "message": "Invalid argument"}
        return DoorReaction(state, replies=(_json(reply_to, {**base, "error": error}),) if reply_to else ())
    new = replace(state, unlocked=bool(params.get("on")))
    after = params.get("toggle_after")
    relock = float(after) if new.unlocked and isinstance(after, int | float) and after > 0 else None
    replies = [_gen2_switch(device, new.unlocked)]
    if reply_to:
        replies.insert(0, _json(reply_to, {**base, "result": {"was_on": state.unlocked}}))
    return DoorReaction(new, relock, tuple(replies))


# --------------------------------------------------------------------------- ESPHome


def _esphome_state(device: DeviceRef, component: str, option: str, text: str) -> list[MqttMessage]:
    object_id = esphome._object_id(device, option)
    return [_text(f"{device.address}/{component}/{object_id}/state", text)] if object_id else []


def _dashed(uid: str) -> str:
    """ESPHome's RC522/PN532 spelling of a UID: ``74-10-37-94``."""
    if len(uid) % 2 or not uid.isalnum():
        return uid
    return "-".join(uid[i : i + 2] for i in range(0, len(uid), 2))


def _esphome_door(device: DeviceRef, state: DoorState) -> list[MqttMessage]:
    if esphome._has_lock(device):
        return _esphome_state(device, "lock", "lock", "UNLOCKED" if state.unlocked else "LOCKED")
    return _esphome_state(device, "switch", "switch", _on_off(state.unlocked))


def _esphome_actuator(device: DeviceRef) -> tuple[str, str | None]:
    component = "lock" if esphome._has_lock(device) else "switch"
    return component, esphome._object_id(device, component)


def _esphome_command_topics(device: DeviceRef) -> list[str]:
    component, object_id = _esphome_actuator(device)
    return [f"{device.address}/{component}/{object_id}/command"] if object_id else []


def _esphome_react(device: DeviceRef, state: DoorState, topic: str, payload: bytes) -> DoorReaction | None:
    component, object_id = _esphome_actuator(device)
    if object_id is None or topic != f"{device.address}/{component}/{object_id}/command":
        return None
    word = decode_text(payload).upper()
    new = replace(state, unlocked=word in ("UNLOCK", "OPEN", "ON"))
    self_relock = word == "OPEN" or esphome.AUTO_RELOCK.get(device)
    relock = _relock_seconds(device) if new.unlocked and self_relock else None
    return DoorReaction(new, relock, tuple(_esphome_door(device, new)))


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class _Firmware:
    availability: Callable[[DeviceRef, bool], list[MqttMessage]]
    command_topics: Callable[[DeviceRef], list[str]]
    react: Callable[[DeviceRef, DoorState, str, bytes], DoorReaction | None]
    door: Callable[[DeviceRef, DoorState], list[MqttMessage]]
    badge: Callable[[DeviceRef, str], list[MqttMessage]] = lambda device, uid: []
    occupancy: Callable[[DeviceRef, bool], list[MqttMessage]] = lambda device, on: []
    contact: Callable[[DeviceRef, bool], list[MqttMessage]] = lambda device, is_open: []
    people: Callable[[DeviceRef, int], list[MqttMessage]] = lambda device, count: []


_FIRMWARES: Mapping[str, _Firmware] = {
    "zigbee2mqtt": _Firmware(
        availability=lambda d, on: [_json(f"{_z2m(d)}/availability", {"state": "online" if on else "offline"}, True)],
        command_topics=lambda d: [f"{_z2m(d)}/set"],
        react=_z2m_react,
        door=_z2m_door,
        badge=lambda d, uid: [_json(_z2m(d), {"action": "disarm", "action_code": uid, "battery": 90})],
        occupancy=lambda d, on: [_json(_z2m(d), {"occupancy": on, "battery": 95, "illuminance": 120})],
        contact=lambda d, is_open: [_json(_z2m(d), {"contact": not is_open, "battery": 97})],
    ),
    "tasmota": _Firmware(
        availability=lambda d, on: [_text(f"tele/{d.address}/LWT", "Online" if on else "Offline", True)],
        command_topics=lambda d: [f"cmnd/{d.address}/+"],
        react=_tasmota_react,
        door=_tasmota_door,
        badge=lambda d, uid: [_tasmota_sensor(d, {str(d.options.get("reader", "PN532")): {"UID": uid, "DATA": ""}})],
        occupancy=_tasmota_switch,
        contact=lambda d, is_open: _tasmota_switch(d, is_open == tasmota.OPEN_WHEN_ON.get(d)),
    ),
    "shelly_gen1": _Firmware(
        availability=lambda d, on: [_text(f"{_gen1(d)}/online", "true" if on else "false", True)],
        command_topics=lambda d: [f"{_gen1(d)}/relay/{shelly_gen1._relay(d)}/command"],
        react=_gen1_react,
        door=lambda d, s: [_text(f"{_gen1(d)}/relay/{shelly_gen1._relay(d)}", "on" if s.unlocked else "off")],
        occupancy=lambda d, on: [_json(f"{_gen1(d)}/status", {"motion": on, "active": True, "lux": 70, "bat": 99})],
        contact=_gen1_contact,
    ),
    "shelly_gen2": _Firmware(
        availability=lambda d, on: [_text(f"{d.address}/online", "true" if on else "false", True)],
        command_topics=lambda d: [f"{d.address}/rpc"],
        react=_gen2_react,
        door=lambda d, s: [_gen2_switch(d, s.unlocked)],
        contact=_gen2_contact,
    ),
    "esphome": _Firmware(
        availability=lambda d, on: [_text(f"{d.address}/status", "online" if on else "offline", True)],
        command_topics=_esphome_command_topics,
        react=_esphome_react,
        door=_esphome_door,
        badge=lambda d, uid: _esphome_state(d, esphome._tag_component(d), "tag_sensor", _dashed(uid)),
        occupancy=lambda d, on: _esphome_state(d, "binary_sensor", "binary_sensor", _on_off(on)),
        contact=lambda d, is_open: _esphome_state(d, "binary_sensor", "binary_sensor", _on_off(is_open)),
        people=lambda d, count: _esphome_state(d, "sensor", "people_sensor", str(count)),
    ),
}


def _firmware(device: DeviceRef) -> _Firmware:
    try:
        return _FIRMWARES[device.bridge]
    except KeyError:
        raise KeyError(f"no simulated firmware for bridge {device.bridge!r}") from None


def availability_messages(device: DeviceRef, online: bool) -> list[MqttMessage]:
    """Birth message / last will (retained, as the firmwares publish them)."""
    return _firmware(device).availability(device, online)


def badge_messages(device: DeviceRef, uid: str) -> list[MqttMessage]:
    """A tag read by a reader (``uid`` normalized hex); [] if this firmware's readers cannot."""
    return _firmware(device).badge(device, uid) if device.kind == DeviceKind.BADGE_READER else []


def occupancy_messages(device: DeviceRef, occupied: bool) -> list[MqttMessage]:
    return _firmware(device).occupancy(device, occupied) if device.kind == DeviceKind.OCCUPANCY_SENSOR else []


def people_messages(device: DeviceRef, count: int) -> list[MqttMessage]:
    return _firmware(device).people(device, count) if device.kind == DeviceKind.PEOPLE_COUNTER else []


def contact_messages(device: DeviceRef, is_open: bool) -> list[MqttMessage]:
    return _firmware(device).contact(device, is_open) if device.kind == DeviceKind.CONTACT_SENSOR else []


def door_messages(device: DeviceRef, state: DoorState) -> list[MqttMessage]:
    """What a door reports about its lock or relay."""
    return _firmware(device).door(device, state) if device.kind == DeviceKind.DOOR else []


def command_topics(device: DeviceRef) -> list[str]:
    """Topic filters the device listens to for commands."""
    if device.kind not in (DeviceKind.DOOR, DeviceKind.BADGE_READER):
        return []
    if device.kind == DeviceKind.BADGE_READER and device.bridge != "tasmota":
        return []  # only Tasmota readers take commands (the buzzer)
    return _firmware(device).command_topics(device)


def react(device: DeviceRef, state: DoorState, topic: str, payload: bytes) -> DoorReaction | None:
    """What the device does with a command message; None when the topic is not its own.
    Raises PayloadError for a command the firmware cannot read (a real device ignores it)."""
    return _firmware(device).react(device, state, topic, payload)

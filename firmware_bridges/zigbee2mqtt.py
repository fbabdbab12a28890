"""Zigbee2MQTT: Zigbee locks, relays and sensors behind a Zigbee2MQTT gateway.

Address = the device's friendly name (it may contain ``/``). Topics, with base ``zigbee2mqtt``:
  ``zigbee2mqtt/<name>``               state, a JSON object (occupancy, contact, lock_state...)
  ``zigbee2mqtt/<name>/availability``  ``{"state":"online"}`` (2.x) or plain ``online`` (1.x)
  ``zigbee2mqtt/<name>/set``           commands (ours; never consumed)
Device options (see ``OPTIONS``): ``actuator`` "lock" (default) or "relay" for doors,
``base_topic`` (the gateway's ``mqtt.base_topic``, default ``zigbee2mqtt``). A keypad's
``action_code`` is a PIN, unless ``uid_format`` says the keypad reports tags.

A Zigbee lock has no pulse: Unlock sends UNLOCK and the door controller sends LOCK when the
pulse is over (``relocks_itself`` is False). A Zigbee relay does: ``{"state":"ON","on_time":N}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from devices.model import (
    ContactChanged,
    DeviceEvent,
    DeviceKind,
    DeviceRef,
    HoldOpen,
    Lock,
    LockStateChanged,
    MqttMessage,
    OccupancyChanged,
    RelayStateChanged,
    SetDownMode,
    Unlock,
)
from firmware_bridges._features import (
    as_bool,
    as_number,
    as_text,
    availability,
    badge,
    battery,
    decode_json_object,
    decode_text,
    illuminance,
    json_message,
    pin,
    word,
)
from firmware_bridges.base import Channel, Definition, Feature, TableBridge, fire_panel_of
from firmware_bridges.options import UID_FORMAT, choice_option, topic_option

__all__ = ["DEFAULT_BASE_TOPIC", "ZIGBEE2MQTT", "make_zigbee2mqtt_bridge"]

DEFAULT_BASE_TOPIC = "zigbee2mqtt"
_STATE = "state"
_AVAILABILITY = "availability"
_COMMAND_SUFFIXES = ("/set", "/get")


BASE_TOPIC = topic_option("base_topic", DEFAULT_BASE_TOPIC, None, "the gateway's mqtt.base_topic")
ACTUATOR = choice_option("actuator", "lock", ("lock", "relay"), (DeviceKind.DOOR,))
OPTIONS = (BASE_TOPIC, ACTUATOR)


def _base_topic(device: DeviceRef) -> str:
    return str(BASE_TOPIC.get(device))


def _actuator(device: DeviceRef) -> str:
    return ACTUATOR.get(device)


def _is_lock(device: DeviceRef) -> bool:
    return _actuator(device) == "lock"


def _is_relay(device: DeviceRef) -> bool:
    return _actuator(device) == "relay"


# --- from the wire ----------------------------------------------------------------------------


def _decode_availability(payload: bytes) -> str:
    """2.x sends ``{"state":"online"}``, 1.x (legacy) plain ``online``: give the word either way."""
    text = decode_text(payload)
    if text.startswith("{"):
        state = as_text(decode_json_object(payload), "state")
        return state if state is not None else ""
    return text


def _read_availability(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return [availability(device, text)]


def _read_occupancy(device: DeviceRef, state: dict[str, Any]) -> list[DeviceEvent]:
    occupied = as_bool(state, "occupancy")
    return [] if occupied is None else [OccupancyChanged(device.id, occupied)]


def _read_contact(device: DeviceRef, state: dict[str, Any]) -> list[DeviceEvent]:
    # Zigbee2MQTT's contact is true when the magnet touches: the door is closed.
    contact = as_bool(state, "contact")
    return [] if contact is None else [ContactChanged(device.id, open=not contact)]


_LOCK_STATES = {"locked": True, "unlocked": False, "not_fully_locked": None}
_LOCK_WORDS = {"lock": True, "unlock": False}


def _read_lock(device: DeviceRef, state: dict[str, Any]) -> list[DeviceEvent]:
    # lock_state is finer (not_fully_locked); state (LOCK/UNLOCK) is what every lock has.
    lock_state = as_text(state, "lock_state")
    if lock_state is not None:
        locked = word(lock_state, _LOCK_STATES, "lock_state") if lock_state else None
        return [LockStateChanged(device.id, locked, lock_state)]
    plain = as_text(state, "state")
    if plain is None:
        return []
    return [LockStateChanged(device.id, word(plain, _LOCK_WORDS, "state"), plain)]


def _read_relay(device: DeviceRef, state: dict[str, Any]) -> list[DeviceEvent]:
    plain = as_text(state, "state")
    if plain is None:
        return []
    return [RelayStateChanged(device.id, word(plain, {"on": True, "off": False}, "state"))]


def _read_illuminance(device: DeviceRef, state: dict[str, Any]) -> list[DeviceEvent]:
    # 1.x: illuminance_lux in lux (illuminance raw); 2.x: illuminance in lux.
    lux = as_number(state, "illuminance_lux")
    if lux is None:
        lux = as_number(state, "illuminance")
    return [] if lux is None else [illuminance(device, lux)]


def _read_battery(device: DeviceRef, state: dict[str, Any]) -> list[DeviceEvent]:
    percent = as_number(state, "battery")
    return [] if percent is None else [battery(device, percent)]


def _read_keypad_code(device: DeviceRef, state: dict[str, Any]) -> list[DeviceEvent]:
    # Zigbee keypads publish the code typed (or the tag read) with their arm/disarm action.
    code = state.get("action_code")
    if code is None or code == "":
        return []
    return [pin(device, code) if UID_FORMAT.get(device) is None else badge(device, code)]


# --- to the wire ------------------------------------------------------------------------------


def _set(device: DeviceRef, body: dict[str, Any]) -> list[MqttMessage]:
    return [json_message(f"{_base_topic(device)}/{device.address}/set", body)]


def _lock_unlock(device: DeviceRef, command: Unlock | HoldOpen) -> list[MqttMessage]:
    return _set(device, {"state": "UNLOCK"})


def _lock_lock(device: DeviceRef, command: Lock) -> list[MqttMessage]:
    return _set(device, {"state": "LOCK"})


def _relay_pulse(device: DeviceRef, command: Unlock) -> list[MqttMessage]:
    # on_time is in whole seconds; round up so the door is never shorter than asked.
    return _set(device, {"state": "ON", "on_time": max(1, math.ceil(command.pulse_seconds))})


def _relay_on(device: DeviceRef, command: HoldOpen) -> list[MqttMessage]:
    if command.for_seconds is None:
        return _set(device, {"state": "ON"})
    return _set(device, {"state": "ON", "on_time": max(1, math.ceil(command.for_seconds))})


def _relay_down_mode(device: DeviceRef, command: SetDownMode) -> list[MqttMessage]:
    # What the relay does when power comes back (the exposed power_on_behavior setting).
    return _set(device, {"power_on_behavior": "on" if command.fail_safe else "off"})


def _relay_off(device: DeviceRef, command: Lock) -> list[MqttMessage]:
    return _set(device, {"state": "OFF"})


# --- the table --------------------------------------------------------------------------------

_availability = Feature("availability", reads={_AVAILABILITY: _read_availability})
_battery = Feature("battery", reads={_STATE: _read_battery})
_lock = Feature(
    "lock",
    reads={_STATE: _read_lock},
    encoders={Unlock: _lock_unlock, HoldOpen: _lock_unlock, Lock: _lock_lock},
    applies=_is_lock,
)
_relay = Feature(
    "relay",
    reads={_STATE: _read_relay},
    encoders={Unlock: _relay_pulse, HoldOpen: _relay_on, Lock: _relay_off, SetDownMode: _relay_down_mode},
    applies=_is_relay,
)

_CONTACT = Definition(
    DeviceKind.CONTACT_SENSOR,
    "Zigbee door/window contact",
    (Feature("contact", reads={_STATE: _read_contact}), _battery, _availability),
)

DEFINITIONS = (
    Definition(
        DeviceKind.DOOR,
        "Zigbee lock (LOCK/UNLOCK) or relay (ON/OFF, on_time)",
        (_lock, _relay, _battery, _availability),
    ),
    Definition(
        DeviceKind.BADGE_READER,
        "Zigbee keypad publishing action_code",
        (Feature("keypad_code", reads={_STATE: _read_keypad_code}), _battery, _availability),
    ),
    Definition(
        DeviceKind.OCCUPANCY_SENSOR,
        "Zigbee motion/presence sensor",
        (
            Feature("occupancy", reads={_STATE: _read_occupancy}),
            Feature("illuminance", reads={_STATE: _read_illuminance}),
            _battery,
            _availability,
        ),
    ),
    _CONTACT,
    fire_panel_of(_CONTACT),
)


def _subscriptions(device: DeviceRef) -> list[str]:
    state_topic = f"{_base_topic(device)}/{device.address}"
    return [state_topic, f"{state_topic}/availability"]


def publish_topics(device: DeviceRef) -> list[str]:
    """The topic filters the gateway publishes on for this device (for the broker's ACL)."""
    state_topic = f"{_base_topic(device)}/{device.address}"
    return [state_topic, f"{state_topic}/availability"]


def _router(device: DeviceRef, topic: str) -> Channel | None:
    state_topic = f"{_base_topic(device)}/{device.address}"
    if topic == state_topic:
        return Channel(_STATE, decode_json_object)
    if topic == f"{state_topic}/availability":
        return Channel(_AVAILABILITY, _decode_availability)
    return None


def _owner_in(base_topics: Iterable[str]) -> Callable[[str], str | None]:
    bases = tuple(base.rstrip("/") for base in base_topics)

    def owner(topic: str) -> str | None:
        for base in bases:
            if not topic.startswith(base + "/"):
                continue
            rest = topic[len(base) + 1 :]
            if rest.endswith("/availability"):
                rest = rest[: -len("/availability")]
            elif rest.endswith(_COMMAND_SUFFIXES) or "/set/" in rest or "/get/" in rest:
                return None  # our own commands
            if not rest or rest == "bridge" or rest.startswith("bridge/") or "+" in rest or "#" in rest:
                return None  # the gateway's own topics
            return rest
        return None

    return owner


def make_zigbee2mqtt_bridge(base_topics: Iterable[str] = (DEFAULT_BASE_TOPIC,)) -> TableBridge:
    """The bridge; give every base topic used on the site so ``match`` recognises them."""
    return TableBridge(
        name="zigbee2mqtt",
        definitions=DEFINITIONS,
        topic_owner=_owner_in(base_topics),
        router=_router,
        subscriber=_subscriptions,
        self_relocking=_is_relay,
        publisher=publish_topics,
        options=OPTIONS,
    )


ZIGBEE2MQTT = make_zigbee2mqtt_bridge()

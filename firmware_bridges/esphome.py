"""ESPHome nodes using the native ``mqtt:`` component.

Address = the node's topic prefix (its name by default, e.g. ``entree-porte``). Topics:
  ``<p>/status``                               ``online`` / ``offline`` (birth / last will)
  ``<p>/lock/<id>/state``                      ``LOCKED|UNLOCKED|JAMMED|LOCKING|UNLOCKING``
  ``<p>/lock/<id>/command``                    ``LOCK|UNLOCK|OPEN`` (ours; never consumed)
  ``<p>/switch/<id>/state`` and ``/command``   ``ON|OFF``
  ``<p>/binary_sensor/<id>/state``             ``ON|OFF`` (door class: ON = open)
  ``<p>/text_sensor/<id>/state``               a tag UID such as ``74-10-37-94`` (PN532, RC522)
                                               or ``7616525`` (RDM6300's 32-bit number)
  ``<p>/sensor/<id>/state``                    a number (``3``, ``3.0``; ``nan``, or ``None`` with
                                               ``publish_nan_as_none``, when unknown)
  ``<tag_topic>``                              a reader wired as ESPHome's pages show it:
                                               ``on_tag`` -> ``mqtt.publish`` to a topic the
                                               installer chose, payload the tag
Device options (see ``OPTIONS``) name the components by object id: ``lock`` or ``switch``
(door), ``tag_sensor`` (+ ``tag_component``: text_sensor (default) or sensor) or ``tag_topic``,
``binary_sensor`` (occupancy, contact sensors, fire panels), ``people_sensor``,
``unlock_command`` (UNLOCK (default) or OPEN for locks with a latch), ``auto_relock``.
Tags: text with separators or hex letters is hex, plain digits are decimal (as the RDM6300
page prints them) unless ``uid_format`` says otherwise.
"""

from __future__ import annotations

import re

from devices.errors import DeviceConfigError
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
    Unlock,
)
from firmware_bridges._features import (
    availability,
    badge,
    decode_text,
    missing,
    people_count,
    plain_number,
    text_message,
    word,
)
from firmware_bridges.base import Channel, Definition, Feature, TableBridge, fire_panel_of
from firmware_bridges.options import bool_option, choice_option, segment_option, topic_option

__all__ = ["ESPHOME"]

_STATUS, _LOCK, _SWITCH, _TAG, _BINARY, _PEOPLE = "status", "lock", "switch", "tag", "binary", "people"
_DOOR, _READER = (DeviceKind.DOOR,), (DeviceKind.BADGE_READER,)
_BINARY_KINDS = (DeviceKind.OCCUPANCY_SENSOR, DeviceKind.CONTACT_SENSOR, DeviceKind.FIRE_PANEL)

LOCK = segment_option("lock", _DOOR, "object id of the lock component")
SWITCH = segment_option("switch", _DOOR, "object id of the switch component")
TAG_SENSOR = segment_option("tag_sensor", _READER, "object id of the sensor publishing tags")
TAG_COMPONENT = choice_option("tag_component", "text_sensor", ("text_sensor", "sensor"), _READER)
TAG_TOPIC = topic_option("tag_topic", None, _READER, "the topic on_tag publishes to (mqtt.publish)")
BINARY_SENSOR = segment_option("binary_sensor", _BINARY_KINDS)
PEOPLE_SENSOR = segment_option("people_sensor", (DeviceKind.PEOPLE_COUNTER,))
UNLOCK_COMMAND = choice_option("unlock_command", "UNLOCK", ("UNLOCK", "OPEN"), _DOOR)
AUTO_RELOCK = bool_option("auto_relock", False, _DOOR)
OPTIONS = (
    LOCK,
    SWITCH,
    TAG_SENSOR,
    TAG_COMPONENT,
    TAG_TOPIC,
    BINARY_SENSOR,
    PEOPLE_SENSOR,
    UNLOCK_COMMAND,
    AUTO_RELOCK,
)
_OPTION = {option.name: option for option in (LOCK, SWITCH, TAG_SENSOR, BINARY_SENSOR, PEOPLE_SENSOR)}
_HEX_LOOK = re.compile(r"[-:\sA-Fa-f]")
_COMPONENTS = ("lock", "switch", "binary_sensor", "text_sensor", "sensor")
_ON_OFF = {"on": True, "off": False}
_LOCK_STATES: dict[str, bool | None] = {
    "locked": True,
    "unlocked": False,
    "jammed": None,
    "locking": None,
    "unlocking": None,
    "unknown": None,
}
# option -> (the kinds that need it, why)
_REQUIRED = {
    DeviceKind.BADGE_READER: ("tag_sensor", "the text sensor that publishes tag UIDs"),
    DeviceKind.OCCUPANCY_SENSOR: ("binary_sensor", "the presence binary sensor"),
    DeviceKind.CONTACT_SENSOR: ("binary_sensor", "the door binary sensor"),
    DeviceKind.FIRE_PANEL: ("binary_sensor", "the binary sensor on the fire panel's contact"),
    DeviceKind.PEOPLE_COUNTER: ("people_sensor", "the sensor that counts people"),
}


def _object_id(device: DeviceRef, option: str) -> str | None:
    return _OPTION[option].get(device) if _OPTION[option].applies_to(device.kind) else None


def _tag_component(device: DeviceRef) -> str:
    return TAG_COMPONENT.get(device)


def _unlock_word(device: DeviceRef) -> str:
    return UNLOCK_COMMAND.get(device)


def _has_lock(device: DeviceRef) -> bool:
    return _object_id(device, "lock") is not None


def _has_switch_only(device: DeviceRef) -> bool:
    return not _has_lock(device) and _object_id(device, "switch") is not None


# --- from the wire ----------------------------------------------------------------------------


def _read_status(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return [availability(device, text)]


def _read_lock(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return [LockStateChanged(device.id, word(text, _LOCK_STATES, "lock state"), text)]


def _read_switch(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return [RelayStateChanged(device.id, word(text, _ON_OFF, "switch state"))]


def _read_tag(device: DeviceRef, text: str) -> list[DeviceEvent]:
    # An empty state is the sensor being cleared after a read, not a badge.
    if missing(text):
        return []
    return [badge(device, text, "hex" if _HEX_LOOK.search(text) else "decimal")]


def _read_presence(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return [OccupancyChanged(device.id, word(text, _ON_OFF, "binary sensor state"))]


def _read_door_contact(device: DeviceRef, text: str) -> list[DeviceEvent]:
    return [ContactChanged(device.id, open=word(text, _ON_OFF, "binary sensor state"))]


def _read_people(device: DeviceRef, text: str) -> list[DeviceEvent]:
    if missing(text):
        return []  # ESPHome's "no value yet"
    return [people_count(device, plain_number(text, "people count"))]


# --- to the wire ------------------------------------------------------------------------------


def _command(device: DeviceRef, component: str, option: str, value: str) -> list[MqttMessage]:
    return [text_message(f"{device.address}/{component}/{_object_id(device, option)}/command", value)]


def _lock_unlock(device: DeviceRef, command: Unlock) -> list[MqttMessage]:
    return _command(device, "lock", "lock", _unlock_word(device))


def _lock_hold_open(device: DeviceRef, command: HoldOpen) -> list[MqttMessage]:
    return _command(device, "lock", "lock", "UNLOCK")


def _lock_lock(device: DeviceRef, command: Lock) -> list[MqttMessage]:
    return _command(device, "lock", "lock", "LOCK")


def _switch_on(device: DeviceRef, command: Unlock | HoldOpen) -> list[MqttMessage]:
    return _command(device, "switch", "switch", "ON")


def _switch_off(device: DeviceRef, command: Lock) -> list[MqttMessage]:
    return _command(device, "switch", "switch", "OFF")


# --- the table --------------------------------------------------------------------------------

_status = Feature("availability", reads={_STATUS: _read_status})
_CONTACT = Definition(
    DeviceKind.CONTACT_SENSOR,
    "door binary sensor (ON = open)",
    (Feature("contact", reads={_BINARY: _read_door_contact}), _status),
)

DEFINITIONS = (
    Definition(
        DeviceKind.DOOR,
        "lock (LOCK/UNLOCK/OPEN) or switch (ON/OFF) component",
        (
            Feature(
                "lock",
                reads={_LOCK: _read_lock},
                encoders={Unlock: _lock_unlock, HoldOpen: _lock_hold_open, Lock: _lock_lock},
                applies=_has_lock,
            ),
            Feature(
                "switch",
                reads={_SWITCH: _read_switch},
                encoders={Unlock: _switch_on, HoldOpen: _switch_on, Lock: _switch_off},
                applies=_has_switch_only,
            ),
            _status,
        ),
    ),
    Definition(
        DeviceKind.BADGE_READER,
        "PN532/RC522/RDM6300 reader publishing UIDs on a text sensor",
        (Feature("tag", reads={_TAG: _read_tag}), _status),
    ),
    Definition(
        DeviceKind.OCCUPANCY_SENSOR,
        "presence/motion binary sensor",
        (Feature("occupancy", reads={_BINARY: _read_presence}), _status),
    ),
    _CONTACT,
    fire_panel_of(_CONTACT),
    Definition(
        DeviceKind.PEOPLE_COUNTER,
        "sensor counting people in the room",
        (Feature("people", reads={_PEOPLE: _read_people}), _status),
    ),
)


def _check_options(device: DeviceRef) -> None:
    if device.kind == DeviceKind.BADGE_READER and TAG_TOPIC.get(device) is not None:
        return  # a reader publishing on its own topic needs no tag_sensor
    if device.kind == DeviceKind.DOOR and not (_has_lock(device) or _has_switch_only(device)):
        raise DeviceConfigError(
            "config.missing_option", device=device.name, option="lock | switch", why="the door actuator"
        )
    required = _REQUIRED.get(device.kind)
    if required is not None and _object_id(device, required[0]) is None:
        option, why = required
        raise DeviceConfigError("config.missing_option", device=device.name, option=option, why=why)


def _state_topics(device: DeviceRef) -> dict[str, str]:
    """channel -> state topic, for the components this device declares."""
    prefix = device.address
    declared = {
        _LOCK: ("lock", _object_id(device, "lock")),
        _SWITCH: ("switch", _object_id(device, "switch")),
        _TAG: (_tag_component(device), _object_id(device, "tag_sensor")),
        _BINARY: ("binary_sensor", _object_id(device, "binary_sensor")),
        _PEOPLE: ("sensor", _object_id(device, "people_sensor")),
    }
    topics = {
        channel: f"{prefix}/{component}/{object_id}/state"
        for channel, (component, object_id) in declared.items()
        if object_id is not None
    }
    tag_topic = TAG_TOPIC.get(device) if device.kind == DeviceKind.BADGE_READER else None
    if tag_topic is not None:
        topics[_TAG] = tag_topic
    return topics


_KIND_CHANNELS = {
    DeviceKind.DOOR: (_LOCK, _SWITCH),
    DeviceKind.BADGE_READER: (_TAG,),
    DeviceKind.OCCUPANCY_SENSOR: (_BINARY,),
    DeviceKind.CONTACT_SENSOR: (_BINARY,),
    DeviceKind.FIRE_PANEL: (_BINARY,),
    DeviceKind.PEOPLE_COUNTER: (_PEOPLE,),
}


def _subscriptions(device: DeviceRef) -> list[str]:
    topics = _state_topics(device)
    own = [topics[channel] for channel in _KIND_CHANNELS.get(device.kind, ()) if channel in topics]
    return [*own, f"{device.address}/status"]


def publish_topics(device: DeviceRef) -> list[str]:
    """The topic filters this device publishes on (for the broker's ACL)."""
    own = [f"{device.address}/#"]
    tag_topic = TAG_TOPIC.get(device) if device.kind == DeviceKind.BADGE_READER else None
    return own if tag_topic is None else [*own, tag_topic]


def _router(device: DeviceRef, topic: str) -> Channel | None:
    if topic == f"{device.address}/status":
        return Channel(_STATUS, decode_text)
    for channel, state_topic in _state_topics(device).items():
        if topic == state_topic:
            return Channel(channel, decode_text)
    return None


def _owner(topic: str) -> str | None:
    if "+" in topic or "#" in topic:
        return None
    parts = topic.split("/")
    if len(parts) >= 2 and parts[-1] == "status":
        return "/".join(parts[:-1]) or None
    if len(parts) >= 4 and parts[-1] == "state" and parts[-3] in _COMPONENTS and parts[-2]:
        return "/".join(parts[:-3]) or None
    return None  # .../command topics are ours; debug and discovery topics are not device state


ESPHOME = TableBridge(
    name="esphome",
    definitions=DEFINITIONS,
    topic_owner=_owner,
    router=_router,
    subscriber=_subscriptions,
    self_relocking=AUTO_RELOCK.get,
    publisher=publish_topics,
    options=OPTIONS,
    option_checks=_check_options,
)

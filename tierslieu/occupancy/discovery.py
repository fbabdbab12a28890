"""Home Assistant MQTT discovery for spaces and doors: pure functions giving the messages.

For each space: ``binary_sensor`` occupancy and ``sensor`` people, read from our retained
state topic ``tierslieu/occupancy/<space_id>/state``. For each door: a ``binary_sensor``
lock (on = unlocked) and, when a contact sensor watches it, a ``binary_sensor`` door (on =
open), read from ``tierslieu/doors/<device_id>/state``. Every entity is available while our
service's status topic (the MQTT transport's last will) says ``online``.

Doors are published read-only on purpose: opening one goes through tierslieu's access rules
and audit log, never through a Home Assistant switch.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from devices.model import MqttMessage
from tierslieu import __version__
from tierslieu.occupancy.state import DoorStatus, SpaceStatus

__all__ = [
    "DEFAULT_PREFIX",
    "config_messages",
    "door_state_message",
    "door_state_topic",
    "removal_message",
    "space_state_message",
    "space_state_topic",
]

DEFAULT_PREFIX = "homeassistant"
_NODE = "tierslieu"


def space_state_topic(space_id: int) -> str:
    return f"tierslieu/occupancy/{space_id}/state"


def door_state_topic(device_id: int) -> str:
    return f"tierslieu/doors/{device_id}/state"


def _retained(topic: str, body: Mapping[str, Any]) -> MqttMessage:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return MqttMessage(topic, payload.encode("utf-8"), qos=1, retain=True)


def removal_message(topic: str) -> MqttMessage:
    """An empty retained config removes the entity from Home Assistant."""
    return MqttMessage(topic, b"", qos=1, retain=True)


def _availability(status_topic: str) -> dict[str, Any]:
    return {"availability_topic": status_topic, "payload_available": "online", "payload_not_available": "offline"}


_ORIGIN = {"name": "tierslieu", "sw_version": __version__}


def _space_device(space: SpaceStatus) -> dict[str, Any]:
    return {
        "identifiers": [f"{_NODE}_space_{space.space_id}"],
        "name": space.name,
        "manufacturer": "tierslieu",
        "model": "Espace",
        "suggested_area": space.name,
    }


def _door_device(door: DoorStatus, space: SpaceStatus) -> dict[str, Any]:
    return {
        "identifiers": [f"{_NODE}_device_{door.device_id}"],
        "name": door.name,
        "manufacturer": "tierslieu",
        "model": "Porte" if door.kind == "door" else "Contact de porte",
        "suggested_area": space.name,
        "via_device": f"{_NODE}_space_{space.space_id}",
    }


# A JSON null must become HA's "unknown", not "off".
_LOCK_TEMPLATE = "{% if value_json.locked is none %}None{% elif value_json.locked %}OFF{% else %}ON{% endif %}"
_OPEN_TEMPLATE = "{% if value_json.open is none %}None{% elif value_json.open %}ON{% else %}OFF{% endif %}"


def _space_configs(space: SpaceStatus, prefix: str, status_topic: str) -> dict[str, dict[str, Any]]:
    state = space_state_topic(space.space_id)
    common = {**_availability(status_topic), "state_topic": state, "device": _space_device(space), "origin": _ORIGIN}
    sid = space.space_id
    return {
        f"{prefix}/binary_sensor/{_NODE}_{sid}_occupancy/config": {
            **common,
            "name": "Occupation",
            "unique_id": f"{_NODE}_{sid}_occupancy",
            "default_entity_id": f"binary_sensor.{_NODE}_{sid}_occupancy",
            "device_class": "occupancy",
            "value_template": "{{ 'ON' if value_json.occupied else 'OFF' }}",
            "payload_on": "ON",
            "payload_off": "OFF",
            "json_attributes_topic": state,
        },
        f"{prefix}/sensor/{_NODE}_{sid}_people/config": {
            **common,
            "name": "Personnes",
            "unique_id": f"{_NODE}_{sid}_people",
            "default_entity_id": f"sensor.{_NODE}_{sid}_people",
            "value_template": "{{ value_json.people }}",
            "unit_of_measurement": "personnes",
            "state_class": "measurement",
            "icon": "mdi:account-group",
        },
    }


def _door_configs(door: DoorStatus, space: SpaceStatus, prefix: str, status_topic: str) -> dict[str, dict[str, Any]]:
    state = door_state_topic(door.device_id)
    common = {
        **_availability(status_topic),
        "state_topic": state,
        "device": _door_device(door, space),
        "origin": _ORIGIN,
        "json_attributes_topic": state,
        "payload_on": "ON",
        "payload_off": "OFF",
    }
    did = door.device_id
    configs: dict[str, dict[str, Any]] = {}
    if door.kind == "door":
        configs[f"{prefix}/binary_sensor/{_NODE}_door_{did}_lock/config"] = {
            **common,
            "name": "Déverrouillée",
            "unique_id": f"{_NODE}_door_{did}_lock",
            "default_entity_id": f"binary_sensor.{_NODE}_door_{did}_lock",
            "device_class": "lock",  # on means unlocked
            "value_template": _LOCK_TEMPLATE,
        }
    if door.has_contact:
        configs[f"{prefix}/binary_sensor/{_NODE}_door_{did}_open/config"] = {
            **common,
            "name": "Ouverte",
            "unique_id": f"{_NODE}_door_{did}_open",
            "default_entity_id": f"binary_sensor.{_NODE}_door_{did}_open",
            "device_class": "door",
            "value_template": _OPEN_TEMPLATE,
        }
    return configs


def config_messages(
    spaces: Iterable[SpaceStatus], status_topic: str, prefix: str = DEFAULT_PREFIX
) -> list[MqttMessage]:
    """The retained discovery configs of every space and door, in a stable order."""
    configs: dict[str, dict[str, Any]] = {}
    for space in spaces:
        configs.update(_space_configs(space, prefix, status_topic))
        for door in space.doors:
            configs.update(_door_configs(door, space, prefix, status_topic))
    return [_retained(topic, body) for topic, body in configs.items()]


def space_state_message(space: SpaceStatus) -> MqttMessage:
    return _retained(
        space_state_topic(space.space_id),
        {
            "occupied": space.occupied,
            "people": space.people,
            "capacity": space.capacity,
            "booked_now": space.booked_now,
            "checked_in": space.checked_in,
            "devices_online": space.devices_online,
            "alerts": [alert.code.value for alert in space.alerts],
        },
    )


def door_state_message(door: DoorStatus) -> MqttMessage:
    return _retained(
        door_state_topic(door.device_id),
        {"locked": door.locked, "lock_state": door.lock_state, "open": door.open, "online": door.online},
    )

"""Firmware bridges: vendor MQTT payloads <-> the normalized device vocabulary (``devices.model``).

One module per firmware, each a table of definitions with its device options; ``BRIDGES`` is
the registry the app uses. The device hub routes messages by each device's own subscriptions,
so per-device options (a Zigbee2MQTT ``base_topic``...) need no registry of their own;
``build_bridges(zigbee2mqtt_base_topics=...)`` only widens what ``match`` recognises (tools).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from firmware_bridges.base import Bridge, Channel, CommandType, Definition, Feature, TableBridge
from firmware_bridges.esphome import ESPHOME
from firmware_bridges.shelly_gen1 import SHELLY_GEN1
from firmware_bridges.shelly_gen2 import SHELLY_GEN2
from firmware_bridges.tasmota import TASMOTA
from firmware_bridges.zigbee2mqtt import DEFAULT_BASE_TOPIC, make_zigbee2mqtt_bridge

__all__ = [
    "BRIDGES",
    "Bridge",
    "Channel",
    "CommandType",
    "Definition",
    "Feature",
    "TableBridge",
    "build_bridges",
    "get_bridge",
]


def build_bridges(zigbee2mqtt_base_topics: Iterable[str] = (DEFAULT_BASE_TOPIC,)) -> Mapping[str, Bridge]:
    """A read-only registry name -> bridge. Raises ValueError if two bridges share a name."""
    bridges: list[Bridge] = [
        make_zigbee2mqtt_bridge(zigbee2mqtt_base_topics),
        TASMOTA,
        SHELLY_GEN1,
        SHELLY_GEN2,
        ESPHOME,
    ]
    registry: dict[str, Bridge] = {}
    for bridge in bridges:
        if bridge.name in registry:
            raise ValueError(f"two firmware bridges are named {bridge.name!r}")
        registry[bridge.name] = bridge
    return MappingProxyType(registry)


# Immutable: bridges hold no state, so one shared registry is safe.
BRIDGES: Mapping[str, Bridge] = build_bridges()


def get_bridge(name: str, bridges: Mapping[str, Bridge] = BRIDGES) -> Bridge:
    """The bridge called ``name``; KeyError naming the known bridges otherwise."""
    try:
        return bridges[name]
    except KeyError:
        known = ", ".join(sorted(bridges))
        raise KeyError(f"unknown firmware bridge {name!r} (known: {known})") from None

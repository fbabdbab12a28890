"""The names of the firmware bridges: the one list the API, the site file and the database accept.

Each bridge module declares its ``name`` with one of these; a test checks that the registry
(``firmware_bridges.BRIDGES``) and this list agree, so the app never keeps a copy of its own.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["BridgeName"]


class BridgeName(StrEnum):
    ZIGBEE2MQTT = "zigbee2mqtt"
    TASMOTA = "tasmota"
    SHELLY_GEN1 = "shelly_gen1"
    SHELLY_GEN2 = "shelly_gen2"
    ESPHOME = "esphome"

"""One test pass over every bridge definition: registry, kinds, fixtures, commands, topics."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import firmware_bridges
from devices.errors import DeviceConfigError
from devices.model import (
    DeviceCommand,
    DeviceKind,
    DeviceRef,
    Feedback,
    HoldOpen,
    Lock,
    MqttMessage,
    SetDownMode,
    Unlock,
)
from devices.transport import topic_matches
from firmware_bridges import BRIDGES, CommandType, TableBridge, get_bridge
from tests.firmware_bridges.cases import COMMAND_CASES, EVENT_CASES, all_devices

SAMPLE_COMMANDS: dict[CommandType, DeviceCommand] = {
    Unlock: Unlock(4),
    Lock: Lock(),
    HoldOpen: HoldOpen(),
    Feedback: Feedback(True),
    SetDownMode: SetDownMode(fail_safe=False),
}
# Modules of firmware_bridges that are not MQTT firmware bridges.
NOT_BRIDGES = {
    "base",
    "_features",
    "names",
    "options",
    "octoprint",
    "simulated",
}  # helpers, the REST printer bridge, the demo devices


def test_every_bridge_module_is_registered_under_a_unique_name() -> None:
    registered = {id(bridge) for bridge in BRIDGES.values()}
    found = []
    for module_info in pkgutil.iter_modules(firmware_bridges.__path__):
        if module_info.name in NOT_BRIDGES:
            continue
        module = importlib.import_module(f"firmware_bridges.{module_info.name}")
        bridges = [value for value in vars(module).values() if isinstance(value, TableBridge)]
        assert bridges, f"firmware_bridges.{module_info.name} exposes no bridge"
        found.extend(bridges)
    assert sorted(BRIDGES) == ["esphome", "shelly_gen1", "shelly_gen2", "tasmota", "zigbee2mqtt"]
    assert all(name == bridge.name for name, bridge in BRIDGES.items())
    names = [bridge.name for bridge in found]
    assert len(names) == len(set(names)), names
    # zigbee2mqtt's registry instance is built from its factory; the others are the module objects.
    assert {bridge.name for bridge in found if id(bridge) in registered} >= set(BRIDGES) - {"zigbee2mqtt"}


def test_get_bridge_names_the_known_bridges_when_unknown() -> None:
    assert get_bridge("tasmota") is BRIDGES["tasmota"]
    with pytest.raises(KeyError, match="known: esphome, shelly_gen1"):
        get_bridge("tasmoto")


@pytest.mark.parametrize("name", sorted(BRIDGES))
def test_every_declared_kind_has_fixtures(name: str) -> None:
    bridge = BRIDGES[name]
    assert bridge.kinds
    with_events = {case.device.kind for case in EVENT_CASES if case.device.bridge == name and case.events}
    assert bridge.kinds <= with_events, f"{name}: no recorded payload for {bridge.kinds - with_events}"
    assert {case.device.kind for case in EVENT_CASES if case.device.bridge == name} <= bridge.kinds


@pytest.mark.parametrize("device", all_devices(), ids=lambda device: f"{device.bridge}/{device.name}")
def test_every_supported_command_encodes_to_topics_we_never_consume(device: DeviceRef) -> None:
    bridge = BRIDGES[device.bridge]
    supported: frozenset[CommandType] = bridge.supported_commands(device)
    if device.kind == DeviceKind.DOOR:
        assert {Unlock, Lock, HoldOpen} <= supported
    else:
        assert not {Unlock, Lock, HoldOpen} & supported
    for command_type in supported:
        messages = bridge.encode(device, SAMPLE_COMMANDS[command_type])
        assert messages and all(isinstance(message, MqttMessage) for message in messages)
        for message in messages:
            assert not message.retain, "a retained command would replay on reconnection"
            assert message.qos == 1
            own = bridge.subscriptions(device)
            assert not any(topic_matches(f, message.topic) for f in own), f"{message.topic} would come back"
    assert isinstance(bridge.relocks_itself(device), bool)


@pytest.mark.parametrize("device", all_devices(), ids=lambda device: f"{device.bridge}/{device.name}")
def test_subscriptions_cover_every_topic_that_carries_events(device: DeviceRef) -> None:
    bridge = BRIDGES[device.bridge]
    filters = bridge.subscriptions(device)
    assert filters and len(filters) == len(set(filters))
    for case in EVENT_CASES:
        if case.device == device and case.events:
            assert any(topic_matches(topic_filter, case.topic) for topic_filter in filters), case.id


def test_door_pulse_ownership() -> None:
    """Who closes the door again after Unlock: the device (timed pulse) or the controller."""
    by_name = {case.device.name: case.device for case in COMMAND_CASES}
    relocks = {
        name: BRIDGES[device.bridge].relocks_itself(device)
        for name, device in by_name.items()
        if device.kind == DeviceKind.DOOR
    }
    assert relocks["Serrure salle polyvalente"] is False  # Zigbee lock: controller sends LOCK
    assert relocks["Gâche porte atelier (relais Zigbee)"] is True  # on_time
    assert relocks["Gâche atelier"] is True  # Tasmota PulseTime
    assert relocks["Gâche bureau (Shelly 1)"] is False
    assert relocks["Gâche local technique (Shelly 2.5, relais 1)"] is True  # auto_off declared
    assert relocks["Gâche entrée (Shelly Plus 1)"] is True  # toggle_after
    assert relocks["Serrure entrée (ESPHome)"] is False
    assert relocks["Gâche atelier bois (ESPHome relais)"] is True  # auto_relock declared


@pytest.mark.parametrize(
    ("device", "code"),
    [
        (DeviceRef(1, "x", DeviceKind.DOOR, "esphome", "p"), "config.wrong_bridge"),
        (DeviceRef(1, "x", DeviceKind.PEOPLE_COUNTER, "tasmota", "t"), "config.unsupported_kind"),
        (DeviceRef(1, "x", DeviceKind.DOOR, "tasmota", "t", {"relay": "2"}), "config.bad_option"),
        (DeviceRef(1, "x", DeviceKind.DOOR, "tasmota", "t/#"), "config.bad_address"),
        (DeviceRef(1, "x", DeviceKind.DOOR, "zigbee2mqtt", "z", {"actuator": "motor"}), "config.bad_option"),
        (DeviceRef(1, "x", DeviceKind.DOOR, "esphome", "e"), "config.missing_option"),
        (DeviceRef(1, "x", DeviceKind.BADGE_READER, "esphome", "e", {"tag_sensor": 3}), "config.bad_option"),
        (DeviceRef(1, "x", DeviceKind.CONTACT_SENSOR, "shelly_gen1", "s", {"input": 9}), "config.bad_option"),
        (DeviceRef(1, "x", DeviceKind.DOOR, "shelly_gen2", "s", {"relay": True}), "config.bad_option"),
    ],
)
def test_bad_device_configuration_is_a_clear_error(device: DeviceRef, code: str) -> None:
    bridge = BRIDGES["tasmota" if code == "config.wrong_bridge" else device.bridge]
    with pytest.raises(DeviceConfigError) as raised:
        bridge.validate_device(device)
    assert raised.value.code == code
    # The same error, not a crash, from every entry point.
    with pytest.raises(DeviceConfigError):
        bridge.parse(device, "anything", b"{}")
    with pytest.raises(DeviceConfigError):
        bridge.encode(device, Lock())

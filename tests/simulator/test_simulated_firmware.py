"""Simulated firmware against the real bridges: what a simulated device publishes parses into
the expected events, and what the bridges encode moves a simulated door. Runs over every
bridge and every device kind it defines."""

from __future__ import annotations

import itertools

import pytest

from devices.model import (
    BadgeScanned,
    ContactChanged,
    DeviceAvailability,
    DeviceEvent,
    DeviceKind,
    DeviceRef,
    HoldOpen,
    Lock,
    LockStateChanged,
    MqttMessage,
    OccupancyChanged,
    PeopleCount,
    RelayStateChanged,
    Unlock,
)
from devices.transport import topic_matches
from firmware_bridges import BRIDGES
from firmware_bridges.simulated import (
    DoorState,
    availability_messages,
    badge_messages,
    command_topics,
    contact_messages,
    door_messages,
    occupancy_messages,
    people_messages,
    react,
)

OPTIONS: dict[tuple[str, DeviceKind], list[dict[str, object]]] = {
    ("esphome", DeviceKind.DOOR): [{"lock": "porte"}, {"switch": "gache"}, {"lock": "porte", "auto_relock": True}],
    ("esphome", DeviceKind.BADGE_READER): [{"tag_sensor": "badge"}],
    ("esphome", DeviceKind.OCCUPANCY_SENSOR): [{"binary_sensor": "presence"}],
    ("esphome", DeviceKind.CONTACT_SENSOR): [{"binary_sensor": "porte"}],
    ("esphome", DeviceKind.PEOPLE_COUNTER): [{"people_sensor": "personnes"}],
    ("esphome", DeviceKind.FIRE_PANEL): [{"binary_sensor": "boucle"}],
    # A keypad's action_code is a PIN; this one reports tags (a keypad with a reader).
    ("zigbee2mqtt", DeviceKind.BADGE_READER): [{"uid_format": "hex"}],
    ("zigbee2mqtt", DeviceKind.DOOR): [{}, {"actuator": "relay"}],
    ("tasmota", DeviceKind.DOOR): [{}, {"relay": 2}],
    ("tasmota", DeviceKind.CONTACT_SENSOR): [{}, {"switch": 2, "open_when_on": False}],
    ("shelly_gen1", DeviceKind.DOOR): [{}, {"auto_off": True}],
    ("shelly_gen1", DeviceKind.CONTACT_SENSOR): [{}, {"input": 0}],
    ("shelly_gen2", DeviceKind.CONTACT_SENSOR): [{}, {"input": 1, "open_when_on": False}],
}
_ids = itertools.count(1)


def _devices() -> list[DeviceRef]:
    found = []
    for name, bridge in sorted(BRIDGES.items()):
        for kind in sorted(bridge.kinds):
            for options in OPTIONS.get((name, kind), [{}]):
                found.append(DeviceRef(next(_ids), f"{name}-{kind}", kind, name, f"sim-{kind}", options))
    return found


DEVICES = _devices()


def _parse(device: DeviceRef, messages: list[MqttMessage]) -> list[DeviceEvent]:
    bridge = BRIDGES[device.bridge]
    events: list[DeviceEvent] = []
    for message in messages:
        assert bridge.match(message.topic) == device.address, message.topic
        assert any(topic_matches(f, message.topic) for f in bridge.subscriptions(device)), message.topic
        events.extend(bridge.parse(device, message.topic, message.payload))
    return events


@pytest.mark.parametrize("device", DEVICES, ids=lambda d: f"{d.name}{d.options or ''}")
def test_what_a_simulated_device_says_parses_back(device: DeviceRef) -> None:
    events = _parse(device, availability_messages(device, False) + availability_messages(device, True))
    assert events == [DeviceAvailability(device.id, False), DeviceAvailability(device.id, True)]
    if device.kind == DeviceKind.BADGE_READER:
        assert BadgeScanned(device.id, "74103794") in _parse(device, badge_messages(device, "74103794"))
    elif device.kind == DeviceKind.OCCUPANCY_SENSOR:
        for occupied in (True, False):
            assert OccupancyChanged(device.id, occupied) in _parse(device, occupancy_messages(device, occupied))
    elif device.kind == DeviceKind.CONTACT_SENSOR:
        for is_open in (True, False):
            assert ContactChanged(device.id, is_open) in _parse(device, contact_messages(device, is_open))
    elif device.kind == DeviceKind.PEOPLE_COUNTER:
        assert _parse(device, people_messages(device, 7)) == [PeopleCount(device.id, 7)]
    elif device.kind == DeviceKind.DOOR:
        for unlocked in (True, False):
            events = _parse(device, door_messages(device, DoorState(unlocked=unlocked)))
            assert events and all(_is_unlocked(e) == unlocked for e in events if _is_unlocked(e) is not None)


def _is_unlocked(event: DeviceEvent) -> bool | None:
    if isinstance(event, LockStateChanged):
        return None if event.locked is None else not event.locked
    if isinstance(event, RelayStateChanged):
        return event.on
    return None


def _obey(device: DeviceRef, state: DoorState, messages: list[MqttMessage]) -> tuple[DoorState, float | None]:
    relock: float | None = None
    for message in messages:
        assert any(topic_matches(f, message.topic) for f in command_topics(device)), message.topic
        reaction = react(device, state, message.topic, message.payload)
        assert reaction is not None
        state, relock = reaction.state, reaction.relock_after
        assert _parse(device, [r for r in reaction.replies if BRIDGES[device.bridge].match(r.topic)]) is not None
    return state, relock


@pytest.mark.parametrize(
    "device", [d for d in DEVICES if d.kind == DeviceKind.DOOR], ids=lambda d: f"{d.name}{d.options or ''}"
)
def test_a_simulated_door_obeys_what_the_bridge_encodes(device: DeviceRef) -> None:
    bridge = BRIDGES[device.bridge]
    state, relock = _obey(device, DoorState(), bridge.encode(device, Unlock(4)))
    assert state.unlocked
    if bridge.relocks_itself(device):
        assert relock is not None and relock > 0  # the device itself ends the pulse
    state, relock = _obey(device, state, bridge.encode(device, Lock()))
    assert not state.unlocked and relock is None
    state, relock = _obey(device, state, bridge.encode(device, HoldOpen()))
    assert state.unlocked


def test_a_door_ignores_other_topics_and_refuses_garbage() -> None:
    door = DeviceRef(1, "porte", DeviceKind.DOOR, "zigbee2mqtt", "serrure")
    assert react(door, DoorState(), "zigbee2mqtt/autre/set", b'{"state":"UNLOCK"}') is None
    with pytest.raises(ValueError):
        react(door, DoorState(), "zigbee2mqtt/serrure/set", b"{not json")


def test_tasmota_pulse_time_round_trip() -> None:
    door = DeviceRef(1, "porte", DeviceKind.DOOR, "tasmota", "porte")
    state, relock = _obey(door, DoorState(), BRIDGES["tasmota"].encode(door, Unlock(30)))
    assert relock == 30 and state.pulse_seconds == 30
    state, relock = _obey(door, DoorState(), BRIDGES["tasmota"].encode(door, Unlock(2.5)))
    assert relock == 2.5
